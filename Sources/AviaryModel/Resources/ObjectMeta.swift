import AviaryJSON

/// Kubernetes object metadata: the fields Aviary reads, plus the ones clusters add so that
/// a manifest exported from a cluster decodes without warnings.
public struct ObjectMeta: Codable, Sendable, Hashable {
    /// The object's name, unique per kind and namespace.
    public var name: String?
    /// A prefix from which the server makes a unique name when `name` is empty.
    public var generateName: String?
    /// The namespace; absent means `default` (see `namespaceOrDefault`).
    public var namespace: String?
    /// Labels, used by selectors.
    public var labels: [String: String]?
    /// Annotations, free-form metadata.
    public var annotations: [String: String]?
    /// Bumped on every spec change.
    public var generation: Int?
    /// The server-assigned unique id.
    public var uid: String?
    /// The server's optimistic-concurrency version.
    public var resourceVersion: String?
    /// When the object was created (RFC 3339).
    public var creationTimestamp: String?
    /// When deletion was requested (RFC 3339).
    public var deletionTimestamp: String?
    /// Objects that own this one, kept opaque.
    public var ownerReferences: [JSONValue]?
    /// Finalizers that block deletion.
    public var finalizers: [String]?
    /// Server-side apply bookkeeping, kept opaque.
    public var managedFields: [JSONValue]?

    /// Metadata with the given name, namespace and labels.
    public init(
        name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil,
        annotations: [String: String]? = nil, generation: Int? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
        self.generation = generation
    }

    /// The namespace, `default` when absent or empty.
    public var namespaceOrDefault: String {
        guard let namespace, !namespace.isEmpty else { return "default" }
        return namespace
    }
}

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
        for reference in ownerReferences ?? [] {
            guard case .object(let fields) = reference, fields["kind"] == .string("Rollout"),
                case .string(let name)? = fields["name"]
            else { continue }
            return name
        }
        return nil
    }
}
