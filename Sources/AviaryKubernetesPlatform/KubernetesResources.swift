import AviaryJSON
import AviaryKubernetes
import AviaryModel
import AviaryMeta
import AviaryStore
import Foundation
import Synchronization

import let AviaryPlatform.podTemplateHashLabel

/// Argo's resources on a Kubernetes API server as the controller's `ResourceStore`: reads answer
/// from informer caches (list + watch; no second copy that could disagree with the server),
/// writes go to the server (status through the `status` subresource as a JSON merge patch of the
/// fields that changed, conditional on the resource version the reconcile read, so a concurrent
/// write is a 409 and the reconcile reads again).
///
/// Revisions and measurements have no rows here: a revision is its ReplicaSet (template and
/// `rollout.argoproj.io/revision` annotation) and measurements live in the AnalysisRun's
/// `status.metricResults`, as with Argo's controller. Events become core `v1` Events with Argo's
/// reasons, sent best effort (a lost event never fails a reconcile, as with client-go's recorder).
public final class KubernetesResources: ResourceStore {
    let client: KubernetesClient
    let caches: [ResourceKind: WatchedCache]
    let resources: [ResourceKind: GroupVersionResource]
    let instanceID: String?
    private let changeHandler = Callback<ResourceKey>()
    /// Counts the informers' events: what a watch of the daemon's API waits on (the platform's
    /// ReplicaSet and pod events are counted too, by whoever follows them).
    public let changes = StoreChanges()
    /// Where the notifications a written status triggers go (the leader's outbox); nil: nowhere.
    /// The closure sits in a struct, so that reading it leaves it as it is (see `Callback`).
    private let notificationSink = Mutex<NotificationSink?>(nil)
    private struct NotificationSink: Sendable {
        let send: @Sendable ([StoredNotification]) async -> Void
    }
    /// Whether a kind's status is written through its `status` subresource. Argo's CRDs give only
    /// Rollout one (`subresources: {}` for AnalysisRun): an AnalysisRun's status is patched on the
    /// object itself, as Argo's controller does. A server that says otherwise (404 on `/status`,
    /// or a status the object patch left out) switches the kind over.
    private let statusSubresource = Mutex<[ResourceKind: Bool]>([.rollout: true])

    /// The kinds it serves and where they live on the server.
    static let kinds: [(kind: ResourceKind, resource: GroupVersionResource, byInstance: Bool)] = [
        (.rollout, .rollouts, true),
        (.analysisTemplate, .analysisTemplates, false),
        (.clusterAnalysisTemplate, .clusterAnalysisTemplates, false),
        (.analysisRun, .analysisRuns, true),
        (.experiment, .experiments, true),
        (.service, .services, false),
        // What a Rollout's `workloadRef` may name: read for the pod template, never reconciled.
        (.deployment, .deployments, false),
        (.replicaSet, .replicaSets, false),
        (.podTemplate, .podTemplates, false),
    ]

    /// What is kept of the objects a `workloadRef` names: the pod template, the selector and the
    /// replicas (which `scaleDown` writes), not the status or the rest of the spec.
    static let workloadFieldsRead: KeptFields = .members([
        "apiVersion": .all, "kind": .all,
        "metadata": .members([
            "name": .all, "namespace": .all, "uid": .all, "resourceVersion": .all, "generation": .all,
            "creationTimestamp": .all,
        ]),
        "spec": .members(["replicas": .all, "selector": .all, "template": .all]),
        "template": .all,
    ])

