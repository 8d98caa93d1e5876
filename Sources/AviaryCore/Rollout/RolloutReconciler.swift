import AviaryModel
import Foundation

/// The rollout controller's decisions: from the rollout (spec and status), what the platform
/// reports and the time, to the actions that move the world towards the spec and the new status.
/// No I/O and no clock: the same inputs always give the same result.
public enum RolloutReconciler {
    /// Decides one reconcile of `rollout`.
    ///
    /// The flow follows Argo Rollouts: a new template or new steps first reset the rollout's
    /// progress and create the new ReplicaSet; otherwise analysis results are read (Failed/Error
    /// abort, Inconclusive pauses), the current step is checked for completion (at most one step
    /// advances per reconcile), a finished rollout promotes its stable ReplicaSet, and then the
    /// desired world (replica counts, selectors, weights, routes, runs) is compared with what is
    /// observed. Only differences become actions, so reconciling the world those actions produce
    /// yields none.
    public static func reconcile(rollout: Rollout, observed: ObservedState, now: Date) -> ReconcileResult {
        reconcile(rollout: rollout, spec: PreparedSpec(rollout), observed: observed, now: now)
    }

    /// Decides one reconcile of `rollout` with its spec prepared before: `spec` must have been
    /// made from a rollout with the same `spec` and `metadata.generation` (only the status may
    /// differ), so a controller reconciling an unchanged rollout again skips the template hashing.
    public static func reconcile(
        rollout: Rollout, spec: PreparedSpec, observed: ObservedState, now: Date
    ) -> ReconcileResult {
        let view = spec.view
        let status = StatusView(rollout.status)
        var context = ReconcileContext(view: view, observed: observed, now: now, old: status)
        context.run()
        var services: (canary: String?, stable: String?) = (nil, nil)
        if case .canary(let canary) = view.strategy { services = canary.splitServices(context.status) }
        return ReconcileResult(
            actions: context.actions,
            status: context.status.apply(
                to: rollout.status, canaryService: services.canary, stableService: services.stable),
            requeueAfter: context.requeueAfter)
    }
}

/// A rollout's spec reduced to what the reconciler decides with (defaults applied, the pod
/// template and steps hashed): the same for every reconcile until the spec or the generation
/// changes, so a controller may keep it beside the decoded rollout.
public struct PreparedSpec: Sendable {
    let view: RolloutView

    /// The pod template (an empty one when the spec has none) and its `rollouts-pod-template-hash`.
    public var template: (spec: PodTemplateSpec, hash: String) { (view.template, view.templateHash) }

    /// Prepares the spec of `rollout`.
    public init(_ rollout: Rollout) {
        view = RolloutView(rollout)
    }
}

/// The state of one reconcile: inputs, the status being decided and the actions collected.
struct ReconcileContext {
    let view: RolloutView
    let observed: ObservedState
    let now: Date
    let old: StatusView
    var status: StatusView
    var actions: [RolloutAction] = []
    var requeueAt: Date?

    init(view: RolloutView, observed: ObservedState, now: Date, old: StatusView) {
        self.view = view
        self.observed = observed
        self.now = now
        self.old = old
        self.status = old
    }

    var currentHash: String { view.templateHash }
    var newRS: ObservedReplicaSet? { observed.replicaSet(hash: currentHash) }
    var stableRS: ObservedReplicaSet? { observed.replicaSet(hash: status.stableRS) }
    /// Whether the stable ReplicaSet is the current template (initial deploy, or promoted).
    var isFullyPromoted: Bool { status.stableRS == currentHash }

    var requeueAfter: Duration? {
        if status.decisionFields != old.decisionFields { return .zero }
        guard let requeueAt else { return nil }
        // Clamped so that an absurd pause or deadline cannot overflow the conversion.
        let seconds = min(max(0, requeueAt.timeIntervalSince(now)), 1e9)
        return .milliseconds(Int64((seconds * 1000).rounded(.up)))
    }

    mutating func requeue(at date: Date) {
        if let current = requeueAt, current <= date { return }
        requeueAt = date
    }

    mutating func event(_ reason: String, _ message: String, warning: Bool = false) {
        actions.append(.recordEvent(RolloutEvent(type: warning ? .warning : .normal, reason: reason, message: message)))
    }

    // MARK: The flow

