import AviaryCore
import AviaryModel
import AviaryPlatform
import AviaryStore
import Foundation

/// `spec.workloadRef`: a Rollout whose pod template lives in another object (a Deployment being
/// migrated, a ReplicaSet, or a PodTemplate), as Argo reads it. The template (and the selector, when the Rollout
/// gives none) is taken from that object at each reconcile; a change of it is a new revision.
/// Only a store that holds such objects (a cluster's) can resolve one; elsewhere the rollout stays
/// without a template, and its status says so.
extension Controller {
    /// `decoded` with the template (and selector) of the object its workloadRef names, from a
    /// cached resolution while neither the rollout nor that object changed; `decoded` itself when
    /// it has no workloadRef or the object is not there (the reconcile then reports InvalidSpec).
    func resolvingWorkload(_ decoded: DecodedRollout, key: ResourceKey) throws -> DecodedRollout {
        guard decoded.rollout.spec.template == nil, let reference = decoded.rollout.spec.workloadRef,
            let kind = reference.kind.flatMap(ResourceKind.init(rawValue:)), kind.isWorkload,
            let name = reference.name
        else { return decoded }
        let workloadKey = ResourceKey(kind: kind, namespace: key.namespace, name: name)
        guard let workload = try? store.resource(workloadKey) else {
            resolvedRollouts.removeValue(forKey: key)
            return decoded
        }
        if let cached = resolvedRollouts[key], cached.rolloutVersion == decoded.resourceVersion,
            cached.workloadVersion == workload.resourceVersion
        {
            return cached.decoded
        }
        let object = try JSONSerialization.jsonObject(with: workload.objectJSON()) as? [String: Any] ?? [:]
        var template: Any? = object
        // Where the pod template sits, as Argo reads it.
        for field in kind == .podTemplate ? ["template"] : ["spec", "template"] { template = (template as? [String: Any])?[field] }
        guard let template else { return decoded }
        var rollout = decoded.rollout
        rollout.spec.template = try JSONDecoder().decode(
            PodTemplateSpec.self, from: JSONSerialization.data(withJSONObject: template))
        if rollout.spec.selector == nil, let selector = (object["spec"] as? [String: Any])?["selector"] {
            rollout.spec.selector = try JSONDecoder().decode(
                LabelSelector.self, from: JSONSerialization.data(withJSONObject: selector))
        }
        let resolved = DecodedRollout(
            resourceVersion: decoded.resourceVersion, generation: decoded.generation, rollout: rollout,
            spec: PreparedSpec(rollout), workloadGeneration: workload.generation)
        resolvedRollouts[key] = ResolvedWorkload(
            rolloutVersion: decoded.resourceVersion, workloadVersion: workload.resourceVersion, decoded: resolved)
        return resolved
    }

    /// `scaleDown` of a Deployment the first revision migrates from, as Argo does it: `onsuccess`
    /// scales it to 0 once the rollout is Healthy; `progressively` keeps it at the replicas the
    /// rollout does not have ready yet (back up if the rollout loses them), and at 0 once Healthy.
    /// Later revisions leave it alone (Argo's one-time migration).
    func scaleDownWorkload(
        _ rollout: Rollout, status: RolloutStatus, replicaSets: [ReplicaSet], key: ResourceKey, time: Date
    ) async throws -> StoredEvent? {
        guard let reference = rollout.spec.workloadRef, reference.kind == ResourceKind.deployment.rawValue, let name = reference.name,
            let target = WorkloadScaleDown.replicas(
                mode: reference.scaleDown, desired: rollout.spec.replicasOrDefault, status: status,
                currentRevision: replicaSets.first { $0.podTemplateHash == status.currentPodHash }?.revision)
        else { return nil }
        let workloadKey = ResourceKey(kind: .deployment, namespace: key.namespace, name: name)
        guard let deployment = try store.resource(workloadKey), let spec = deployment.spec,
            var fields = try JSONSerialization.jsonObject(with: spec) as? [String: Any],
            fields["replicas"] as? Int != target
        else { return nil }
        let from = fields["replicas"] as? Int ?? 1
        fields["replicas"] = target
        guard try await store.updateSpec(workloadKey, spec: JSONSerialization.data(withJSONObject: fields)) != nil
        else { return nil }
        return StoredEvent(
            key: key, reason: "ScalingReplicaSet",
            message: "Scaled \(from > target ? "down" : "up") Deployment \(name) from \(from) to \(target)",
            time: AviaryStore.timestamp(time))
    }
}

/// A rollout resolved through its workloadRef, and the versions of both it was resolved from.
struct ResolvedWorkload {
    let rolloutVersion: Int
    let workloadVersion: Int
    let decoded: DecodedRollout
}

/// The pure rule of `workloadRef.scaleDown`.
enum WorkloadScaleDown {
    /// The replicas the referenced Deployment should have now; nil to leave it as it is.
    static func replicas(mode: String?, desired: Int, status: RolloutStatus, currentRevision: Int?) -> Int? {
        guard currentRevision == 1 else { return nil }
        let healthy = status.phase == .healthy
        switch mode?.lowercased() {
        case "onsuccess": return healthy ? 0 : nil
        case "progressively":
            if healthy { return 0 }
            let ready = status.readyReplicas ?? 0
            return ready > 0 ? max(0, desired - ready) : nil
        default: return nil
        }
    }
}
