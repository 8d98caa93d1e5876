import AviaryJSON

/// The `metadata` of a Kubernetes-shaped object: Argo's resources in a manifest and in Aviary's
/// store, and the objects the Kubernetes client reads and writes. One type for both, as
/// apimachinery's `ObjectMeta` is one type for every kind: the fields Aviary reads and the ones
/// servers add, so that an object exported from a cluster decodes whole.
public struct ObjectMeta: Codable, Sendable, Hashable {
    /// The object's name, unique per kind and namespace.
    public var name: String?
    /// A prefix from which the server makes a unique name when `name` is empty.
    public var generateName: String?
    /// The namespace; absent means `default` for a namespaced kind (see `namespaceOrDefault`),
    /// and nothing for a cluster-scoped one.
    public var namespace: String?
    /// Labels, used by selectors.
    public var labels: [String: String]?
    /// Annotations, free-form metadata.
    public var annotations: [String: String]?
    /// The spec's generation, bumped by the server on every spec change.
    public var generation: Int?
    /// The server-assigned unique id of this incarnation of the object.
    public var uid: String?
    /// The opaque version the server uses for optimistic concurrency and watches.
    public var resourceVersion: String?
    /// When the object was created (RFC 3339).
    public var creationTimestamp: String?
    /// When deletion was requested (RFC 3339); set while finalizers hold the object.
    public var deletionTimestamp: String?
    /// The objects that own this one (garbage collection, and finding an object's owner).
    public var ownerReferences: [OwnerReference]?
    /// Finalizers that hold deletion.
    public var finalizers: [String]?
    /// Server-side apply's bookkeeping, kept opaque (informers drop it before decoding).
    public var managedFields: [JSONValue]?

    /// Metadata with the given name, namespace, labels, annotations and generation.
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

/// One entry of `metadata.ownerReferences`.
public struct OwnerReference: Codable, Sendable, Hashable {
    /// The owner's `apiVersion`, for example `argoproj.io/v1alpha1`.
    public var apiVersion: String
    /// The owner's kind, for example `Rollout`.
    public var kind: String
    /// The owner's name.
    public var name: String
    /// The owner's uid. A server requires it; Aviary leaves it out only while the owner's is not
    /// known yet (the Experiment a rollout's step asks for, before the controller creates it).
    public var uid: String?
    /// Whether the owner is the managing controller.
    public var controller: Bool?
    /// Whether deletion of the owner waits for this object (foreground deletion).
    public var blockOwnerDeletion: Bool?

    /// An owner reference.
    public init(
        apiVersion: String, kind: String, name: String, uid: String?, controller: Bool? = nil,
        blockOwnerDeletion: Bool? = nil
    ) {
        self.apiVersion = apiVersion
        self.kind = kind
        self.name = name
        self.uid = uid
        self.controller = controller
        self.blockOwnerDeletion = blockOwnerDeletion
    }
}
