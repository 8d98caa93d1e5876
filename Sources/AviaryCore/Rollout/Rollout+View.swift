import AviaryModel
import Foundation

// The only place where the reconciler reads and writes the model's Rollout types: the decisions
// work on `RolloutView` and `StatusView`, plain values with Argo's defaults applied.

extension RolloutView {
    init(_ rollout: Rollout) {
        let spec = rollout.spec
        name = rollout.metadata.name ?? ""
        generation = rollout.metadata.generation
        replicas = spec.replicasOrDefault
        template = spec.template ?? PodTemplateSpec(spec: PodSpec(containers: []))
        templateHash = PodTemplateHash.compute(template)
        revisionHistoryLimit = spec.revisionHistoryLimitOrDefault
        successfulRunHistoryLimit = spec.analysis?.successfulRunHistoryLimitOrDefault ?? 5
        unsuccessfulRunHistoryLimit = spec.analysis?.unsuccessfulRunHistoryLimitOrDefault ?? 5
        isPaused = spec.isPaused
        progressDeadlineSeconds = spec.progressDeadlineSecondsOrDefault
        progressDeadlineAbort = spec.progressDeadlineAbortOrDefault
        restartAt = spec.restartAt.flatMap(RFC3339.parse)
        selectorLabels = spec.selector?.matchLabels ?? [:]
        minReadySeconds = spec.minReadySecondsOrDefault
        rollbackWindow = spec.rollbackWindow?.revisions
        invalidSpecMessage = nil
        if let canary = spec.strategy.canary {
            strategy = .canary(CanaryView(canary, replicas: spec.replicasOrDefault))
        } else if let blueGreen = spec.strategy.blueGreen {
            strategy = .blueGreen(BlueGreenView(blueGreen, replicas: spec.replicasOrDefault))
        } else {
            strategy = .canary(CanaryView(CanaryStrategy(), replicas: spec.replicasOrDefault))
        }
        invalidSpecMessage = Self.invalidSpecMessage(rollout)
    }

    /// What makes the spec impossible to run, worded as Argo's InvalidSpec condition messages.
    static func invalidSpecMessage(_ rollout: Rollout) -> String? {
        let spec = rollout.spec
        if spec.strategy.canary != nil && spec.strategy.blueGreen != nil {
            return "The Rollout \"\(rollout.metadata.name ?? "")\" is invalid: spec.strategy: "
                + "Invalid value: multiple strategies can not be listed"
        }
        if spec.strategy.canary == nil && spec.strategy.blueGreen == nil {
            return "The Rollout \"\(rollout.metadata.name ?? "")\" is invalid: spec.strategy: Required value: "
                + "give strategy.canary or strategy.blueGreen"
        }
        if spec.template == nil {
            guard let reference = spec.workloadRef else {
                return "The Rollout \"\(rollout.metadata.name ?? "")\" is invalid: spec.template: Required value: "
                    + "give spec.template or spec.workloadRef"
            }
            return "The Rollout \"\(rollout.metadata.name ?? "")\" is invalid: spec.workloadRef: Not found: "
                + "no \(reference.kind ?? "Deployment") \"\(reference.name ?? "")\" to take the pod template from "
                + "in namespace \(rollout.metadata.namespaceOrDefault)"
        }
        return nil
    }
}

extension PercentOrCount {
    init(_ value: IntOrString) {
        if let percent = value.percent {
            self = .percent(percent)
        } else {
            self = .count(value.intValue ?? 0)
        }
    }
}

extension CanaryView {
    init(_ canary: CanaryStrategy, replicas: Int) {
        canaryService = canary.canaryService
        stableService = canary.stableService
        pingPong = canary.pingPong
        splitsPingPong = canary.splitsPingPong
        budgets = RolloutBudgets.resolve(
            maxSurgePercentOrCount: PercentOrCount(canary.maxSurgeOrDefault),
            maxUnavailable: PercentOrCount(canary.maxUnavailableOrDefault), replicas: replicas)
        steps = canary.stepsOrEmpty.map(StepView.init)
        stepsHash = PodTemplateHash.compute(canary.stepsOrEmpty)
        background = canary.analysis.map { AnalysisView($0.analysis) }
        backgroundStartingStep = canary.analysis?.startingStep
        routing = canary.trafficRouting.map {
            RoutingView(
                maxWeight: max(1, $0.maxTrafficWeightOrDefault),
                waitsForVerifiedWeights: $0.providers.contains(where: \.waitsForVerifiedWeights))
        }
        scaleDownDelaySeconds = canary.scaleDownDelaySecondsOrDefault
        scaleDownDelayRevisionLimit = canary.scaleDownDelayRevisionLimit
        abortScaleDownDelaySeconds = canary.abortScaleDownDelaySecondsOrDefault
        dynamicStableScale = canary.dynamicStableScaleOrDefault
        minPodsPerReplicaSet = canary.minPodsPerReplicaSet
        progressThreshold = canary.replicaProgressThreshold.map {
            $0.type == "Pods" ? .pods($0.value) : .percent($0.value)
        }
    }
}

