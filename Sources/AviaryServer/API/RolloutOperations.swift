import AviaryAPI
import AviaryCore
import AviaryModel
import AviaryStore
import Foundation

/// The operations of `kubectl argo rollouts` on a stored Rollout, as Argo carries them out: by
/// changing `spec` (pause, resume, restart, set image, undo) or `status` (promote, abort, retry);
/// the controller does the rest on its next reconcile.
public struct RolloutOperations: Sendable {
    let store: AviaryStore
    let changed: @Sendable (ResourceKey) -> Void
    let now: @Sendable () -> Date
    /// Called with the attempt number (from 0) after each read of the rollout and before its
    /// write: the seam where a test makes another write race with the operation's.
    var beforeWrite: @Sendable (Int) -> Void = { _ in }

    /// Creates the operations over a store.
    public init(
        store: AviaryStore, changed: @escaping @Sendable (ResourceKey) -> Void,
        now: @escaping @Sendable () -> Date = { Date() }
    ) {
        self.store = store
        self.changed = changed
        self.now = now
    }

    /// One operation (the API decodes it with `APIRequestDecoding.operation`).
    public typealias Operation = RolloutOperation

    /// Carries out `operation` on the rollout `name`; returns the rollout as stored afterwards.
    @discardableResult
    public func perform(_ operation: Operation, namespace: String, name: String) throws(APIError) -> StoredResource {
        let key = ResourceKey(kind: .rollout, namespace: namespace, name: name)
        // A status write races with the controller's: retry on a concurrent write.
        for attempt in 0..<20 {
            let resource: StoredResource
            do {
                guard let found = try store.resource(key) else {
                    throw APIError.notFound(.rollout, name: name, namespace: namespace)
                }
                resource = found
            } catch let error as APIError {
                throw error
            } catch {
                throw APIError(storeError: error)
            }
            let rollout: Rollout
            do {
                rollout = try JSONDecoder().decode(Rollout.self, from: resource.objectJSON())
            } catch {
                throw APIError(status: 500, message: "stored rollout \"\(name)\" cannot be read: \(error)")
            }
            let changedRollout = try apply(operation, to: rollout, key: key)
            beforeWrite(attempt)
            do {
                var current = resource
                if changedRollout.spec != rollout.spec {
                    let data = try JSONEncoder().encode(changedRollout.spec)
                    guard let updated = try store.updateSpec(key, spec: data) else { continue }
                    current = updated
                    changed(key)
                }
                if changedRollout.status != rollout.status {
                    let data = try JSONEncoder().encode(changedRollout.status ?? RolloutStatus())
                    guard
                        let written = try store.updateStatus(
                            key, status: data, expectedResourceVersion: current.resourceVersion)
                    else { continue }
                    current = written
                    changed(key)
                }
                return current
            } catch {
                throw APIError(storeError: error)
            }
        }
        throw APIError(status: 409, message: "rollout \"\(name)\" changed while the operation ran; try again")
    }

    private func apply(_ operation: Operation, to rollout: Rollout, key: ResourceKey) throws(APIError) -> Rollout {
        switch operation {
        case .promote(let full):
            if let refusal = rollout.promotionRefusal(full: full) { throw APIError(status: 409, message: refusal) }
            return rollout.promoted(full: full)
        case .abort: return rollout.aborted()
        case .retry: return rollout.retried()
        case .pause: return rollout.paused()
        case .resume:
            var resumed = rollout
            resumed.spec.paused = nil
            return resumed
        case .restart(let delay): return rollout.restarted(at: now().addingTimeInterval(delay))
        case .setImage(let container, let image):
            if rollout.spec.template == nil, let reference = rollout.spec.workloadRef {
                let kind = reference.kind ?? "Deployment"
                throw APIError(
                    status: 422,
                    message: "rollout \"\(key.name)\" takes its pod template from \(kind) \(reference.name ?? "") "
                        + "(spec.workloadRef): change the image in the \(kind) and `aviary apply` it; the rollout "
                        + "takes the new template through its steps")
            }
            var updated = rollout
            let names = rollout.spec.template?.spec.containers.map(\.name) ?? []
            guard container == "*" || names.contains(container) else {
                throw APIError(
                    status: 422,
                    message: "rollout \"\(key.name)\" has no container \"\(container)\"; its containers: "
                        + "\(names.joined(separator: ", ")) (use CONTAINER=IMAGE, or *=IMAGE for all)")
            }
            for index in names.indices where container == "*" || names[index] == container {
                updated.spec.template?.spec.containers[index].image = image
            }
            return updated
        case .undo(let toRevision):
            let revisions: [StoredRevision]
            do {
                revisions = try store.revisions(of: key)
            } catch {
                throw APIError(storeError: error)
            }
            let replicaSets = revisions.compactMap { revision -> ObservedReplicaSet? in
                guard let template = try? JSONDecoder().decode(PodTemplateSpec.self, from: revision.template) else {
                    return nil
                }
                return ObservedReplicaSet(
                    podTemplateHash: revision.podTemplateHash, revision: revision.revision, template: template,
                    replicas: 0, readyReplicas: 0, availableReplicas: 0, createdAt: Date(timeIntervalSince1970: 0))
            }
            do {
                return try rollout.undone(toRevision: toRevision, replicaSets: replicaSets)
            } catch {
                throw APIError(status: 422, message: error.message)
            }
        }
    }

    static func object(_ data: Data?) -> [String: Any] {
        data.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
    }
}
