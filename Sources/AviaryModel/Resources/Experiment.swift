import AviaryJSON
import AviaryMeta

/// An `Experiment`: ReplicaSets run side by side for a while, with analyses.
public struct Experiment: Codable, Sendable, Hashable {
    /// `argoproj.io/v1alpha1`.
    public var apiVersion: String
    /// `Experiment`.
    public var kind: String
    /// Name and namespace.
    public var metadata: ObjectMeta
    /// Templates, duration, analyses.
    public var spec: ExperimentSpec
    /// Template and analysis states.
    public var status: ExperimentStatus?

    /// An experiment with the given spec.
    public init(metadata: ObjectMeta, spec: ExperimentSpec, status: ExperimentStatus? = nil) {
        apiVersion = argoAPIVersion
        kind = ResourceKind.experiment.rawValue
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// What an Experiment runs.
public struct ExperimentSpec: Codable, Sendable, Hashable {
    /// The ReplicaSets.
    public var templates: [TemplateSpec]
    /// How long to run; absent means until the required analyses complete.
    public var duration: ArgoDuration?
    /// Seconds without progress before the experiment fails (default 600).
    public var progressDeadlineSeconds: Int?
    /// Stop the experiment.
    public var terminate: Bool?
    /// Seconds before the ReplicaSets are scaled down at the end (default 30).
    public var scaleDownDelaySeconds: Int?
    /// The analyses.
    public var analyses: [ExperimentAnalysisTemplateRef]?
    /// Metrics whose results do not count.
    public var dryRun: [DryRun]?
    /// How many measurements to keep per metric.
    public var measurementRetention: [MeasurementRetention]?
    /// Labels and annotations for the AnalysisRuns.
    public var analysisRunMetadata: AnalysisRunMetadata?

    /// An experiment of the given templates.
    public init(
        templates: [TemplateSpec], duration: ArgoDuration? = nil, analyses: [ExperimentAnalysisTemplateRef]? = nil
    ) {
        self.templates = templates
        self.duration = duration
        self.analyses = analyses
    }

    /// The progress deadline in seconds, 600 when absent.
    public var progressDeadlineSecondsOrDefault: Int { progressDeadlineSeconds ?? 600 }
    /// The scale-down delay in seconds, 30 when absent.
    public var scaleDownDelaySecondsOrDefault: Int { scaleDownDelaySeconds ?? 30 }
    /// Whether the experiment was asked to stop.
    public var isTerminated: Bool { terminate ?? false }
}

/// One ReplicaSet of an Experiment.
public struct TemplateSpec: Codable, Sendable, Hashable {
    /// The template's name; the ReplicaSet is `<experiment>-<name>`.
    public var name: String
    /// Pods (default 1).
    public var replicas: Int?
    /// Seconds a pod must be ready to count as available.
    public var minReadySeconds: Int?
    /// Selects the pods.
    public var selector: LabelSelector?
    /// The pod template.
    public var template: PodTemplateSpec
    /// A Service created for the pods.
    public var service: TemplateService?

    /// A template running `template`.
    public init(name: String, replicas: Int? = nil, selector: LabelSelector? = nil, template: PodTemplateSpec) {
        self.name = name
        self.replicas = replicas
        self.selector = selector
        self.template = template
    }

    /// Pods, 1 when absent.
    public var replicasOrDefault: Int { replicas ?? 1 }
}

/// An analysis run during an Experiment.
public struct ExperimentAnalysisTemplateRef: Codable, Sendable, Hashable {
    /// The analysis's name in the experiment.
    public var name: String
    /// The AnalysisTemplate to run.
    public var templateName: String
    /// Whether `templateName` refers to a ClusterAnalysisTemplate.
    public var clusterScope: Bool?
    /// Arguments for the template.
    public var args: [Argument]?
    /// Whether the experiment waits for this analysis.
    public var requiredForCompletion: Bool?

    /// An analysis of the named template.
    public init(name: String, templateName: String, args: [Argument]? = nil, requiredForCompletion: Bool? = nil) {
        self.name = name
        self.templateName = templateName
        self.args = args
        self.requiredForCompletion = requiredForCompletion
    }
}

/// The observed state of an Experiment.
public struct ExperimentStatus: Codable, Sendable, Hashable {
    /// The experiment's phase.
    public var phase: AnalysisPhase?
    /// Why it is in that phase.
    public var message: String?
    /// One status per template.
    public var templateStatuses: [TemplateStatus]?
    /// One status per analysis.
    public var analysisRuns: [ExperimentAnalysisRunStatus]?
    /// When every template became available (RFC 3339).
    public var availableAt: String?
    /// Conditions, kept opaque.
    public var conditions: [JSONValue]?

    /// An empty status.
    public init(phase: AnalysisPhase? = nil) { self.phase = phase }
}

/// The state of one Experiment template.
public struct TemplateStatus: Codable, Sendable, Hashable {
    /// The template's name.
    public var name: String
    /// Pods.
    public var replicas: Int?
    /// Pods of the current template.
    public var updatedReplicas: Int?
    /// Ready pods.
    public var readyReplicas: Int?
    /// Available pods.
    public var availableReplicas: Int?
    /// Bumped on hash collisions.
    public var collisionCount: Int?
    /// `Progressing`, `Running`, `Successful`, `Failed`, `Error`.
    public var status: String?
    /// Why.
    public var message: String?
    /// When `status` last changed (RFC 3339).
    public var lastTransitionTime: String?
    /// The Service created for the template.
    public var serviceName: String?
    /// The pod-template hash.
    public var podTemplateHash: String?

    /// A status for the named template.
    public init(name: String, status: String? = nil) {
        self.name = name
        self.status = status
    }
}

/// The state of one Experiment analysis.
public struct ExperimentAnalysisRunStatus: Codable, Sendable, Hashable {
    /// The analysis's name.
    public var name: String
    /// The AnalysisRun's name.
    public var analysisRun: String?
    /// Its phase.
    public var phase: AnalysisPhase
    /// Its message.
    public var message: String?

    /// A status for the named analysis.
    public init(name: String, analysisRun: String? = nil, phase: AnalysisPhase) {
        self.name = name
        self.analysisRun = analysisRun
        self.phase = phase
    }
}