    /// Resources of `namespace` (nil: all namespaces) handled by the controller instance `instanceID`.
    /// `namedObjects` are also served, by kind, but only the objects of that name (Argo's notification
    /// ConfigMap and Secret): each is watched with a `metadata.name` field selector, so the cache holds
    /// those and not every ConfigMap and Secret of the cluster.
    public init(
        client: KubernetesClient, namespace: String?, instanceID: String?,
        namedObjects: [(kind: ResourceKind, resource: GroupVersionResource, name: String)] = []
    ) {
        self.client = client
        self.instanceID = instanceID
        var caches: [ResourceKind: WatchedCache] = [:]
        var resources: [ResourceKind: GroupVersionResource] = [:]
        for (kind, resource, byInstance) in Self.kinds {
            resources[kind] = resource
            var transform: @Sendable (KubernetesObject) -> KubernetesObject = { $0 }
            if kind.isWorkload { transform = { $0.keeping(KubernetesResources.workloadFieldsRead) } }
            // ReplicaSets a workloadRef may name are the cluster's others: the rollouts' own (which
            // the platform watches) are left out, and of the rest only the template is kept.
            let selector =
                byInstance ? ArgoNames.instanceSelector(instanceID) : kind == .replicaSet ? "!\(podTemplateHashLabel)" : nil
            caches[kind] = WatchedCache(
                informer: Informer(
                    client: client, resource: resource, namespace: kind.isClusterScoped ? nil : namespace,
                    labelSelector: selector, transform: transform))
        }
        for (kind, resource, name) in namedObjects {
            resources[kind] = resource
            caches[kind] = WatchedCache(
                informer: Informer(
                    client: client, resource: resource, namespace: namespace, fieldSelector: "metadata.name=\(name)"))
        }
        self.caches = caches
        self.resources = resources
    }

    /// The Services' informer, shared with the platform (which pins their selectors).
    public var serviceInformer: Informer { caches[.service]!.informer }
    var serviceCache: WatchedCache { caches[.service]! }

    /// The cached Rollout `namespace/name`, for the platform's owner references.
    func rolloutObject(namespace: String, name: String) -> KubernetesObject? {
        caches[.rollout]?.informer.object(forKey: "\(namespace)/\(name)")
    }

    /// Sets what is told when a rollout should be reconciled: it changed, or one of its AnalysisRuns did.
    public func setChangeHandler(_ handler: @escaping @Sendable (ResourceKey) -> Void) {
        changeHandler.set(handler)
    }

    /// Sets where the notifications of a written status go: the leader's outbox while it leads, nil after.
    public func setNotificationSink(_ sink: (@Sendable ([StoredNotification]) async -> Void)?) {
        notificationSink.withLock { $0 = sink.map(NotificationSink.init(send:)) }
    }

    /// Lists and watches every kind until the task is cancelled.
    public func run() async {
        await withTaskGroup(of: Void.self) { group in
            for (kind, cache) in caches {
                group.addTask { await cache.informer.run() }
                group.addTask { [self] in
                    await cache.follow { event in
                        self.changes.notify()
                        let keys =
                            kind.isWorkload
                            ? self.rollouts(referencing: kind, event.object)
                            : Self.keysToReconcile(kind: kind, event.object)
                        for key in keys { self.changeHandler(key) }
                    }
                }
            }
        }
    }

    /// Waits until every informer has listed once.
    public func waitForSync() async {
        for cache in caches.values { await cache.informer.waitForSync() }
    }

    /// The selector of the Deployment or ReplicaSet a Rollout without one of its own names in `workloadRef`.
    func workloadSelector(of rollout: KubernetesObject) -> JSONValue? {
        let reference = rollout.json[path: "spec", "workloadRef"]
        guard let kind = reference?["kind"]?.stringValue.flatMap(ResourceKind.init(rawValue:)),
            kind == .deployment || kind == .replicaSet,
            let name = reference?["name"]?.stringValue
        else { return nil }
        let key = "\(rollout.metadata.namespace ?? "default")/\(name)"
        return caches[kind]?.informer.object(forKey: key)?.json[path: "spec", "selector"]
    }

