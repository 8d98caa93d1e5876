import AviaryModel
import Foundation

extension ReconcileContext {
    /// One reconcile of a canary: analysis verdicts, the current step, promotion, then the world.
    mutating func reconcileCanary(_ canary: CanaryView) {
        reconcileCanaryAnalysis(canary)
        reconcileCanaryExperiment(canary)
        advanceCanaryStep(canary)
        promoteCanaryIfDone(canary)
        reconcileCanaryReplicaSets(canary)
        reconcileCanaryServices(canary)
        reconcileCanaryTraffic(canary)
    }

    /// The current step; a negative index in a hand-edited status counts as 0.
    var stepIndex: Int { max(0, status.currentStepIndex ?? 0) }

    /// Whether scaling and stepping are held: `spec.paused`, or a pause for an inconclusive run
    /// or experiment.
    var isHalted: Bool {
        view.isPaused || status.pauseCondition("InconclusiveAnalysisRun") != nil
            || status.pauseCondition("InconclusiveExperiment") != nil
    }

    func currentStep(_ canary: CanaryView) -> StepView? {
        stepIndex < canary.steps.count ? canary.steps[stepIndex] : nil
    }

    // MARK: Analysis

    mutating func reconcileCanaryAnalysis(_ canary: CanaryView) {
        guard !status.abort, !isFullyPromoted, !status.promoteFull else {
            terminateRuns(except: [])
            return
        }
        var keep: Set<String> = []
        if let background = canary.background, stepIndex >= (canary.backgroundStartingStep ?? 0) {
            let run = ensureRun(
                status.backgroundRun, kind: .background, suffix: nil, analysis: background, stepIndex: nil)
            status.backgroundRun = run
            keep.insert(run.name)
            if run.phase.isCompleted && run.phase != .successful { _ = judge(run) }
        }
        if !status.abort, case .analysis(let analysis)? = currentStep(canary) {
            let run = ensureRun(
                status.stepRun, kind: .step, suffix: String(stepIndex), analysis: analysis, stepIndex: stepIndex)
            status.stepRun = run
            keep.insert(run.name)
            if run.phase.isCompleted { _ = judge(run) }
        }
        terminateRuns(except: status.abort ? [] : keep)
    }

    // MARK: Steps

    mutating func advanceCanaryStep(_ canary: CanaryView) {
        guard !status.abort, !isHalted, !isFullyPromoted, !status.promoteFull, let step = currentStep(canary) else {
            return
        }
        let isComplete: Bool
        switch step {
        case .pause(let seconds):
            if let condition = status.pauseCondition("CanaryPauseStep") {
                if let seconds, now >= condition.startTime.addingTimeInterval(seconds) {
                    isComplete = true
                } else {
                    if let seconds { requeue(at: condition.startTime.addingTimeInterval(seconds)) }
                    isComplete = false
                }
            } else if status.controllerPause {
                // The controller paused here and a person promoted: the pause is over.
                isComplete = true
            } else {
                status.pauseConditions.append(.init(reason: "CanaryPauseStep", startTime: now))
                status.controllerPause = true
                event("RolloutPaused", "Rollout is paused (CanaryPauseStep)")
                if let seconds { requeue(at: now.addingTimeInterval(seconds)) }
                isComplete = false
            }
        case .setWeight, .setCanaryScale:
            // Argo holds a setWeight step (not a scale step) until the router confirms the weight.
            let unverified: Bool
            if case .setWeight = step, canary.routing?.waitsForVerifiedWeights == true {
                unverified = status.weightsVerified == false
            } else {
                unverified = false
            }
            isComplete =
                isAtDesiredCounts(canary)
                && (canary.routing == nil || observed.canaryWeight == desiredTrafficWeight(canary)) && !unverified
        case .analysis:
            isComplete = status.stepRun?.phase == .successful
        case .setHeaderRoute, .setMirrorRoute:
            isComplete = true
        case .experiment:
            isComplete = observed.experiment(named: status.currentExperiment)?.phase == .successful
        case .plugin(let plugin):
            isComplete = stepPluginCompleted(plugin)
        }
        guard isComplete else { return }
        status.currentStepIndex = stepIndex + 1
        status.pauseConditions.removeAll { $0.reason == "CanaryPauseStep" }
        status.controllerPause = false
        status.stepRun = nil
        status.currentExperiment = nil
        event(
            "RolloutStepCompleted",
            "Rollout step \(stepIndex)/\(canary.steps.count) completed (\(step.summary))")
    }

