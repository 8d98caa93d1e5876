import AviaryKubernetes

extension GroupVersionResource {
    /// Argo's `AnalysisTemplate`.
    static let analysisTemplates = GroupVersionResource(
        group: "argoproj.io", version: "v1alpha1", resource: "analysistemplates")
    /// Argo's cluster-scoped `ClusterAnalysisTemplate`.
    static let clusterAnalysisTemplates = GroupVersionResource(
        group: "argoproj.io", version: "v1alpha1", resource: "clusteranalysistemplates")
    /// Argo's `AnalysisRun`.
    static let analysisRuns = GroupVersionResource(group: "argoproj.io", version: "v1alpha1", resource: "analysisruns")
    /// Argo's `Experiment`.
    static let experiments = GroupVersionResource(group: "argoproj.io", version: "v1alpha1", resource: "experiments")
    /// Core events.
    static let events = GroupVersionResource(group: "", version: "v1", resource: "events")
    /// SMI's `TrafficSplit` in `version` (v1alpha1 ... v1alpha4).
    static func trafficSplits(version: String) -> GroupVersionResource {
        GroupVersionResource(group: "split.smi-spec.io", version: version, resource: "trafficsplits")
    }
}

/// The names Argo's controller writes on objects, so Argo's plugin, dashboard and controller read them.
enum ArgoNames {
    /// On ReplicaSets: the rollout revision they run.
    static let revisionAnnotation = "rollout.argoproj.io/revision"
    /// On ReplicaSets: the rollout's `spec.replicas` when they were last scaled.
    static let desiredReplicasAnnotation = "rollout.argoproj.io/desired-replicas"
    /// On ReplicaSets: when an old ReplicaSet is due to be scaled to 0 (RFC 3339).
    static let scaleDownDeadlineAnnotation = "scale-down-deadline"
    /// On ReplicaSets: the `canaryMetadata`/`stableMetadata` their pods carry now.
    static let ephemeralMetadataAnnotation = "rollout.argoproj.io/ephemeral-metadata"
    /// On Services whose selector a rollout pins: the rollout's name.
    static let managedByRolloutsAnnotation = "argo-rollouts.argoproj.io/managed-by-rollouts"
    /// On Rollouts (and what they create): which controller instance handles them (`--instance-id`).
    static let controllerInstanceLabel = "argo-rollouts.argoproj.io/controller-instance"
    /// Aviary's record of the header and mirror routes a TrafficSplit's rollout set (SMI has no
    /// header routing, so these are kept for the reconciler, not served by the mesh).
    static let managedRoutesAnnotation = "rollouts.aviary.dev/managed-routes"
    /// On an experiment's ReplicaSets and Services: the experiment's name.
    static let experimentNameAnnotation = "experiment.argoproj.io/name"
    /// On an experiment's ReplicaSets and Services: the template's name.
    static let experimentTemplateAnnotation = "experiment.argoproj.io/template-name"
    /// The component name on events, Argo's.
    static let eventSource = "rollouts-controller"

    /// The label selector of the Rollouts (and AnalysisRuns) one controller instance handles: with an
    /// instance id those labelled with it, without one those with no instance label (Argo's rule).
    static func instanceSelector(_ instanceID: String?) -> String {
        instanceID.map { "\(controllerInstanceLabel)=\($0)" } ?? "!\(controllerInstanceLabel)"
    }
}