    /// The Rollouts of the object's namespace whose `workloadRef` names it (its change is theirs).
    func rollouts(referencing kind: ResourceKind, _ object: KubernetesObject) -> [ResourceKey] {
        let namespace = object.metadata.namespace ?? "default"
        let rollouts = caches[.rollout]?.informer.objects(index: StandardIndex.namespace, value: namespace) ?? []
        return rollouts.compactMap { rollout in
            let reference = rollout.json[path: "spec", "workloadRef"]
            guard reference?["kind"]?.stringValue == kind.rawValue, reference?["name"]?.stringValue == object.metadata.name
            else { return nil }
            return ResourceKey(kind: .rollout, namespace: namespace, name: rollout.metadata.name ?? "")
        }
    }

    /// What a change of this object concerns: a Rollout itself; an Experiment and the rollout whose
    /// step made it; the owner (rollout or experiment) of an AnalysisRun.
    static func keysToReconcile(kind: ResourceKind, _ object: KubernetesObject) -> [ResourceKey] {
        let namespace = object.metadata.namespace ?? "default"
        let owners = object.metadata.ownerReferences ?? []
        switch kind {
        case .rollout:
            return [ResourceKey(kind: .rollout, namespace: namespace, name: object.metadata.name ?? "")]
        case .experiment:
            var keys = [ResourceKey(kind: .experiment, namespace: namespace, name: object.metadata.name ?? "")]
            if let rollout = owners.first(where: { $0.kind == "Rollout" })?.name {
                keys.append(ResourceKey(kind: .rollout, namespace: namespace, name: rollout))
            }
            return keys
        case .analysisRun:
            if let experiment = owners.first(where: { $0.kind == "Experiment" })?.name
                ?? object.metadata.labels?["experiment"]
            {
                return [ResourceKey(kind: .experiment, namespace: namespace, name: experiment)]
            }
            let owner = owners.first { $0.kind == "Rollout" }?.name ?? object.metadata.labels?["rollout"]
            return owner.map { [ResourceKey(kind: .rollout, namespace: namespace, name: $0)] } ?? []
        default:
            return []
        }
    }

    /// The cached Experiment `namespace/name`, for the owner references of what it makes.
    func experimentObject(namespace: String, name: String) -> KubernetesObject? {
        caches[.experiment]?.informer.object(forKey: "\(namespace)/\(name)")
    }

    // MARK: Reads

    private func cacheKey(_ key: ResourceKey) -> String {
        key.kind.isClusterScoped ? key.name : "\(key.namespace)/\(key.name)"
    }

    private func cache(_ kind: ResourceKind) throws -> WatchedCache {
        guard let cache = caches[kind] else { throw UnknownKind(kind: kind.rawValue) }
        return cache
    }

    public func resource(_ key: ResourceKey) throws -> StoredResource? {
        try cache(key.kind).informer.object(forKey: cacheKey(key)).map { try StoredResource(key.kind, $0) }
    }

    public func resources(_ keys: some Sequence<ResourceKey>) throws -> [ResourceKey: StoredResource] {
        var found: [ResourceKey: StoredResource] = [:]
        for key in keys { if let resource = try resource(key) { found[key] = resource } }
        return found
    }

    public func resources(kind: ResourceKind, namespace: String?) throws -> [StoredResource] {
        let informer = try cache(kind).informer
        let objects = namespace.map { informer.objects(index: StandardIndex.namespace, value: $0) } ?? informer.list()
        return try objects.map { try StoredResource(kind, $0) }.sorted { $0.key < $1.key }
    }

    /// Services are left out: on Kubernetes a Service is the user's, served by the cluster; the
    /// controller only pins the selectors of the ones a rollout names, from the rollout's reconcile.
    public func versions(kind: ResourceKind) throws -> [(key: ResourceKey, resourceVersion: Int)] {
        guard kind != .service else { return [] }
        // From the informer's keys and versions: a resync every few seconds parses no object.
        let versions: [(key: ResourceKey, resourceVersion: Int)] = try cache(kind).informer.versions().map { entry in
            let key = ObjectKey(parsing: entry.key)
            return (
                key: ResourceKey(kind: kind, namespace: key.namespace ?? "", name: key.name),
                resourceVersion: Int(entry.resourceVersion ?? "") ?? 0
            )
        }
        return versions.sorted { $0.key < $1.key }
    }

