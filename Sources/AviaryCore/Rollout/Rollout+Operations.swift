import AviaryModel
import Foundation

/// The operations people run on a rollout (`aviary promote`, `abort`, ...), as pure functions
/// that return the changed rollout; the daemon stores it and reconciles.
extension Rollout {
    /// Why `promote` (without `full`) would do nothing to this rollout, or nil when it would move
    /// it: an aborted rollout stays aborted until `retry`, or `promote --full`.
    public func promotionRefusal(full: Bool) -> String? {
        guard !full, status?.isAborted ?? false else { return nil }
        let name = metadata.name ?? ""
        return "rollout \"\(name)\" is aborted, so promote would not move it: use `aviary retry \(name)` to run "
            + "its steps again, or `aviary promote \(name) --full` to make the new version stable at once"
    }

    /// `pause`: holds the rollout where it is (`spec.paused`).
    public func paused() -> Rollout {
        var rollout = self
        rollout.spec.paused = true
        return rollout
    }

    /// `promote`: resumes a paused rollout. Without a pause condition a canary skips its current
    /// step; after an inconclusive analysis the rollout goes on past it. `full` skips all remaining
    /// steps, pauses and analysis and promotes the new version to stable; on an aborted rollout it
    /// clears the abort first, as Argo's controller does for `promoteFull`. A plain promote cannot
    /// move an aborted rollout: `promotionRefusal` says so.
    public func promoted(full: Bool = false) -> Rollout {
        var rollout = self
        let wasManuallyPaused = rollout.spec.isPaused
        rollout.spec.paused = nil
        var status = rollout.status ?? RolloutStatus()
        if full {
            if status.isAborted {
                status.abort = nil
                status.abortedAt = nil
                status.duration?.finishedAt = nil
                status.duration?.completionStatus = nil
            }
            status.promoteFull = true
            status.pauseConditions = nil
            status.controllerPause = nil
            rollout.status = status
            return rollout
        }
        let reasons = Set((status.pauseConditions ?? []).map(\.reason))
        let steps = spec.strategy.canary?.stepsOrEmpty ?? []
        let index = status.currentStepIndex ?? 0
        func skipStep() {
            if index < steps.count { status.currentStepIndex = index + 1 }
            status.controllerPause = nil
            status.canary?.currentStepAnalysisRunStatus = nil
            status.canary?.currentExperiment = nil
        }
        if spec.strategy.canary != nil {
            if reasons.contains(.inconclusiveExperiment) {
                // Past the inconclusive experiment: the next step.
                status.pauseConditions = nil
                skipStep()
            } else if reasons.contains(.inconclusiveAnalysisRun) {
                status.pauseConditions = nil
                if status.canary?.currentBackgroundAnalysisRunStatus?.status == .inconclusive {
                    // A fresh background run starts instead of pausing again on the old verdict.
                    status.canary?.currentBackgroundAnalysisRunStatus = nil
                    status.controllerPause = nil
                }
                if status.canary?.currentStepAnalysisRunStatus?.status == .inconclusive { skipStep() }
            } else if !reasons.isEmpty {
                // The pause step is over; `controllerPause` tells the reconciler it was resumed.
                status.pauseConditions = nil
            } else if !wasManuallyPaused {
                skipStep()
            }
        } else {
            status.pauseConditions = nil
        }
        rollout.status = status
        return rollout
    }

    /// `abort`: traffic and pods go back to the stable version; the template still names the new one.
    public func aborted() -> Rollout {
        var rollout = self
        var status = rollout.status ?? RolloutStatus()
        status.abort = true
        rollout.status = status
        return rollout
    }

    /// `retry`: starts an aborted update again from the first step, with fresh analysis runs.
    public func retried() -> Rollout {
        var rollout = self
        var status = rollout.status ?? RolloutStatus()
        status.abort = nil
        status.abortedAt = nil
        status.duration?.finishedAt = nil
        status.duration?.completionStatus = nil
        status.pauseConditions = nil
        status.controllerPause = nil
        if !(spec.strategy.canary?.stepsOrEmpty.isEmpty ?? true) { status.currentStepIndex = 0 }
        status.canary?.currentStepAnalysisRunStatus = nil
        status.canary?.currentBackgroundAnalysisRunStatus = nil
        status.blueGreen?.prePromotionAnalysisRunStatus = nil
        status.blueGreen?.postPromotionAnalysisRunStatus = nil
        rollout.status = status
        return rollout
    }

    /// `restart`: replaces every pod created before `date` (`spec.restartAt`).
    public func restarted(at date: Date) -> Rollout {
        var rollout = self
        rollout.spec.restartAt = RFC3339.format(date)
        return rollout
    }

    /// `undo`: copies the pod template of revision `revision` (nil or 0: the one before the newest)
    /// back into the spec. Going back to the stable version skips the steps; otherwise it is a
    /// normal update.
    public func undone(
        toRevision revision: Int?, replicaSets: [ObservedReplicaSet]
    ) throws(RolloutOperationError)
        -> Rollout
    {
        let ordered = replicaSets.sorted { $0.revision > $1.revision }
        let target: ObservedReplicaSet?
        if let revision, revision > 0 {
            target = ordered.first { $0.revision == revision }
        } else {
            target = ordered.dropFirst().first
        }
        guard let target else {
            throw RolloutOperationError(
                message:
                    "rollout \"\(metadata.name ?? "")\": no revision \(revision.map(String.init) ?? "before the newest") "
                    + "to undo to; known revisions: \(ordered.map { String($0.revision) }.joined(separator: ", ")); "
                    + "pass one of them with --to-revision")
        }
        var rollout = self
        rollout.spec.template = target.template
        return rollout
    }
}

/// Why an operation could not be applied; the message names the rollout and the fix.
public struct RolloutOperationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What was wrong and what to do.
    public var message: String
    /// The message.
    public var description: String { message }
}
