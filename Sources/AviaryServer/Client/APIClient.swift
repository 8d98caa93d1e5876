import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1

/// Talks to a running `aviary serve` over its HTTP API; the CLI verbs are thin wrappers.
public struct APIClient: Sendable {
    /// The daemon's base URL (`--server`, `AVIARY_SERVER`, default `http://127.0.0.1:7480`).
    public var server: String
    /// The bearer token (`--token`, `AVIARY_TOKEN`).
    public var token: String?

    /// The default server address.
    public static let defaultServer = "http://127.0.0.1:7480"

    /// Creates a client; `server` nil means `AVIARY_SERVER` or the default.
    public init(
        server: String? = nil, token: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) {
        var base = server ?? environment["AVIARY_SERVER"] ?? Self.defaultServer
        while base.hasSuffix("/") { base.removeLast() }
        if !base.contains("://") { base = "http://" + base }
        self.server = base
        self.token = token ?? environment["AVIARY_TOKEN"]
    }

    /// A failed call: the daemon's message, or why it could not be reached.
    public struct Failure: Error, CustomStringConvertible {
        /// The HTTP status, nil when the daemon was not reached.
        public var status: Int?
        /// What to tell the user.
        public var description: String
    }

    /// Sends one request and returns the body of a 2xx answer; any other answer is a `Failure`
    /// carrying the daemon's `error` message and diagnostics.
    public func send(
        _ method: HTTPMethod, _ path: String, body: Data? = nil, contentType: String = "application/json"
    )
        async throws(Failure) -> Data
    {
        var request = HTTPClientRequest(url: server + path)
        request.method = method
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        if let body {
            request.headers.add(name: "Content-Type", value: contentType)
            request.body = .bytes(ByteBuffer(bytes: body))
        }
        let status: Int
        let data: Data
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(60))
            status = Int(response.status.code)
            data = Data(buffer: try await response.body.collect(upTo: 64 * 1024 * 1024))
        } catch {
            throw Failure(
                status: nil,
                description: "the Aviary daemon is not running at \(server); start it with `aviary serve` "
                    + "(or point --server / AVIARY_SERVER at it)")
        }
        guard (200..<300).contains(status) else {
            let object = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
            var lines = [(object?["error"] as? String) ?? "HTTP \(status): \(String(decoding: data, as: UTF8.self))"]
            lines += (object?["diagnostics"] as? [String]) ?? []
            throw Failure(status: status, description: lines.joined(separator: "\n"))
        }
        return data
    }

    /// The path of a resource, with its namespace as a query.
    public static func resourcePath(kind: String, name: String? = nil, namespace: String? = nil) -> String {
        var path = "/api/v1/\(kind.lowercased())"
        if let name { path += "/" + (name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name) }
        if let namespace { path += "?namespace=\(namespace)" }
        return path
    }

    /// The path of an operation on a rollout.
    public static func operationPath(
        rollout: String, operation: String, namespace: String?, query: String? = nil
    ) -> String {
        var path = "/api/v1/rollouts/\(rollout)/\(operation)"
        var parameters: [String] = []
        if let namespace { parameters.append("namespace=\(namespace)") }
        if let query { parameters.append(query) }
        if !parameters.isEmpty { path += "?" + parameters.joined(separator: "&") }
        return path
    }
}
