import AviaryCore
import AviaryModel
import AviaryStore
import Foundation

extension Controller {
    /// Creates or terminates an AnalysisRun resource as the reconciler asks.
    func executeAnalysis(
        _ action: RolloutAction, rollout: Rollout, key: ResourceKey, time: Date
    ) async throws
        -> StoredEvent?
    {
        switch action {
        case .createAnalysisRun(let request):
            let runKey = ResourceKey(kind: "AnalysisRun", namespace: key.namespace, name: request.name)
            if try store.resource(runKey) != nil { return nil }
            let templates = try JSONEncoder().encode(request.templates)
            var spec: [String: Any] = [
                "metrics": [],
                "args": try JSONSerialization.jsonObject(with: JSONEncoder().encode(request.args)),
            ]
            if let dryRun = request.dryRun {
                spec["dryRun"] = try JSONSerialization.jsonObject(with: JSONEncoder().encode(dryRun))
            }
            let manifest: [String: Any] = [
                "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
                "metadata": [
                    "name": request.name, "namespace": key.namespace, "labels": request.labels,
                    "annotations": ["aviary.io/templates": String(decoding: templates, as: UTF8.self)],
                ] as [String: Any],
                "spec": spec,
            ]
            let (stored, _) = try store.apply(JSONSerialization.data(withJSONObject: manifest, options: [.sortedKeys]))
            try store.updateStatus(stored.key, status: Data(#"{"phase":"Pending"}"#.utf8))
            return StoredEvent(
                key: key, reason: "AnalysisRunRunning", message: "AnalysisRun \(request.name) created",
                time: AviaryStore.timestamp(time))
        case .terminateAnalysisRun(let name):
            let runKey = ResourceKey(kind: "AnalysisRun", namespace: key.namespace, name: name)
            guard let run = try store.resource(runKey) else { return nil }
            var spec = RolloutOperations.object(run.spec)
            if spec["terminate"] as? Bool == true { return nil }
            spec["terminate"] = true
            try store.updateSpec(runKey, spec: JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]))
            return nil
        case .deleteAnalysisRun(let name):
            // A finished run beyond the history limits (successful/unsuccessfulRunHistoryLimit).
            _ = try store.delete(ResourceKey(kind: "AnalysisRun", namespace: key.namespace, name: name))
            return nil
        default:
            return nil
        }
    }

    /// The rollout's AnalysisRuns (label `rollout`) with their phases.
    func observeAnalysisRuns(of key: ResourceKey) throws -> [ObservedAnalysisRun] {
        try store.resources(kind: "AnalysisRun", namespace: key.namespace).compactMap { run in
            let metadata = RolloutOperations.object(run.metadata)
            let labels = metadata["labels"] as? [String: String] ?? [:]
            guard labels["rollout"] == key.name else { return nil }
            let status = RolloutOperations.object(run.status)
            return ObservedAnalysisRun(
                name: run.key.name, kind: AnalysisRunKind(rawValue: labels["rollout-type"] ?? "") ?? .step,
                phase: AnalysisPhase(rawValue: status["phase"] as? String ?? "") ?? .pending,
                message: status["message"] as? String)
        }
    }
}
