import AviaryCore
import AviaryExpression
import AviaryJSON
import Foundation
import NIOHTTP1

/// Why a CloudWatch measurement could not be taken, worded as the AWS SDK for Go words it.
public struct CloudWatchError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// One `MetricDataResults` entry of CloudWatch's answer.
struct CloudWatchSeries: Sendable {
    var id: String
    var label: String?
    var statusCode: String?
    var timestamps: [Date]
    var values: [Double]
    var messages: [(code: String, value: String)]
}

/// Calls CloudWatch's `GetMetricData` as Argo's provider does, in the AWS JSON 1.0 protocol that
/// CloudWatch serves beside Query and CBOR: one signed POST to the endpoint's `/` naming the
/// operation in `X-Amz-Target`, over the metric's `interval` ending now.
public enum CloudWatchClient {
    /// How long one call may take (the SDK's own limit is the caller's context; the run bounds it).
    static let timeout: Duration = .seconds(30)
    static let target = "GraniteServiceVersion20100801.GetMetricData"

    /// The call over the window ending at `end`, signed at `signedAt`: the wall clock always, since
    /// AWS refuses a signature more than 15 minutes off, even when a backtest queries the past.
    static func request(
        _ spec: CloudWatchSpec, configuration: AWSConfiguration, end: Date, signedAt: Date = Date()
    ) -> MetricHTTPRequest {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        let body = (try? encoder.encode(spec.request(end: end))) ?? Data()
        return AWSSignatureV4.post(
            to: configuration.endpoint,
            headers: [("Content-Type", "application/x-amz-json-1.0"), ("X-Amz-Target", target)], body: body,
            credentials: configuration.credentials, region: configuration.region, service: "monitoring",
            date: signedAt, timeout: timeout)
    }

    static func run(
        _ spec: CloudWatchSpec, configuration: AWSConfiguration, end: Date
    ) async throws(CloudWatchError) -> (series: [CloudWatchSeries], messages: [(code: String, value: String)]) {
        let outgoing = request(spec, configuration: configuration, end: end)
        let response = try await MetricHTTP.send(outgoing) { reason in
            CloudWatchError(
                "operation error CloudWatch: GetMetricData, https response error StatusCode: 0, "
                    + "request send failed, \(reason)")
        }
        return try read(status: response.status, headers: response.headers, body: response.body)
    }

    /// Reads the answer: 200 gives the results in order; any other status is the SDK's
    /// `operation error` with the request id and the error's code and message.
    static func read(
        status: Int, headers: [(String, String)], body: Data
    ) throws(CloudWatchError) -> (series: [CloudWatchSeries], messages: [(code: String, value: String)]) {
        func header(_ name: String) -> String? { headers.first { $0.0.lowercased() == name }?.1 }
        let document = try? JSONDecoder().decode(JSONValue.self, from: body)
        guard status == 200 else {
            // The query-compatible code (x-amzn-query-error: CODE;Sender) is the one CloudWatch's
            // documentation lists; `__type` carries the JSON protocol's shape name.
            let typeName = (document?["__type"]?.stringValue ?? "").split(separator: "#").last.map(String.init)
            let code =
                header("x-amzn-query-error")?.split(separator: ";").first.map(String.init) ?? typeName
                ?? "UnknownError"
            let message =
                document?["message"]?.stringValue ?? document?["Message"]?.stringValue
                ?? String(decoding: body.prefix(512), as: UTF8.self)
            throw CloudWatchError(
                "operation error CloudWatch: GetMetricData, https response error StatusCode: \(status), RequestID: "
                    + "\(header("x-amzn-requestid") ?? ""), \(code.isEmpty ? "UnknownError" : code): \(message)")
        }
        guard let document, let results = document["MetricDataResults"]?.arrayValue else {
            throw CloudWatchError(
                "operation error CloudWatch: GetMetricData, deserialization failed: "
                    + String(decoding: body.prefix(200), as: UTF8.self))
        }
        let series = results.map { result in
            CloudWatchSeries(
                id: result["Id"]?.stringValue ?? "", label: result["Label"]?.stringValue,
                statusCode: result["StatusCode"]?.stringValue,
                timestamps: (result["Timestamps"]?.arrayValue ?? []).compactMap(\.numberValue).map(
                    Date.init(timeIntervalSince1970:)),
                values: (result["Values"]?.arrayValue ?? []).compactMap(\.numberValue),
                messages: messages(result["Messages"]))
        }
        return (series, messages(document["Messages"]))
    }

    private static func messages(_ value: JSONValue?) -> [(code: String, value: String)] {
        (value?.arrayValue ?? []).map { ($0["Code"]?.stringValue ?? "", $0["Value"]?.stringValue ?? "") }
    }

    /// What a condition reads as `result`: the list of results with the Go SDK's field names
    /// (`result[0].Values`, `result[0].Timestamps`, `result[0].Id`, `result[0].Label`,
    /// `result[0].StatusCode`, `result[0].Messages`).
    static func result(_ series: [CloudWatchSeries]) -> ExprValue {
        .array(
            series.map { one in
                .map([
                    "Id": .string(one.id), "Label": one.label.map(ExprValue.string) ?? .nil,
                    "StatusCode": one.statusCode.map(ExprValue.string) ?? .nil,
                    "Timestamps": .array(one.timestamps.map(ExprValue.time)),
                    "Values": .array(one.values.map(ExprValue.float)),
                    "Messages": .array(
                        one.messages.map { .map(["Code": .string($0.code), "Value": .string($0.value)]) }),
                ])
            })
    }

    /// Argo's value, `fmt.Sprintf("%+v", values)` of each result's values: `[[0.5 1e-05] []]`.
    static func display(_ series: [CloudWatchSeries]) -> String {
        "["
            + series.map { "[" + $0.values.map(GoNumbers.general).joined(separator: " ") + "]" }
            .joined(separator: " ") + "]"
    }

    /// The `messages` metadata: each message as `{Code:CODE Value:TEXT}`.
    static func display(messages: [(code: String, value: String)]) -> String {
        "[" + messages.map { "{Code:\($0.code) Value:\($0.value)}" }.joined(separator: " ") + "]"
    }
}
