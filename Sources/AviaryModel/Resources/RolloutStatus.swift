import AviaryJSON

/// The observed state of a Rollout, written by the controller.
public struct RolloutStatus: Codable, Sendable, Hashable {
    /// Set by `abort`; cleared by `retry`.
    public var abort: Bool?
    /// When the rollout was aborted (RFC 3339).
    public var abortedAt: String?
    /// Why the controller paused the rollout.
    public var pauseConditions: [PauseCondition]?
    /// Whether the controller (not a person) paused the rollout.
    public var controllerPause: Bool?
    /// Set by `promote --full`.
    public var promoteFull: Bool?
    /// The pod-template hash of the current template.
    public var currentPodHash: String?
    /// A hash of the current steps.
    public var currentStepHash: String?
    /// The index of the current canary step.
    public var currentStepIndex: Int?
    /// The pod-template hash of the stable ReplicaSet.
    public var stableRS: String?
    /// Pods of all ReplicaSets.
    public var replicas: Int?
    /// Pods of the current template.
    public var updatedReplicas: Int?
    /// Ready pods.
    public var readyReplicas: Int?
    /// Available pods.
    public var availableReplicas: Int?
    /// Pods the HPA sees.
    public var HPAReplicas: Int?
    /// The label selector as a string, for the scale subresource.
    public var selector: String?
    /// The generation last reconciled (Argo writes it as a string).
    public var observedGeneration: String?
    /// The generation of the object `spec.workloadRef` names, as last reconciled (a string too).
    public var workloadObservedGeneration: String?
    /// Bumped when a hash collision forced a new pod-template hash.
    public var collisionCount: Int?
    /// The last restart handled (RFC 3339).
    public var restartedAt: String?
    /// Healthy, Progressing, Paused or Degraded.
    public var phase: RolloutPhase?
    /// Why the phase is what it is.
    public var message: String?
    /// The conditions.
    public var conditions: [RolloutCondition]?
    /// Canary state.
    @Indirect public var canary: CanaryStatus? = nil
    /// Blue-green state.
    @Indirect public var blueGreen: BlueGreenStatus? = nil
    /// Update timing and outcome.
    public var duration: RolloutDuration?
    /// The AWS load balancer and target groups of the ALB ingress (the first of `albs`), written
    /// while the controller verifies ALB weights (`--aws-verify-target-group`).
    public var alb: ALBStatus?
    /// The same for each of `trafficRouting.alb.ingresses` (or the one `ingress`).
    public var albs: [ALBStatus]?

    /// An empty status.
    public init() {}

    /// Whether the rollout is aborted.
    public var isAborted: Bool { abort ?? false }
    /// Whether `promote --full` was requested.
    public var isPromoteFull: Bool { promoteFull ?? false }
}

/// The phase of a Rollout, computed from its conditions and replica counts.
public enum RolloutPhase: String, ClosedSet, Sendable, Hashable {
    /// Fully rolled out and available.
    case healthy = "Healthy"
    /// An update is in progress.
    case progressing = "Progressing"
    /// Paused by a person or by the controller.
    case paused = "Paused"
    /// Aborted, invalid, or past its progress deadline.
    case degraded = "Degraded"
}

/// Why the controller paused a rollout, and since when.
public struct PauseCondition: Codable, Sendable, Hashable {
    /// The reason.
    public var reason: PauseReason
    /// When the pause started (RFC 3339).
    public var startTime: String

    /// A pause for `reason` since `startTime`.
    public init(reason: PauseReason, startTime: String) {
        self.reason = reason
        self.startTime = startTime
    }
}

/// The reasons the controller pauses a rollout.
public enum PauseReason: String, ClosedSet, Sendable, Hashable {
    /// A canary `pause` step.
    case canaryPauseStep = "CanaryPauseStep"
    /// Blue-green waiting for promotion.
    case blueGreenPause = "BlueGreenPause"
    /// An AnalysisRun ended Inconclusive.
    case inconclusiveAnalysisRun = "InconclusiveAnalysisRun"
    /// An Experiment ended Inconclusive.
    case inconclusiveExperiment = "InconclusiveExperiment"
}

/// One condition of a Rollout (Kubernetes condition shape).
public struct RolloutCondition: Codable, Sendable, Hashable {
    /// The condition's type.
    public var type: RolloutConditionType
    /// `True`, `False` or `Unknown`.
    public var status: ConditionStatus
    /// When the condition was last updated (RFC 3339).
    public var lastUpdateTime: String?
    /// When `status` last changed (RFC 3339).
    public var lastTransitionTime: String?
    /// A CamelCase reason, e.g. `NewReplicaSetAvailable`.
    public var reason: String?
    /// A human-readable message.
    public var message: String?

