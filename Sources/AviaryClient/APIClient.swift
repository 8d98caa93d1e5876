import AsyncHTTPClient
import AviaryAPI
import AviaryModel
import Foundation
import NIOCore
import NIOFoundationCompat
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

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

        /// A failure with the daemon's status (nil: not reached) and what to tell the user.
        public init(status: Int?, description: String) {
            self.status = status
            self.description = description
        }
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
        // AsyncHTTPClient retries a refused connection until the request's deadline: a daemon that
        // is not running is told at once instead.
        if Self.refusesConnections(server) {
            throw Failure(status: nil, description: Self.notRunning(server))
        }
        // A daemon that dies between that check and the request makes AsyncHTTPClient retry the
        // connection until the deadline: reads get a short one, so a live view notices in seconds.
        let deadline: TimeAmount = method == .GET ? .seconds(8) : .seconds(60)
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: deadline)
            status = Int(response.status.code)
            data = Data(buffer: try await response.body.collect(upTo: 64 * 1024 * 1024))
        } catch {
            throw Failure(status: nil, description: Self.notRunning(server) + " (\(error))")
        }
        guard (200..<300).contains(status) else {
            let body = try? JSONDecoder().decode(ErrorBody.self, from: data)
            var lines = [body?.error ?? "HTTP \(status): \(String(decoding: data, as: UTF8.self))"]
            lines += body?.diagnostics ?? []
            throw Failure(status: status, description: lines.joined(separator: "\n"))
        }
        return data
    }

    static func notRunning(_ server: String) -> String {
        "the Aviary daemon is not running at \(server); start it with `aviary serve` "
            + "(or point --server / AVIARY_SERVER at it)"
    }

    /// Whether a loopback `server` refuses a TCP connection right now (other hosts: not probed).
    static func refusesConnections(_ server: String) -> Bool {
        guard let url = URL(string: server), let host = url.host, host == "127.0.0.1" || host == "localhost"
        else { return false }
        let port = UInt16(url.port ?? (url.scheme == "https" ? 443 : 80))
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return false }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = port.bigEndian
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let result = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        return result != 0 && errno == ECONNREFUSED
    }

    /// The path of a resource of `kind`, with its namespace as a query.
    public static func resourcePath(_ kind: ResourceKind, name: String? = nil, namespace: String? = nil) -> String {
        resourcePath(kind: kind.plural, name: name, namespace: namespace)
    }

    /// The path of a resource whose kind a user named (`rollout`, `deployments`), with its namespace as a query.
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
