import AviaryJSON
import AviaryModel
import Foundation
import NIOHTTP1

/// A Graphite metric (`provider.graphite`), as Argo Rollouts reads it: `query` is the query
/// string of Graphite's render API (`target=...&from=-5min`, whitespace removed so a long target
/// may span lines), sent to `ADDRESS/render` with `format=json`; the result is the first
/// target's datapoints that hold a value, as a list of floats.
public struct GraphiteQuery: Sendable, Equatable {
    /// Graphite's base URL, `http://graphite.example.com` (a path is kept: `.../graphite/render`).
    public var address: String
    /// The render API's query string (may span lines).
    public var query: String
    /// How long the request may take (Argo's: 10 s).
    public var timeout: Duration

    /// A query; see the properties.
    public init(address: String, query: String, timeout: Duration = .seconds(10)) {
        self.address = address
        self.query = query
        self.timeout = timeout
    }

    /// Reads `provider.graphite` (`address`, `query`), naming the field that is missing.
    public init(provider value: JSONValue?) throws(GraphiteError) {
        let fields = value?.objectValue ?? [:]
        guard let address = fields["address"]?.stringValue, !address.isEmpty else {
            throw GraphiteError("provider.graphite.address is empty: give Graphite's URL, http://graphite:8080")
        }
        guard let query = fields["query"]?.stringValue, !query.isEmpty else {
            throw GraphiteError("provider.graphite.query is empty: give the render query, target=...&from=-5min")
        }
        self.init(address: address, query: query)
    }
}

/// Why a Graphite metric produced no value.
public struct GraphiteError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message that goes into the measurement.
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Sends Graphite render queries.
public enum GraphiteClient {
    /// The datapoints' values of the first target (nil where Graphite has no value).
    public static func run(_ query: GraphiteQuery) async throws(GraphiteError) -> [Double?] {
        let url = try renderURL(address: query.address, query: query.query)
        let response = try await MetricHTTP.send(
            MetricHTTPRequest(method: .GET, url: url, timeout: query.timeout), failure: GraphiteError.init)
        guard response.status < 400 else {
            throw GraphiteError("error response: \(String(decoding: response.body.prefix(512), as: UTF8.self))")
        }
        return try values(from: response.body)
    }

    /// `ADDRESS/render?QUERY` with `format=json`, the query's whitespace removed and its
    /// parameters encoded again sorted by name (as Argo builds it).
    static func renderURL(address: String, query: String) throws(GraphiteError) -> String {
        guard var base = URLComponents(string: address), let scheme = base.scheme, ["http", "https"].contains(scheme),
            base.host != nil
        else {
            throw GraphiteError("Graphite address \(address) is not a valid URL")
        }
        let compact = String(query.unicodeScalars.filter { !CharacterSet.whitespacesAndNewlines.contains($0) })
        var parameters: [(name: String, value: String)] = []
        for pair in compact.split(separator: "&", omittingEmptySubsequences: true) {
            let parts = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
            let name = decode(String(parts[0]))
            guard !name.isEmpty, name != "format" else { continue }
            parameters.append((name, decode(parts.count > 1 ? String(parts[1]) : "")))
        }
        parameters.append(("format", "json"))
        // Sorted by name, keeping the order of repeated names (several `target`s).
        let encoded = parameters.enumerated().sorted { ($0.element.name, $0.offset) < ($1.element.name, $1.offset) }
            .map { "\(encode($0.element.name))=\(encode($0.element.value))" }.joined(separator: "&")
        let path = base.percentEncodedPath.hasSuffix("/") ? base.percentEncodedPath : base.percentEncodedPath + "/"
        base.percentEncodedPath = path + "render"
        base.percentEncodedQuery = encoded
        base.fragment = nil
        guard let url = base.string else { throw GraphiteError("Graphite address \(address) is not a valid URL") }
        return url
    }

    /// The values of the first target's `[value, timestamp]` datapoints; a value may be a number,
    /// a numeric string or null.
    static func values(from body: Data) throws(GraphiteError) -> [Double?] {
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: body), let targets = document.arrayValue
        else {
            throw GraphiteError(
                "the render API did not answer a JSON list: \(String(decoding: body.prefix(200), as: UTF8.self))")
        }
        guard let first = targets.first else { return [] }
        return try (first["datapoints"]?.arrayValue ?? []).map { point throws(GraphiteError) -> Double? in
            guard let pair = point.arrayValue, pair.count == 2 else {
                throw GraphiteError("error unmarshaling data point: \(point.jsonText)")
            }
            switch pair[0] {
            case .null: return nil
            case .integer(let number): return Double(number)
            case .double(let number): return number
            case .string(let text):
                guard let number = Double(text) else { throw GraphiteError("error unmarshaling value: \(text)") }
                return number
            default: throw GraphiteError("error unmarshaling value: \(pair[0].jsonText)")
            }
        }
    }

    /// The measurement's value as Argo writes it: `[1.000000,2.500000]`, the values with six decimals.
    static func display(_ values: [Double]) -> String {
        "[" + values.map { String(format: "%f", $0) }.joined(separator: ",") + "]"
    }

    private static let unreserved = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~")

    private static func encode(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: unreserved) ?? text
    }

    private static func decode(_ text: String) -> String {
        text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? text
    }
}
