import AviaryAPI
import AviaryModel
import AviaryPlatform
import AviaryStore
import Foundation
import Hummingbird
import NIOCore

/// Refuses every request without `Authorization: Bearer <token>` (when the daemon has a token).
struct BearerTokenMiddleware<Context: RequestContext>: RouterMiddleware {
    let token: String
    /// Paths that authenticate on their own (the dashboard's, with its session cookie).
    var exempt: @Sendable (String) -> Bool = { _ in false }

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        if exempt(request.uri.path) { return try await next(request, context) }
        let expected = "Bearer \(token)"
        guard let header = request.headers[.authorization], APIRequestDecoding.constantTimeEqual(header, expected)
        else {
            return jsonResponse(
                .unauthorized,
                ErrorBody(error: "missing or wrong token: send `Authorization: Bearer TOKEN` (the daemon's --token)"))
        }
        return try await next(request, context)
    }
}

/// Marks every response `X-Content-Type-Options: nosniff`, so that a browser never renders JSON or
/// text carrying request data (names, paths) as HTML, and answers an unknown path with a JSON 404.
struct NoSniffMiddleware<Context: RequestContext>: RouterMiddleware {
    /// What the 404 names as served.
    var served = "/healthz, /metrics, /sd and /api/v1/..."

    func handle(
        _ request: Request, context: Context, next: (Request, Context) async throws -> Response
    )
        async throws -> Response
    {
        var response: Response
        do {
            response = try await next(request, context)
        } catch let error as HTTPError where error.status == .notFound {
            response = jsonResponse(
                .notFound,
                ErrorBody(
                    error: "no API path \(request.method) \(request.uri.path); the API serves \(served)"))
        } catch let error as any HTTPResponseError {
            response = try error.response(from: request, context: context)
        }
        response.headers[.xContentTypeOptions] = "nosniff"
        return response
    }
}

/// A JSON response; `<`, `>` and `&` are written as `\u003c`, `\u003e` and `\u0026`, so that a
/// name from a request (`<script>`) never appears as markup even where JSON is mistaken for HTML.
func jsonResponse(_ status: HTTPResponse.Status, _ value: some Encodable) -> Response {
    let encoded = (try? APIJSON.encoder().encode(value)) ?? Data("{}".utf8)
    return jsonResponse(status, bytes: encoded)
}

/// A JSON response from JSON bytes, with `jsonResponse`'s escapes.
func jsonResponse(_ status: HTTPResponse.Status, bytes: some Collection<UInt8>) -> Response {
    var body = ByteBuffer()
    body.reserveCapacity(bytes.count)
    writeEscaped(bytes, to: &body)
    return Response(status: status, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: body))
}

/// `{"items": [...]}` of stored resources, written object by object from the stored JSON into
/// one buffer (with `jsonResponse`'s escapes): a listing of 10,000 rollouts as `[String: Any]`
/// took the daemon's RSS from about 200 MB to 900 MB.
func listResponse(_ resources: [StoredResource]) -> Response {
    Response(
        status: .ok, headers: [.contentType: "application/json"], body: ResponseBody(byteBuffer: listBody(resources)))
}

