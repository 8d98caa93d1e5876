import AviaryAPI
import AviaryClient
import AviaryKubernetes
import AviaryKubernetesPlatform
import AviaryModel
import AviaryPlatform
import AviaryStore
import Foundation
import Hummingbird

/// The daemon's resource API on `aviary serve --platform kubernetes`, for a CLI pointed at the
/// daemon (`--server`) and other clients of the one-host API: the same paths and answers, read
/// from the informers' caches (no request reaches the API server for a read), and operations
/// written as the merge patches of Argo's `kubectl argo rollouts` plugin, whichever replica is
/// asked. Manifests are applied and deleted with kubectl: the cluster is the source of truth.
struct ClusterAPI: Sendable {
    /// The Rollouts, templates, runs, experiments and Services the controller's informers hold.
    let resources: KubernetesResources
    /// ReplicaSets and pods, from the platform's informers.
    let platform: KubernetesPlatform
    /// The client operations and event reads go through (not the controller's, so they never
    /// wait behind its queue).
    let client: KubernetesClient
    /// The notifications of a rollout in the leader's outbox; nil on a replica that does not lead.
    let notifications: @Sendable (ResourceKey) async -> [StoredNotification]?

    /// The routes, added to `router`.
    func addRoutes(to router: Router<BasicRequestContext>) {
        let api = self
        router.get("/api/v1/pods") { request, _ in await podsResponse(api.platform, request) }
        router.get("/api/v1/replicasets") { request, _ in await replicaSetsResponse(api.platform, request) }
        // The trie takes the constant `rollouts` for every method under it: its reads are added by name.
        router.get("/api/v1/rollouts") { request, _ in api.list(request, plural: "rollouts") }
        router.get("/api/v1/rollouts/{name}") { request, context in api.get(request, context, plural: "rollouts") }
        router.get("/api/v1/{kind}") { request, context in
            api.list(request, plural: context.parameters.get("kind") ?? "")
        }
        router.get("/api/v1/{kind}/{name}") { request, context in
            api.get(request, context, plural: context.parameters.get("kind") ?? "")
        }
        router.get("/api/v1/rollouts/{name}/events") { request, context in
            let namespace = request.uri.queryParameters.get("namespace") ?? "default"
            let name = context.parameters.get("name") ?? ""
            guard (try? api.resources.resource(ResourceKey(kind: .rollout, namespace: namespace, name: name))) != nil
            else { return errorResponse(APIError.notFound(.rollout, name: name, namespace: namespace)) }
            let events = await ClusterClient(kubernetes: api.client, namespace: namespace).events(ofRollout: name)
            return jsonResponse(.ok, EventList(events: events))
        }
        router.get("/api/v1/rollouts/{name}/notifications") { request, context in
            let key = ResourceKey(
                kind: .rollout, namespace: request.uri.queryParameters.get("namespace") ?? "default",
                name: context.parameters.get("name") ?? "")
            guard let stored = await api.notifications(key) else {
                return errorResponse(
                    APIError(
                        status: 503,
                        message: "this replica does not hold the lease; the leader sends notifications and knows "
                            + "their state (kubectl get configmap aviary-notification-outbox lists the pending ones)"))
            }
            return notificationListResponse(stored)
        }
        router.post("/api/v1/rollouts/{name}/{operation}") { request, context in
            do {
                let namespace = request.uri.queryParameters.get("namespace") ?? "default"
                let name = context.parameters.get("name") ?? ""
                let operation = try await parseOperation(context.parameters.get("operation") ?? "", request: request)
                return try await api.perform(operation, name: name, namespace: namespace)
            } catch {
                return errorResponse(error)
            }
        }
        router.get("/api/v1/watch/{kind}/{name}") { request, context in
            api.unserved(context)
                ?? Watch.resourceResponse(
                    request, context, store: api.resources, changes: api.resources.changes, platform: api.platform)
        }
        router.get("/api/v1/watch/{kind}") { request, context in
            api.unserved(context)
                ?? Watch.listResponse(request, context, store: api.resources, changes: api.resources.changes)
        }
        router.post("/api/v1/apply") { _, _ in errorResponse(Self.useKubectl("apply -f FILE")) }
        router.delete("/api/v1/rollouts/{name}") { _, _ in errorResponse(Self.useKubectl("delete rollout NAME")) }
        router.delete("/api/v1/{kind}/{name}") { _, context in
            errorResponse(Self.useKubectl("delete \(context.parameters.get("kind") ?? "KIND") NAME"))
        }
    }

    static func useKubectl(_ command: String) -> APIError {
        APIError(
            status: 405,
            message: "on --platform kubernetes the API server holds the resources: use kubectl \(command) "
                + "(the daemon's API reads them and runs rollout operations)")
    }

    /// The kind a URL names, when the controller's informers hold it.
    func kind(_ plural: String) throws(APIError) -> ResourceKind {
        let kind = try ResourceKind(named: plural)
        // The notification Secret is cached for the controller; its values are never served.
        guard kind != .secret, (try? resources.versions(kind: kind)) != nil else {
            throw APIError(
                status: 404,
                message: "the controller does not cache \(plural) on Kubernetes; read them with kubectl get \(plural)")
        }
        return kind
    }

    /// The error answer when the path's `{kind}` is not served here; nil when it is.
    func unserved(_ context: BasicRequestContext) -> Response? {
        do {
            _ = try kind(context.parameters.get("kind") ?? "")
            return nil
        } catch {
            return errorResponse(error)
        }
    }

    func list(_ request: Request, plural: String) -> Response {
        do {
            let kind = try kind(plural)
            return listResponse(
                try resources.resources(kind: kind, namespace: request.uri.queryParameters.get("namespace")))
        } catch {
            return errorResponse(error)
        }
    }

    func get(_ request: Request, _ context: BasicRequestContext, plural: String) -> Response {
        do {
            let kind = try kind(plural)
            let namespace = request.uri.queryParameters.get("namespace") ?? "default"
            let name = context.parameters.get("name") ?? ""
            guard let resource = try resources.resource(ResourceKey(kind: kind, namespace: namespace, name: name))
            else {
                throw APIError.notFound(kind, name: name, namespace: namespace)
            }
            return jsonResponse(.ok, bytes: resource.objectJSON())
        } catch {
            return errorResponse(error)
        }
    }

    /// One rollout operation, as Argo's plugin writes it; the answer is the Rollout as written.
    func perform(_ operation: RolloutOperation, name: String, namespace: String) async throws -> Response {
        let cluster = ClusterClient(kubernetes: client, namespace: namespace)
        let written: KubernetesObject
        do throws(ClusterFailure) {
            switch operation {
            case .promote(let full): try await cluster.promote(name, full: full)
            case .abort: try await cluster.write(RolloutPatches.abort, to: name)
            case .retry: try await cluster.write(RolloutPatches.retry, to: name)
            case .pause: try await cluster.write(RolloutPatches.pause, to: name)
            case .resume: try await cluster.write(RolloutPatches.Writes(spec: ["spec": ["paused": false]]), to: name)
            case .restart(let delay):
                try await cluster.write(RolloutPatches.restart(at: Date().addingTimeInterval(delay)), to: name)
            case .setImage(let container, let image):
                try await cluster.setImage(name, container: container, image: image)
            case .undo(let revision): _ = try await cluster.undo(name, toRevision: revision > 0 ? revision : nil)
            }
            written = try await cluster.rolloutObject(name)
        } catch {
            throw APIError(status: error.isNotFound ? 404 : 422, message: error.description)
        }
        return jsonResponse(.ok, bytes: written.json.serialized())
    }
}
