import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP exchange made by a metric provider: what to send and within how long.
struct MetricHTTPRequest: Sendable {
    var method: HTTPMethod
    var url: String
    var headers: [(String, String)] = []
    var body: Data?
    var timeout: Duration
    /// Skip TLS certificate verification (`insecure: true`).
    var insecure = false
}

/// The status, headers and body of a response.
struct MetricHTTPResponse: Sendable {
    var status: Int
    var headers: [(String, String)]
    var body: Data
}

/// Why an HTTP exchange did not produce a response, worded like Go's `net/http` errors so that
/// messages read as they do in Argo Rollouts: `Post "http://127.0.0.1:9090/api/v1/query": connection refused`.
struct MetricHTTPError: Error, CustomStringConvertible, Sendable {
    var method: String
    var url: String
    var reason: String

    var description: String { "\(method.capitalized) \"\(url)\": \(reason)" }
}

/// Sends provider requests through AsyncHTTPClient: one client that verifies TLS and one for
/// `insecure: true`, because certificate verification is a client-wide setting there.
enum MetricHTTP {
    /// The largest response body read; Prometheus answers and web metrics are small.
    static let maximumBodyBytes = 16 * 1024 * 1024

    static func send(_ request: MetricHTTPRequest) async throws -> MetricHTTPResponse {
        try await send(request, bodyLimit: maximumBodyBytes)
    }

    /// `send`, reading a body of up to `bodyLimit` bytes (a plugin binary is larger than an answer).
    static func send(_ request: MetricHTTPRequest, bodyLimit: Int) async throws -> MetricHTTPResponse {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = request.method
        for (name, value) in request.headers { outgoing.headers.add(name: name, value: value) }
        if let body = request.body { outgoing.body = .bytes(ByteBuffer(bytes: body)) }
        let timeout = TimeAmount.nanoseconds(
            Int64(request.timeout.components.seconds) * 1_000_000_000 + request.timeout.components.attoseconds
                / 1_000_000_000)
        let client = request.insecure ? insecureClient : verifyingClient
        do {
            let response = try await client.execute(outgoing, timeout: timeout)
            let body = try await response.body.collect(upTo: bodyLimit)
            return MetricHTTPResponse(
                status: Int(response.status.code),
                headers: response.headers.map { ($0.name, $0.value) },
                body: Data(buffer: body))
        } catch {
            throw MetricHTTPError(method: request.method.rawValue, url: request.url, reason: describe(error))
        }
    }

    /// `send`, with a transport failure as the provider's own error type (its message the reason).
    static func send<Failure: Error>(_ request: MetricHTTPRequest, failure: (String) -> Failure) async throws(Failure)
        -> MetricHTTPResponse
    {
        do {
            return try await send(request)
        } catch {
            throw failure("\(error)")
        }
    }

    /// A refused connection fails the measurement at once, as in Argo, instead of being retried
    /// until the deadline: a Prometheus that is down must count as an error quickly.
    private static func configuration(insecure: Bool) -> HTTPClient.Configuration {
        var configuration =
            insecure ? HTTPClient.Configuration(certificateVerification: .none) : HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(10)
        return configuration
    }

    /// Clients live as long as the process, like `HTTPClient.shared`, so they are never shut down.
    private static let verifyingClient = HTTPClient(
        eventLoopGroupProvider: .singleton, configuration: configuration(insecure: false))
    private static let insecureClient = HTTPClient(
        eventLoopGroupProvider: .singleton, configuration: configuration(insecure: true))

    /// A short human reason for a transport error (AsyncHTTPClient's descriptions are type dumps).
    static func describe(_ error: any Error) -> String {
        if error is CancellationError { return "request cancelled" }
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .deadlineExceeded, .readTimeout, .writeTimeout: return "timeout awaiting response"
            case .connectTimeout: return "connect timeout"
            case .remoteConnectionClosed: return "connection closed by the server"
            case .cancelled: return "request cancelled"
            default: return "\(clientError)"
            }
        }
        let text = "\(error)"
        if text.localizedCaseInsensitiveContains("connection refused") || text.contains("ECONNREFUSED") {
            return "connect: connection refused"
        }
        return text
    }
}

extension Data {
    /// The readable bytes of a NIO buffer.
    init(buffer: ByteBuffer) {
        self = Data(buffer.readableBytesView)
    }
}

/// How a provider's requests authenticate (`authentication` of a Prometheus or web metric).
public enum MetricAuthentication: Sendable, Equatable {
    /// No credentials.
    case none
    /// HTTP basic authentication.
    case basic(username: String, password: String)
    /// An OAuth2 client-credentials grant; the token is fetched before each request.
    case oauth2(tokenURL: String, clientID: String, clientSecret: String, scopes: [String])

    /// Why credentials could not be had.
    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    /// The `Authorization` header for a request, fetching a token first for OAuth2; nil for none.
    func header(timeout: Duration, insecure: Bool) async throws(Failure) -> (String, String)? {
        switch self {
        case .none:
            return nil
        case .basic(let username, let password):
            return ("Authorization", "Basic " + Data("\(username):\(password)".utf8).base64EncodedString())
        case .oauth2(let tokenURL, let clientID, let clientSecret, let scopes):
            let token = try await Self.fetchToken(
                tokenURL: tokenURL, clientID: clientID, clientSecret: clientSecret, scopes: scopes, timeout: timeout,
                insecure: insecure)
            return ("Authorization", "Bearer \(token)")
        }
    }

    /// Fetches an access token with the OAuth2 client-credentials grant (RFC 6749 §4.4).
    static func fetchToken(
        tokenURL: String, clientID: String, clientSecret: String, scopes: [String], timeout: Duration, insecure: Bool
    ) async throws(Failure) -> String {
        var form = [("grant_type", "client_credentials"), ("client_id", clientID), ("client_secret", clientSecret)]
        if !scopes.isEmpty { form.append(("scope", scopes.joined(separator: " "))) }
        var request = MetricHTTPRequest(
            method: .POST, url: tokenURL,
            headers: [("Content-Type", "application/x-www-form-urlencoded"), ("Accept", "application/json")],
            body: Data(form.map { "\($0.0)=\(PrometheusClient.formEncode($0.1))" }.joined(separator: "&").utf8),
            timeout: timeout)
        request.insecure = insecure
        let response: MetricHTTPResponse
        do {
            response = try await MetricHTTP.send(request)
        } catch {
            throw Failure(description: "oauth2 token request failed: \(error)")
        }
        guard (200..<300).contains(response.status),
            let object = try? JSONSerialization.jsonObject(with: response.body) as? [String: Any],
            let token = object["access_token"] as? String
        else {
            throw Failure(
                description: "oauth2 token request to \(tokenURL) answered HTTP \(response.status) without access_token")
        }
        return token
    }
}
