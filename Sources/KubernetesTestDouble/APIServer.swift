import AviaryJSON
import Foundation
import Synchronization

/// The Kubernetes API as HTTP: routes a request to discovery, OpenAPI, the control API or a
/// resource verb, after the injected faults and the bearer-token check.
public final class APIServer: Sendable {
    public let cluster: Cluster
    let requiredToken: String?
    let serverAddress: Mutex<String>
    /// How often an open watch that allows bookmarks gets one.
    let bookmarkInterval: Duration

    public init(cluster: Cluster, requiredToken: String? = nil, bookmarkInterval: Duration = .seconds(5)) {
        self.cluster = cluster
        self.requiredToken = requiredToken
        self.serverAddress = Mutex("127.0.0.1:0")
        self.bookmarkInterval = bookmarkInterval
    }

    /// Answers a request; `respond` is called once, later when the request is held by a `hang` fault.
    public func handle(_ request: APIRequest, respond: @escaping @Sendable (APIResponse) -> Void) {
        if request.path.hasPrefix("/_double/") {
            respond(ControlAPI.handle(request, server: self))
            return
        }
        let auditKey = request.auditKey
        let admission = cluster.state.withLock { state -> Admission in
            if let auditKey { state.requestCounts[auditKey, default: 0] += 1 }
            if state.faults.isHanging {
                state.faults.heldRequests.append { [self] in self.handle(request, respond: respond) }
                return .held
            }
            if let error = state.faults.nextError(for: auditKey, agent: request.header("User-Agent")) { return .failed(error) }
            return .admitted
        }
        switch admission {
        case .held: return
        case .failed(let error): return respond(.error(error))
        case .admitted: break
        }
        if let requiredToken, request.header("Authorization") != "Bearer \(requiredToken)" {
            return respond(.error(StatusError(code: 401, reason: "Unauthorized", message: "Unauthorized")))
        }
        do {
            respond(try route(request))
        } catch {
            respond(.error(error))
        }
    }

    private enum Admission {
        case admitted
        case held
        case failed(StatusError)
    }

    private func route(_ request: APIRequest) throws(StatusError) -> APIResponse {
        let segments = request.path.split(separator: "/").map(String.init)
        let registry = cluster.state.withLock { $0.registry }
        switch segments.first {
        case "version" where segments.count == 1:
            return .json(Discovery.serverVersion)
        case "healthz", "livez", "readyz":
            return .full(status: 200, headers: [("Content-Type", "text/plain")], body: Data("ok".utf8))
        case "openapi":
            return try openAPI(segments, registry: registry, request: request)
        case "api":
            if segments.count == 1 {
                return .json(Discovery.coreVersions(serverAddress: serverAddress.withLock { $0 }))
            }
            guard segments[1] == "v1" else { throw StatusError.pageNotFound(request.path) }
            if segments.count == 2 { return .json(Discovery.resourceList(registry, group: "", version: "v1")!) }
            return try resource(request, group: "", version: "v1", rest: Array(segments.dropFirst(2)), registry: registry)
        case "apis":
            if segments.count == 1 { return .json(Discovery.groupList(registry)) }
            if segments.count == 2 {
                guard let group = Discovery.group(registry, named: segments[1]) else {
                    throw StatusError.pageNotFound(request.path)
                }
                return .json(group)
            }
            if segments.count == 3 {
                guard let list = Discovery.resourceList(registry, group: segments[1], version: segments[2]) else {
                    throw StatusError.pageNotFound(request.path)
                }
                return .json(list)
            }
            return try resource(
                request, group: segments[1], version: segments[2], rest: Array(segments.dropFirst(3)),
                registry: registry)
        default:
            throw StatusError.pageNotFound(request.path)
        }
    }

    private func openAPI(_ segments: [String], registry: ResourceRegistry, request: APIRequest) throws(StatusError)
        -> APIResponse
    {
        if segments.count == 2, segments[1] == "v2" {
            // An empty protobuf message is a valid, empty OpenAPI v2 document: no definitions,
            // so kubectl falls back to its compiled-in types for strategic merge patches. kubectl
            // asks with the `@v1.0` form; kube-apiserver answers with `.v1.0`, the form Go's
            // mime parser takes (the other fails kubectl's validation of an unknown kind).
            return .full(
                status: 200, headers: [("Content-Type", "application/com.github.proto-openapi.spec.v2.v1.0+protobuf")],
                body: Data())
        }
        guard segments.count >= 2, segments[1] == "v3" else { throw StatusError.pageNotFound(request.path) }
        if segments.count == 2 { return .json(OpenAPI.root(registry)) }
        let rest = Array(segments.dropFirst(2))
        let document: JSONValue?
        if rest.count == 2, rest[0] == "api" {
            document = OpenAPI.groupVersion(registry, group: "", version: rest[1])
        } else if rest.count == 3, rest[0] == "apis" {
            document = OpenAPI.groupVersion(registry, group: rest[1], version: rest[2])
        } else {
            document = nil
        }
        guard let document else { throw StatusError.pageNotFound(request.path) }
        return .json(document)
    }

    /// `[namespaces/NS/]RESOURCE[/NAME[/SUBRESOURCE]]` under a group version.
    private func resource(
        _ request: APIRequest, group: String, version: String, rest: [String], registry: ResourceRegistry
    ) throws(StatusError) -> APIResponse {
        var rest = rest
        var namespace: String? = nil
        if rest.count >= 3, rest[0] == "namespaces" {
            let isNamespaceSubresource = rest.count == 3 && ["status", "finalize"].contains(rest[2]) && group.isEmpty
            if !isNamespaceSubresource {
                namespace = rest[1]
                rest.removeFirst(2)
            }
        }
        guard let resourceName = rest.first,
            let type = registry.type(group: group, version: version, resource: resourceName)
        else {
            throw StatusError.pageNotFound(request.path)
        }
        if namespace != nil, !type.isNamespaced { throw StatusError.pageNotFound(request.path) }
        let name = rest.count > 1 ? rest[1] : nil
        let subresource = rest.count > 2 ? rest[2] : nil
        if let subresource, subresource != "status" || !type.hasStatusSubresource {
            throw StatusError.pageNotFound(request.path)
        }
        if rest.count > 3 { throw StatusError.pageNotFound(request.path) }
        return try ResourceHandler(server: self, request: request, type: type, namespace: namespace)
            .handle(name: name, subresource: subresource)
    }
}
