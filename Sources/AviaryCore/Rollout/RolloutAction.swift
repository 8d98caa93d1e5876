import AviaryModel
import Foundation

/// One change the executor must make to the platform. Every action is idempotent: carrying it
/// out twice leaves the same world as once.
public enum RolloutAction: Sendable, Equatable {
    /// Create a ReplicaSet running `template`; its pods carry the `rollouts-pod-template-hash` label.
    case createReplicaSet(ReplicaSetRequest)
    /// Set `spec.replicas` of the ReplicaSet with this hash.
    case scaleReplicaSet(podTemplateHash: String, replicas: Int)
    /// Set (or with `nil` remove) the ReplicaSet's scale-down-deadline annotation.
    case setScaleDownDeadline(podTemplateHash: String, deadline: Date?)
    /// Set the ReplicaSet's revision annotation (a template that comes back gets a new revision).
    case setRevision(podTemplateHash: String, revision: Int)
    /// Delete the ReplicaSet (history beyond `revisionHistoryLimit`).
    case deleteReplicaSet(podTemplateHash: String)
    /// Evict the ReplicaSet's pods created before `before`, at most `maxUnavailable` at a time
    /// (never fewer than 1): `restartAt`.
    case restartPods(podTemplateHash: String, before: Date, maxUnavailable: Int)
    /// Point the Service's selector at the pods of this hash.
    case setServiceSelector(service: String, podTemplateHash: String)
    /// Send this share (of `maxTrafficWeight`) of the root Service's traffic to the canary Service.
    case setCanaryWeight(Int)
    /// Install or replace the named header route (matching requests go to the canary).
    case setHeaderRoute(SetHeaderRoute)
    /// Remove the named header route.
    case removeHeaderRoute(name: String)
    /// Install or replace the named mirror route.
    case setMirrorRoute(SetMirrorRoute)
    /// Remove the named mirror route.
    case removeMirrorRoute(name: String)
    /// Start an AnalysisRun; the executor resolves the templates and arguments.
    case createAnalysisRun(AnalysisRunRequest)
    /// Set `spec.terminate` on the named AnalysisRun.
    case terminateAnalysisRun(name: String)
    /// Delete the named, finished AnalysisRun (beyond `spec.analysis` history limits).
    case deleteAnalysisRun(name: String)
    /// Create the Experiment of an `experiment` step (owned by the rollout).
    case createExperiment(Experiment)
    /// Set `spec.terminate` on the named Experiment.
    case terminateExperiment(name: String)
    /// Delete the named, finished Experiment (beyond the history limits).
    case deleteExperiment(name: String)
    /// Give the running experiment's templates their shares of the root service's traffic (empty:
    /// none); the stable side keeps what the canary and they leave.
    case setAdditionalWeights([WeightDestination])
    /// Record an event on the rollout.
    case recordEvent(RolloutEvent)
}

/// A ReplicaSet to create.
public struct ReplicaSetRequest: Sendable, Equatable {
    /// `<rollout>-<hash>`.
    public var name: String
    /// The `rollouts-pod-template-hash` label value.
    public var podTemplateHash: String
    /// The `rollout.argoproj.io/revision` annotation value.
    public var revision: Int
    /// The rollout's pod template as written (the executor adds the hash label to the pods; keep
    /// it unchanged in `ObservedReplicaSet.template` so that `undo` restores the same hash).
    public var template: PodTemplateSpec
    /// The initial `spec.replicas`.
    public var replicas: Int

    /// Makes a request; see the properties.
    public init(name: String, podTemplateHash: String, revision: Int, template: PodTemplateSpec, replicas: Int) {
        self.name = name
        self.podTemplateHash = podTemplateHash
        self.revision = revision
        self.template = template
        self.replicas = replicas
    }
}

/// An AnalysisRun to start.
public struct AnalysisRunRequest: Sendable, Equatable {
    /// `<rollout>-<podHash>-<revision>[-<stepIdx>|-pre|-post]`.
    public var name: String
    /// Why it is started (the `rollout-type` label).
    public var kind: AnalysisRunKind
    /// The templates to merge into the run.
    public var templates: [RolloutAnalysisTemplate]
    /// Arguments with `valueFrom.podTemplateHashValue` already resolved to a hash; other
    /// `valueFrom` (field references) are left for the executor.
    public var args: [AnalysisRunArgument]
    /// Labels for the run: `analysisRunMetadata.labels`, then `rollout-type`, `step-index` for step
    /// runs, the rollout's name and the hash.
    public var labels: [String: String]
    /// Metrics whose results do not count (`dryRun`).
    public var dryRun: [DryRun]?
    /// Measurement history limits (`measurementRetention`).
    public var measurementRetention: [MeasurementRetention]?
    /// `analysisRunMetadata.annotations`.
    public var annotations: [String: String]

    /// Makes a request; see the properties.
    public init(
        name: String, kind: AnalysisRunKind, templates: [RolloutAnalysisTemplate], args: [AnalysisRunArgument],
        labels: [String: String], dryRun: [DryRun]? = nil, measurementRetention: [MeasurementRetention]? = nil,
        annotations: [String: String] = [:]
    ) {
        self.annotations = annotations
        self.name = name
        self.kind = kind
        self.templates = templates
        self.args = args
        self.labels = labels
        self.dryRun = dryRun
        self.measurementRetention = measurementRetention
    }
}

/// An event recorded on the rollout, as `kubectl describe` would show it.
public struct RolloutEvent: Sendable, Equatable {
    /// `Normal` or `Warning`.
    public var type: EventType
    /// A machine-readable reason, e.g. `RolloutStepCompleted`.
    public var reason: String
    /// A sentence for people.
    public var message: String

    /// Makes an event.
    public init(type: EventType = .normal, reason: String, message: String) {
        self.type = type
        self.reason = reason
        self.message = message
    }

    /// Kubernetes' event types.
    public enum EventType: String, Sendable, Equatable {
        /// Expected progress.
        case normal = "Normal"
        /// Something a person should look at.
        case warning = "Warning"
    }
}

/// What one reconcile decided.
public struct ReconcileResult: Sendable, Equatable {
    /// Changes to make, in order.
    public var actions: [RolloutAction]
    /// The rollout's new status, to write once after the actions.
    public var status: RolloutStatus
    /// When to reconcile again without an outside change (a timed pause, a deadline); `nil` for
    /// "only when something changes"; `0` for "at once" (the status moved on).
    public var requeueAfter: Duration?

    /// Makes a result; see the properties.
    public init(actions: [RolloutAction], status: RolloutStatus, requeueAfter: Duration?) {
        self.actions = actions
        self.status = status
        self.requeueAfter = requeueAfter
    }
}
