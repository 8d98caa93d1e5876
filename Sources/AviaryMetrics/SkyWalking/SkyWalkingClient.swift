import AviaryCore
import AviaryJSON
import Foundation
import NIOHTTP1

/// Why a SkyWalking measurement could not be taken.
public struct SkyWalkingError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Sends the query as Argo's provider (through machinebox's GraphQL client) does: a JSON POST to
/// `ADDRESS/graphql` with the variable `duration`, the last `interval` by the minute.
public enum SkyWalkingClient {
    /// Argo's query timeout.
    static let timeout: Duration = .seconds(30)

    struct Body: Encodable {
        struct Variables: Encodable {
            struct Window: Encodable {
                var start: String
                var end: String
                var step = "MINUTE"
            }
            var duration: Window
        }
        var query: String
        var variables: Variables
    }

    /// SkyWalking's minute format, `2006-01-02 1504` in Go's notation, in UTC.
    static func minute(_ date: Date) -> String {
        var calendar = Calendar(identifier: .gregorian)
        calendar.timeZone = TimeZone(identifier: "UTC")!
        let parts = calendar.dateComponents([.year, .month, .day, .hour, .minute], from: date)
        return String(
            format: "%04d-%02d-%02d %02d%02d", parts.year ?? 0, parts.month ?? 0, parts.day ?? 0, parts.hour ?? 0,
            parts.minute ?? 0)
    }

    static func request(_ spec: SkyWalkingSpec, now: Date) -> MetricHTTPRequest {
        let window = Body.Variables.Window(
            start: minute(now.addingTimeInterval(-spec.intervalSeconds)), end: minute(now))
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let address = spec.address.hasSuffix("/") ? String(spec.address.dropLast()) : spec.address
        return MetricHTTPRequest(
            method: .POST, url: address + "/graphql",
            headers: [
                ("Content-Type", "application/json; charset=utf-8"), ("Accept", "application/json; charset=utf-8"),
            ],
            body: try? encoder.encode(Body(query: spec.query, variables: .init(duration: window))), timeout: timeout)
    }

    /// The answer's `data`.
    static func run(_ spec: SkyWalkingSpec, now: Date) async throws(SkyWalkingError) -> JSONValue {
        let response = try await MetricHTTP.send(request(spec, now: now), failure: SkyWalkingError.init)
        return try data(status: response.status, body: response.body)
    }

    /// Reads the GraphQL answer as machinebox's client does: the first of `errors` is the error
    /// (`graphql: MESSAGE`); an answer that is not JSON is an error, naming the status when it is
    /// not 200; otherwise `data`, null when there is none.
    static func data(status: Int, body: Data) throws(SkyWalkingError) -> JSONValue {
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            if status != 200 { throw SkyWalkingError("graphql: server returned a non-200 status code: \(status)") }
            throw SkyWalkingError(
                "decoding response: not JSON: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        if let first = document["errors"]?.arrayValue?.first {
            throw SkyWalkingError("graphql: " + (first["message"]?.stringValue ?? first.serializedString()))
        }
        return document["data"] ?? .null
    }
}
