import AviaryModel
import Foundation

/// One change the executor must make for an Experiment. Every action is idempotent: carrying it
/// out twice leaves the same world as once.
public enum ExperimentAction: Sendable, Equatable {
    /// Create the ReplicaSet of a template.
    case createReplicaSet(ExperimentReplicaSetRequest)
    /// Set `spec.replicas` of a template's ReplicaSet.
    case scaleReplicaSet(template: String, replicas: Int)
    /// Set (or with `nil` remove) the `scale-down-deadline` annotation of a template's ReplicaSet.
    case setScaleDownDeadline(template: String, deadline: Date?)
    /// Create (or update) the Service of a template.
    case applyService(ExperimentServiceRequest)
    /// Delete the Service of a template.
    case deleteService(name: String)
    /// Start an AnalysisRun; the executor resolves the templates.
    case createAnalysisRun(ExperimentAnalysisRunRequest)
    /// Set `spec.terminate` on the named AnalysisRun.
    case terminateAnalysisRun(name: String)
    /// Record an event on the experiment.
    case recordEvent(RolloutEvent)
}

/// The ReplicaSet of one experiment template.
public struct ExperimentReplicaSetRequest: Sendable, Equatable {
    /// The template's name.
    public var template: String
    /// `<experiment>-<template>`.
    public var name: String
    /// The `rollouts-pod-template-hash` label value.
    public var podTemplateHash: String
    /// The pod template as written (the executor adds the hash label to the pods).
    public var podTemplate: PodTemplateSpec
    /// `minReadySeconds` of the template.
    public var minReadySeconds: Int
    /// The initial `spec.replicas`.
    public var replicas: Int

    /// Makes a request; see the properties.
    public init(
        template: String, name: String, podTemplateHash: String, podTemplate: PodTemplateSpec, minReadySeconds: Int,
        replicas: Int
    ) {
        self.template = template
        self.name = name
        self.podTemplateHash = podTemplateHash
        self.podTemplate = podTemplate
        self.minReadySeconds = minReadySeconds
        self.replicas = replicas
    }
}

/// The Service of one experiment template: it selects the template's pods.
public struct ExperimentServiceRequest: Sendable, Equatable {
    /// The template's name.
    public var template: String
    /// `service.name`, or the ReplicaSet's name.
    public var name: String
    /// The first container port of the template.
    public var port: Int
    /// The template's pod labels and its pod-template hash.
    public var selector: [String: String]
    /// The name of that container port (`grpc`, `h2c-api`...), which says what the pods speak.
    public var portName: String?

    /// Makes a request; see the properties.
    public init(template: String, name: String, port: Int, selector: [String: String], portName: String? = nil) {
        self.template = template
        self.name = name
        self.port = port
        self.selector = selector
        self.portName = portName
    }
}

/// An AnalysisRun of an experiment.
public struct ExperimentAnalysisRunRequest: Sendable, Equatable {
    /// `<experiment>-<analysis>` (`.1`, `.2`… when a finished run holds the name, after `retry`).
    public var name: String
    /// The analysis's name in the experiment.
    public var analysis: String
    /// The template to run.
    public var template: AnalysisTemplateRef
    /// The analysis's arguments, `{{templates.…}}` and `{{experiment.…}}` values resolved.
    public var args: [Argument]
    /// Labels: `experiment` (the owner, for the executor) and `analysisRunMetadata.labels`.
    public var labels: [String: String]
    /// `analysisRunMetadata.annotations`.
    public var annotations: [String: String]
    /// The experiment's `dryRun`.
    public var dryRun: [DryRun]
    /// The experiment's `measurementRetention`.
    public var measurementRetention: [MeasurementRetention]

    /// Makes a request; see the properties.
    public init(
        name: String, analysis: String, template: AnalysisTemplateRef, args: [Argument], labels: [String: String],
        annotations: [String: String] = [:], dryRun: [DryRun] = [], measurementRetention: [MeasurementRetention] = []
    ) {
        self.name = name
        self.analysis = analysis
        self.template = template
        self.args = args
        self.labels = labels
        self.annotations = annotations
        self.dryRun = dryRun
        self.measurementRetention = measurementRetention
    }
}

/// What the platform and the store hold for one experiment, read once per reconcile.
public struct ObservedExperiment: Sendable, Equatable {
    /// The templates' ReplicaSets, by template name.
    public var replicaSets: [String: ObservedTemplateReplicaSet]
    /// The names of the Services of its templates that exist.
    public var services: Set<String>
    /// The AnalysisRuns in the experiment's namespace that it may own, by name.
    public var analysisRuns: [String: ObservedAnalysisRun]
    /// Analyses whose template is not there, with why (`analysis name: message`).
    public var missingTemplates: [String: String]

    /// Makes an observed state; everything defaults to empty.
    public init(
        replicaSets: [String: ObservedTemplateReplicaSet] = [:], services: Set<String> = [],
        analysisRuns: [String: ObservedAnalysisRun] = [:], missingTemplates: [String: String] = [:]
    ) {
        self.replicaSets = replicaSets
        self.services = services
        self.analysisRuns = analysisRuns
        self.missingTemplates = missingTemplates
    }
}

/// The ReplicaSet of one experiment template as the platform sees it.
public struct ObservedTemplateReplicaSet: Sendable, Equatable {
    /// The `rollouts-pod-template-hash` label.
    public var podTemplateHash: String
    /// `spec.replicas`.
    public var replicas: Int
    /// Pods that exist.
    public var pods: Int
    /// Ready pods.
    public var readyReplicas: Int
    /// Pods ready for at least `minReadySeconds`.
    public var availableReplicas: Int
    /// The `scale-down-deadline` annotation.
    public var scaleDownDeadline: Date?

    /// Makes an observed ReplicaSet.
    public init(
        podTemplateHash: String, replicas: Int, pods: Int, readyReplicas: Int, availableReplicas: Int,
        scaleDownDeadline: Date? = nil
    ) {
        self.podTemplateHash = podTemplateHash
        self.replicas = replicas
        self.pods = pods
        self.readyReplicas = readyReplicas
        self.availableReplicas = availableReplicas
        self.scaleDownDeadline = scaleDownDeadline
    }
}

/// What one reconcile of an experiment decided.
public struct ExperimentResult: Sendable, Equatable {
    /// Changes to make, in order.
    public var actions: [ExperimentAction]
    /// The experiment's new status.
    public var status: ExperimentStatus
    /// When to look again without an outside change (duration, progress deadline, scale-down delay).
    public var requeueAfter: Double?

    /// Makes a result; see the properties.
    public init(actions: [ExperimentAction], status: ExperimentStatus, requeueAfter: Double?) {
        self.actions = actions
        self.status = status
        self.requeueAfter = requeueAfter
    }
}