/// The bytes of `listResponse`.
func listBody(_ resources: [StoredResource]) -> ByteBuffer {
    var object: [UInt8] = []
    var body = ByteBuffer()
    body.writeString(#"{"items":["#)
    for (index, resource) in resources.enumerated() {
        if index > 0 { body.writeInteger(UInt8(ascii: ",")) }
        object.removeAll(keepingCapacity: true)
        resource.appendObjectJSON(to: &object)
        writeEscaped(object, to: &body)
    }
    body.writeString("]}")
    return body
}

/// Writes JSON bytes with `<`, `>` and `&` as `\u003c`, `\u003e` and `\u0026` (see `jsonResponse`).
func writeEscaped(_ json: some Collection<UInt8>, to buffer: inout ByteBuffer) {
    // These bytes only occur inside JSON strings, where the escapes mean the same characters.
    // The bytes between two of them are written in one piece.
    var start = json.startIndex
    var index = start
    while index != json.endIndex {
        let escape: String? =
            switch json[index] {
            case UInt8(ascii: "<"): #"\u003c"#
            case UInt8(ascii: ">"): #"\u003e"#
            case UInt8(ascii: "&"): #"\u0026"#
            default: nil
            }
        let next = json.index(after: index)
        if let escape {
            buffer.writeBytes(json[start..<index])
            buffer.writeString(escape)
            start = next
        }
        index = next
    }
    buffer.writeBytes(json[start..<json.endIndex])
}

func errorResponse(_ error: any Error) -> Response {
    let apiError = error as? APIError ?? APIError(status: 500, message: "\(error)")
    return jsonResponse(HTTPResponse.Status(code: apiError.status), apiError.body)
}

/// Everything the routes need.
struct RouteContext: Sendable {
    let resources: ResourceAPI
    let operations: RolloutOperations
    let platform: any Platform
    let metrics: DaemonMetrics
    let store: AviaryStore
    /// What `GET /debug/memory` answers.
    let census: @Sendable () async throws -> MemoryCensus
    /// Where the notification configuration is read (one is made from `store` when nil).
    var notifications: NotificationSettings? = nil
    /// The platform's data plane, whose metrics (the router's) `/metrics` adds.
    var dataPlane: (any DataPlane)? = nil
}

/// Reads a request body up to `limit` bytes; a larger one is a 413 naming the limit.
func readBody(_ request: Request, limit: Int) async throws(APIError) -> Data {
    var body = request.body
    var collected = Data()
    do {
        for try await chunk in body {
            collected.append(contentsOf: chunk.readableBytesView)
            if collected.count > limit {
                throw APIError(
                    status: 413,
                    message:
                        "request body is larger than \(limit / 1024 / 1024) MiB; split the manifest into several files")
            }
        }
    } catch let error as APIError {
        throw error
    } catch {
        throw APIError(status: 400, message: "cannot read the request body: \(error)")
    }
    body = RequestBody(buffer: ByteBuffer())
    return collected
}

/// Builds the API's routes:
/// - `GET /healthz`, `GET /metrics`, `GET /sd` (Prometheus `http_sd_configs`)
/// - `GET /debug/memory`: rows per store table, entries per cache, glibc's heap (`MemoryCensus`)
/// - `POST /api/v1/apply` (YAML or JSON, multi-document)
/// - `GET /api/v1/{kind}`, `GET|DELETE /api/v1/{kind}/{name}` (`?namespace=`, default `default`)
/// - `POST /api/v1/rollouts/{name}/{operation}`: promote (`?full=true`), abort, retry, pause,
///   resume, restart (`?inSeconds=S`), undo (`?toRevision=N`), image (`{"container": C, "image": I}`)
/// - `GET /api/v1/rollouts/{name}/events`
/// - the notification routes (`addNotificationRoutes`)
/// - `GET /api/v1/watch/{kind}/{name}` (`?owned=true` for a rollout and what it owns, `?timeoutSeconds=`):
///   the resource as NDJSON, a line per change; `GET /api/v1/watch/{kind}`: `{"items": [...]}` per change
/// - `GET /api/v1/pods` (`?rollout=`), `GET /api/v1/pods/{name}/logs`
/// - `GET /api/v1/replicasets` (`?rollout=`, `?namespace=`): revisions, counts and images for `get rollout`
/// - the web dashboard (`Dashboard`, unless it is off): `/`, `/rollouts/{namespace}/{name}`, `/dashboard/...`
func makeRouter(_ routes: RouteContext, token: String?, dashboard: Dashboard? = nil) -> Router<BasicRequestContext> {
    let router = Router(context: BasicRequestContext.self)
    let dashboardOn = dashboard.map { $0.mode != .off } ?? false
    router.add(
        middleware: NoSniffMiddleware(
            served: "/healthz, /metrics, /sd and /api/v1/..." + (dashboardOn ? ", and the dashboard at /" : "")))
    if let token {
        router.add(
            middleware: BearerTokenMiddleware(
                token: token, exempt: { path in dashboardOn && Dashboard.isDashboardPath(path) }))
    }
    dashboard?.addRoutes(to: router)

    router.get("/healthz") { _, _ in textResponse(.ok, "ok\n") }
    router.get("/metrics") { _, _ in await metricsResponse(routes.metrics, dataPlane: routes.dataPlane) }
    router.get("/debug/memory") { _, _ in
        do {
            return jsonResponse(.ok, try await routes.census())
        } catch {
            return errorResponse(error)
        }
    }
    router.get("/sd") { _, _ in
        let data = await routes.platform.serviceDiscoveryJSON()
        return Response(
            status: .ok, headers: [.contentType: "application/json"],
            body: ResponseBody(byteBuffer: ByteBuffer(bytes: data)))
    }
    router.post("/api/v1/apply") { request, _ in
        do {
            let body = try await readBody(request, limit: ResourceAPI.maximumBodyBytes)
            let query = request.uri.queryParameters
            let (applied, warnings) = try routes.resources.applyChecked(
                body, file: query.get("file").flatMap { $0.isEmpty ? nil : $0 } ?? "request body",
                strict: query.get("strict") == "true")
            return jsonResponse(
                .ok,
                ApplyResult(
                    applied: applied.map {
                        ApplyResult.Entry(
                            kind: $0.key.kind.rawValue, namespace: $0.key.namespace, name: $0.key.name,
                            outcome: $0.outcome.rawValue, generation: $0.generation)
                    },
                    warnings: warnings.isEmpty ? nil : warnings))
        } catch {
            return errorResponse(error)
        }
    }
    router.get("/api/v1/pods") { request, _ in await podsResponse(routes.platform, request) }
    router.get("/api/v1/endpoints") { request, _ in
        let namespace = request.uri.queryParameters.get("namespace")
        let pods = await routes.platform.pods().filter(\.isReady)
        let services = await routes.platform.services().filter { namespace == nil || $0.namespace == namespace }
        return jsonResponse(
            .ok,
            ServiceEndpointsList(
                services: services.map { service in
                    ServiceEndpointsView(
                        name: service.name, namespace: service.namespace,
                        listener: "\(service.address):\(service.port)",
                        selector: service.selector,
                        endpoints: pods.filter { $0.namespace == service.namespace && service.selects($0.labels) }
                            .map(\.address).sorted())
                }))
    }
    router.get("/api/v1/replicasets") { request, _ in await replicaSetsResponse(routes.platform, request) }
    router.get("/api/v1/pods/{name}/logs") { _, context in
        let name = context.parameters.get("name") ?? ""
        guard let pod = await routes.platform.pods().first(where: { $0.name == name }) else {
            return errorResponse(
                APIError(status: 404, message: "pod \"\(name)\" not found; `aviary get rollout` lists pods"))
        }
        let text = await routes.platform.log(of: pod.key)
        return Response(
            status: .ok, headers: [.contentType: "text/plain"], body: ResponseBody(byteBuffer: ByteBuffer(string: text))
        )
    }
    // Hummingbird's trie does not fall back from the constant `rollouts` (operations) to `{kind}`,
    // so the rollout routes are registered by name as well.
    let list: @Sendable (Request, BasicRequestContext, String) async -> Response = { request, _, kind in
        do {
            let namespace = request.uri.queryParameters.get("namespace")
            return listResponse(try routes.resources.list(kind: kind, namespace: namespace))
        } catch {
            return errorResponse(error)
        }
    }
    let get: @Sendable (Request, BasicRequestContext, String) async -> Response = { request, context, kind in
        do {
            let namespace = request.uri.queryParameters.get("namespace") ?? "default"
            let resource = try routes.resources.get(
                kind: kind, namespace: namespace, name: context.parameters.get("name") ?? "")
            return jsonResponse(.ok, bytes: resource.objectJSON())
        } catch {
            return errorResponse(error)
        }
    }
    let delete: @Sendable (Request, BasicRequestContext, String) async -> Response = { request, context, kind in
        do {
            let namespace = request.uri.queryParameters.get("namespace") ?? "default"
            let name = context.parameters.get("name") ?? ""
            try routes.resources.delete(kind: kind, namespace: namespace, name: name)
            return jsonResponse(.ok, DeleteResult(deleted: name))
        } catch {
            return errorResponse(error)
        }
    }
    router.get("/api/v1/rollouts/{name}/events") { request, context in
        let namespace = request.uri.queryParameters.get("namespace") ?? "default"
        let key = ResourceKey(kind: .rollout, namespace: namespace, name: context.parameters.get("name") ?? "")
        do {
            guard try routes.store.resource(key) != nil else {
                throw APIError.notFound(.rollout, name: key.name, namespace: namespace)
            }
            let events = try routes.store.events(for: key)
            return jsonResponse(
                .ok,
                EventList(
                    events: events.map {
                        EventList.Event(type: $0.type, reason: $0.reason, message: $0.message, time: $0.time)
                    }))
        } catch {
            return errorResponse(error)
        }
    }
    addNotificationRoutes(
        to: router, store: routes.store, settings: routes.notifications ?? NotificationSettings(store: routes.store))
    router.get("/api/v1/watch/{kind}/{name}") { request, context in
        Watch.resourceResponse(
            request, context, store: routes.store, changes: routes.store.changes, platform: routes.platform)
    }
    router.get("/api/v1/watch/{kind}") { request, context in
        Watch.listResponse(request, context, store: routes.store, changes: routes.store.changes)
    }
    router.get("/api/v1/rollouts") { request, context in await list(request, context, "rollouts") }
    router.get("/api/v1/rollouts/{name}") { request, context in await get(request, context, "rollouts") }
    router.delete("/api/v1/rollouts/{name}") { request, context in await delete(request, context, "rollouts") }
    router.get("/api/v1/{kind}") { request, context in
        await list(request, context, context.parameters.get("kind") ?? "")
    }
    router.get("/api/v1/{kind}/{name}") { request, context in
        await get(request, context, context.parameters.get("kind") ?? "")
    }
    router.delete("/api/v1/{kind}/{name}") { request, context in
        await delete(request, context, context.parameters.get("kind") ?? "")
    }
    for plural in RunOperations.operations.keys.sorted() {
        // A kind with operations has a static path segment, which the router then takes for every
        // method of it: its reads and deletes are routed here as the generic ones are.
        router.get("/api/v1/\(plural)") { request, context in await list(request, context, plural) }
        router.get("/api/v1/\(plural)/{name}") { request, context in await get(request, context, plural) }
        router.delete("/api/v1/\(plural)/{name}") { request, context in await delete(request, context, plural) }
        router.post("/api/v1/\(plural)/{name}/{operation}") { request, context in
            do {
                let resource = try RunOperations(store: routes.store, changed: routes.operations.changed).perform(
                    context.parameters.get("operation") ?? "", plural: plural,
                    namespace: request.uri.queryParameters.get("namespace") ?? "default",
                    name: context.parameters.get("name") ?? "")
                return jsonResponse(.ok, bytes: resource.objectJSON())
            } catch {
                return errorResponse(error)
            }
        }
    }
    router.post("/api/v1/rollouts/{name}/{operation}") { request, context in
        do {
            let namespace = request.uri.queryParameters.get("namespace") ?? "default"
            let name = context.parameters.get("name") ?? ""
            let operation = try await parseOperation(
                context.parameters.get("operation") ?? "", request: request)
            let resource = try routes.operations.perform(operation, namespace: namespace, name: name)
            return jsonResponse(.ok, bytes: resource.objectJSON())
        } catch {
            return errorResponse(error)
        }
    }
    return router
}

func parseOperation(_ name: String, request: Request) async throws(APIError) -> RolloutOperation {
    let body =
        name == "image" ? try await readBody(request, limit: APIRequestDecoding.maximumOperationBodyBytes) : Data()
    let query = request.uri.queryParameters
    return try APIRequestDecoding.operation(name, query: { query.get($0) }, body: body)
}

/// `GET /api/v1/pods` (`?rollout=NAME`): the platform's pods.
func podsResponse(_ platform: any Platform, _ request: Request) async -> Response {
    let pods = await platform.pods()
    let rollout = request.uri.queryParameters.get("rollout")
    return jsonResponse(.ok, PodList(pods: pods.filter { rollout == nil || $0.rollout == rollout }.map(podView)))
}

/// `GET /api/v1/replicasets` (`?rollout=NAME` or `?experiment=NAME`, `?namespace=`): the ReplicaSets
/// that owner has, with their counts.
func replicaSetsResponse(_ platform: any Platform, _ request: Request) async -> Response {
    let rollout = request.uri.queryParameters.get("rollout")
    let experiment = request.uri.queryParameters.get("experiment")
    let namespace = request.uri.queryParameters.get("namespace")
    var items: [ReplicaSetView] = []
    for replicaSet in await platform.replicaSets()
    where (rollout == nil || (replicaSet.ownerKind == .rollout && replicaSet.rollout == rollout))
        && (experiment == nil || (replicaSet.ownerKind == .experiment && replicaSet.rollout == experiment))
        && (namespace == nil || replicaSet.namespace == namespace)
    {
        items.append(replicaSetView(replicaSet, counts: await platform.counts(of: replicaSet.key)))
    }
    return jsonResponse(.ok, ReplicaSetList(replicaSets: items))
}

/// The host the pods run on (the local platform's one node), as `get rollout -o wide` shows it.
let nodeName: String = {
    var buffer = [CChar](repeating: 0, count: 256)
    guard gethostname(&buffer, buffer.count) == 0 else { return "localhost" }
    return String(decoding: buffer.prefix { $0 != 0 }.map { UInt8(bitPattern: $0) }, as: UTF8.self)
}()

/// What `GET /api/v1/pods` says of a pod.
func podView(_ pod: Pod) -> PodView {
    PodView(
        name: pod.name, namespace: pod.namespace, replicaSet: pod.replicaSet, rollout: pod.rollout,
        labels: pod.labels, port: pod.port, image: pod.image, ready: pod.isReady, restarts: pod.restarts,
        createdAt: pod.createdAt, address: pod.address, node: nodeName, pid: pod.processID.map { Int($0) },
        lastTermination: pod.lastTermination)
}

/// What `GET /api/v1/replicasets` says of a ReplicaSet.
func replicaSetView(_ replicaSet: ReplicaSet, counts: ReplicaSetCounts) -> ReplicaSetView {
    let template = try? JSONDecoder().decode(PodTemplateSpec.self, from: replicaSet.template)
    return ReplicaSetView(
        name: replicaSet.name, namespace: replicaSet.namespace,
        rollout: replicaSet.ownerKind == .rollout ? replicaSet.rollout : "",
        podTemplateHash: replicaSet.podTemplateHash, revision: replicaSet.revision, replicas: replicaSet.replicas,
        readyReplicas: counts.ready, availableReplicas: counts.available,
        images: template?.spec.containers.compactMap(\.image) ?? [],
        createdAt: replicaSet.createdAt, scaleDownDeadline: replicaSet.scaleDownDeadline,
        experiment: replicaSet.ownerKind == .experiment ? replicaSet.rollout : nil)
}
