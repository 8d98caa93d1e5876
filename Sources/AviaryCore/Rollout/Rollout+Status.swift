import AviaryModel
import Foundation

extension ReconcileContext {
    var newReplicaSetName: String { "\(view.name)-\(currentHash)" }

    /// The sentence after `RolloutAborted:`: the revision, and what the failed run said.
    func abortMessage(run: StatusView.RunReference?) -> String {
        let base = "Rollout aborted update to revision \(currentRevision)"
        let failed =
            run
            ?? [status.stepRun, status.backgroundRun, status.preRun, status.postRun].compactMap { $0 }.first {
                $0.phase == .failed || $0.phase == .error
            }
        if let failed {
            return base + ": " + (failed.message ?? "AnalysisRun \"\(failed.name)\" \(failed.phase.rawValue)")
        }
        // A step plugin whose Run failed (Argo's wording).
        if let plugin = status.stepPlugins.first(where: { $0.operation == .run && $0.phase == .failed }) {
            return base + ": Step Plugin \(plugin.index + 1) (\(plugin.name)) failed: \(plugin.message ?? "")"
        }
        // An experiment step of this revision that failed (Argo's wording).
        let prefix = "\(view.name)-\(currentHash)-\(currentRevision)-"
        if let experiment = observed.experiments.filter({
            $0.name.hasPrefix(prefix) && ($0.phase == .failed || $0.phase == .error)
        }).max(by: { ($0.createdAt ?? .distantPast, $0.name) < ($1.createdAt ?? .distantPast, $1.name) }) {
            return base + ": Experiment analysis phase is error/failed" + (experiment.message.map { ": \($0)" } ?? "")
        }
        return base
    }

    /// Sets a condition; its update time moves when reason or message change, its transition
    /// time when its status does, so an unchanged rollout keeps an unchanged status.
    mutating func setCondition(_ type: String, _ conditionStatus: String, reason: String, message: String) {
        if let index = status.conditions.firstIndex(where: { $0.type == type }) {
            var condition = status.conditions[index]
            if condition.status != conditionStatus {
                condition.lastTransitionTime = now
                condition.lastUpdateTime = now
            } else if condition.reason != reason || condition.message != message {
                condition.lastUpdateTime = now
            }
            condition.status = conditionStatus
            condition.reason = reason
            condition.message = message
            status.conditions[index] = condition
        } else {
            status.conditions.append(
                .init(
                    type: type, status: conditionStatus, reason: reason, message: message, lastUpdateTime: now,
                    lastTransitionTime: now))
        }
    }

    mutating func removeCondition(_ type: String) {
        status.conditions.removeAll { $0.type == type }
    }

    /// Records that the rollout moved: the progress deadline counts from now.
    mutating func markProgress(reason: String, message: String) {
        setCondition("Progressing", "True", reason: reason, message: message)
        if let index = status.conditions.firstIndex(where: { $0.type == "Progressing" }) {
            status.conditions[index].lastUpdateTime = now
        }
    }

    var isPausedForPerson: Bool { view.isPaused || !status.pauseConditions.isEmpty }

    /// Counts, conditions, the progress deadline, phase and message, in Argo's order.
    mutating func finishStatus(invalidSpec: String?) {
        status.replicas = observed.replicaSets.reduce(0) { $0 + $1.replicas }
        status.updatedReplicas = newRS?.replicas ?? 0
        status.readyReplicas = observed.replicaSets.reduce(0) { $0 + $1.readyReplicas }
        status.availableReplicas = observed.replicaSets.reduce(0) { $0 + $1.availableReplicas }

        if let invalidSpec {
            setCondition("InvalidSpec", "True", reason: "InvalidSpec", message: invalidSpec)
            status.phase = "Degraded"
            status.message = "InvalidSpec: \(invalidSpec)"
            return
        }
        removeCondition("InvalidSpec")
        let isComplete =
            isFullyPromoted && status.availableReplicas >= view.replicas && status.updatedReplicas == view.replicas
            && status.replicas == view.replicas

        reconcileProgressing(isComplete: isComplete)

        setCondition(
            "Available", status.availableReplicas >= view.replicas ? "True" : "False",
            reason: status.availableReplicas >= view.replicas ? "AvailableReason" : "AvailableReason",
            message: status.availableReplicas >= view.replicas
                ? "Rollout has minimum availability" : "Rollout does not have minimum availability")
        if isPausedForPerson {
            setCondition("Paused", "True", reason: "RolloutPaused", message: "Rollout is paused")
        } else if status.condition("Paused") != nil {
            setCondition("Paused", "False", reason: "RolloutResumed", message: "Rollout is resumed")
        }
        setCondition(
            "Completed", isComplete ? "True" : "False", reason: "RolloutCompleted",
            message: isComplete ? "Rollout completed update to revision \(currentRevision)" : "Rollout is not completed"
        )

        (status.phase, status.message) = phaseAndMessage()
        let isHealthy = status.phase == "Healthy"
        setCondition(
            "Healthy", isHealthy ? "True" : "False", reason: "RolloutHealthy",
            message: isHealthy ? "Rollout is healthy" : "Rollout is not healthy")
    }