    /// A condition of `type` with `status`.
    public init(
        type: RolloutConditionType, status: ConditionStatus, reason: String? = nil, message: String? = nil,
        lastUpdateTime: String? = nil, lastTransitionTime: String? = nil
    ) {
        self.type = type
        self.status = status
        self.reason = reason
        self.message = message
        self.lastUpdateTime = lastUpdateTime
        self.lastTransitionTime = lastTransitionTime
    }
}

/// The condition types of a Rollout.
public enum RolloutConditionType: String, ClosedSet, Sendable, Hashable {
    /// The spec is invalid.
    case invalidSpec = "InvalidSpec"
    /// Enough pods are available.
    case available = "Available"
    /// The update is progressing (or its deadline passed).
    case progressing = "Progressing"
    /// A ReplicaSet could not create pods.
    case replicaFailure = "ReplicaFailure"
    /// The rollout is paused.
    case paused = "Paused"
    /// The update completed.
    case completed = "Completed"
    /// The rollout is healthy.
    case healthy = "Healthy"
}

/// A Kubernetes condition status.
public enum ConditionStatus: String, ClosedSet, Sendable, Hashable {
    /// The condition holds.
    case `true` = "True"
    /// The condition does not hold.
    case `false` = "False"
    /// Not known.
    case unknown = "Unknown"
}

/// Canary state: the current analyses and traffic weights.
public struct CanaryStatus: Codable, Sendable, Hashable {
    /// The AnalysisRun of the current step.
    public var currentStepAnalysisRunStatus: RolloutAnalysisRunStatus?
    /// The background AnalysisRun.
    public var currentBackgroundAnalysisRunStatus: RolloutAnalysisRunStatus?
    /// The name of the running Experiment.
    public var currentExperiment: String?
    /// The traffic weights last set.
    public var weights: TrafficWeights?
    /// `ping` or `pong` when ping-pong Services are used.
    public var stablePingPong: String?
    /// What the step plugins did for the current update, one entry per step and operation.
    public var stepPluginStatuses: [StepPluginStatus]?

    /// An empty canary status.
    public init() {}
}

/// One operation of a step plugin for one step (Argo's `StepPluginStatus`).
public struct StepPluginStatus: Codable, Sendable, Hashable {
    /// The step's index.
    public var index: Int
    /// The plugin's name.
    public var name: String
    /// The operation: `Run` for the step, `Terminate` when a full promotion cuts it short, `Abort`
    /// when the update is aborted after it ran.
    public var operation: StepPluginOperation
    /// Where the operation is.
    public var phase: StepPluginPhase?
    /// What the plugin said.
    public var message: String?
    /// When the operation was first called (RFC 3339).
    public var startedAt: String?
    /// When it was last called.
    public var updatedAt: String?
    /// When it ended.
    public var finishedAt: String?
    /// How long to wait before calling it again (a Go duration: `30s`).
    public var backoff: String?
    /// How many times it was called.
    public var executions: Int?
    /// Whether the plugin is disabled in `argo-rollouts-config` (the step is skipped).
    public var disabled: Bool?
    /// The plugin's own state, kept between calls.
    public var status: JSONValue?

    /// A status of `operation` for step `index`.
    public init(index: Int, name: String, operation: StepPluginOperation, phase: StepPluginPhase? = nil) {
        self.index = index
        self.name = name
        self.operation = operation
        self.phase = phase
    }
}

/// A step plugin's operation.
public enum StepPluginOperation: String, Codable, Sendable, Hashable {
    case run = "Run"
    case terminate = "Terminate"
    case abort = "Abort"
}

/// Where a step plugin's operation is.
public enum StepPluginPhase: String, Codable, Sendable, Hashable, CaseIterable {
    case running = "Running"
    case successful = "Successful"
    case failed = "Failed"
    case error = "Error"
}

/// Where traffic goes.
public struct TrafficWeights: Codable, Sendable, Hashable {
    /// The canary's weight and destination.
    public var canary: WeightDestination
    /// The stable's weight and destination.
    public var stable: WeightDestination
    /// Other destinations (experiments).
    public var additional: [WeightDestination]?
    /// Whether the traffic router confirmed the weights.
    public var verified: Bool?

    /// Weights for canary and stable.
    public init(canary: WeightDestination, stable: WeightDestination, additional: [WeightDestination]? = nil) {
        self.canary = canary
        self.stable = stable
        self.additional = additional
    }
}

/// The weight of one destination.
public struct WeightDestination: Codable, Sendable, Hashable {
    /// The weight, out of `maxTrafficWeight`.
    public var weight: Int
    /// The Service traffic goes to.
    public var serviceName: String?
    /// The pod-template hash of its pods.
    public var podTemplateHash: String?

