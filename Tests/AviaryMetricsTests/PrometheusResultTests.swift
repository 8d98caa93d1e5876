import AviaryCore
import Foundation
import Testing

@testable import AviaryMetrics

@Suite("Prometheus answers")
struct PrometheusResultTests {
    static let decoded: [(String, PrometheusResult, String)] = [
        (
            #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1700000000.1,"0.97"]}]}}"#,
            .vector([0.97]), "[0.97]"
        ),
        (#"{"status":"success","data":{"resultType":"vector","result":[]}}"#, .vector([]), "[]"),
        (
            #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{"a":"1"},"value":[1,"NaN"]},{"metric":{"a":"2"},"value":[1,"+Inf"]}]}}"#,
            .vector([.nan, .infinity]), "[NaN,+Inf]"
        ),
        (
            #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":[[1,"1"],[2,"2.5"]]},{"metric":{},"values":[[1,"-Inf"]]}]}}"#,
            .matrix([1, 2.5, -.infinity]), "[1,2.5,-Inf]"
        ),
        (#"{"status":"success","data":{"resultType":"scalar","result":[1,"0.5"]}}"#, .scalar(0.5), "0.5"),
        (#"{"status":"success","data":{"resultType":"string","result":[1,"hello"]}}"#, .string("hello"), "hello"),
    ]

    @Test(arguments: decoded)
    func decodes(body: String, expected: PrometheusResult, display: String) throws {
        let (result, warnings) = try PrometheusResult.decode(status: 200, body: Data(body.utf8))
        // NaN != NaN, so compare the printed forms as well as the shape.
        #expect(result.displayValue == display)
        #expect(result.displayValue == expected.displayValue)
        #expect(warnings.isEmpty)
    }

    @Test func warningsAreKept() throws {
        let body = #"{"status":"success","warnings":["careful"],"data":{"resultType":"vector","result":[]}}"#
        #expect(try PrometheusResult.decode(status: 200, body: Data(body.utf8)).warnings == ["careful"])
    }

    @Test(arguments: [
        (
            400,
            #"{"status":"error","errorType":"bad_data","error":"invalid parameter \"query\": 1:5: parse error: unexpected \")\""}"#,
            PrometheusError.api(
                errorType: "bad_data", message: #"invalid parameter "query": 1:5: parse error: unexpected ")""#)
        ),
        (503, "Service Unavailable", PrometheusError.httpStatus(503, body: "Service Unavailable")),
        (200, "not json", PrometheusError.malformed("the body is not JSON")),
        (
            200, #"{"status":"success","data":{"resultType":"vector","result":[{"value":[1]}]}}"#,
            PrometheusError.malformed("a sample is not [time, \"value\"]")
        ),
    ])
    func errors(status: Int, body: String, expected: PrometheusError) {
        #expect(throws: expected) { try PrometheusResult.decode(status: status, body: Data(body.utf8)) }
    }

    @Test func errorMessageIsPrometheusOwn() {
        let error = PrometheusError.api(errorType: "bad_data", message: "1:5: parse error")
        #expect(error.description == "bad_data: 1:5: parse error")
    }

    @Test(arguments: [(0.97, "0.97"), (5, "5"), (Double.nan, "NaN"), (-Double.infinity, "-Inf"), (1e20, "1e+20")])
    func formatsSamples(value: Double, text: String) {
        #expect(PrometheusResult.format(value) == text)
    }
}

@Suite("JSONPath subset")
struct JSONPathTests {
    static let document = Data(
        #"{"data":{"ok":true,"rate":0.97},"items":[{"value":1},{"value":2}],"odd.key":"x","n":null}"#.utf8)

    @Test(arguments: [
        ("{$}", nil as String?),
        ("{$.data.ok}", "true"),
        ("{.data.ok}", "true"),
        ("{$.data.rate}", "0.97"),
        ("{$.items[0].value}", "1"),
        ("{$.items[-1].value}", "2"),
        ("{$.items[*].value}", "1"),
        ("{$['odd.key']}", "\"x\""),
        ("{$.data}", #"{"ok":true,"rate":0.97}"#),
    ])
    func selects(path: String, display: String?) throws {
        let result = try WebMetricClient.select(try JSONPath(path), in: Self.document)
        if let display { #expect(result.display == display) }
    }

    @Test func missingPathIsAnError() throws {
        #expect(throws: WebMetricError(description: "result of web metric produced no value")) {
            try WebMetricClient.select(try JSONPath("{$.nope}"), in: Self.document)
        }
    }

    @Test func nonJSONBodyIsAString() throws {
        let result = try WebMetricClient.select(try JSONPath("{$}"), in: Data("OK fine".utf8))
        #expect(result.value == .string("OK fine"))
        #expect(result.display == "OK fine")
    }

    @Test(arguments: ["{$.a[}", "{$.a[x]}", "{$.}", "{$.a"])
    func invalidPaths(path: String) {
        #expect(throws: JSONPathError.self) { try JSONPath(path) }
    }
}

@Suite("Secrets file")
struct SecretsFileTests {
    @Test func parsesNamesKeysAndValues() throws {
        let store = try SecretsFile.parse("prometheus-auth:\n  token: s3cr3t\n  port: 9090\n", path: "secrets.yaml")
        #expect(store.value(name: "prometheus-auth", key: "token") == "s3cr3t")
        #expect(store.value(name: "prometheus-auth", key: "port") == "9090")
        #expect(store.value(name: "prometheus-auth", key: "nope") == nil)
    }

    @Test func emptyFileIsNoSecrets() throws {
        #expect(try SecretsFile.parse("", path: "secrets.yaml") == SecretStore())
    }

    @Test(arguments: [
        ("- a\n- b\n", "secrets.yaml: must map secret names to their keys, e.g. `my-secret: {token: value}`"),
        ("s: plain\n", "secrets.yaml: s: must map keys to values, e.g. `token: value`"),
        ("s:\n  k: [hidden]\n", "secrets.yaml: s.k: must be a plain value (quote it)"),
    ])
    func rejectsOtherShapes(text: String, message: String) {
        #expect(throws: SecretsFileError.self) { try SecretsFile.parse(text, path: "secrets.yaml") }
        do {
            _ = try SecretsFile.parse(text, path: "secrets.yaml")
        } catch {
            #expect(error.description == message)
            #expect(!error.description.contains("hidden"))
        }
    }
}