extension StepView {
    init(_ step: CanaryStep) {
        if let weight = step.setWeight {
            self = .setWeight(weight)
        } else if let pause = step.pause {
            self = .pause(seconds: pause.duration?.seconds)
        } else if let scale = step.setCanaryScale {
            self = .setCanaryScale(
                replicas: scale.replicas, weight: scale.weight, matchTrafficWeight: scale.matchTrafficWeight ?? false)
        } else if let analysis = step.analysis {
            self = .analysis(AnalysisView(analysis))
        } else if let route = step.setHeaderRoute {
            self = .setHeaderRoute(route)
        } else if let route = step.setMirrorRoute {
            self = .setMirrorRoute(route)
        } else if let experiment = step.experiment {
            self = .experiment(experiment)
        } else {
            self = .plugin(step.plugin ?? PluginStep(name: ""))
        }
    }
}

extension AnalysisView {
    init(_ analysis: RolloutAnalysis) {
        templates = analysis.templates ?? []
        args = analysis.args ?? []
        dryRun = analysis.dryRun
        measurementRetention = analysis.measurementRetention
        metadata = analysis.analysisRunMetadata
    }
}

extension BlueGreenView {
    init(_ blueGreen: BlueGreenStrategy, replicas: Int) {
        maxUnavailable = min(
            replicas, PercentOrCount(blueGreen.maxUnavailableOrDefault).resolve(total: replicas, roundUp: false))
        activeService = blueGreen.activeService
        previewService = blueGreen.previewService
        previewReplicaCount = blueGreen.previewReplicaCount
        autoPromotionEnabled = blueGreen.autoPromotionEnabledOrDefault
        autoPromotionSeconds = blueGreen.autoPromotionSeconds
        scaleDownDelaySeconds = blueGreen.scaleDownDelaySecondsOrDefault
        scaleDownDelayRevisionLimit = blueGreen.scaleDownDelayRevisionLimit
        abortScaleDownDelaySeconds = blueGreen.abortScaleDownDelaySecondsOrDefault
        prePromotion = blueGreen.prePromotionAnalysis.map(AnalysisView.init)
        postPromotion = blueGreen.postPromotionAnalysis.map(AnalysisView.init)
    }
}

extension StatusView {
    init(_ status: RolloutStatus?) {
        guard let status else { return }
        abort = status.isAborted
        abortedAt = status.abortedAt.flatMap(RFC3339.parse)
        pauseConditions = (status.pauseConditions ?? []).map {
            PauseCondition(
                reason: $0.reason.rawValue, startTime: RFC3339.parse($0.startTime) ?? Date(timeIntervalSince1970: 0))
        }
        controllerPause = status.controllerPause ?? false
        promoteFull = status.isPromoteFull
        currentPodHash = status.currentPodHash
        currentStepHash = status.currentStepHash
        currentStepIndex = status.currentStepIndex
        stableRS = status.stableRS
        stablePingPong = status.canary?.stablePingPong
        replicas = status.replicas ?? 0
        updatedReplicas = status.updatedReplicas ?? 0
        readyReplicas = status.readyReplicas ?? 0
        availableReplicas = status.availableReplicas ?? 0
        observedGeneration = status.observedGeneration
        restartedAt = status.restartedAt.flatMap(RFC3339.parse)
        phase = status.phase?.rawValue ?? "Progressing"
        message = status.message ?? ""
        conditions = (status.conditions ?? []).map {
            Condition(
                type: $0.type.rawValue, status: $0.status.rawValue, reason: $0.reason ?? "", message: $0.message ?? "",
                lastUpdateTime: $0.lastUpdateTime.flatMap(RFC3339.parse) ?? Date(timeIntervalSince1970: 0),
                lastTransitionTime: $0.lastTransitionTime.flatMap(RFC3339.parse) ?? Date(timeIntervalSince1970: 0))
        }
        func reference(_ run: RolloutAnalysisRunStatus?) -> RunReference? {
            run.map { RunReference(name: $0.name, phase: $0.status, message: $0.message) }
        }
        stepRun = reference(status.canary?.currentStepAnalysisRunStatus)
        backgroundRun = reference(status.canary?.currentBackgroundAnalysisRunStatus)
        currentExperiment = status.canary?.currentExperiment
        stepPlugins = status.canary?.stepPluginStatuses ?? []
        additionalWeights = status.canary?.weights?.additional ?? []
        preRun = reference(status.blueGreen?.prePromotionAnalysisRunStatus)
        postRun = reference(status.blueGreen?.postPromotionAnalysisRunStatus)
        activeSelector = status.blueGreen?.activeSelector
        previewSelector = status.blueGreen?.previewSelector
        canaryWeight = status.canary?.weights?.canary.weight
        stableWeight = status.canary?.weights?.stable.weight
        weightsVerified = status.canary?.weights?.verified
        rolloutStartedAt = status.duration?.rolloutStartedAt.flatMap(RFC3339.parse)
        finishedAt = status.duration?.finishedAt.flatMap(RFC3339.parse)
        completionStatus = status.duration?.completionStatus
    }

