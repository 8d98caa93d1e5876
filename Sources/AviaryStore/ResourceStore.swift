import AviaryModel
import Foundation

/// What the controller and the analysis coordinator read and write of the resources (Rollouts,
/// AnalysisTemplates, ClusterAnalysisTemplates, AnalysisRuns, Services): the seam between the one
/// controller core and where the resources live. `AviaryStore` (SQLite, the local platform) and
/// the Kubernetes platform's informer caches (the API server is the source of truth) conform.
///
/// Reads answer from what is at hand (a database or a cache) and are synchronous; writes may go
/// over the network and are `async`. A write that loses a race (the resource changed since the
/// version it expects) returns nil and writes nothing, so the caller reads again.
public protocol ResourceStore: Sendable {
    /// The resource with this key, or nil.
    func resource(_ key: ResourceKey) throws -> StoredResource?
    /// The resources of `keys` that exist.
    func resources(_ keys: some Sequence<ResourceKey>) throws -> [ResourceKey: StoredResource]
    /// The resources of a kind, in one namespace or (nil) all, sorted by namespace and name.
    func resources(kind: ResourceKind, namespace: String?) throws -> [StoredResource]
    /// The keys and resource versions of all resources of a kind, sorted by namespace and name.
    func versions(kind: ResourceKind) throws -> [(key: ResourceKey, resourceVersion: Int)]
    /// How many resources of a kind a namespace has and the highest resource version among them.
    func stamp(kind: ResourceKind, namespace: String) throws -> ResourceStamp
    /// `stamp(kind:namespace:)` of several namespaces.
    func stamps(kind: ResourceKind, namespaces: some Sequence<String>) throws -> [String: ResourceStamp]

    /// Creates or updates a resource from its manifest (a `status` in it is ignored).
    func apply(_ manifest: Data) async throws -> (StoredResource, ApplyOutcome)
    /// Replaces a resource's `spec`; nil when it does not exist.
    func updateSpec(_ key: ResourceKey, spec: Data) async throws -> StoredResource?
    /// Writes a resource's status (and records `events`); nil when the resource does not exist or,
    /// with `expectedResourceVersion`, was written since that version.
    func updateStatus(
        _ key: ResourceKey, status: Data, events: [StoredEvent], expectedResourceVersion: Int?
    ) async throws -> StoredResource?
    /// Several `updateStatus` writes; each one's result, in order.
    func updateStatuses(_ updates: [StatusUpdate]) async throws -> [StoredResource?]
    /// Deletes a resource; whether it existed.
    func delete(_ key: ResourceKey) async throws -> Bool

    /// Records events about resources.
    func record(_ events: [StoredEvent]) async throws
    /// Records the pod template of a rollout's revision (for `undo`).
    func recordRevision(_ revision: StoredRevision) async throws
    /// Forgets the revisions of a rollout with this pod-template hash.
    func deleteRevisions(of rollout: ResourceKey, podTemplateHash: String) async throws
    /// Records measurements of AnalysisRuns.
    func record(_ measurements: [StoredMeasurement]) async throws
}

extension AviaryStore: ResourceStore {}

extension ResourceStore {
    /// Sets `spec.terminate: true` on a run or an experiment (`terminate`), unless it is set already;
    /// nil when the resource does not exist.
    @discardableResult
    public func setTerminate(_ key: ResourceKey) async throws -> StoredResource? {
        guard let resource = try self.resource(key) else { return nil }
        var spec = (try? JSONSerialization.jsonObject(with: resource.spec ?? Data("{}".utf8))) as? [String: Any] ?? [:]
        guard spec["terminate"] as? Bool != true else { return resource }
        spec["terminate"] = true
        return try await updateSpec(key, spec: JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]))
    }
}
