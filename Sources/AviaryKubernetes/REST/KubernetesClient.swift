import AsyncHTTPClient
import AviaryJSON
import Foundation
import NIOCore
import NIOHTTP1
import NIOSSL
import Synchronization

/// The content type of a PATCH request.
public enum PatchType: String, Sendable {
    /// RFC 7386 JSON merge patch.
    case merge = "application/merge-patch+json"
    /// RFC 6902 JSON patch (a list of operations).
    case json = "application/json-patch+json"
    /// Kubernetes strategic merge patch (built-in types only).
    case strategicMerge = "application/strategic-merge-patch+json"
    /// Server-side apply; needs a field manager.
    case apply = "application/apply-patch+yaml"
}

/// How the client limits and retries requests.
public struct RequestPolicy: Sendable {
    /// Requests per second allowed on average (client-go's default is 5; Aviary's is 50).
    public var qps: Double
    /// Requests allowed at once above the average (client-go's default is 10; Aviary's is 100).
    public var burst: Int
    /// How many times a request answered 429, or 5xx with Retry-After, is retried (client-go: 10).
    public var maxRetries: Int
    /// The longest Retry-After honoured; a longer one is cut to this.
    public var maxRetryAfter: Duration
    /// How long a request other than a watch may take.
    public var requestTimeout: Duration

    /// A policy; the defaults are Aviary's.
    public init(
        qps: Double = 50, burst: Int = 100, maxRetries: Int = 10, maxRetryAfter: Duration = .seconds(60),
        requestTimeout: Duration = .seconds(30)
    ) {
        self.qps = qps
        self.burst = burst
        self.maxRetries = maxRetries
        self.maxRetryAfter = maxRetryAfter
        self.requestTimeout = requestTimeout
    }

    /// client-go's defaults: QPS 5, burst 10.
    public static let clientGoDefaults = RequestPolicy(qps: 5, burst: 10)
}

/// A Kubernetes REST client over AsyncHTTPClient: typed errors from Status objects, a client-side rate limit,
/// Retry-After honoured, and CRUD, patch, list and watch of any resource addressed by group, version and
/// resource.
public final class KubernetesClient: Sendable {
    /// The configuration the client was made with.
    public let configuration: ClientConfiguration
    /// The rate limit and retry policy.
    public let policy: RequestPolicy
    private let http: HTTPClient
    private let credentials: CredentialProvider
    private let bucket: Mutex<TokenBucket<ContinuousClock.Instant>>
    private let retriesCounter = Mutex<Int>(0)

    /// A client; call ``shutdown()`` when done with it.
    public init(configuration: ClientConfiguration, policy: RequestPolicy = RequestPolicy()) throws {
        self.configuration = configuration
        self.policy = policy
        var tls = TLSConfiguration.makeClientConfiguration()
        if configuration.insecureSkipTLSVerify { tls.certificateVerification = .none }
        if let ca = configuration.certificateAuthorityPEM {
            tls.trustRoots = .certificates(try NIOSSLCertificate.fromPEMBytes(ca))
        }
        if let certificate = configuration.clientCertificatePEM, let key = configuration.clientKeyPEM {
            tls.certificateChain = try NIOSSLCertificate.fromPEMBytes(certificate).map { .certificate($0) }
            tls.privateKey = .privateKey(try NIOSSLPrivateKey(bytes: key, format: .pem))
        }
        var httpConfiguration = HTTPClient.Configuration(tlsConfiguration: tls)
        // A server that is down fails the request at once; the caller (a reflector) decides when to retry.
        httpConfiguration.connectionPool.retryConnectionEstablishment = false
        httpConfiguration.timeout.connect = .seconds(10)
        httpConfiguration.decompression = .disabled
        // Over HTTP/1.1 every watch holds a connection for its whole life: a controller watches eight
        // or more resources and must still have connections left for its writes (the default of 8
        // per host let the watches take them all, and every other request waited for ever).
        httpConfiguration.connectionPool.concurrentHTTP1ConnectionsPerHostSoftLimit = 64
        self.http = HTTPClient(eventLoopGroupProvider: .singleton, configuration: httpConfiguration)
        self.credentials = CredentialProvider(credentials: configuration.credentials, server: configuration.server)
        self.bucket = Mutex(TokenBucket(qps: policy.qps, burst: policy.burst))
    }

    /// Closes the connections.
    public func shutdown() async throws {
        try await http.shutdown()
    }

    /// How many requests were retried after 429 or 5xx with Retry-After (for tests and metrics).
    public var retriedRequests: Int { retriesCounter.withLock { $0 } }