    mutating func run() {
        status.observedGeneration = view.generation.map(String.init)
        if let message = view.invalidSpecMessage {
            finishStatus(invalidSpec: message)
            return
        }
        if status.currentPodHash != currentHash || status.currentStepHash != view.stepsHash {
            resetForNewTemplate()
        } else if newRS == nil {
            // The ReplicaSet went away (deleted by hand, or state lost): make it again, keep progress.
            createNewReplicaSet()
        } else {
            syncRevision()
            reconcileRestart()
            reconcileRetry()
            reconcileAbortStart()
            switch view.strategy {
            case .canary(let canary): reconcileCanary(canary)
            case .blueGreen(let blueGreen): reconcileBlueGreen(blueGreen)
            }
            cleanUpHistory()
            cleanUpAnalysisRuns()
            cleanUpExperiments()
        }
        finishStatus(invalidSpec: nil)
    }

    /// A new pod template or new steps: progress starts again (pause, abort, promote-full and
    /// analysis state are cleared), and the new ReplicaSet is created if it does not exist.
    mutating func resetForNewTemplate() {
        let isFirst = status.currentPodHash == nil
        let templateChanged = status.currentPodHash != currentHash
        status.pauseConditions = []
        status.controllerPause = false
        status.abort = false
        status.abortedAt = nil
        status.promoteFull = false
        status.stepRun = nil
        status.backgroundRun = nil
        status.currentExperiment = nil
        status.preRun = nil
        status.postRun = nil
        status.currentPodHash = currentHash
        status.currentStepHash = view.stepsHash
        if status.stableRS == nil { status.stableRS = currentHash }
        if templateChanged, !isFirst, !isFullyPromoted, isRollbackWithinWindow {
            // `rollbackWindow`: back to a recent revision, at once, without steps or analysis.
            status.promoteFull = true
            event("RollbackWithinWindow", "Rollback within window: skipping steps and analysis")
        }
        if templateChanged {
            status.rolloutStartedAt = now
            status.finishedAt = nil
            status.completionStatus = nil
            if isFullyPromoted && !isFirst { status.finish(.rolledBack, at: now) }
        }
        if case .canary(let canary) = view.strategy, !canary.steps.isEmpty {
            if isFullyPromoted {
                status.currentStepIndex = canary.steps.count
                if !isFirst && templateChanged {
                    event("SkipSteps", "Rollback to stable ReplicaSets")
                }
            } else {
                status.currentStepIndex = 0
            }
        } else {
            status.currentStepIndex = nil
        }
        for run in observed.analysisRuns where !run.phase.isCompleted {
            actions.append(.terminateAnalysisRun(name: run.name))
        }
        let revision = nextRevision
        if newRS != nil {
            syncRevision()
        } else {
            createNewReplicaSet()
        }
        if templateChanged && !isFirst {
            event("RolloutUpdated", "Rollout updated to revision \(revision)")
        }
        markProgress(
            reason: newRS == nil ? "NewReplicaSetCreated" : "ReplicaSetUpdated",
            message: newRS == nil
                ? "Created new replica set \"\(view.name)-\(currentHash)\""
                : "ReplicaSet \"\(view.name)-\(currentHash)\" is progressing.")
    }

    /// Whether the update goes back to a ReplicaSet older than the stable one and among the newest
    /// `rollbackWindow` ReplicaSets (the stable one included), as Argo counts: with revisions 1…5
    /// and 5 stable, a window of 3 takes 4 and 3.
    var isRollbackWithinWindow: Bool {
        guard let window = view.rollbackWindow, window > 0, let newRS, let stableRS,
            newRS.createdAt < stableRS.createdAt
        else { return false }
        let newestFirst = observed.replicaSets.sorted { ($0.createdAt, $0.revision) > ($1.createdAt, $1.revision) }
        guard let rank = newestFirst.firstIndex(where: { $0.podTemplateHash == newRS.podTemplateHash }) else {
            return false
        }
        return rank < window
    }

    /// Creates the current template's ReplicaSet with no pods; the strategy scales it.
    mutating func createNewReplicaSet() {
        let revision = nextRevision
        let name = "\(view.name)-\(currentHash)"
        actions.append(
            .createReplicaSet(
                ReplicaSetRequest(
                    name: name, podTemplateHash: currentHash, revision: revision, template: view.template, replicas: 0))
        )
        event("NewReplicaSetCreated", "Created ReplicaSet \(name) (revision \(revision))")
    }

