import AviaryCore
import AviaryExpression
import AviaryJSON
import AviaryModel
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryMetrics

/// Argo's SkyWalking provider against a local server that answers as SkyWalking's OAP GraphQL
/// endpoint does: the request Argo sends (query, the `duration` window by the minute), how `data`
/// becomes `result`, and GraphQL and HTTP errors.
@Suite(.serialized) struct SkyWalkingProviderTests {
    static let query = """
        query queryData($duration: Duration!) {
          service_apdex: readMetricsValues(condition: {name: "service_apdex", entity: {scope: Service, serviceName: "web", normal: true}}, duration: $duration) {
            values { values { value } }
          }
        }
        """

    static func skywalkingMetric(_ address: String, condition: String, interval: String = "5m") -> Metric {
        let quoted = String(decoding: try! JSONEncoder().encode(query), as: UTF8.self)
        return metric(
            """
            - name: apdex
              successCondition: '\(condition)'
              provider:
                skywalking:
                  address: \(address)
                  interval: \(interval)
                  query: \(quoted)
            """)
    }

    @Test func dataIsTheResultAndTheRequestIsArgos() async throws {
        let oap = try LoopbackServer { _ in
            .respond(
                status: 200,
                body: #"{"data":{"service_apdex":{"values":{"values":[{"value":9500},{"value":10000}]}}}}"#)
        }
        defer { oap.stop() }
        // 2026-12-05 21:30:40 UTC: the window is the five minutes before, by the minute.
        var providers = AviaryMetricsTests.providers(secrets: [:])
        providers.queryTime = Date(timeIntervalSince1970: 1_796_506_240)
        let outcome = await providers.measure(
            request(
                Self.skywalkingMetric(
                    oap.url + "/", condition: "all(result.service_apdex.values.values, {#.value >= 9000})")))
        #expect(
            outcome
                == .value(
                    .map([
                        "service_apdex": .map([
                            "values": .map([
                                "values": .array([.map(["value": .float(9500)]), .map(["value": .float(10000)])])
                            ])
                        ])
                    ]),
                    display: #"{"service_apdex":{"values":{"values":[{"value":9500},{"value":10000}]}}}"#))
        let sent = try #require(oap.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.path == "/graphql")
        #expect(sent.headers["content-type"] == "application/json; charset=utf-8")
        let body = try JSONDecoder().decode(JSONValue.self, from: Data(sent.body.utf8))
        #expect(body["query"]?.stringValue == Self.query)
        #expect(
            body["variables"]
                == .object([
                    "duration": .object(["start": "2026-12-05 2125", "end": "2026-12-05 2130", "step": "MINUTE"])
                ]))
    }

    @Test(arguments: [
        (
            200, #"{"errors":[{"message":"Exception while fetching data (/readMetricsValues)"}],"data":null}"#,
            "graphql: Exception while fetching data (/readMetricsValues)"
        ),
        (200, #"{"data":null}"#, "no results returned from SkyWalking query"),
        (502, "<html>Bad Gateway</html>", "graphql: server returned a non-200 status code: 502"),
        (200, "OK", "decoding response: not JSON: OK"),
    ])
    func oapErrorsAreErrorMeasurements(status: Int, body: String, message: String) async throws {
        let oap = try LoopbackServer { _ in .respond(status: status, body: body) }
        defer { oap.stop() }
        let outcome = await AviaryMetricsTests.providers(secrets: [:]).measure(
            request(Self.skywalkingMetric(oap.url, condition: "true")))
        #expect(outcome == .error(message))
    }

    @Test(arguments: [
        ("{query: q, interval: 5m}", "address", "required; give the OAP server's URL, e.g. http://oap:12800"),
        ("{address: \"http://oap\", interval: 5m}", "query", "required; give the GraphQL query"),
        (
            "{address: \"http://oap\", query: q, interval: soon}", "interval",
            "\"soon\" is not a positive duration; give e.g. 5m or 1h"
        ),
    ])
    func aRuleNamesItsField(fields: String, field: String, problem: String) {
        let value = metric("- name: m\n  provider:\n    skywalking: \(fields)").provider.skywalking
        do {
            _ = try SkyWalkingSpec(provider: value)
            Issue.record("\(fields) was accepted")
        } catch {
            #expect(error.field == field)
            #expect(error.problem == problem)
        }
    }
}