    // MARK: Verbs

    /// Reads one object.
    public func get(
        _ resource: GroupVersionResource, namespace: String?, name: String
    ) async throws(KubernetesError)
        -> KubernetesObject
    {
        try await fetchObject(
            Request(verb: "get", method: .GET, resource: resource, namespace: namespace, name: name))
    }

    /// Reads one page of a collection. `limit` and `continueToken` page through it; `resourceVersion` "0"
    /// allows a cached answer.
    public func list(
        _ resource: GroupVersionResource, namespace: String?, labelSelector: String? = nil,
        fieldSelector: String? = nil, limit: Int? = nil, continueToken: String? = nil, resourceVersion: String? = nil
    ) async throws(KubernetesError) -> ObjectList {
        var query: [(String, String)] = []
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        if let limit { query.append(("limit", String(limit))) }
        if let continueToken, !continueToken.isEmpty { query.append(("continue", continueToken)) }
        if let resourceVersion { query.append(("resourceVersion", resourceVersion)) }
        let request = Request(verb: "list", method: .GET, resource: resource, namespace: namespace, query: query)
        let (_, body) = try await perform(request)
        do {
            let list = try JSONValue(parsing: body)
            guard case .object(let members) = list else { throw UnexpectedShape("a list answer is not a JSON object") }
            let items: [JSONValue]
            switch members["items"] {
            case nil, .null?: items = []
            case .array(let elements)?: items = elements
            default: throw UnexpectedShape("a list answer's items is not an array")
            }
            return ObjectList(
                items: try items.map { try KubernetesObject(json: $0) },
                metadata: try members["metadata"].map { try $0.decoded(as: ListMeta.self) } ?? ListMeta())
        } catch {
            throw request.error(.malformedResponse(oneLine(error)), server: configuration.server)
        }
    }

    /// Reads a whole collection page by page; when a continue token expires (410) the list starts over, as
    /// client-go's pager does. Returns the items and the collection's resourceVersion.
    public func listAll(
        _ resource: GroupVersionResource, namespace: String?, labelSelector: String? = nil,
        fieldSelector: String? = nil, pageSize: Int = 500
    ) async throws(KubernetesError) -> ObjectList {
        var restarts = 0
        while true {
            var items: [KubernetesObject] = []
            var token: String?
            do throws(KubernetesError) {
                repeat {
                    let page = try await list(
                        resource, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector,
                        limit: pageSize, continueToken: token)
                    items += page.items
                    token = page.metadata.continue
                    if token?.isEmpty ?? true { return ObjectList(items: items, metadata: page.metadata) }
                } while true
            } catch let error where error.isGone && token != nil && restarts < 5 {
                restarts += 1
            }
        }
    }

    /// Creates an object; returns it as stored.
    public func create(
        _ resource: GroupVersionResource, namespace: String?, _ object: KubernetesObject
    )
        async throws(KubernetesError) -> KubernetesObject
    {
        try await fetchObject(
            Request(
                verb: "create", method: .POST, resource: resource, namespace: namespace,
                describedName: object.metadata.name, body: encode(object.json)))
    }

    /// Replaces an object; its `metadata.resourceVersion` makes the write conditional (409 when stale).
    public func update(
        _ resource: GroupVersionResource, namespace: String?, _ object: KubernetesObject
    )
        async throws(KubernetesError) -> KubernetesObject
    {
        try await fetchObject(
            Request(
                verb: "update", method: .PUT, resource: resource, namespace: namespace,
                name: object.metadata.name ?? "", body: encode(object.json)))
    }

    /// Replaces an object's status through the `status` subresource.
    public func updateStatus(
        _ resource: GroupVersionResource, namespace: String?, _ object: KubernetesObject
    )
        async throws(KubernetesError) -> KubernetesObject
    {
        try await fetchObject(
            Request(
                verb: "update", method: .PUT, resource: resource, namespace: namespace,
                name: object.metadata.name ?? "", subresource: "status", body: encode(object.json)))
    }

    /// Patches an object. For ``PatchType/apply`` pass `fieldManager` (and `force` to take fields over).
    public func patch(
        _ resource: GroupVersionResource, namespace: String?, name: String, type: PatchType, body: JSONValue,
        subresource: String? = nil, fieldManager: String? = nil, force: Bool = false
    ) async throws(KubernetesError) -> KubernetesObject {
        var query: [(String, String)] = []
        if let fieldManager { query.append(("fieldManager", fieldManager)) }
        if force { query.append(("force", "true")) }
        return try await fetchObject(
            Request(
                verb: "patch", method: .PATCH, resource: resource, namespace: namespace, name: name,
                subresource: subresource, query: query, body: encode(body), contentType: type.rawValue))
    }