    /// The revision the current template should carry: one above every other ReplicaSet's.
    var nextRevision: Int {
        (observed.replicaSets.filter { $0.podTemplateHash != currentHash }.map(\.revision).max() ?? 0) + 1
    }

    /// A template that comes back (undo) becomes the newest revision again.
    mutating func syncRevision() {
        guard let newRS else { return }
        let wanted = nextRevision
        if newRS.revision < wanted {
            actions.append(.setRevision(podTemplateHash: currentHash, revision: wanted))
        }
    }

    var currentRevision: Int { max(newRS?.revision ?? 1, nextRevision) }

    /// `restartAt`: once it is due, every ReplicaSet's older pods are replaced, stable first, a few at
    /// a time; the executor does the eviction, the status remembers it was asked.
    mutating func reconcileRestart() {
        guard let restartAt = view.restartAt else { return }
        if let done = status.restartedAt, done >= restartAt { return }
        if restartAt > now {
            requeue(at: restartAt)
            return
        }
        let budget: Int
        switch view.strategy {
        case .canary(let canary): budget = max(1, canary.budgets.maxUnavailable)
        case .blueGreen(let blueGreen): budget = max(1, blueGreen.maxUnavailable)
        }
        let ordered = observed.replicaSets.filter { $0.replicas > 0 }.sorted { first, second in
            func rank(_ replicaSet: ObservedReplicaSet) -> Int {
                replicaSet.podTemplateHash == status.stableRS ? 0 : replicaSet.podTemplateHash == currentHash ? 1 : 2
            }
            return (rank(first), first.revision) < (rank(second), second.revision)
        }
        for replicaSet in ordered {
            actions.append(
                .restartPods(podTemplateHash: replicaSet.podTemplateHash, before: restartAt, maxUnavailable: budget))
        }
        status.restartedAt = restartAt
        event("RolloutRestarted", "Rollout restarted at \(RFC3339.format(restartAt))")
    }

    /// `status.abort` cleared while `abortedAt` is still set: a retry as Argo's plugin writes it
    /// (`{"status":{"abort":false}}`, nothing else). The update starts again from the first step with
    /// fresh analysis runs, as `Rollout.retried()` leaves it.
    mutating func reconcileRetry() {
        guard !status.abort, status.abortedAt != nil else { return }
        status.abortedAt = nil
        status.finishedAt = nil
        status.completionStatus = nil
        status.pauseConditions = []
        status.controllerPause = false
        if case .canary(let canary) = view.strategy, !canary.steps.isEmpty { status.currentStepIndex = 0 }
        status.stepRun = nil
        status.backgroundRun = nil
        status.currentExperiment = nil
        status.preRun = nil
        status.postRun = nil
        event("RolloutRetry", "Rollout retried")
    }

    /// `status.abort` set by a person or by a failed analysis: remember when, step back to 0.
    mutating func reconcileAbortStart() {
        guard status.abort, status.abortedAt == nil else { return }
        beginAbort(message: abortMessage(run: nil))
    }

    mutating func beginAbort(message: String) {
        status.abort = true
        if status.abortedAt == nil { status.abortedAt = now }
        status.finish(.aborted, at: now)
        status.pauseConditions = []
        status.controllerPause = false
        if case .canary(let canary) = view.strategy, !canary.steps.isEmpty {
            status.currentStepIndex = isFullyPromoted ? canary.steps.count : 0
        }
        event("RolloutAborted", message, warning: true)
    }

    // MARK: Analysis runs

    /// Makes sure the run described by `reference` exists, creating it (with a fresh name if the
    /// base name is taken by an older run) when the status has none; returns its reference with the
    /// observed phase.
    mutating func ensureRun(
        _ reference: StatusView.RunReference?, kind: AnalysisRunKind, suffix: String?, analysis: AnalysisView,
        stepIndex: Int?
    ) -> StatusView.RunReference {
        let name: String
        if let reference {
            name = reference.name
        } else {
            let base = "\(view.name)-\(currentHash)-\(currentRevision)" + (suffix.map { "-\($0)" } ?? "")
            var candidate = base
            var collision = 0
            while observed.analysisRun(named: candidate) != nil {
                collision += 1
                candidate = "\(base).\(collision)"
            }
            name = candidate
        }
        if let run = observed.analysisRun(named: name) {
            return StatusView.RunReference(name: name, phase: run.phase, message: run.message)
        }
        // `analysisRunMetadata` first: the labels the controller finds its runs by win.
        var labels = analysis.metadata?.labels ?? [:]
        labels.merge(["rollout-type": kind.rawValue, "rollouts-pod-template-hash": currentHash, "rollout": view.name]) {
            _, own in own
        }
        if let stepIndex { labels["step-index"] = String(stepIndex) }
        actions.append(
            .createAnalysisRun(
                AnalysisRunRequest(
                    name: name, kind: kind, templates: analysis.templates,
                    args: resolveArguments(analysis.args), labels: labels, dryRun: analysis.dryRun,
                    measurementRetention: analysis.measurementRetention,
                    annotations: analysis.metadata?.annotations ?? [:])))
        return StatusView.RunReference(name: name, phase: .pending, message: nil)
    }

