import AviaryCore
import AviaryJSON
import Foundation
import NIOHTTP1

/// Why a Wavefront measurement could not be taken.
public struct WavefrontError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// One series' point nearest the measurement's start: its value, its time and the drift.
struct WavefrontPoint: Sendable, Equatable {
    var value: Double
    var epoch: Int64
    var drift: Int64
}

/// Queries Wavefront's chart API as Argo's provider (through spaceapegames' Go client) does: one
/// point per series at the measurement's start, granularity seconds, series outside the window
/// included, with the token as a bearer.
public enum WavefrontClient {
    /// How long Argo's client waits (its HTTP client has no limit; the run's timeout bounds it).
    static let timeout: Duration = .seconds(30)

    /// The chart API's query string: every field Argo's client sends, in its names. Booleans are
    /// always sent; empty strings never.
    static func parameters(_ spec: WavefrontSpec, at start: Date) -> [(String, String)] {
        let millis = String(Int64(start.timeIntervalSince1970) * 1000)
        return [
            ("q", spec.query), ("s", millis), ("e", millis), ("g", "s"), ("p", "1"), ("i", "true"),
            ("autoEvents", "false"), ("listmode", "false"), ("strict", "false"), ("includeObsoleteMetrics", "false"),
        ]
    }

    static func request(_ spec: WavefrontSpec, token: String, at start: Date, base: String) -> MetricHTTPRequest {
        var components = URLComponents(string: base + "/chart/api")!
        components.queryItems = parameters(spec, at: start).map { URLQueryItem(name: $0.0, value: $0.1) }
        // `+` is a space to Wavefront's query decoder, as in any form-encoded query.
        let url = components.url!.absoluteString.replacingOccurrences(of: "+", with: "%2B")
        return MetricHTTPRequest(
            method: .GET, url: url, headers: [("Authorization", "Bearer \(token)")], body: nil, timeout: timeout)
    }

    /// Each series' point nearest `start`.
    static func run(
        _ spec: WavefrontSpec, token: String, at start: Date, base: String
    ) async throws(WavefrontError)
        -> (points: [WavefrontPoint], warnings: String?)
    {
        let response = try await MetricHTTP.send(
            request(spec, token: token, at: start, base: base), failure: WavefrontError.init)
        return try points(status: response.status, body: response.body, start: start)
    }

    /// Reads the chart API's answer as Argo does: a status other than 200 is an error with the
    /// answer's body; no series is an error; each series gives the point whose time (seconds) is
    /// nearest `start`.
    static func points(
        status: Int, body: Data, start: Date
    ) throws(WavefrontError)
        -> (points: [WavefrontPoint], warnings: String?)
    {
        guard status == 200 else {
            // Go's `resp.Status`, then the body, as the Go client words it.
            let reason = HTTPResponseStatus(statusCode: status).reasonPhrase
            let text = String(decoding: body.prefix(1024), as: UTF8.self)
            throw WavefrontError("server returned \(status) \(reason)\n\(text)\n")
        }
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            throw WavefrontError(
                "could not read Wavefront's answer: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        let series = document["timeseries"]?.arrayValue ?? []
        guard !series.isEmpty else { throw WavefrontError("No TimeSeries found in response from Wavefront") }
        let epoch = Double(Int64(start.timeIntervalSince1970))
        let points = series.map { one in
            var nearest = WavefrontPoint(value: 0, epoch: 0, drift: 0)
            var delta = Double.infinity
            for point in one["data"]?.arrayValue ?? [] {
                guard let pair = point.arrayValue, pair.count >= 2, let time = pair[0].numberValue,
                    let value = pair[1].numberValue
                else { continue }
                if abs(time - epoch) < abs(delta) {
                    delta = time - epoch
                    nearest = WavefrontPoint(value: value, epoch: Int64(time), drift: Int64(delta))
                }
            }
            return nearest
        }
        let warnings = document["warnings"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        return (points, warnings)
    }

    /// Argo's display of a value, two decimals.
    static func format(_ value: Double) -> String { String(format: "%.2f", value) }
}