    /// Argo's reading of a plugin step: done once its Run is Successful (or the plugin is disabled);
    /// a Failed Run aborts the update; while it is Running or in Error, looked at again when its
    /// backoff ends (5 s after, as Argo).
    mutating func stepPluginCompleted(_ plugin: PluginStep) -> Bool {
        guard let run = status.stepPlugins.first(where: { $0.index == stepIndex && $0.operation == .run }) else {
            return false
        }
        if run.disabled == true { return true }
        switch run.phase {
        case .successful?:
            return true
        case .failed?:
            beginAbort(message: abortMessage(run: nil))
            return false
        case .running?, .error?:
            if let updated = run.updatedAt.flatMap(RFC3339.parse) {
                let backoff = run.backoff.flatMap { try? ArgoDuration($0).seconds } ?? 0
                requeue(at: updated.addingTimeInterval(backoff + 5))
            }
            return false
        case nil:
            return false
        }
    }

    mutating func promoteCanaryIfDone(_ canary: CanaryView) {
        guard !status.abort, !isFullyPromoted, let newRS, newRS.availableReplicas >= view.replicas,
            newRS.replicas == view.replicas
        else { return }
        let finishedSteps = canary.steps.isEmpty || stepIndex >= canary.steps.count
        guard status.promoteFull || finishedSteps else { return }
        // With a router, all traffic is on the canary before the stable selector moves to it.
        guard canary.routing == nil || observed.canaryWeight == canary.maxWeight else { return }
        promoteStable(
            reason: status.promoteFull ? "Full promotion requested" : "Completed all \(canary.steps.count) canary steps"
        )
    }

    // MARK: Replica counts

    /// The weight the replica counts follow: all of it once promoted (or asked to), none when
    /// aborted, else the last `setWeight` at or before the current step (`setCanaryScale.weight`
    /// overrides it with a router).
    func replicaWeight(_ canary: CanaryView) -> Int {
        if status.promoteFull || isFullyPromoted { return canary.maxWeight }
        if status.abort { return 0 }
        if case .some(.weight(let weight)) = canaryScale(canary) { return weight }
        return setWeight(canary, atOrBefore: stepIndex)
    }

    /// The last `setWeight` at or before `index`: `maxWeight` past the last step, 0 before any.
    func setWeight(_ canary: CanaryView, atOrBefore index: Int) -> Int {
        if index >= canary.steps.count { return canary.maxWeight }
        for step in canary.steps[...index].reversed() {
            if case .setWeight(let weight) = step { return weight }
        }
        return 0
    }

    enum CanaryScale {
        case replicas(Int)
        case weight(Int)
    }

    /// The `setCanaryScale` in force (routed canaries only): the last one at or before the current
    /// step, unless it says `matchTrafficWeight`. An abort ignores it unless the canary is kept
    /// (`abortScaleDownDelaySeconds: 0`).
    func canaryScale(_ canary: CanaryView) -> CanaryScale? {
        guard canary.routing != nil, stepIndex < canary.steps.count else { return nil }
        if status.abort && canary.abortScaleDownDelaySeconds != 0 { return nil }
        for step in canary.steps[...stepIndex].reversed() {
            guard case .setCanaryScale(let replicas, let weight, let matchTrafficWeight) = step else { continue }
            if matchTrafficWeight { return nil }
            if let replicas { return .replicas(replicas) }
            if let weight { return .weight(weight) }
            return nil
        }
        return nil
    }

    var otherReplicaSets: [ObservedReplicaSet] {
        observed.replicaSets.filter { $0.podTemplateHash != currentHash && $0.podTemplateHash != status.stableRS }
    }