    /// `valueFrom.podTemplateHashValue` becomes the literal hash (Stable or Latest); other
    /// `valueFrom` kinds stay for the executor, which can read fields of the rollout.
    func resolveArguments(_ args: [AnalysisRunArgument]) -> [AnalysisRunArgument] {
        args.map { argument in
            guard let which = argument.valueFrom?.podTemplateHashValue else { return argument }
            let hash = which == "Stable" ? (status.stableRS ?? currentHash) : currentHash
            return AnalysisRunArgument(name: argument.name, value: hash)
        }
    }

    /// Terminates every running AnalysisRun whose name is not in `keep`.
    mutating func terminateRuns(except keep: Set<String>) {
        for run in observed.analysisRuns where !run.phase.isCompleted && !keep.contains(run.name) {
            actions.append(.terminateAnalysisRun(name: run.name))
        }
    }

    /// Applies a run's verdict to the rollout: Failed/Error abort, Inconclusive pauses.
    /// Returns whether the rollout may go on past this run.
    mutating func judge(_ run: StatusView.RunReference) -> Bool {
        switch run.phase {
        case .successful: return true
        case .failed, .error:
            event(
                "AnalysisRun\(run.phase.rawValue)",
                "Analysis Run '\(run.name)' Status New: \(run.phase.rawValue) Previous: Running", warning: true)
            beginAbort(message: abortMessage(run: run))
            return false
        case .inconclusive:
            if case .blueGreen = view.strategy, status.controllerPause,
                status.pauseCondition("InconclusiveAnalysisRun") == nil
            {
                // A person promoted past the inconclusive run.
                return true
            }
            if status.pauseCondition("InconclusiveAnalysisRun") == nil && !status.controllerPause {
                status.pauseConditions.append(.init(reason: "InconclusiveAnalysisRun", startTime: now))
                status.controllerPause = true
                event("RolloutPaused", "Rollout is paused (InconclusiveAnalysisRun)")
            }
            return false
        case .pending, .running: return false
        }
    }

    // MARK: ReplicaSets and services

    mutating func scale(_ replicaSet: ObservedReplicaSet?, to replicas: Int) -> Bool {
        guard let replicaSet, replicaSet.replicas != replicas else { return false }
        actions.append(.scaleReplicaSet(podTemplateHash: replicaSet.podTemplateHash, replicas: replicas))
        let direction = replicas > replicaSet.replicas ? "up" : "down"
        event(
            "ScalingReplicaSet",
            "Scaled \(direction) ReplicaSet \(view.name)-\(replicaSet.podTemplateHash) (revision \(replicaSet.revision)) "
                + "from \(replicaSet.replicas) to \(replicas)")
        return true
    }

    mutating func point(_ service: String?, at hash: String?) {
        guard let service, let hash, observed.serviceSelectors[service] != hash else { return }
        actions.append(.setServiceSelector(service: service, podTemplateHash: hash))
        event("SwitchService", "Switched selector for service '\(service)' to '\(hash)'")
    }

    /// Scales a ReplicaSet to 0 once `delaySeconds` have passed since it was marked: the mark is a
    /// deadline annotation, so the delay survives a restart of the daemon. A delay of 0 means at once.
    /// Returns whether it is (being) scaled to 0.
    mutating func scaleDownAfterDelay(_ replicaSet: ObservedReplicaSet, delaySeconds: Int) -> Bool {
        guard replicaSet.replicas > 0 else { return false }
        if delaySeconds > 0 {
            guard let deadline = replicaSet.scaleDownDeadline else {
                actions.append(
                    .setScaleDownDeadline(
                        podTemplateHash: replicaSet.podTemplateHash,
                        deadline: now.addingTimeInterval(Double(delaySeconds))))
                requeue(at: now.addingTimeInterval(Double(delaySeconds)))
                return false
            }
            if deadline > now {
                requeue(at: deadline)
                return false
            }
        }
        return scale(replicaSet, to: 0)
    }

