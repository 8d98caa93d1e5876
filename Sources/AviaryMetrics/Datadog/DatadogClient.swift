import AviaryCore
import AviaryExpression
import AviaryJSON
import AviaryModel
import Foundation
import NIOHTTP1

/// Where Datadog is and the keys it takes (`api-key`, `app-key`, `address` of the Secret).
public struct DatadogCredentials: Sendable, Equatable {
    /// Datadog's base URL; Argo's default is `https://api.datadoghq.com`.
    public var address: String
    public var apiKey: String
    public var appKey: String

    /// Argo's default site.
    public static let defaultAddress = "https://api.datadoghq.com"

    public init(address: String?, apiKey: String, appKey: String) {
        self.address = (address?.isEmpty ?? true) ? Self.defaultAddress : address!
        self.apiKey = apiKey
        self.appKey = appKey
    }

    /// The keys of a Secret (or of `DD_*` variables), nil unless both keys are there.
    public init?(secret values: [String: String]) {
        guard let apiKey = values["api-key"], let appKey = values["app-key"], !apiKey.isEmpty, !appKey.isEmpty else {
            return nil
        }
        self.init(address: values["address"], apiKey: apiKey, appKey: appKey)
    }

    /// Argo's fallback when no `secretRef` is named: `DD_API_KEY`, `DD_APP_KEY` and `DD_ADDRESS`,
    /// all three set.
    public init?(environment: [String: String]) {
        guard let address = environment["DD_ADDRESS"], let apiKey = environment["DD_API_KEY"],
            let appKey = environment["DD_APP_KEY"]
        else { return nil }
        self.init(secret: ["address": address, "api-key": apiKey, "app-key": appKey])
    }
}

/// What a Datadog query gave: nothing (no series, or no value), one number, or one number per
/// group of a grouped v2 query (with the groups' tags).
public enum DatadogResult: Sendable, Equatable {
    case none(display: String)
    case scalar(Double)
    case grouped([Double], groups: String, truncated: Bool)
}

/// Why a Datadog measurement could not be taken (Argo's messages).
public struct DatadogError: Error, Sendable, Equatable, CustomStringConvertible {
    public var description: String
    init(_ description: String) { self.description = description }
}

/// Sends Datadog queries as Argo's provider does and reads the answers.
public enum DatadogClient {
    /// The request for `spec` over the `interval` ending at `now`.
    static func request(_ spec: DatadogSpec, credentials: DatadogCredentials, now: Date) throws(DatadogError)
        -> MetricHTTPRequest
    {
        let to = Int64(now.timeIntervalSince1970)
        let from = to - Int64(spec.intervalSeconds)
        let base = credentials.address.hasSuffix("/") ? String(credentials.address.dropLast()) : credentials.address
        guard let parsed = URLComponents(string: base), let scheme = parsed.scheme, ["http", "https"].contains(scheme),
            parsed.host != nil
        else {
            throw DatadogError("Datadog address \(credentials.address) is not a valid URL; set address in the Secret")
        }
        let headers = [
            ("Content-Type", "application/json"), ("DD-API-KEY", credentials.apiKey),
            ("DD-APPLICATION-KEY", credentials.appKey),
        ]
        switch spec.apiVersion {
        case .v1:
            // Go's url.Values.Encode: sorted names, spaces as `+`.
            let parameters = [("from", String(from)), ("query", spec.query ?? ""), ("to", String(to))]
            let query = parameters.map { "\($0)=\(formEncode($1))" }.joined(separator: "&")
            return MetricHTTPRequest(
                method: .GET, url: base + "/api/v1/query?" + query, headers: headers, timeout: spec.requestTimeout)
        case .v2:
            let queries = spec.query.map { ["query": $0] } ?? spec.queries
            let body = ScalarRequest(
                data: .init(
                    type: "scalar_request",
                    attributes: .init(
                        from: from * 1000, to: to * 1000,
                        queries: queries.keys.sorted().map { name in
                            [
                                "aggregator": spec.aggregator, "data_source": "metrics", "name": name,
                                "query": queries[name]!,
                            ]
                        },
                        formulas: spec.formula.map { [["formula": $0]] } ?? [])))
            let encoder = JSONEncoder()
            encoder.outputFormatting = .sortedKeys
            return MetricHTTPRequest(
                method: .POST, url: base + "/api/v2/query/scalar", headers: headers,
                body: try? encoder.encode(body), timeout: spec.requestTimeout)
        }
    }

    /// Takes one measurement.
    static func run(_ spec: DatadogSpec, credentials: DatadogCredentials, now: Date) async throws(DatadogError)
        -> DatadogResult
    {
        let response = try await MetricHTTP.send(try request(spec, credentials: credentials, now: now), failure: DatadogError.init)
        return try parse(status: response.status, body: response.body, apiVersion: spec.apiVersion)
    }