    /// The canary and stable counts this reconcile aims at.
    func desiredCounts(_ canary: CanaryView) -> (canary: Int, stable: Int) {
        if isFullyPromoted { return (view.replicas, 0) }
        let weight = replicaWeight(canary)
        if let routing = canary.routing {
            var explicitReplicas: Int?
            if case .some(.replicas(let replicas)) = canaryScale(canary) { explicitReplicas = replicas }
            return CanaryReplicaMath.trafficRoutedCounts(
                .init(
                    replicas: view.replicas, weight: weight, maxWeight: routing.maxWeight,
                    explicitCanaryReplicas: explicitReplicas, minPodsPerReplicaSet: canary.minPodsPerReplicaSet,
                    dynamicStableScale: canary.dynamicStableScale, isAborted: status.abort,
                    actualCanaryWeight: observed.canaryWeight,
                    actualStableWeight: routing.maxWeight - observed.canaryWeight))
        }
        return CanaryReplicaMath.basicCanaryCounts(
            .init(
                replicas: view.replicas, weight: weight, maxWeight: canary.maxWeight, budgets: canary.budgets,
                canary: newRS?.count, stable: stableRS?.count,
                otherDesired: otherReplicaSets.reduce(0) { $0 + $1.replicas }))
    }

    /// Argo's `AtDesiredReplicaCountsForCanary`: the canary meets the progress threshold, the
    /// stable has its count (unless it scales with traffic), and without a router no older pods
    /// remain available.
    func isAtDesiredCounts(_ canary: CanaryView) -> Bool {
        let desired = desiredCounts(canary)
        guard
            CanaryReplicaMath.progressThresholdMet(
                canary.progressThreshold, replicaSet: newRS?.count, desired: desired.canary)
        else { return false }
        if canary.routing == nil || !canary.dynamicStableScale {
            guard let stableRS, stableRS.replicas == desired.stable, stableRS.availableReplicas >= desired.stable
            else { return false }
        }
        if canary.routing == nil {
            guard otherReplicaSets.allSatisfy({ $0.availableReplicas == 0 }) else { return false }
        }
        return true
    }

    mutating func reconcileCanaryReplicaSets(_ canary: CanaryView) {
        guard !isHalted else { return }
        let desired = desiredCounts(canary)
        if isFullyPromoted {
            clearDeadline(newRS)
            if scale(newRS, to: view.replicas) { return }
            scaleDownOldReplicaSets(canary)
            return
        }
        if !status.abort { clearDeadline(newRS) }
        clearDeadline(stableRS)
        if scale(stableRS, to: desired.stable) { return }
        if status.abort, canary.routing != nil, let newRS {
            // The canary keeps its pods until its traffic is gone, then for
            // abortScaleDownDelaySeconds (0: it is kept).
            if canary.abortScaleDownDelaySeconds > 0 && observed.canaryWeight == 0 {
                if scaleDownAfterDelay(newRS, delaySeconds: canary.abortScaleDownDelaySeconds) { return }
            }
        } else if scale(newRS, to: desired.canary) {
            return
        }
        scaleDownOldReplicaSets(canary)
    }

    /// Older ReplicaSets: with a router the previous stable waits `scaleDownDelaySeconds` (so
    /// traffic drains first) and intermediate ones go at once; without one they go as fast as
    /// `maxUnavailable` allows.
    mutating func scaleDownOldReplicaSets(_ canary: CanaryView) {
        let others = otherReplicaSets.filter { $0.replicas > 0 }.sorted { $0.revision > $1.revision }
        guard !others.isEmpty else { return }
        // Argo's target-group check (ALB): once promoted, an old ReplicaSet starts its scale-down
        // only when the stable Service's pods are registered in its target groups.
        if observed.checksTargets, isFullyPromoted, observed.targetsVerified != true,
            others.contains(where: { $0.scaleDownDeadline == nil })
        {
            if observed.targetsVerified == nil { requeue(at: now.addingTimeInterval(5)) }
            return
        }
        if canary.routing != nil {
            for (index, replicaSet) in others.enumerated() {
                // `scaleDownDelayRevisionLimit`: only the newest that many wait out the delay.
                if let limit = canary.scaleDownDelayRevisionLimit, index >= limit {
                    _ = scale(replicaSet, to: 0)
                } else if isFullyPromoted || replicaSet.scaleDownDeadline != nil {
                    _ = scaleDownAfterDelay(
                        replicaSet, delaySeconds: canary.dynamicStableScale ? 0 : canary.scaleDownDelaySeconds)
                } else {
                    _ = scale(replicaSet, to: 0)
                }
            }
            return
        }
        let available = observed.replicaSets.reduce(0) { $0 + $1.availableReplicas }
        var budget = available - (view.replicas - canary.budgets.maxUnavailable)
        for replicaSet in others where budget > 0 {
            let target = max(0, replicaSet.replicas - budget)
            if scale(replicaSet, to: target) { budget -= replicaSet.replicas - target }
        }
    }

