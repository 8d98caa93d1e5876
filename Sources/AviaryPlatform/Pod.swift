import Foundation

/// A pod as the API shows it: where it runs, its labels and its health.
public struct Pod: Sendable, Equatable {
    /// `<replicaSet>-<suffix>`.
    public var name: String
    /// The namespace of its ReplicaSet.
    public var namespace: String
    /// The owning ReplicaSet's name.
    public var replicaSet: String
    /// The owning rollout's name.
    public var rollout: String
    /// Its labels.
    public var labels: [String: String]
    /// Its first container's image.
    public var image: String
    /// `host:port` it serves on.
    public var address: String
    /// The port it serves on.
    public var port: Int
    /// The ID of its process, where the platform runs pods as processes and it runs now.
    public var processID: Int32?
    /// Whether its readiness says ready.
    public var isReady: Bool
    /// How many times it was restarted.
    public var restarts: Int
    /// How its last run ended (`exit 1`, `signal 9`, or why it could not start).
    public var lastTermination: String?
    /// When it was created.
    public var createdAt: Date

    /// Creates a pod.
    public init(
        name: String, namespace: String, replicaSet: String, rollout: String, labels: [String: String],
        image: String, address: String, port: Int, processID: Int32?, isReady: Bool, restarts: Int,
        lastTermination: String?, createdAt: Date
    ) {
        self.name = name
        self.namespace = namespace
        self.replicaSet = replicaSet
        self.rollout = rollout
        self.labels = labels
        self.image = image
        self.address = address
        self.port = port
        self.processID = processID
        self.isReady = isReady
        self.restarts = restarts
        self.lastTermination = lastTermination
        self.createdAt = createdAt
    }

    /// Its key.
    public var key: NamespacedName { NamespacedName(namespace: namespace, name: name) }
}