    public func stamp(kind: ResourceKind, namespace: String) throws -> ResourceStamp {
        let versions = try cache(kind).informer.versions(index: StandardIndex.namespace, value: namespace)
        return ResourceStamp(
            count: versions.count,
            latestResourceVersion: versions.map { Int($0.resourceVersion ?? "") ?? 0 }.max() ?? 0)
    }

    public func stamps(kind: ResourceKind, namespaces: some Sequence<String>) throws -> [String: ResourceStamp] {
        var stamps: [String: ResourceStamp] = [:]
        for namespace in namespaces { stamps[namespace] = try stamp(kind: kind, namespace: namespace) }
        return stamps
    }

    // MARK: Writes

    /// Creates the resource; one that exists already is left as it is (`unchanged`). An AnalysisRun
    /// whose `rollout` label names a rollout is owned by it (a controller owner reference, so the
    /// cluster deletes it with the rollout) and carries the rollout's controller instance label.
    public func apply(_ manifest: Data) async throws -> (StoredResource, ApplyOutcome) {
        var json = try JSONValue(parsing: manifest)
        let kindName = json["kind"]?.stringValue ?? ""
        guard let kind = ResourceKind(rawValue: kindName) else { throw UnknownKind(kind: kindName) }
        let cache = try self.cache(kind)
        let resource = resources[kind]!
        var object = try KubernetesObject(json: json)
        let namespace = kind.isClusterScoped ? nil : (object.metadata.namespace ?? "default")
        if kind == .analysisRun, let rolloutName = object.metadata.labels?["rollout"],
            let rollout = rolloutObject(namespace: namespace ?? "default", name: rolloutName),
            let uid = rollout.metadata.uid
        {
            var metadata = object.metadata
            metadata.ownerReferences = [
                OwnerReference(
                    apiVersion: "argoproj.io/v1alpha1", kind: "Rollout", name: rolloutName, uid: uid, controller: true,
                    blockOwnerDeletion: true)
            ]
            if let instanceID { metadata.labels?[ArgoNames.controllerInstanceLabel] = instanceID }
            try object.setMetadata(metadata)
        } else if kind == .analysisRun, let experimentName = object.metadata.labels?["experiment"],
            let experiment = experimentObject(namespace: namespace ?? "default", name: experimentName),
            let uid = experiment.metadata.uid
        {
            // An experiment's run is owned by it, as Argo's are: collected with it.
            var metadata = object.metadata
            metadata.ownerReferences = [
                OwnerReference(
                    apiVersion: "argoproj.io/v1alpha1", kind: "Experiment", name: experimentName, uid: uid,
                    controller: true, blockOwnerDeletion: true)
            ]
            if let instanceID { metadata.labels?[ArgoNames.controllerInstanceLabel] = instanceID }
            try object.setMetadata(metadata)
        } else if kind == .experiment, let instanceID {
            // An experiment step's Experiment: handled by this instance, as its rollout is.
            var metadata = object.metadata
            metadata.labels = (metadata.labels ?? [:]).merging([ArgoNames.controllerInstanceLabel: instanceID]) {
                _, new in new
            }
            try object.setMetadata(metadata)
        }
        json = object.json
        json["status"] = nil
        do {
            let created = try await client.create(resource, namespace: namespace, try KubernetesObject(json: json))
            await cache.waitUntilSeen(created)
            return (try StoredResource(kind, created), .created)
        } catch let error as KubernetesError where error.isAlreadyExists {
            let existing = try await client.get(resource, namespace: namespace, name: object.metadata.name ?? "")
            return (try StoredResource(kind, existing), .unchanged)
        }
    }

