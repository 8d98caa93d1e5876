import AviaryCore
import AviaryExpression
import AviaryJSON
import AviaryModel
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryMetrics

/// Argo's Datadog provider against a local server that answers as Datadog's v1 and v2 query
/// APIs document (their success, empty, grouped and error shapes): the request Argo sends, the
/// value it reads, and where the keys come from.
@Suite(.serialized) struct DatadogProviderTests {
    static let now = Date(timeIntervalSince1970: 1_790_000_000)

    static func providers(_ secrets: [String: [String: String]]) -> MetricProviders {
        AviaryMetricsTests.providers(secrets: secrets, now: now)
    }

    static func datadogMetric(_ fields: String, condition: String = "result < 0.05") -> Metric {
        metric(
            """
            - name: errors
              successCondition: \(condition)
              provider:
                datadog: \(fields)
            """)
    }

    static func keys(_ address: String) -> [String: [String: String]] {
        ["default/datadog": ["api-key": "the-api-key", "app-key": "the-app-key", "address": address]]
    }

    @Test func v1QueriesTheIntervalAndTakesTheLastPointOfTheFirstSeries() async throws {
        let datadog = try LoopbackServer { _ in
            .respond(
                status: 200,
                body: #"""
                    {"status":"ok","res_type":"time_series","query":"sum:errors{service:web}",
                     "series":[{"metric":"errors","pointlist":[[1789999700000.0,0.5],[1790000000000.0,0.01]],
                                "scope":"service:web","length":2},
                               {"metric":"other","pointlist":[[1790000000000.0,9]]}],
                     "from_date":1789999700000,"to_date":1790000000000}
                    """#)
        }
        defer { datadog.stop() }
        let outcome = await Self.providers(Self.keys(datadog.url)).measure(
            request(Self.datadogMetric("{query: \"sum:errors{service:web}.as_count()\", interval: 10m}")))
        #expect(outcome == .value(.float(0.01), display: "0.01"))
        let sent = try #require(datadog.requests.first)
        #expect(sent.method == "GET")
        #expect(
            sent.path
                == "/api/v1/query?from=1789999400&query=sum%3Aerrors%7Bservice%3Aweb%7D.as_count%28%29&to=1790000000")
        #expect(sent.headers["dd-api-key"] == "the-api-key")
        #expect(sent.headers["dd-application-key"] == "the-app-key")
    }

    @Test func anEmptySeriesIsANilResultForTheConditionAsInArgo() async throws {
        let datadog = try LoopbackServer { _ in .respond(status: 200, body: #"{"status":"ok","series":[]}"#) }
        defer { datadog.stop() }
        let outcome = await Self.providers(Self.keys(datadog.url)).measure(
            request(Self.datadogMetric("{query: \"avg:latency{*}\"}", condition: "default(result, 0) < 1")))
        #expect(outcome == .value(.nil, display: "[]"))
    }

    @Test func v2SendsTheQueriesAndFormulaAndReadsTheScalar() async throws {
        let datadog = try LoopbackServer { _ in
            .respond(
                status: 200,
                body: #"""
                    {"data":{"type":"scalar_response","id":"0","attributes":{"columns":[
                      {"name":"query1","type":"number","values":[0.02],"meta":{"unit":null}}]}}}
                    """#)
        }
        defer { datadog.stop() }
        let outcome = await Self.providers(Self.keys(datadog.url)).measure(
            request(
                Self.datadogMetric(
                    "{apiVersion: v2, interval: 5m, aggregator: sum, formula: \"a / b\", "
                        + "queries: {b: \"sum:requests{*}.as_count()\", a: \"sum:errors{*}.as_count()\"}}")))
        #expect(outcome == .value(.float(0.02), display: "0.02"))
        let sent = try #require(datadog.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.path == "/api/v2/query/scalar")
        let body = try JSONDecoder().decode(JSONValue.self, from: Data(sent.body.utf8))
        let expected = #"""
            {"data": {"type": "scalar_request", "attributes": {
              "from": 1789999700000, "to": 1790000000000, "formulas": [{"formula": "a / b"}],
              "queries": [
                {"aggregator": "sum", "data_source": "metrics", "name": "a", "query": "sum:errors{*}.as_count()"},
                {"aggregator": "sum", "data_source": "metrics", "name": "b", "query": "sum:requests{*}.as_count()"}]}}}
            """#
        #expect(body == (try JSONDecoder().decode(JSONValue.self, from: Data(expected.utf8))))
    }

    @Test func aGroupedV2QueryGivesOneValuePerGroupAndNamesThem() async throws {
        let datadog = try LoopbackServer { _ in
            .respond(
                status: 200,
                body: #"""
                    {"data":{"type":"scalar_response","attributes":{"columns":[
                      {"name":"service","type":"group","values":[["service:web"],["service:api"],["service:db"]]},
                      {"name":"query","type":"number","values":[0.01,null,0.2]}]}}}
                    """#)
        }
        defer { datadog.stop() }
        let outcome = await Self.providers(Self.keys(datadog.url)).measure(
            request(Self.datadogMetric("{apiVersion: v2, query: \"avg:errors{*} by {service}\"}", condition: "all(result, # < 0.5)")))
        #expect(
            outcome
                == .value(
                    .array([.float(0.01), .float(0.2)]), display: "[0.01,0.2]",
                    metadata: ["groups": #"[{"name":"service:web","value":0.01},{"name":"service:db","value":0.2}]"#]))
    }

    @Test(arguments: [
        (403, #"{"errors":["Forbidden"]}"#, "v1", #"received authentication error response code: 403 {"errors":["Forbidden"]}"#),
        (400, #"{"errors":["Error parsing query: unable to parse sum:: Rule 'scope_expr' didn't match"]}"#, "v1",
         #"received non 2xx response code: 400 {"errors":["Error parsing query: unable to parse sum:: Rule 'scope_expr' didn't match"]}"#),
        (200, #"{"data":{"type":"scalar_response","errors":"Invalid query: unknown metric"}}"#, "v2",
         "There were errors in your query: Invalid query: unknown metric"),
        (200, "<html>maintenance</html>", "v2", "Could not parse JSON body: <html>maintenance</html>"),
    ])
    func datadogsErrorsAreErrorMeasurementsWithArgosMessages(status: Int, body: String, version: String, message: String)
        async throws
    {
        let datadog = try LoopbackServer { _ in .respond(status: status, body: body) }
        defer { datadog.stop() }
        let outcome = await Self.providers(Self.keys(datadog.url)).measure(
            request(Self.datadogMetric("{apiVersion: \(version), query: \"sum:errors{*}\"}")))
        #expect(outcome == .error(message))
    }

    @Test func theKeysComeFromTheNamedSecretTheVariablesOrTheSecretDatadog() async throws {
        let datadog = try LoopbackServer { request in
            .respond(
                status: 200,
                body: #"{"series":[{"pointlist":[[1.0,"# + (request.headers["dd-api-key"] == "team-key" ? "1" : "2")
                    + "]]}]}")
        }
        defer { datadog.stop() }
        let teamSecret = ["api-key": "team-key", "app-key": "team-app", "address": datadog.url]
        let namespaced = "{query: q, secretRef: {name: team-datadog, namespaced: true}}"
        // secretRef.namespaced: the run's namespace, not the controller's.
        var providers = Self.providers(["shop/team-datadog": teamSecret])
        var shop = request(Self.datadogMetric(namespaced, condition: "result == 1"))
        shop.namespace = "shop"
        #expect(await providers.measure(shop) == .value(.float(1), display: "1"))
        // Not namespaced: the controller's namespace.
        providers = Self.providers(["default/team-datadog": teamSecret])
        #expect(
            await providers.measure(request(Self.datadogMetric("{query: q, secretRef: {name: team-datadog}}")))
                == .value(.float(1), display: "1"))
        // No name: the DD_* variables first, then the Secret `datadog`.
        providers = Self.providers(Self.keys(datadog.url))
        providers.environment = ["DD_API_KEY": "team-key", "DD_APP_KEY": "x", "DD_ADDRESS": datadog.url]
        #expect(await providers.measure(request(Self.datadogMetric("{query: q}"))) == .value(.float(1), display: "1"))
        providers.environment = [:]
        #expect(await providers.measure(request(Self.datadogMetric("{query: q}"))) == .value(.float(2), display: "2"))
        // None at all: the message says where the keys go.
        let missing = await Self.providers([:]).measure(request(Self.datadogMetric("{query: q}")))
        #expect(
            missing
                == .error(
                    "failed to find the credentials for datadog metrics provider: give the Secret default/datadog or "
                        + "DD_API_KEY, DD_APP_KEY and DD_ADDRESS the keys api-key and app-key (and address for a site "
                        + "other than api.datadoghq.com)"))
    }
}

/// Argo's rules for `provider.datadog`, checked before any request (at lint too).
@Suite struct DatadogSpecTests {
    @Test(arguments: [
        ("{}", "query", "required: give query, or queries"),
        ("{query: a, queries: {b: c}, apiVersion: v2}", "queries", "cannot be given with query"),
        ("{queries: {a: b}}", "queries", "needs apiVersion: v2"),
        ("{query: a, formula: a, apiVersion: v2}", "formula", "is only used with queries"),
        ("{queries: {a: b, c: d}, apiVersion: v2}", "formula", "required when several queries"),
        ("{query: a, aggregator: sum}", "aggregator", "is not supported by apiVersion v1"),
        ("{query: a, apiVersion: v2, aggregator: median}", "aggregator", "must be one of avg, min"),
        ("{query: a, apiVersion: v3}", "apiVersion", "must be v1 or v2"),
        ("{query: a, interval: soon}", "interval", "must be a positive duration"),
        ("{query: a, requestTimeout: 0s}", "requestTimeout", "must be a positive duration"),
        ("{query: a, secretRef: {namespaced: true}}", "secretRef.name", "required with secretRef.namespaced"),
    ])
    func aRuleNamesItsField(fields: String, field: String, problem: String) throws {
        let value = try #require(Self.provider(fields))
        #expect(throws: ProviderSpecError.self) { try DatadogSpec(provider: value) }
        do {
            _ = try DatadogSpec(provider: value)
        } catch {
            #expect(error.field == field)
            #expect(error.problem.contains(problem), "\(error)")
        }
    }

    @Test func argosDefaults() throws {
        let spec = try DatadogSpec(provider: Self.provider("{query: a}"))
        #expect(spec.apiVersion == .v1)
        #expect(spec.intervalSeconds == 300)
        #expect(spec.requestTimeout == .seconds(10))
        #expect(spec.aggregator == "last")
        #expect(spec.secretName == nil)
    }

    @Test(arguments: [(0.05, "0.05"), (12, "12"), (-3.5, "-3.5"), (1e-7, "0.0000001"), (123456.789, "123456.789")])
    func numbersAreWrittenAsGoWritesThem(value: Double, text: String) {
        #expect(DatadogClient.format(value) == text)
    }

    static func provider(_ yaml: String) -> JSONValue? {
        metric("- name: m\n  provider:\n    datadog: \(yaml)").provider.datadog
    }
}