    /// A ReplicaSet back in use loses its scale-down mark.
    mutating func clearDeadline(_ replicaSet: ObservedReplicaSet?) {
        guard let replicaSet, replicaSet.scaleDownDeadline != nil else { return }
        actions.append(.setScaleDownDeadline(podTemplateHash: replicaSet.podTemplateHash, deadline: nil))
    }

    /// `revisionHistoryLimit`: scaled-down ReplicaSets beyond the limit go, oldest first.
    mutating func cleanUpHistory() {
        let candidates = observed.replicaSets.filter {
            $0.podTemplateHash != currentHash && $0.podTemplateHash != status.stableRS && $0.replicas == 0
                && $0.availableReplicas == 0
                && !actions.contains(.scaleReplicaSet(podTemplateHash: $0.podTemplateHash, replicas: 0))
        }.sorted { $0.revision < $1.revision }
        let excess = candidates.count - view.revisionHistoryLimit
        guard excess > 0 else { return }
        for replicaSet in candidates.prefix(excess) {
            actions.append(.deleteReplicaSet(podTemplateHash: replicaSet.podTemplateHash))
        }
    }

    /// `spec.analysis.successfulRunHistoryLimit` / `unsuccessfulRunHistoryLimit`: finished runs
    /// the status no longer points at are deleted beyond the limits, oldest first.
    mutating func cleanUpAnalysisRuns() {
        let current = Set(
            [status.stepRun, status.backgroundRun, status.preRun, status.postRun].compactMap { $0?.name })
        for run in beyondHistoryLimits(
            observed.analysisRuns.filter { !current.contains($0.name) }, phase: { $0.phase }, createdAt: \.createdAt)
        {
            actions.append(.deleteAnalysisRun(name: run.name))
        }
    }

    /// The finished ones of `items` beyond the successful and unsuccessful history limits, oldest
    /// first (by creation time; without times, by their order): what the limits let go.
    func beyondHistoryLimits<Item>(
        _ items: [Item], phase: (Item) -> AnalysisPhase?, createdAt: (Item) -> Date?
    ) -> [Item] {
        let finished = items.enumerated().filter { phase($0.element)?.isCompleted == true }.sorted { first, second in
            switch (createdAt(first.element), createdAt(second.element)) {
            case (let a?, let b?) where a != b: return a < b
            default: return first.offset < second.offset
            }
        }.map(\.element)
        let successful = finished.filter { phase($0) == .successful }
        let unsuccessful = finished.filter { phase($0) != .successful }
        return Array(
            successful.dropLast(view.successfulRunHistoryLimit)
                + unsuccessful.dropLast(view.unsuccessfulRunHistoryLimit))
    }

    // MARK: Promotion

    /// The new ReplicaSet becomes stable: pauses and full-promotion requests are done with.
    mutating func promoteStable(reason: String, completion: CompletionStatus? = nil) {
        // Back to a ReplicaSet older than the stable one: a rollback (fast when its steps were skipped).
        let isRollback = newRS.map { new in stableRS.map { new.createdAt < $0.createdAt } ?? false } ?? false
        let completed: CompletionStatus =
            isRollback
            ? (status.promoteFull ? .fastRolledBack : .rolledBack) : (status.promoteFull ? .fastPromoted : .promoted)
        status.finish(completion ?? completed, at: now)
        if case .canary(let canary) = view.strategy, canary.pingPong != nil, status.stableRS != currentHash {
            // The canary's ping-pong Service already selects the new pods: it becomes the stable one.
            status.stablePingPong = status.stablePingPong == PingPongSpec.pong ? PingPongSpec.ping : PingPongSpec.pong
        }
        status.stableRS = currentHash
        status.pauseConditions = []
        status.controllerPause = false
        status.promoteFull = false
        if case .canary(let canary) = view.strategy, !canary.steps.isEmpty {
            status.currentStepIndex = canary.steps.count
        }
        event("RolloutCompleted", "Rollout completed update to revision \(currentRevision) (\(currentHash)): \(reason)")
    }
}