    // MARK: Services, weights, routes

    mutating func reconcileCanaryServices(_ canary: CanaryView) {
        point(canary.stableService, at: stableRS?.podTemplateHash)
        let canaryTarget = status.abort ? status.stableRS : currentHash
        let target = observed.replicaSet(hash: canaryTarget)
        if let target, target.availableReplicas > 0 || observed.serviceSelectors[canary.canaryService ?? ""] == nil {
            point(canary.canaryService, at: target.podTemplateHash)
        }
        if let sides = canary.pingPong?.sides(stablePingPong: status.stablePingPong) {
            // Argo's ping-pong: the stable side keeps the stable pods; the other side follows the
            // new ReplicaSet until it is promoted (and keeps it through an abort, at weight 0),
            // and then the two swap roles instead of any selector moving.
            point(sides.stable, at: stableRS?.podTemplateHash)
            if !isFullyPromoted { point(sides.canary, at: currentHash) }
        }
    }

    /// The weight the router should give the canary: none once promoted or aborted; the current
    /// step's weight once the canary has its pods, else the previous step's.
    func desiredTrafficWeight(_ canary: CanaryView) -> Int {
        if isFullyPromoted || status.abort { return 0 }
        if isAtDesiredCounts(canary) {
            return status.promoteFull ? canary.maxWeight : setWeight(canary, atOrBefore: stepIndex)
        }
        guard stepIndex > 0 else { return 0 }
        return setWeight(canary, atOrBefore: min(stepIndex, canary.steps.count) - 1)
    }

    mutating func reconcileCanaryTraffic(_ canary: CanaryView) {
        guard canary.routing != nil else {
            status.canaryWeight = nil
            status.stableWeight = nil
            return
        }
        let weight = isHalted ? observed.canaryWeight : desiredTrafficWeight(canary)
        if observed.canaryWeight != weight {
            actions.append(.setCanaryWeight(weight))
        }
        let additional = additionalWeights(canary)
        // Compared by Service and weight: a router that keeps no hash (SMI's TrafficSplit) reads none back.
        func shares(_ weights: [WeightDestination]) -> [String] {
            weights.map { "\($0.serviceName ?? "")=\($0.weight)" }
        }
        if shares(observed.additionalWeights) != shares(additional) {
            actions.append(.setAdditionalWeights(additional))
        }
        status.canaryWeight = weight
        status.additionalWeights = additional
        status.stableWeight = max(0, canary.maxWeight - weight - additional.reduce(0) { $0 + $1.weight })

        var headerRoutes: [String: SetHeaderRoute] = [:]
        var mirrorRoutes: [String: SetMirrorRoute] = [:]
        if !status.abort && !isFullyPromoted && !status.promoteFull && stepIndex < canary.steps.count {
            for step in canary.steps[...stepIndex] {
                switch step {
                case .setHeaderRoute(let route):
                    headerRoutes[route.name] = route.match?.isEmpty == false ? route : nil
                case .setMirrorRoute(let route):
                    mirrorRoutes[route.name] = route.match?.isEmpty == false ? route : nil
                default: break
                }
            }
        }
        for name in observed.headerRoutes.keys.sorted() where headerRoutes[name] == nil {
            actions.append(.removeHeaderRoute(name: name))
        }
        for name in headerRoutes.keys.sorted() where observed.headerRoutes[name] != headerRoutes[name] {
            actions.append(.setHeaderRoute(headerRoutes[name]!))
        }
        for name in observed.mirrorRoutes.keys.sorted() where mirrorRoutes[name] == nil {
            actions.append(.removeMirrorRoute(name: name))
        }
        for name in mirrorRoutes.keys.sorted() where observed.mirrorRoutes[name] != mirrorRoutes[name] {
            actions.append(.setMirrorRoute(mirrorRoutes[name]!))
        }
    }
}
