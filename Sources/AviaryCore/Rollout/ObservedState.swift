import AviaryModel
import Foundation

/// What the platform reports about one rollout's world, read once per reconcile.
public struct ObservedState: Sendable, Equatable {
    /// The rollout's ReplicaSets, one per pod-template hash, in any order.
    public var replicaSets: [ObservedReplicaSet]
    /// The rollout's AnalysisRuns, in any order.
    public var analysisRuns: [ObservedAnalysisRun]
    /// The canary weight the traffic router applies now (0…maxTrafficWeight); 0 without a router.
    public var canaryWeight: Int
    /// The header routes in force, by route name.
    public var headerRoutes: [String: SetHeaderRoute]
    /// The mirror routes in force, by route name.
    public var mirrorRoutes: [String: SetMirrorRoute]
    /// The pod-template hash each managed Service selects now, by Service name (absent: none).
    public var serviceSelectors: [String: String]
    /// The rollout's Experiments (made by its `experiment` steps), in any order.
    public var experiments: [ObservedRolloutExperiment] = []
    /// The experiment templates' shares the router applies now (`weights.additional`).
    public var additionalWeights: [WeightDestination] = []
    /// Whether the platform checks that pods are registered in the AWS target groups bound to the
    /// active (blue-green) or stable (ALB canary) Service before the rollout goes on (Argo's
    /// `--aws-verify-target-group`).
    public var checksTargets = false
    /// What that check said this reconcile: true when registered (or nothing is bound to the
    /// Service), false when not yet, nil when it was not made.
    public var targetsVerified: Bool?

    /// Makes an observed state; everything defaults to empty.
    public init(
        replicaSets: [ObservedReplicaSet] = [], analysisRuns: [ObservedAnalysisRun] = [], canaryWeight: Int = 0,
        headerRoutes: [String: SetHeaderRoute] = [:], mirrorRoutes: [String: SetMirrorRoute] = [:],
        serviceSelectors: [String: String] = [:]
    ) {
        self.replicaSets = replicaSets
        self.analysisRuns = analysisRuns
        self.canaryWeight = canaryWeight
        self.headerRoutes = headerRoutes
        self.mirrorRoutes = mirrorRoutes
        self.serviceSelectors = serviceSelectors
    }

    /// The ReplicaSet with this pod-template hash, if any.
    public func replicaSet(hash: String?) -> ObservedReplicaSet? {
        guard let hash else { return nil }
        return replicaSets.first { $0.podTemplateHash == hash }
    }

    /// The Experiment with this name, if any.
    public func experiment(named name: String?) -> ObservedRolloutExperiment? {
        guard let name else { return nil }
        return experiments.first { $0.name == name }
    }

    /// The AnalysisRun with this name, if any.
    public func analysisRun(named name: String) -> ObservedAnalysisRun? {
        analysisRuns.first { $0.name == name }
    }
}

/// One ReplicaSet of a rollout as the platform sees it.
public struct ObservedReplicaSet: Sendable, Equatable {
    /// The `rollouts-pod-template-hash` label: identifies the template version.
    public var podTemplateHash: String
    /// The `rollout.argoproj.io/revision` annotation.
    public var revision: Int
    /// The pod template the ReplicaSet runs (needed for `undo`).
    public var template: PodTemplateSpec
    /// `spec.replicas`: the pods asked for.
    public var replicas: Int
    /// Pods passing their readiness probe.
    public var readyReplicas: Int
    /// Pods ready for at least `minReadySeconds`.
    public var availableReplicas: Int
    /// The `scale-down-deadline` annotation: when the ReplicaSet is due to be scaled to 0.
    public var scaleDownDeadline: Date?
    /// When the ReplicaSet was created.
    public var createdAt: Date

    /// Makes an observed ReplicaSet.
    public init(
        podTemplateHash: String, revision: Int, template: PodTemplateSpec, replicas: Int, readyReplicas: Int,
        availableReplicas: Int, scaleDownDeadline: Date? = nil, createdAt: Date
    ) {
        self.podTemplateHash = podTemplateHash
        self.revision = revision
        self.template = template
        self.replicas = replicas
        self.readyReplicas = readyReplicas
        self.availableReplicas = availableReplicas
        self.scaleDownDeadline = scaleDownDeadline
        self.createdAt = createdAt
    }

