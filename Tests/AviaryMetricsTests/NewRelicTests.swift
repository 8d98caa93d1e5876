import AviaryCore
import AviaryExpression
import AviaryJSON
import AviaryModel
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryMetrics

/// Argo's New Relic provider against a local server that answers as NerdGraph does (results,
/// GraphQL errors, HTTP errors): the GraphQL request Argo sends, how the rows become `result`,
/// and the profile Secret it reads.
@Suite(.serialized) struct NewRelicProviderTests {
    static func providers(_ secrets: [String: [String: String]]) -> MetricProviders {
        AviaryMetricsTests.providers(secrets: secrets)
    }

    static func newRelicMetric(_ fields: String, condition: String = "result.errorRate < 0.05") -> Metric {
        metric(
            """
            - name: errors
              successCondition: \(condition)
              provider:
                newRelic: \(fields)
            """)
    }

    static func profile(_ url: String) -> [String: [String: String]] {
        ["default/newrelic": ["personal-api-key": "NRAK-1", "account-id": "1234567", "base-url-nerdgraph": url + "/graphql"]]
    }

    static func answer(_ results: String) -> LoopbackServer.Reply {
        .respond(status: 200, body: #"{"data":{"actor":{"account":{"nrql":{"results":"# + results + "}}}}}")
    }

    @Test func oneRowIsTheResultMapAndTheRequestIsArgos() async throws {
        let nerdGraph = try LoopbackServer { _ in Self.answer(#"[{"errorRate":0.01,"count":250}]"#) }
        defer { nerdGraph.stop() }
        let query = "SELECT percentage(count(*), WHERE error IS true) AS errorRate FROM Transaction WHERE appName = 'web'"
        let outcome = await Self.providers(Self.profile(nerdGraph.url)).measure(
            request(Self.newRelicMetric("{query: \"\(query)\", timeout: 30}", condition: "result.errorRate < 0.05 && result.count == 250")))
        #expect(
            outcome
                == .value(.map(["errorRate": .float(0.01), "count": .float(250)]), display: #"{"count":250,"errorRate":0.01}"#))
        let sent = try #require(nerdGraph.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.path == "/graphql")
        #expect(sent.headers["api-key"] == "NRAK-1")
        let body = try JSONDecoder().decode(JSONValue.self, from: Data(sent.body.utf8))
        #expect(body["variables"] == .object(["accountId": .integer(1_234_567), "query": .string(query), "timeout": .integer(30)]))
        #expect(body["query"]?.stringValue?.contains("nrql(query: $query, timeout: $timeout)") == true)
    }

    @Test func severalRowsAreAListAndNoneIsAnError() async throws {
        let rows = try LoopbackServer { _ in Self.answer(#"[{"facet":"web","count":3},{"facet":"api","count":5}]"#) }
        defer { rows.stop() }
        let many = await Self.providers(Self.profile(rows.url)).measure(
            request(Self.newRelicMetric("{query: \"SELECT count(*) FROM Transaction FACET appName\"}", condition: "len(result) == 2")))
        guard case .value(.array(let list), let display, _) = many else {
            Issue.record("\(many)")
            return
        }
        #expect(list.count == 2)
        #expect(display == #"[{"count":3,"facet":"web"},{"count":5,"facet":"api"}]"#)
        for empty in ["[]", "[{}]"] {
            let server = try LoopbackServer { _ in Self.answer(empty) }
            defer { server.stop() }
            let outcome = await Self.providers(Self.profile(server.url)).measure(request(Self.newRelicMetric("{query: q}")))
            #expect(outcome == .error("no results returned from NRQL query"), "\(empty)")
        }
    }

    @Test(arguments: [
        (200, #"{"errors":[{"message":"NRQL Syntax Error: Error at line 1 position 8","path":["actor"]}],"data":{"actor":{"account":{"nrql":null}}}}"#,
         "NRQL Syntax Error: Error at line 1 position 8"),
        (401, #"{"errors":[{"message":"Invalid API key"}]}"#, "Invalid API key"),
        (502, "<html>Bad Gateway</html>", "502 response returned: <html>Bad Gateway</html>"),
    ])
    func nerdGraphsErrorsAreErrorMeasurements(status: Int, body: String, message: String) async throws {
        let server = try LoopbackServer { _ in .respond(status: status, body: body) }
        defer { server.stop() }
        let outcome = await Self.providers(Self.profile(server.url)).measure(request(Self.newRelicMetric("{query: q}")))
        #expect(outcome == .error(message))
    }

    @Test func theProfileSecretIsNamedWhenItIsMissingOrIncomplete() async {
        let missing = await Self.providers([:]).measure(request(Self.newRelicMetric("{query: q, profile: team-nr}")))
        #expect(
            missing
                == .error(
                    "secret \"team-nr\" not found in namespace default: create it with personal-api-key and account-id "
                        + "(and region eu, or base-url-nerdgraph, if not the US region)"))
        let incomplete = await Self.providers(["default/newrelic": ["account-id": "1"]]).measure(
            request(Self.newRelicMetric("{query: q}")))
        #expect(incomplete == .error("account ID or personal API key not found"))
    }

    @Test(arguments: [
        (["region": "eu"], "https://api.eu.newrelic.com/graphql"),
        ([:], "https://api.newrelic.com/graphql"),
        (["region": "eu", "base-url-nerdgraph": "http://proxy:8080/graphql"], "http://proxy:8080/graphql"),
    ])
    func theRegionPicksNerdGraph(keys: [String: String], url: String) throws {
        let account = try NewRelicAccount(secret: keys.merging(["personal-api-key": "k", "account-id": "1"]) { $1 })
        #expect(account.nerdGraphURL == url)
    }

    @Test(arguments: [
        ("{}", "query", "required; give the NRQL query"),
        ("{query: q, timeout: -1}", "timeout", "timeout value needs to be a positive value"),
        ("{query: q, timeout: soon}", "timeout", "must be a number of seconds"),
    ])
    func aRuleNamesItsField(fields: String, field: String, problem: String) {
        let value = metric("- name: m\n  provider:\n    newRelic: \(fields)").provider.newRelic
        do {
            _ = try NewRelicSpec(provider: value)
            Issue.record("\(fields) was accepted")
        } catch {
            #expect(error.field == field)
            #expect(error.problem.contains(problem), "\(error)")
        }
    }
}