    public func updateSpec(_ key: ResourceKey, spec: Data) async throws -> StoredResource? {
        let cache = try self.cache(key.kind)
        guard let current = cache.informer.object(forKey: cacheKey(key)) else { return nil }
        guard let change = MergePatch.diff(from: current.json["spec"], to: try JSONValue(parsing: spec)) else {
            return try StoredResource(key.kind, current)
        }
        do {
            let patched = try await client.patch(
                resources[key.kind]!, namespace: namespaceOf(key), name: key.name, type: .merge,
                body: ["spec": change])
            await cache.waitUntilSeen(patched)
            return try StoredResource(key.kind, patched)
        } catch let error as KubernetesError where error.isNotFound {
            return nil
        }
    }

    /// Sends the fields of `status` that differ from the cached object's as a merge patch to the
    /// `status` subresource, with `metadata.resourceVersion` as a precondition when
    /// `expectedResourceVersion` is given: a write by someone else since (Argo's plugin, `kubectl
    /// patch`) answers 409 and this returns nil, so the reconcile reads the new status and decides again.
    public func updateStatus(
        _ key: ResourceKey, status: Data, events: [StoredEvent], expectedResourceVersion: Int?
    ) async throws -> StoredResource? {
        let cache = try self.cache(key.kind)
        guard let current = cache.informer.object(forKey: cacheKey(key)) else { return nil }
        if let expectedResourceVersion, expectedResourceVersion != WatchedCache.version(of: current) { return nil }
        var written = current
        let target = try JSONValue(parsing: status)
        if let change = MergePatch.diff(from: current.json["status"], to: target) {
            var body: JSONValue = ["status": change]
            if expectedResourceVersion != nil {
                body["metadata"] = ["resourceVersion": .string(current.metadata.resourceVersion ?? "")]
            }
            let viaSubresource = statusSubresource.withLock { $0[key.kind] ?? false }
            do {
                written = try await patchStatus(key, body: body, viaSubresource: viaSubresource)
                if !viaSubresource, MergePatch.diff(from: written.json["status"], to: target) != nil {
                    // The server keeps status out of object writes: the kind has a status subresource.
                    statusSubresource.withLock { $0[key.kind] = true }
                    if expectedResourceVersion != nil {
                        body["metadata"] = ["resourceVersion": .string(written.metadata.resourceVersion ?? "")]
                    }
                    written = try await patchStatus(key, body: body, viaSubresource: true)
                }
            } catch let error where viaSubresource && error.isNotFound && key.kind != .rollout {
                // The object is cached, so the 404 is the subresource's: write the status on the object.
                statusSubresource.withLock { $0[key.kind] = false }
                do {
                    written = try await patchStatus(key, body: body, viaSubresource: false)
                } catch {
                    guard error.isConflict || error.isNotFound else { throw error }
                    return nil
                }
            } catch {
                guard error.isConflict || error.isNotFound else { throw error }
                return nil
            }
            await cache.waitUntilSeen(written)
        }
        try await record(events, about: written)
        return try StoredResource(key.kind, written)
    }

    private func patchStatus(
        _ key: ResourceKey, body: JSONValue, viaSubresource: Bool
    ) async throws(KubernetesError)
        -> KubernetesObject
    {
        try await client.patch(
            resources[key.kind]!, namespace: namespaceOf(key), name: key.name, type: .merge, body: body,
            subresource: viaSubresource ? "status" : nil)
    }

    /// Each status as `updateStatus` writes it; the notifications of one that was written go to the
    /// outbox right after it (a status that lost a race sends none, as its events are not recorded).
    public func updateStatuses(_ updates: [StatusUpdate]) async throws -> [StoredResource?] {
        var results: [StoredResource?] = []
        for update in updates {
            let written = try await updateStatus(
                update.key, status: update.status, events: update.events,
                expectedResourceVersion: update.expectedResourceVersion)
            if written != nil, !update.notifications.isEmpty, let sink = notificationSink.withLock({ $0 }) {
                await sink.send(update.notifications)
            }
            results.append(written)
        }
        return results
    }