    /// A destination with a weight.
    public init(weight: Int, serviceName: String? = nil, podTemplateHash: String? = nil) {
        self.weight = weight
        self.serviceName = serviceName
        self.podTemplateHash = podTemplateHash
    }
}

/// The name and phase of an AnalysisRun a Rollout waits on.
public struct RolloutAnalysisRunStatus: Codable, Sendable, Hashable {
    /// The AnalysisRun's name.
    public var name: String
    /// Its phase.
    public var status: AnalysisPhase
    /// Its message.
    public var message: String?

    /// The status of the named run.
    public init(name: String, status: AnalysisPhase, message: String? = nil) {
        self.name = name
        self.status = status
        self.message = message
    }
}

/// Blue-green state: the selectors of the two Services and the promotion analyses.
public struct BlueGreenStatus: Codable, Sendable, Hashable {
    /// The pod-template hash the preview Service selects.
    public var previewSelector: String?
    /// The pod-template hash the active Service selects.
    public var activeSelector: String?
    /// Whether the preview was scaled up to full size.
    public var scaleUpPreviewCheckPoint: Bool?
    /// The pre-promotion AnalysisRun.
    public var prePromotionAnalysisRunStatus: RolloutAnalysisRunStatus?
    /// The post-promotion AnalysisRun.
    public var postPromotionAnalysisRunStatus: RolloutAnalysisRunStatus?

    /// An empty blue-green status.
    public init() {}
}

/// When the current update started and how it ended.
public struct RolloutDuration: Codable, Sendable, Hashable {
    /// When the update started (RFC 3339).
    public var rolloutStartedAt: String?
    /// When it finished (RFC 3339).
    public var finishedAt: String?
    /// How it ended.
    public var completionStatus: CompletionStatus?

    /// An update timing.
    public init(rolloutStartedAt: String? = nil, finishedAt: String? = nil, completionStatus: CompletionStatus? = nil) {
        self.rolloutStartedAt = rolloutStartedAt
        self.finishedAt = finishedAt
        self.completionStatus = completionStatus
    }
}

/// How an update ended.
public enum CompletionStatus: String, ClosedSet, Sendable, Hashable {
    /// Promoted through its steps.
    case promoted = "Promoted"
    /// Promoted with `promote --full`.
    case fastPromoted = "FastPromoted"
    /// Aborted.
    case aborted = "Aborted"
    /// Replaced by a newer update.
    case superseded = "Superseded"
    /// Rolled back by `undo`.
    case rolledBack = "RolledBack"
    /// Rolled back within the rollback window.
    case fastRolledBack = "FastRolledBack"
}

/// An ALB ingress's load balancer and the target groups of the canary and stable Services, as AWS
/// names them (Argo's `ALBStatus`): what an analysis reads through `fieldRef`
/// (`status.alb.loadBalancer.fullName`, `status.alb.canaryTargetGroup.fullName`) for CloudWatch.
public struct ALBStatus: Codable, Sendable, Hashable {
    /// An AWS resource: its name, ARN, and the part of the ARN CloudWatch's dimensions use
    /// (`app/NAME/ID` for a load balancer, `targetgroup/NAME/ID` for a target group).
    public struct ResourceReference: Codable, Sendable, Hashable {
        public var name: String
        public var arn: String
        public var fullName: String

        public init(name: String = "", arn: String = "", fullName: String = "") {
            self.name = name
            self.arn = arn
            self.fullName = fullName
        }

        /// A field left out reads as empty (a status written by another tool).
        public init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            name = try container.decodeIfPresent(String.self, forKey: .name) ?? ""
            arn = try container.decodeIfPresent(String.self, forKey: .arn) ?? ""
            fullName = try container.decodeIfPresent(String.self, forKey: .fullName) ?? ""
        }
    }

    public var loadBalancer: ResourceReference
    public var canaryTargetGroup: ResourceReference
    public var stableTargetGroup: ResourceReference
    /// The Ingress whose load balancer this is.
    public var ingress: String?

    public init(
        loadBalancer: ResourceReference = .init(), canaryTargetGroup: ResourceReference = .init(),
        stableTargetGroup: ResourceReference = .init(), ingress: String? = nil
    ) {
        self.loadBalancer = loadBalancer
        self.canaryTargetGroup = canaryTargetGroup
        self.stableTargetGroup = stableTargetGroup
        self.ingress = ingress
    }

    /// A reference left out reads as empty.
    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        loadBalancer = try container.decodeIfPresent(ResourceReference.self, forKey: .loadBalancer) ?? .init()
        canaryTargetGroup = try container.decodeIfPresent(ResourceReference.self, forKey: .canaryTargetGroup) ?? .init()
        stableTargetGroup = try container.decodeIfPresent(ResourceReference.self, forKey: .stableTargetGroup) ?? .init()
        ingress = try container.decodeIfPresent(String.self, forKey: .ingress)
    }
}