    /// Deletes an object. `preconditionResourceVersion` makes the delete conditional.
    public func delete(
        _ resource: GroupVersionResource, namespace: String?, name: String, preconditionResourceVersion: String? = nil
    ) async throws(KubernetesError) {
        var body: Data?
        if let preconditionResourceVersion {
            body = encode([
                "apiVersion": "v1", "kind": "DeleteOptions",
                "preconditions": ["resourceVersion": .string(preconditionResourceVersion)],
            ])
        }
        _ = try await perform(
            Request(verb: "delete", method: .DELETE, resource: resource, namespace: namespace, name: name, body: body))
    }

    /// Watches a collection from `resourceVersion`, with bookmarks. Events arrive as the server sends them,
    /// line by line. The stream ends when the server closes it (a timeout or a dropped connection); it throws
    /// a ``KubernetesError`` when the watch cannot start (410 when `resourceVersion` is too old). A watch
    /// ERROR event is delivered as an event: the caller decides (a 410 in it means relist).
    public func watch(
        _ resource: GroupVersionResource, namespace: String?, resourceVersion: String?, labelSelector: String? = nil,
        fieldSelector: String? = nil, timeoutSeconds: Int = 300
    ) async throws(KubernetesError) -> AsyncThrowingStream<WatchEvent, any Error> {
        var query: [(String, String)] = [
            ("watch", "true"), ("allowWatchBookmarks", "true"), ("timeoutSeconds", String(timeoutSeconds)),
        ]
        if let resourceVersion, !resourceVersion.isEmpty { query.append(("resourceVersion", resourceVersion)) }
        if let labelSelector { query.append(("labelSelector", labelSelector)) }
        if let fieldSelector { query.append(("fieldSelector", fieldSelector)) }
        let request = Request(verb: "watch", method: .GET, resource: resource, namespace: namespace, query: query)
        let response = try await send(request, streaming: true, deadline: .seconds(Int64(timeoutSeconds) + 60))
        let server = configuration.server
        return AsyncThrowingStream { continuation in
            let reader = Task {
                var parser = WatchLineParser()
                do {
                    for try await buffer in response.body {
                        for event in try parser.append(buffer.readableBytesView) { continuation.yield(event) }
                    }
                    // A last line without its newline is a cut-off event: it is dropped, not guessed at; the
                    // next watch from the last applied resourceVersion sends it again.
                    continuation.finish()
                } catch let error as WatchLineParser.Malformed {
                    continuation.finish(throwing: request.error(.malformedResponse(error.description), server: server))
                } catch {
                    continuation.finish(throwing: request.error(.transport(Self.describe(error)), server: server))
                }
            }
            continuation.onTermination = { _ in reader.cancel() }
        }
    }

    // MARK: Requests

    struct Request: Sendable {
        var verb: String
        var method: HTTPMethod
        var resource: GroupVersionResource
        var namespace: String?
        var name: String?
        var describedName: String?
        var subresource: String?
        var query: [(String, String)] = []
        var body: Data?
        var contentType = "application/json"

        init(
            verb: String, method: HTTPMethod, resource: GroupVersionResource, namespace: String?, name: String? = nil,
            describedName: String? = nil, subresource: String? = nil, query: [(String, String)] = [],
            body: Data? = nil, contentType: String = "application/json"
        ) {
            self.verb = verb
            self.method = method
            self.resource = resource
            self.namespace = namespace
            self.name = name
            self.describedName = describedName
            self.subresource = subresource
            self.query = query
            self.body = body
            self.contentType = contentType
        }

        func error(_ cause: KubernetesError.Cause, server: String) -> KubernetesError {
            KubernetesError(
                server: server, verb: verb,
                resource: resource.describe(
                    namespace: namespace, name: name ?? describedName, subresource: subresource),
                cause: cause)
        }

        func url(server: String) -> String {
            var url = server + resource.path(namespace: namespace, name: name, subresource: subresource)
            if !query.isEmpty {
                var allowed = CharacterSet.urlQueryAllowed
                allowed.remove(charactersIn: "&=+?/")
                url +=
                    "?"
                    + query.map {
                        "\($0.0)=\($0.1.addingPercentEncoding(withAllowedCharacters: allowed) ?? $0.1)"
                    }.joined(separator: "&")
            }
            return url
        }
    }

