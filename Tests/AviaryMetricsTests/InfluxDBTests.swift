import AviaryCore
import AviaryExpression
import AviaryJSON
import AviaryModel
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryMetrics

/// Argo's InfluxDB provider against a local server that answers as InfluxDB 2's `/api/v2/query`
/// documents (annotated CSV, several tables, an error table, JSON errors): the request Argo's Go
/// client sends and `result` as every record's `_value`.
@Suite(.serialized) struct InfluxDBProviderTests {
    static func providers(_ secrets: [String: [String: String]]) -> MetricProviders {
        AviaryMetricsTests.providers(secrets: secrets)
    }

    static func profile(_ url: String) -> [String: [String: String]] {
        ["default/influxdb": ["authToken": "tok-1", "org": "shop & co", "address": url]]
    }

    static func influxMetric(_ fields: String, condition: String = "all(result, # < 0.05)") -> Metric {
        metric(
            """
            - name: errors
              successCondition: \(condition)
              provider:
                influxdb: \(fields)
            """)
    }

    /// Two tables, as a `group()`-less query over two series gives them.
    static let twoTables = """
        #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string
        #group,false,false,true,true,false,false,true,true
        #default,_result,,,,,,,
        ,result,table,_start,_stop,_time,_value,_field,_measurement
        ,,0,2026-12-04T10:00:00Z,2026-12-04T10:05:00Z,2026-12-04T10:01:00Z,0.01,rate,errors
        ,,0,2026-12-04T10:00:00Z,2026-12-04T10:05:00Z,2026-12-04T10:02:00Z,0.02,rate,errors

        #datatype,string,long,dateTime:RFC3339,dateTime:RFC3339,dateTime:RFC3339,double,string,string
        #group,false,false,true,true,false,false,true,true
        #default,_result,,,,,,,
        ,result,table,_start,_stop,_time,_value,_field,_measurement
        ,,1,2026-12-04T10:00:00Z,2026-12-04T10:05:00Z,2026-12-04T10:01:00Z,0.000004,rate,"errors,canary"

        """

    @Test func everyRecordsValueIsTheResultAndTheRequestIsArgos() async throws {
        let influx = try LoopbackServer { _ in .respond(status: 200, body: Self.twoTables, contentType: "text/csv") }
        defer { influx.stop() }
        let query = #"from(bucket: "web") |> range(start: -5m) |> filter(fn: (r) => r._field == "rate")"#
        let outcome = await Self.providers(Self.profile(influx.url)).measure(
            request(Self.influxMetric("{query: '\(query)'}")))
        #expect(outcome == .value(.array([.float(0.01), .float(0.02), .float(0.000004)]), display: "[0.01 0.02 4e-06]"))
        let sent = try #require(influx.requests.first)
        #expect(sent.method == "POST")
        #expect(sent.path == "/api/v2/query?org=shop%20%26%20co")
        #expect(sent.headers["authorization"] == "Token tok-1")
        let body = try JSONDecoder().decode(JSONValue.self, from: Data(sent.body.utf8))
        #expect(body["query"]?.stringValue == query)
        #expect(body["type"]?.stringValue == "flux")
        #expect(body["dialect"]?["annotations"] == .array([.string("datatype"), .string("group"), .string("default")]))
    }

    @Test func anEmptyAnswerAndErrorsAreErrorMeasurements() async throws {
        let cases: [(Int, String, String)] = [
            (200, "\r\n", "no results returned from flux query"),
            (
                200,
                "#datatype,string,string\n#group,true,true\n#default,,\n,error,reference\n,\"failed to initialize execute state: could not find bucket \"\"web\"\"\",897\n",
                #"failed to initialize execute state: could not find bucket "web" [897]"#
            ),
            (
                400, #"{"code":"invalid","message":"compilation failed: error at @1:1-1:3: undefined identifier fr"}"#,
                "invalid: compilation failed: error at @1:1-1:3: undefined identifier fr"
            ),
            (503, "<html>down</html>", "Unexpected status code 503"),
        ]
        for (status, body, message) in cases {
            let influx = try LoopbackServer { _ in .respond(status: status, body: body, contentType: "text/csv") }
            defer { influx.stop() }
            let outcome = await Self.providers(Self.profile(influx.url)).measure(request(Self.influxMetric("{query: q}")))
            #expect(outcome == .error(message), "\(status) \(body)")
        }
    }

    @Test func theProfileIsNamedWhenMissingOrIncomplete() async {
        let missing = await Self.providers([:]).measure(request(Self.influxMetric("{query: q, profile: team-influx}")))
        #expect(
            missing == .error("secret \"team-influx\" not found in namespace default: create it with authToken, org and address"))
        let incomplete = await Self.providers(["default/influxdb": ["authToken": "t", "org": "o"]]).measure(
            request(Self.influxMetric("{query: q}")))
        #expect(incomplete == .error("authToken, org, or address not found"))
    }

    @Test func valuesAreTypedByTheirColumnAndDefaultsFillEmptyCells() throws {
        let csv = """
            #datatype,string,long,long,boolean,string
            #group,false,false,false,false,false
            #default,_result,,7,,
            ,result,table,_value,ok,name
            ,,0,,true,a
            ,,0,12,false,b

            #datatype,string,long,string
            #group,false,false,false
            #default,_result,,
            ,result,table,_value
            ,,1,"quoted, with a comma"
            """
        #expect(try InfluxDBClient.values(csv: csv) == [.int(7), .int(12), .string("quoted, with a comma")])
    }

    @Test(arguments: [
        (0.5, "0.5"), (12, "12"), (123456, "123456"), (1234567, "1.234567e+06"), (0.0001, "0.0001"),
        (0.00001, "1e-05"), (-2.5e20, "-2.5e+20"),
    ])
    func floatsAreWrittenAsGosSprint(value: Double, text: String) {
        #expect(GoNumbers.general(value) == text)
    }
}
