import Foundation

/// The `metadata` of a Kubernetes object (the fields controllers read and write).
public struct ObjectMeta: Codable, Sendable, Hashable {
    /// The object's name, unique within its namespace and resource.
    public var name: String?
    /// A prefix the server completes into a unique name on create when `name` is empty.
    public var generateName: String?
    /// The namespace; nil for cluster-scoped objects.
    public var namespace: String?
    /// The server-assigned unique id of this incarnation of the object.
    public var uid: String?
    /// The opaque version the server uses for optimistic concurrency and watches.
    public var resourceVersion: String?
    /// The spec's generation, bumped by the server when the spec changes.
    public var generation: Int64?
    /// Labels.
    public var labels: [String: String]?
    /// Annotations.
    public var annotations: [String: String]?
    /// The objects that own this one (garbage collection and informer indexing by owner).
    public var ownerReferences: [OwnerReference]?
    /// Finalizers that hold deletion.
    public var finalizers: [String]?
    /// When the object was created (RFC 3339).
    public var creationTimestamp: String?
    /// When deletion was requested (RFC 3339); set while finalizers hold the object.
    public var deletionTimestamp: String?

    /// Metadata with the given name and namespace.
    public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
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
    /// The owner's uid.
    public var uid: String
    /// Whether the owner is the managing controller.
    public var controller: Bool?
    /// Whether deletion of the owner waits for this object (foreground deletion).
    public var blockOwnerDeletion: Bool?

    /// An owner reference.
    public init(
        apiVersion: String, kind: String, name: String, uid: String, controller: Bool? = nil,
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

/// The `metadata` of a list response.
public struct ListMeta: Codable, Sendable, Hashable {
    /// The version of the collection when it was read; a watch starts from it.
    public var resourceVersion: String?
    /// The token of the next page, empty or nil on the last page.
    public var `continue`: String?
    /// The server's estimate of the items not yet returned.
    public var remainingItemCount: Int64?
}

/// The `Status` object the API server sends with an error (and for some successful deletes).
public struct Status: Codable, Sendable, Hashable {
    /// `Failure` or `Success`.
    public var status: String?
    /// A human-readable description.
    public var message: String?
    /// A machine-readable reason, for example `NotFound`, `Conflict`, `Expired`, `TooManyRequests`.
    public var reason: String?
    /// The HTTP status code the error corresponds to.
    public var code: Int?
    /// Extra detail, for example `retryAfterSeconds`.
    public var details: StatusDetails?

    /// A status.
    public init(status: String? = nil, message: String? = nil, reason: String? = nil, code: Int? = nil) {
        self.status = status
        self.message = message
        self.reason = reason
        self.code = code
    }
}

/// `Status.details`.
public struct StatusDetails: Codable, Sendable, Hashable {
    /// The name of the object concerned.
    public var name: String?
    /// The kind of the object concerned.
    public var kind: String?
    /// How long the client should wait before retrying.
    public var retryAfterSeconds: Int?
}
