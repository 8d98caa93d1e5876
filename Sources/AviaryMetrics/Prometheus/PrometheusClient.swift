import Foundation
import NIOHTTP1

/// A query to send to Prometheus' HTTP API, with everything already resolved (no templates).
public struct PrometheusQuery: Sendable {
    /// The base URL, `http://127.0.0.1:9090` (a path prefix such as `/prometheus` is kept).
    public var address: String
    /// The PromQL expression.
    public var query: String
    /// For a range query: start, end and step; nil for an instant query at `time`.
    public var range: Range?
    /// Evaluation time of an instant query; nil lets Prometheus use its own clock.
    public var time: Date?
    /// Extra request headers.
    public var headers: [(name: String, value: String)]
    /// How long the whole request may take.
    public var timeout: Duration
    /// Skip TLS certificate verification.
    public var insecure: Bool
    /// How to authenticate.
    public var authentication: Authentication

    /// The window and resolution of a range query.
    public struct Range: Sendable, Equatable {
        /// The first evaluation time.
        public var start: Date
        /// The last evaluation time.
        public var end: Date
        /// Seconds between evaluations.
        public var stepSeconds: Double

        /// A range.
        public init(start: Date, end: Date, stepSeconds: Double) {
            self.start = start
            self.end = end
            self.stepSeconds = stepSeconds
        }
    }

    /// How requests authenticate.
    public typealias Authentication = MetricAuthentication

    /// An instant query with no credentials and the Argo default timeout of 30 s.
    public init(
        address: String, query: String, range: Range? = nil, time: Date? = nil,
        headers: [(name: String, value: String)] = [], timeout: Duration = .seconds(30), insecure: Bool = false,
        authentication: Authentication = .none
    ) {
        self.address = address
        self.query = query
        self.range = range
        self.time = time
        self.headers = headers
        self.timeout = timeout
        self.insecure = insecure
        self.authentication = authentication
    }
}

/// Runs queries through Prometheus' HTTP API (`/api/v1/query`, `/api/v1/query_range`).
public enum PrometheusClient {
    /// Queries longer than this go in a POST form body instead of the URL, as Prometheus' own
    /// Go client does, so that long queries do not hit URL length limits of proxies.
    public static let maximumGETQueryBytes = 2048

    /// Sends `query` and decodes the answer; throws `PrometheusError` with Prometheus' own
    /// message for a bad query, or the transport error for an unreachable server.
    public static func run(
        _ query: PrometheusQuery
    ) async throws(PrometheusError) -> (
        result: PrometheusResult, warnings: [String]
    ) {
        var base = query.address
        while base.hasSuffix("/") { base.removeLast() }
        guard let url = URL(string: base), let scheme = url.scheme, ["http", "https"].contains(scheme) else {
            throw .invalidRequest("prometheus address \"\(query.address)\" is not an http(s) URL")
        }
        var form: [(String, String)] = [("query", query.query)]
        let path: String
        if let range = query.range {
            path = "/api/v1/query_range"
            form.append(("start", timestamp(range.start)))
            form.append(("end", timestamp(range.end)))
            form.append(("step", PrometheusResult.format(range.stepSeconds)))
        } else {
            path = "/api/v1/query"
            if let time = query.time { form.append(("time", timestamp(time))) }
        }
        form.append(("timeout", "\(Int(query.timeout.components.seconds.clamped(to: 1...Int64.max)))s"))
        let encoded = form.map { "\($0.0)=\(formEncode($0.1))" }.joined(separator: "&")

        var headers = query.headers.map { ($0.name, $0.value) }
        do {
            if let header = try await query.authentication.header(timeout: query.timeout, insecure: query.insecure) {
                headers.append(header)
            }
        } catch {
            throw .transport(error.description)
        }

        var request: MetricHTTPRequest
        if encoded.utf8.count > maximumGETQueryBytes {
            headers.append(("Content-Type", "application/x-www-form-urlencoded"))
            request = MetricHTTPRequest(
                method: .POST, url: base + path, headers: headers, body: Data(encoded.utf8), timeout: query.timeout)
        } else {
            request = MetricHTTPRequest(
                method: .GET, url: base + path + "?" + encoded, headers: headers, timeout: query.timeout)
        }
        request.insecure = query.insecure
        let response: MetricHTTPResponse
        do {
            response = try await MetricHTTP.send(request)
        } catch let error as MetricHTTPError {
            // The URL of a GET carries the whole query; the base path is enough to say where.
            throw .transport(MetricHTTPError(method: error.method, url: base + path, reason: error.reason).description)
        } catch {
            throw .transport("\(error)")
        }
        return try PrometheusResult.decode(status: response.status, body: response.body)
    }

    /// Seconds since the epoch with millisecond precision, as the API accepts.
    static func timestamp(_ date: Date) -> String {
        String(format: "%.3f", date.timeIntervalSince1970)
    }

    /// `application/x-www-form-urlencoded` escaping: only unreserved characters stay as they are.
    static func formEncode(_ text: String) -> String {
        var allowed = CharacterSet.alphanumerics.intersection(
            CharacterSet(charactersIn: Unicode.Scalar(0)...Unicode.Scalar(127)))
        allowed.insert(charactersIn: "-._~")
        return text.addingPercentEncoding(withAllowedCharacters: allowed) ?? text
    }
}

extension Comparable {
    fileprivate func clamped(to range: ClosedRange<Self>) -> Self { min(max(self, range.lowerBound), range.upperBound) }
}
