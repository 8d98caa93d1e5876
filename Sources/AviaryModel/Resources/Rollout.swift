import AviaryJSON
import AviaryMeta

/// An Argo `Rollout`: a Deployment-like workload updated by a canary or blue-green strategy.
public struct Rollout: Codable, Sendable, Hashable {
    /// `argoproj.io/v1alpha1`.
    public var apiVersion: String
    /// `Rollout`.
    public var kind: String
    /// Name, namespace, labels, generation.
    public var metadata: ObjectMeta
    /// The desired state.
    public var spec: RolloutSpec
    /// The observed state, written by the controller.
    public var status: RolloutStatus?

    /// A Rollout with the given metadata and spec.
    public init(metadata: ObjectMeta, spec: RolloutSpec, status: RolloutStatus? = nil) {
        apiVersion = argoAPIVersion
        kind = ResourceKind.rollout.rawValue
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// The `apiVersion` of every Argo Rollouts kind.
public let argoAPIVersion = "argoproj.io/v1alpha1"

/// The desired state of a Rollout.
public struct RolloutSpec: Codable, Sendable, Hashable {
    /// Desired pods (default 1).
    public var replicas: Int?
    /// Selects the Rollout's pods; must match the template's labels.
    public var selector: LabelSelector?
    /// The pod template; absent when `workloadRef` is used.
    @Indirect public var template: PodTemplateSpec? = nil
    /// A Deployment whose pod template is used instead of `template`.
    public var workloadRef: WorkloadRef?
    /// Seconds a new pod must be ready before it counts as available (default 0).
    public var minReadySeconds: Int?
    /// Old ReplicaSets kept for rollback (default 10).
    public var revisionHistoryLimit: Int?
    /// Manually paused.
    public var paused: Bool?
    /// Seconds an update may go without progress before it is marked failed (default 600).
    public var progressDeadlineSeconds: Int?
    /// Abort when the progress deadline is exceeded (default false).
    public var progressDeadlineAbort: Bool?
    /// Pods created before this time (RFC 3339) are restarted.
    public var restartAt: String?
    /// Rolling back within this many revisions skips the steps.
    public var rollbackWindow: RollbackWindowSpec?
    /// How many finished AnalysisRuns to keep.
    public var analysis: AnalysisRunStrategy?
    /// The update strategy: exactly one of canary and blueGreen.
    public var strategy: RolloutStrategy

    /// A spec with the given replicas, selector, template and strategy.
    public init(
        replicas: Int? = nil, selector: LabelSelector? = nil, template: PodTemplateSpec? = nil,
        strategy: RolloutStrategy
    ) {
        self.replicas = replicas
        self.selector = selector
        self.template = template
        self.strategy = strategy
    }

    /// Desired pods, 1 when absent.
    public var replicasOrDefault: Int { replicas ?? 1 }
    /// Seconds before a ready pod is available, 0 when absent.
    public var minReadySecondsOrDefault: Int { minReadySeconds ?? 0 }
    /// Old ReplicaSets kept, 10 when absent.
    public var revisionHistoryLimitOrDefault: Int { revisionHistoryLimit ?? 10 }
    /// Whether the Rollout is manually paused.
    public var isPaused: Bool { paused ?? false }
    /// The progress deadline in seconds, 600 when absent.
    public var progressDeadlineSecondsOrDefault: Int { progressDeadlineSeconds ?? 600 }
    /// Whether exceeding the progress deadline aborts, false when absent.
    public var progressDeadlineAbortOrDefault: Bool { progressDeadlineAbort ?? false }
}

/// A reference to a Deployment that holds the pod template.
public struct WorkloadRef: Codable, Sendable, Hashable {
    /// `apps/v1`.
    public var apiVersion: String?
    /// `Deployment`.
    public var kind: String?
    /// The Deployment's name.
    public var name: String?
    /// `never`, `onsuccess` or `progressively`.
    public var scaleDown: String?

    /// A reference to the named workload.
    public init(apiVersion: String? = nil, kind: String? = nil, name: String? = nil, scaleDown: String? = nil) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.scaleDown = scaleDown
    }
}

/// Revisions within which a rollback skips the steps.
public struct RollbackWindowSpec: Codable, Sendable, Hashable {
    /// The number of revisions.
    public var revisions: Int?

    /// A window of the given number of revisions.
    public init(revisions: Int? = nil) { self.revisions = revisions }
}

/// How many finished AnalysisRuns a Rollout keeps.
public struct AnalysisRunStrategy: Codable, Sendable, Hashable {
    /// Successful runs kept (default 5).
    public var successfulRunHistoryLimit: Int?
    /// Failed, errored and inconclusive runs kept (default 5).
    public var unsuccessfulRunHistoryLimit: Int?

    /// Limits for kept runs.
    public init(successfulRunHistoryLimit: Int? = nil, unsuccessfulRunHistoryLimit: Int? = nil) {
        self.successfulRunHistoryLimit = successfulRunHistoryLimit
        self.unsuccessfulRunHistoryLimit = unsuccessfulRunHistoryLimit
    }

    /// Successful runs kept, 5 when absent.
    public var successfulRunHistoryLimitOrDefault: Int { successfulRunHistoryLimit ?? 5 }
    /// Unsuccessful runs kept, 5 when absent.
    public var unsuccessfulRunHistoryLimitOrDefault: Int { unsuccessfulRunHistoryLimit ?? 5 }
}

/// The update strategy; exactly one member is set.
public struct RolloutStrategy: Codable, Sendable, Hashable {
    /// Blue-green: a preview stack switched to active at once.
    @Indirect public var blueGreen: BlueGreenStrategy? = nil
    /// Canary: traffic shifted in steps.
    @Indirect public var canary: CanaryStrategy? = nil

    /// A strategy with the given member.
    public init(blueGreen: BlueGreenStrategy? = nil, canary: CanaryStrategy? = nil) {
        self.blueGreen = blueGreen
        self.canary = canary
    }
}

/// Extra labels and annotations for the pods of one side (`canaryMetadata`, `activeMetadata`, ...).
public typealias PodMetadata = PodTemplateMetadata

/// How pods of old and new ReplicaSets are kept apart on nodes, kept opaque (scheduling only).
public typealias AntiAffinity = JSONValue