    /// The Progressing condition and the progress deadline: a rollout that is neither complete,
    /// paused nor aborted must show progress (counts, step, stable) within
    /// `progressDeadlineSeconds`, or it is Degraded, and aborted with `progressDeadlineAbort`.
    mutating func reconcileProgressing(isComplete: Bool) {
        if status.abort {
            setCondition("Progressing", "False", reason: "RolloutAborted", message: abortMessage(run: nil))
            return
        }
        if isComplete {
            setCondition(
                "Progressing", "True", reason: "NewReplicaSetAvailable",
                message: "ReplicaSet \"\(newReplicaSetName)\" has successfully progressed.")
            return
        }
        if isPausedForPerson {
            setCondition("Progressing", "Unknown", reason: "RolloutPaused", message: "Rollout is paused")
            return
        }
        let moved =
            status.replicas != old.replicas || status.updatedReplicas != old.updatedReplicas
            || status.readyReplicas != old.readyReplicas || status.availableReplicas != old.availableReplicas
            || status.currentStepIndex != old.currentStepIndex || status.stableRS != old.stableRS
            || status.activeSelector != old.activeSelector
        let progressing = status.condition("Progressing")
        if moved || progressing == nil || progressing?.reason == "RolloutPaused"
            || progressing?.reason == "RolloutAborted" || progressing?.reason == "NewReplicaSetAvailable"
        {
            markProgress(reason: "ReplicaSetUpdated", message: "ReplicaSet \"\(newReplicaSetName)\" is progressing.")
            requeue(at: now.addingTimeInterval(Double(view.progressDeadlineSeconds)))
            return
        }
        guard let progressing, progressing.reason != "ProgressDeadlineExceeded" else { return }
        let deadline = progressing.lastUpdateTime.addingTimeInterval(Double(view.progressDeadlineSeconds))
        guard now >= deadline else {
            requeue(at: deadline)
            return
        }
        let message = "ReplicaSet \"\(newReplicaSetName)\" has timed out progressing."
        setCondition("Progressing", "False", reason: "ProgressDeadlineExceeded", message: message)
        event("ProgressDeadlineExceeded", message, warning: true)
        if view.progressDeadlineAbort {
            beginAbort(message: abortMessage(run: nil))
            setCondition("Progressing", "False", reason: "RolloutAborted", message: abortMessage(run: nil))
        }
    }

    /// Argo's phase rules, first match wins.
    func phaseAndMessage() -> (String, String) {
        if status.abort { return ("Degraded", "RolloutAborted: \(abortMessage(run: nil))") }
        if let progressing = status.condition("Progressing"), progressing.reason == "ProgressDeadlineExceeded" {
            return ("Degraded", "ProgressDeadlineExceeded: \(progressing.message)")
        }
        if view.isPaused { return ("Paused", "manually paused") }
        if let pause = status.pauseConditions.first { return ("Paused", pause.reason) }
        if status.updatedReplicas < view.replicas { return ("Progressing", "more replicas need to be updated") }
        if status.availableReplicas < status.updatedReplicas || (newRS?.availableReplicas ?? 0) < status.updatedReplicas
        {
            return ("Progressing", "updated replicas are still becoming available")
        }
        switch view.strategy {
        case .blueGreen:
            if status.activeSelector != currentHash { return ("Progressing", "active service cutover pending") }
            if status.stableRS != currentHash {
                return ("Progressing", "waiting for post-promotion verification to complete")
            }
        case .canary(let canary):
            if canary.routing == nil && status.replicas > status.updatedReplicas {
                return ("Progressing", "old replicas are pending termination")
            }
            if status.stableRS != currentHash { return ("Progressing", "waiting for all steps to complete") }
        }
        return ("Healthy", "")
    }
}