    public func delete(_ key: ResourceKey) async throws -> Bool {
        let cache = try self.cache(key.kind)
        do {
            try await client.delete(resources[key.kind]!, namespace: namespaceOf(key), name: key.name)
        } catch {
            guard error.isNotFound else { throw error }
            return false
        }
        await cache.waitUntilGone(cacheKey(key))
        return true
    }

    public func record(_ events: [StoredEvent]) async throws {
        for event in events {
            guard let object = try cache(event.key.kind).informer.object(forKey: cacheKey(event.key)) else { continue }
            try await record([event], about: object)
        }
    }

    private func record(_ events: [StoredEvent], about object: KubernetesObject) async throws {
        for event in events {
            let namespace = object.metadata.namespace ?? "default"
            let body: JSONValue = [
                "apiVersion": "v1", "kind": "Event",
                "metadata": [
                    "generateName": .string("\(object.metadata.name ?? "")."), "namespace": .string(namespace),
                ],
                "involvedObject": [
                    "apiVersion": .string(object.apiVersion ?? ""), "kind": .string(event.key.kind.rawValue),
                    "name": .string(event.key.name), "namespace": .string(namespace),
                    "uid": .string(object.metadata.uid ?? ""),
                    "resourceVersion": .string(object.metadata.resourceVersion ?? ""),
                ],
                "reason": .string(event.reason), "message": .string(event.message), "type": .string(event.type),
                "firstTimestamp": .string(event.time), "lastTimestamp": .string(event.time), "count": 1,
                "source": ["component": .string(ArgoNames.eventSource)],
            ]
            // Best effort, as client-go's event recorder: a lost event never fails a reconcile.
            _ = try? await client.create(.events, namespace: namespace, try KubernetesObject(json: body))
        }
    }

    /// A revision is its ReplicaSet (pod template and `rollout.argoproj.io/revision`): nothing else to record.
    public func recordRevision(_ revision: StoredRevision) async throws {}

    /// A revision goes with its ReplicaSet: nothing else to forget.
    public func deleteRevisions(of rollout: ResourceKey, podTemplateHash: String) async throws {}

    /// Measurements are part of the AnalysisRun's `status.metricResults` (Argo's shape), written with its status.
    public func record(_ measurements: [StoredMeasurement]) async throws {}

    private func namespaceOf(_ key: ResourceKey) -> String? {
        key.kind.isClusterScoped ? nil : key.namespace
    }
}

/// A kind the Kubernetes platform does not serve to the controller.
struct UnknownKind: Error, CustomStringConvertible {
    var kind: String
    var description: String {
        "kind \(kind) is not served on the Kubernetes platform (it serves "
            + KubernetesResources.kinds.map(\.kind.rawValue).joined(separator: ", ") + ")"
    }
}

extension StoredResource {
    /// The store's view of a Kubernetes object: its parts as JSON, `resourceVersion` as the integer
    /// the server gives (an etcd revision), `metadata` without the server's `managedFields`.
    init(_ kind: ResourceKind, _ object: KubernetesObject) throws {
        var metadata = object.json["metadata"] ?? [:]
        metadata["managedFields"] = nil
        var spec = object.json["spec"]
        if kind.hasTopLevelBody, var body = object.json.objectValue {
            for field in ["apiVersion", "kind", "metadata", "status"] { body[field] = nil }
            spec = .object(body)
        }
        self.init(
            key: Self.key(kind, object), apiVersion: object.apiVersion ?? "argoproj.io/v1alpha1",
            generation: Int(object.metadata.generation ?? 1), resourceVersion: WatchedCache.version(of: object),
            metadata: metadata.serialized(), spec: spec?.serialized(),
            status: object.json["status"]?.serialized(), createdAt: object.metadata.creationTimestamp ?? "")
    }

    static func key(_ kind: ResourceKind, _ object: KubernetesObject) -> ResourceKey {
        ResourceKey(kind: kind, namespace: object.metadata.namespace ?? "", name: object.metadata.name ?? "")
    }
}