    /// Reads an answer of either API version.
    static func parse(status: Int, body: Data, apiVersion: DatadogSpec.APIVersion) throws(DatadogError)
        -> DatadogResult
    {
        let text = String(decoding: body.prefix(1024), as: UTF8.self)
        if status == 401 || status == 403 {
            throw DatadogError("received authentication error response code: \(status) \(text)")
        }
        guard status == 200 else { throw DatadogError("received non 2xx response code: \(status) \(text)") }
        let document: JSONValue
        do {
            document = try JSONDecoder().decode(JSONValue.self, from: body)
        } catch {
            throw DatadogError("Could not parse JSON body: \(text)")
        }
        return apiVersion == .v1 ? try parseV1(document) : try parseV2(document)
    }

    /// v1: the last point of the first series.
    static func parseV1(_ document: JSONValue) throws(DatadogError) -> DatadogResult {
        let series = document["series"]?.arrayValue ?? []
        guard let points = series.first?["pointlist"]?.arrayValue, let last = points.last else {
            return .none(display: series.isEmpty && document["series"] == nil ? "null" : "[]")
        }
        guard let pair = last.arrayValue, pair.count == 2 else {
            throw DatadogError("Datapoint does not have 2 values")
        }
        guard let value = pair[1].numberValue else {
            throw DatadogError("Could not parse JSON body: the point's value is \(pair[1].jsonText)")
        }
        return .scalar(value)
    }

    /// v2: the first number column's values (nulls left out); with group columns, one value per
    /// group, the groups' tags kept (the first 50 and last 50 by value when there are over 100).
    static func parseV2(_ document: JSONValue) throws(DatadogError) -> DatadogResult {
        let data = document["data"]
        if let errors = data?["errors"]?.stringValue, !errors.isEmpty {
            throw DatadogError("There were errors in your query: \(errors)")
        }
        let columns = data?["attributes"]?["columns"]?.arrayValue ?? []
        let numbers = columns.first {
            let type = $0["type"]?.stringValue ?? ""
            return type.isEmpty || type == "number"
        }
        let groupColumns = columns.filter { $0["type"]?.stringValue == "group" }
        var values: [Double] = []
        var groups: [(name: String, value: Double)] = []
        for (index, cell) in (numbers?["values"]?.arrayValue ?? []).enumerated() {
            if cell == .null { continue }
            guard let value = cell.numberValue else {
                throw DatadogError(
                    "could not parse numeric value \(cell.jsonText) in column \"\(numbers?["name"]?.stringValue ?? "")\"")
            }
            values.append(value)
            guard !groupColumns.isEmpty else { continue }
            var tags: [String] = []
            for column in groupColumns {
                let cellTags = column["values"]?.arrayValue.flatMap { index < $0.count ? $0[index].arrayValue : nil }
                let strings = cellTags?.compactMap(\.stringValue) ?? []
                guard !strings.isEmpty else { throw DatadogError("could not parse group label at index \(index)") }
                tags += strings
            }
            groups.append((tags.joined(separator: ","), value))
        }
        guard !values.isEmpty else { return .none(display: "[]") }
        guard !groupColumns.isEmpty else { return .scalar(values[0]) }
        var kept = groups
        let truncated = groups.count > 100
        if truncated {
            let sorted = groups.enumerated().sorted { ($0.element.value, $0.offset) < ($1.element.value, $1.offset) }
                .map(\.element)
            kept = Array(sorted.prefix(50)) + Array(sorted.suffix(50))
        }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let text = (try? encoder.encode(kept.map { GroupedValue(name: $0.name, value: $0.value) })).map { String(decoding: $0, as: UTF8.self) } ?? "[]"
        return .grouped(values, groups: text, truncated: truncated)
    }

    /// The body of a v2 scalar query.
    struct ScalarRequest: Encodable {
        struct Query: Encodable {
            struct Attributes: Encodable {
                var from: Int64
                var to: Int64
                var queries: [[String: String]]
                var formulas: [[String: String]]
            }
            var type: String
            var attributes: Attributes
        }
        var data: Query
    }

    /// One group's value in the measurement's `groups` metadata, as Argo writes it.
    struct GroupedValue: Encodable {
        var name: String
        var value: Double
    }

    /// A number as Argo writes Datadog's value: `strconv.FormatFloat(v, 'f', -1, 64)`.
    static func format(_ value: Double) -> String { GoNumbers.fixed(value) }

    private static let formAllowed = CharacterSet(
        charactersIn: "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-_.~ ")

    private static func formEncode(_ text: String) -> String {
        (text.addingPercentEncoding(withAllowedCharacters: formAllowed) ?? text).replacingOccurrences(of: " ", with: "+")
    }
}