    private func fetchObject(_ request: Request) async throws(KubernetesError) -> KubernetesObject {
        let (_, body) = try await perform(request)
        do {
            return try KubernetesObject(json: JSONValue(parsing: body))
        } catch {
            throw request.error(.malformedResponse(oneLine(error)), server: configuration.server)
        }
    }

    private func encode(_ value: JSONValue) -> Data {
        // Encoding a JSONValue cannot fail: every case maps onto JSON.
        value.serialized()
    }

    /// Sends a request and reads its whole answer; throws for any status other than 2xx.
    private func perform(_ request: Request) async throws(KubernetesError) -> (HTTPResponseStatus, Data) {
        let response = try await send(request, streaming: false, deadline: policy.requestTimeout)
        do {
            let body = try await response.body.collect(upTo: 256 << 20)
            return (response.status, Data(body.readableBytesView))
        } catch {
            throw request.error(.transport(Self.describe(error)), server: configuration.server)
        }
    }

    /// Sends a request, waiting for the rate limit, retrying on 429 and 5xx with Retry-After and once on 401
    /// with refreshable credentials; returns a 2xx response with its body unread.
    private func send(
        _ request: Request, streaming: Bool, deadline: Duration
    ) async throws(KubernetesError)
        -> HTTPClientResponse
    {
        let server = configuration.server
        var attempt = 0
        var refreshedCredentials = false
        while true {
            do {
                try await waitForRateLimit()
            } catch {
                throw request.error(.transport("cancelled"), server: server)
            }
            var http = HTTPClientRequest(url: request.url(server: server))
            http.method = request.method
            http.headers.add(name: "Accept", value: "application/json")
            http.headers.add(name: "User-Agent", value: "aviary")
            if let body = request.body {
                http.headers.add(name: "Content-Type", value: request.contentType)
                http.body = .bytes(ByteBuffer(bytes: body))
            }
            do throws(CredentialFailure) {
                if let authorization = try await credentials.authorization() {
                    http.headers.add(name: "Authorization", value: authorization)
                }
            } catch {
                throw request.error(.credentials(error.reason), server: server)
            }
            let response: HTTPClientResponse
            do {
                response = try await self.http.execute(http, deadline: .now() + timeAmount(deadline))
            } catch {
                throw request.error(.transport(Self.describe(error)), server: server)
            }
            let code = Int(response.status.code)
            if (200..<300).contains(code) { return response }
            let body = (try? await response.body.collect(upTo: 1 << 20)).map { Data($0.readableBytesView) } ?? Data()
            let status = try? JSONDecoder().decode(Status.self, from: body)
            let retryAfter = response.headers.first(name: "Retry-After").flatMap { Int($0) }
            if attempt < policy.maxRetries, let retryAfter, code == 429 || code >= 500 {
                attempt += 1
                retriesCounter.withLock { $0 += 1 }
                let wait = min(Duration.seconds(max(retryAfter, 1)), policy.maxRetryAfter)
                do {
                    try await Task.sleep(for: wait)
                } catch {
                    throw request.error(.transport("cancelled"), server: server)
                }
                continue
            }
            if code == 401, !refreshedCredentials, credentials.invalidate() {
                refreshedCredentials = true
                continue
            }
            throw request.error(.status(code: code, status), server: server)
        }
    }

    private func waitForRateLimit() async throws {
        let delay = bucket.withLock { $0.reserve(now: .now) }
        if delay > .zero { try await Task.sleep(for: delay) }
    }

    /// A short reason for a transport error (AsyncHTTPClient's descriptions are type dumps).
    static func describe(_ error: any Error) -> String {
        if error is CancellationError { return "request cancelled" }
        if let clientError = error as? HTTPClientError {
            switch clientError {
            case .deadlineExceeded, .readTimeout, .writeTimeout: return "timeout awaiting response"
            case .connectTimeout: return "connect timeout"
            case .remoteConnectionClosed: return "connection closed by the server"
            case .cancelled: return "request cancelled"
            default: return oneLine(clientError)
            }
        }
        let text = oneLine(error)
        if text.localizedCaseInsensitiveContains("connection refused") || text.contains("ECONNREFUSED") {
            return "connection refused"
        }
        return text
    }
}

/// A NIO time amount of the same length as `duration`.
func timeAmount(_ duration: Duration) -> TimeAmount {
    let (seconds, attoseconds) = duration.components
    return .nanoseconds(seconds * 1_000_000_000 + attoseconds / 1_000_000_000)
}