    var count: ReplicaCount { ReplicaCount(desired: replicas, available: availableReplicas) }
}

/// Why an AnalysisRun was started: the `rollout-type` label.
public enum AnalysisRunKind: String, Sendable, Equatable, Hashable, Codable, CaseIterable {
    /// An inline `analysis` step of a canary.
    case step = "Step"
    /// The canary's `strategy.canary.analysis`, running beside the steps.
    case background = "Background"
    /// Blue-green `prePromotionAnalysis`.
    case prePromotion = "PrePromotion"
    /// Blue-green `postPromotionAnalysis`.
    case postPromotion = "PostPromotion"
}

/// One AnalysisRun of a rollout as the platform sees it.
public struct ObservedAnalysisRun: Sendable, Equatable {
    /// The run's name (`<rollout>-<podHash>-<revision>[-<stepIdx>|-pre|-post]`).
    public var name: String
    /// Why it was started.
    public var kind: AnalysisRunKind
    /// Its phase now.
    public var phase: AnalysisPhase
    /// Its status message, e.g. `Metric "x" assessed Failed due to failed (1) > failureLimit (0)`.
    public var message: String?
    /// When it was created; history clean-up keeps the newest (without times: the list order).
    public var createdAt: Date?

    /// Makes an observed AnalysisRun.
    public init(
        name: String, kind: AnalysisRunKind, phase: AnalysisPhase, message: String? = nil, createdAt: Date? = nil
    ) {
        self.name = name
        self.kind = kind
        self.phase = phase
        self.message = message
        self.createdAt = createdAt
    }
}

/// One Experiment of a rollout as the store has it.
public struct ObservedRolloutExperiment: Sendable, Equatable {
    /// `<rollout>-<podHash>-<revision>-<stepIndex>`.
    public var name: String
    /// Its phase (nil before its first reconcile).
    public var phase: AnalysisPhase?
    /// Its status message.
    public var message: String?
    /// Whether `spec.terminate` is set.
    public var isTerminated: Bool
    /// Its templates' states (the Service and pod-template hash of each).
    public var templates: [TemplateStatus]
    /// When it was created; history clean-up keeps the newest.
    public var createdAt: Date?

    /// Makes an observed experiment.
    public init(
        name: String, phase: AnalysisPhase?, message: String? = nil, isTerminated: Bool = false,
        templates: [TemplateStatus] = [], createdAt: Date? = nil
    ) {
        self.name = name
        self.phase = phase
        self.message = message
        self.isTerminated = isTerminated
        self.templates = templates
        self.createdAt = createdAt
    }
}

/// Argo's rule of when the target-group registration check runs (`shouldVerifyTargetGroup`).
public enum TargetGroupCheck {
    /// Whether the check applies to this rollout's strategy: blue-green, or a canary through ALB.
    public static func applies(to rollout: Rollout) -> Bool {
        rollout.spec.strategy.blueGreen != nil || rollout.spec.strategy.canary?.trafficRouting?.alb != nil
    }

    /// The Service whose pods must be registered now, nil when none is checked: blue-green right
    /// after the active Service switched to the new version (until post-promotion analysis
    /// starts); an ALB canary once the new version is stable while an older ReplicaSet still has
    /// pods and no scale-down deadline.
    public static func service(rollout: Rollout, currentHash: String?, observed: ObservedState) -> String? {
        guard let currentHash else { return nil }
        let stable = rollout.status?.stableRS
        if let blueGreen = rollout.spec.strategy.blueGreen {
            guard stable != currentHash, observed.serviceSelectors[blueGreen.activeService] == currentHash,
                rollout.status?.blueGreen?.postPromotionAnalysisRunStatus == nil
            else { return nil }
            return blueGreen.activeService
        }
        guard let canary = rollout.spec.strategy.canary, canary.trafficRouting?.alb != nil, stable == currentHash,
            observed.replicaSets.contains(where: {
                $0.podTemplateHash != currentHash && $0.replicas > 0 && $0.scaleDownDeadline == nil
            })
        else { return nil }
        return canary.splitServices(stablePingPong: rollout.status?.canary?.stablePingPong).stable
    }
}
