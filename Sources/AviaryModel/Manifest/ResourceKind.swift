/// A kind of resource Aviary reads, named by its manifest `kind` (the raw value).
///
/// Every place that stores, looks up or routes a resource by kind takes one of these, so a kind
/// is spelled once; the raw value is what manifests, the store and the API carry.
public enum ResourceKind: String, Sendable, Hashable, Codable, CaseIterable, Comparable, CustomStringConvertible {
    case rollout = "Rollout"
    case analysisTemplate = "AnalysisTemplate"
    case clusterAnalysisTemplate = "ClusterAnalysisTemplate"
    case analysisRun = "AnalysisRun"
    case experiment = "Experiment"
    case service = "Service"
    case configMap = "ConfigMap"
    case secret = "Secret"
    case deployment = "Deployment"
    case replicaSet = "ReplicaSet"
    case podTemplate = "PodTemplate"

    /// The `apiVersion` a manifest of this kind has.
    public var apiVersion: String {
        switch self {
        case .rollout, .analysisTemplate, .clusterAnalysisTemplate, .analysisRun, .experiment: argoAPIVersion
        case .service, .configMap, .secret, .podTemplate: "v1"
        case .deployment, .replicaSet: "apps/v1"
        }
    }

    /// The lowercase plural that URLs and `kubectl` use (`rollouts`).
    public var plural: String { rawValue.lowercased() + "s" }

    /// Whether a resource of this kind lives outside any namespace.
    public var isClusterScoped: Bool { self == .clusterAnalysisTemplate }

    /// Whether a Rollout's `workloadRef` may name it.
    public var isWorkload: Bool { self == .deployment || self == .replicaSet || self == .podTemplate }

    /// Whether its body sits beside `metadata` (`data`, `type`, `template`) rather than under `spec`.
    public var hasTopLevelBody: Bool { self == .configMap || self == .secret || self == .podTemplate }

    /// The kind a plural or singular name stands for, in any case (`rollouts`, `Rollout`), or nil.
    public init?(urlName: String) {
        let lowered = urlName.lowercased()
        guard let kind = Self.allCases.first(where: { $0.plural == lowered || $0.plural == lowered + "s" }) else {
            return nil
        }
        self = kind
    }

    public var description: String { rawValue }

    public static func < (lhs: ResourceKind, rhs: ResourceKind) -> Bool { lhs.rawValue < rhs.rawValue }
}
