import AviaryCore
import AviaryExpression
import AviaryJSON
import AviaryModel
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryMetrics

/// Argo's Wavefront provider against a local server that answers as Wavefront's chart API does:
/// the query Argo's Go client sends, the point nearest the measurement's start, one series or
/// several, the token Secret, and the API's errors.
@Suite(.serialized) struct WavefrontProviderTests {
    static let address = "example.wavefront.com"
    /// 2026-12-05 21:30:40 UTC.
    static let start = Date(timeIntervalSince1970: 1_796_506_240)

    static func providers(
        _ server: LoopbackServer?, tokens: [String: String]? = [address: "wf-token"]
    ) -> MetricProviders {
        var providers = AviaryMetricsTests.providers(
            secrets: tokens.map { ["default/wavefront-api-tokens": $0] } ?? [:])
        let base = server.map { $0.url + "/api/v2" } ?? "http://127.0.0.1:9/api/v2"
        providers.wavefrontBase = { _ in base }
        return providers
    }

    static func wavefrontMetric(_ query: String = #"sum(rate(ts(\"requests.errors\", app=\"web\")))"#) -> Metric {
        metric(
            """
            - name: errors
              successCondition: result < 0.05
              provider:
                wavefront:
                  address: \(address)
                  query: "\(query)"
            """)
    }

    static func measurement(_ metric: Metric) -> MeasurementRequest {
        MeasurementRequest(runName: "r", metricName: metric.name, metric: metric, startedAt: start)
    }

    @Test func oneSeriesIsANumberAtThePointNearestTheStart() async throws {
        let api = try LoopbackServer { _ in
            .respond(
                status: 200,
                body:
                    #"{"query":"q","granularity":1,"warnings":"partial data","timeseries":[{"label":"errors","data":[[1796506230,0.5],[1796506238,0.031],[1796506250,0.9]]}]}"#
            )
        }
        defer { api.stop() }
        let outcome = await Self.providers(api).measure(Self.measurement(Self.wavefrontMetric()))
        #expect(
            outcome
                == .value(
                    .float(0.031), display: "0.03",
                    metadata: ["timestamps": "1796506238", "drift": "-2", "warnings": "partial data"]))
        let sent = try #require(api.requests.first)
        #expect(sent.method == "GET")
        #expect(sent.headers["authorization"] == "Bearer wf-token")
        let url = try #require(URLComponents(string: "http://x" + sent.path))
        #expect(url.path == "/api/v2/chart/api")
        let query = Dictionary(uniqueKeysWithValues: (url.queryItems ?? []).map { ($0.name, $0.value ?? "") })
        #expect(
            query == [
                "q": #"sum(rate(ts("requests.errors", app="web")))"#, "s": "1796506240000", "e": "1796506240000",
                "g": "s",
                "p": "1", "i": "true", "autoEvents": "false", "listmode": "false", "strict": "false",
                "includeObsoleteMetrics": "false",
            ])
    }

    @Test func severalSeriesAreAListAndNoneIsAnError() async throws {
        let api = try LoopbackServer { _ in
            .respond(
                status: 200,
                body: #"{"timeseries":[{"data":[[1796506240,1]]},{"data":[[1796506241,2.5],[1796506300,7]]}]}"#)
        }
        defer { api.stop() }
        let outcome = await Self.providers(api).measure(Self.measurement(Self.wavefrontMetric("ts(a) + 1")))
        #expect(
            outcome
                == .value(
                    .array([.float(1), .float(2.5)]), display: "[1.00,2.50]",
                    metadata: ["timestamps": "[1796506240,1796506241]", "drift": "[0,1]"]))
        #expect(try #require(api.requests.first).path.contains("q=ts(a)%20%2B%201"))
        let empty = try LoopbackServer { _ in .respond(status: 200, body: #"{"timeseries":[]}"#) }
        defer { empty.stop() }
        #expect(
            await Self.providers(empty).measure(Self.measurement(Self.wavefrontMetric()))
                == .error("No TimeSeries found in response from Wavefront"))
    }

    @Test func theTokenAndTheAPIsRefusalsAreNamed() async throws {
        let missing = await Self.providers(nil, tokens: nil).measure(Self.measurement(Self.wavefrontMetric()))
        #expect(
            missing
                == .error(
                    "secret \"wavefront-api-tokens\" not found in namespace default: create it with one key per "
                        + "Wavefront address, its API token as value"))
        let otherAddress = await Self.providers(nil, tokens: ["other.wavefront.com": "t"]).measure(
            Self.measurement(Self.wavefrontMetric()))
        #expect(otherAddress == .error("API token not found"))
        let refused = try LoopbackServer { _ in .respond(status: 401, body: #"{"message":"unauthorized"}"#) }
        defer { refused.stop() }
        #expect(
            await Self.providers(refused).measure(Self.measurement(Self.wavefrontMetric()))
                == .error("server returned 401 Unauthorized\n{\"message\":\"unauthorized\"}\n"))
    }

    @Test(arguments: [
        ("{query: q}", "address", "required; give the instance's host name, e.g. example.wavefront.com"),
        (
            "{address: \"https://example.wavefront.com\", query: q}", "address",
            "\"https://example.wavefront.com\" is a URL; give the host name only (Argo's client adds https:// and /api/v2)"
        ),
        ("{address: example.wavefront.com}", "query", "required; give the WQL query, e.g. ts(\"requests.errors\")"),
    ])
    func aRuleNamesItsField(fields: String, field: String, problem: String) {
        let value = metric("- name: m\n  provider:\n    wavefront: \(fields)").provider.wavefront
        do {
            _ = try WavefrontSpec(provider: value)
            Issue.record("\(fields) was accepted")
        } catch {
            #expect(error.field == field)
            #expect(error.problem == problem)
        }
    }
}