    /// Writes these fields into `status`, keeping the fields the reconciler does not own.
    func apply(to original: RolloutStatus?, canaryService: String?, stableService: String?) -> RolloutStatus {
        var status = original ?? RolloutStatus()
        status.abort = abort ? true : nil
        status.abortedAt = abortedAt.map { RFC3339.format($0) }
        status.pauseConditions =
            pauseConditions.isEmpty
            ? nil
            : pauseConditions.map {
                AviaryModel.PauseCondition(
                    reason: PauseReason(rawValue: $0.reason) ?? .canaryPauseStep,
                    startTime: RFC3339.format($0.startTime))
            }
        status.controllerPause = controllerPause ? true : nil
        status.promoteFull = promoteFull ? true : nil
        status.currentPodHash = currentPodHash
        status.currentStepHash = currentStepHash
        status.currentStepIndex = currentStepIndex
        status.stableRS = stableRS
        status.replicas = replicas
        status.updatedReplicas = updatedReplicas
        status.readyReplicas = readyReplicas
        status.availableReplicas = availableReplicas
        status.observedGeneration = observedGeneration
        status.restartedAt = restartedAt.map { RFC3339.format($0) }
        status.phase = RolloutPhase(rawValue: phase)
        status.message = message
        status.conditions = conditions.map {
            RolloutCondition(
                type: RolloutConditionType(rawValue: $0.type) ?? .progressing,
                status: ConditionStatus(rawValue: $0.status) ?? .unknown, reason: $0.reason, message: $0.message,
                lastUpdateTime: RFC3339.format($0.lastUpdateTime),
                lastTransitionTime: RFC3339.format($0.lastTransitionTime))
        }
        func runStatus(_ reference: RunReference?) -> RolloutAnalysisRunStatus? {
            reference.map { RolloutAnalysisRunStatus(name: $0.name, status: $0.phase, message: $0.message) }
        }
        if stepRun != nil || backgroundRun != nil || canaryWeight != nil || currentExperiment != nil
            || stablePingPong != nil || status.canary != nil
        {
            var canary = status.canary ?? CanaryStatus()
            canary.stablePingPong = stablePingPong
            canary.currentStepAnalysisRunStatus = runStatus(stepRun)
            canary.currentBackgroundAnalysisRunStatus = runStatus(backgroundRun)
            canary.currentExperiment = currentExperiment
            canary.weights = canaryWeight.map { weight in
                TrafficWeights(
                    canary: WeightDestination(
                        weight: weight, serviceName: canaryService, podTemplateHash: currentPodHash),
                    stable: WeightDestination(
                        weight: stableWeight ?? 0, serviceName: stableService, podTemplateHash: stableRS),
                    additional: additionalWeights.isEmpty ? nil : additionalWeights)
            }
            status.canary = canary
        }
        if preRun != nil || postRun != nil || activeSelector != nil || previewSelector != nil || status.blueGreen != nil
        {
            var blueGreen = status.blueGreen ?? BlueGreenStatus()
            blueGreen.activeSelector = activeSelector
            blueGreen.previewSelector = previewSelector
            blueGreen.prePromotionAnalysisRunStatus = runStatus(preRun)
            blueGreen.postPromotionAnalysisRunStatus = runStatus(postRun)
            status.blueGreen = blueGreen
        }
        if rolloutStartedAt != nil || finishedAt != nil || completionStatus != nil || status.duration != nil {
            status.duration = RolloutDuration(
                rolloutStartedAt: rolloutStartedAt.map { RFC3339.format($0) },
                finishedAt: finishedAt.map { RFC3339.format($0) },
                completionStatus: completionStatus)
        }
        return status
    }
}
