import AviaryJSON
import AviaryModel
import Foundation
import NIOHTTP1

/// A web metric request with everything resolved (no templates).
public struct WebRequest: Sendable {
    /// `GET`, `POST` or `PUT`.
    public var method: String
    /// The URL.
    public var url: String
    /// Request headers.
    public var headers: [(name: String, value: String)]
    /// The request body, already encoded (a `jsonBody` is sent as JSON with its content type).
    public var body: Data?
    /// How long the request may take (`timeoutSeconds`, default 10).
    public var timeout: Duration
    /// The part of a JSON response that is the result (`{$.data.ok}`).
    public var jsonPath: JSONPath
    /// Skip TLS certificate verification.
    public var insecure: Bool
    /// `authentication`: an OAuth2 client-credentials token (Argo's `authentication.oauth2`).
    public var authentication: MetricAuthentication

    /// A GET of `url` whose whole JSON body is the result.
    public init(
        method: String = "GET", url: String, headers: [(name: String, value: String)] = [], body: Data? = nil,
        timeout: Duration = .seconds(10), jsonPath: JSONPath, insecure: Bool = false,
        authentication: MetricAuthentication = .none
    ) {
        self.authentication = authentication
        self.method = method
        self.url = url
        self.headers = headers
        self.body = body
        self.timeout = timeout
        self.jsonPath = jsonPath
        self.insecure = insecure
    }
}

/// What a web metric produced: the value conditions see and the text a measurement shows.
public struct WebResult: Sendable, Equatable {
    /// The selected JSON value, or the whole body as a string when the body is not JSON.
    public var value: JSONValue
    /// The value as JSON text (`true`, `0.97`, `"ok"`), or the raw body.
    public var display: String
}

/// Why a web metric produced no value.
public struct WebMetricError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message that goes into the measurement.
    public var description: String
}

/// Sends web metric requests.
public enum WebMetricClient {
    /// Sends the request; a 2xx JSON body gives the value at `jsonPath`, a non-JSON body gives
    /// the body as a string (as Argo Rollouts does), anything else an error.
    public static func run(_ request: WebRequest) async throws(WebMetricError) -> WebResult {
        guard let method = ["GET": HTTPMethod.GET, "POST": .POST, "PUT": .PUT][request.method.uppercased()] else {
            throw WebMetricError(description: "web method \"\(request.method)\" is not GET, POST or PUT")
        }
        guard let url = URL(string: request.url), let scheme = url.scheme, ["http", "https"].contains(scheme) else {
            throw WebMetricError(description: "web url \"\(request.url)\" is not an http(s) URL")
        }
        if request.body != nil, method == .GET {
            throw WebMetricError(description: "Body/JSONBody can only be used with POST or PUT WebMetric Method types")
        }
        var headers = request.headers.map { ($0.name, $0.value) }
        do {
            if let header = try await request.authentication.header(timeout: request.timeout, insecure: request.insecure) {
                headers.removeAll { $0.0.lowercased() == "authorization" }
                headers.append(header)
            }
        } catch {
            throw WebMetricError(description: error.description)
        }
        var outgoing = MetricHTTPRequest(
            method: method, url: request.url, headers: headers, body: request.body, timeout: request.timeout)
        outgoing.insecure = request.insecure
        let response: MetricHTTPResponse
        do {
            response = try await MetricHTTP.send(outgoing)
        } catch {
            throw WebMetricError(description: "\(error)")
        }
        guard (200..<300).contains(response.status) else {
            throw WebMetricError(description: "received non 2xx response code: \(response.status)")
        }
        return try select(request.jsonPath, in: response.body)
    }

    /// Picks the result out of a response body (pure; separated for table tests).
    public static func select(_ path: JSONPath, in body: Data) throws(WebMetricError) -> WebResult {
        guard let document = try? JSONDecoder().decode(JSONValue.self, from: body) else {
            let text = String(decoding: body, as: UTF8.self)
            return WebResult(value: .string(text), display: text)
        }
        guard let value = path.select(in: document).first else {
            throw WebMetricError(description: "result of web metric produced no value")
        }
        return WebResult(value: value, display: value.jsonText)
    }
}

extension JSONValue {
    /// Compact JSON text with sorted keys.
    var jsonText: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        guard let data = try? encoder.encode(self) else { return "" }
        return String(decoding: data, as: UTF8.self)
    }
}
