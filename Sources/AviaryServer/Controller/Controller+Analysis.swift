import AviaryCore
import AviaryModel
import AviaryStore
import Foundation

extension Controller {
    /// Creates, terminates or deletes an AnalysisRun as the reconciler asks.
    func executeAnalysis(
        _ action: RolloutAction, rollout: Rollout, key: ResourceKey, time: Date
    ) async throws
        -> StoredEvent?
    {
        switch action {
        case .createAnalysisRun(let request):
            return try await analysis.create(request, rollout: rollout, key: key, time: time)
        case .terminateAnalysisRun(let name):
            try await analysis.terminate(name: name, namespace: key.namespace)
        case .deleteAnalysisRun(let name):
            try await analysis.delete(name: name, namespace: key.namespace)
        default:
            break
        }
        return nil
    }

    /// The rollout's AnalysisRuns (label `rollout`) with their phases.
    func observeAnalysisRuns(of key: ResourceKey) throws -> [ObservedAnalysisRun] {
        try store.resources(kind: .analysisRun, namespace: key.namespace).compactMap { run in
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
