import AviaryJSON
import AviaryMeta

/// A label selector: every `matchLabels` pair and every expression must hold.
public struct LabelSelector: Codable, Sendable, Hashable {
    /// Labels that must all be present with these values.
    public var matchLabels: [String: String]?
    /// Set-based requirements.
    public var matchExpressions: [LabelSelectorRequirement]?

    /// A selector matching the given labels.
    public init(matchLabels: [String: String]? = nil, matchExpressions: [LabelSelectorRequirement]? = nil) {
        self.matchLabels = matchLabels
        self.matchExpressions = matchExpressions
    }

    /// Whether `labels` satisfy the selector. An empty selector matches everything, as in Kubernetes.
    public func matches(_ labels: [String: String]) -> Bool {
        for (key, value) in matchLabels ?? [:] where labels[key] != value {
            return false
        }
        for requirement in matchExpressions ?? [] where !requirement.matches(labels) {
            return false
        }
        return true
    }
}

/// One set-based selector requirement: `key In (a, b)`, `key NotIn (...)`, `key Exists`, `key DoesNotExist`.
public struct LabelSelectorRequirement: Codable, Sendable, Hashable {
    /// The label key.
    public var key: String
    /// `In`, `NotIn`, `Exists` or `DoesNotExist`.
    public var `operator`: String
    /// The values for `In` and `NotIn`.
    public var values: [String]?

    /// A requirement on `key`.
    public init(key: String, operator: String, values: [String]? = nil) {
        self.key = key
        self.operator = `operator`
        self.values = values
    }

    /// Whether `labels` satisfy the requirement; an unknown operator matches nothing.
    public func matches(_ labels: [String: String]) -> Bool {
        switch `operator` {
        case "In": labels[key].map { (values ?? []).contains($0) } ?? false
        case "NotIn": labels[key].map { !(values ?? []).contains($0) } ?? true
        case "Exists": labels[key] != nil
        case "DoesNotExist": labels[key] == nil
        default: false
        }
    }
}

/// Labels and annotations added to pods or runs (`canaryMetadata`, `analysisRunMetadata`, ...).
public struct PodTemplateMetadata: Codable, Sendable, Hashable {
    /// Labels to add.
    public var labels: [String: String]?
    /// Annotations to add.
    public var annotations: [String: String]?

    /// Metadata with the given labels and annotations.
    public init(labels: [String: String]? = nil, annotations: [String: String]? = nil) {
        self.labels = labels
        self.annotations = annotations
    }
}

/// The metadata attached to AnalysisRuns a Rollout creates (Argo's `AnalysisRunMetadata`).
public typealias AnalysisRunMetadata = PodTemplateMetadata

extension ObjectMeta {
    /// The name of the Rollout among the owner references (an experiment step's Experiment, a
    /// rollout's ReplicaSet), if any.
    public var owningRollout: String? {
        ownerReferences?.first { $0.kind == "Rollout" }?.name
    }
}
