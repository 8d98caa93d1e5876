import Foundation

/// A ReplicaSet as `GET /api/v1/replicasets` sends it and `get rollout` draws it.
public struct ReplicaSetView: Codable, Sendable, Hashable {
    /// `<rollout>-<podTemplateHash>`.
    public var name: String
    /// Its namespace.
    public var namespace: String
    /// The rollout that owns it.
    public var rollout: String
    /// The `rollouts-pod-template-hash`.
    public var podTemplateHash: String
    /// The `rollout.argoproj.io/revision`.
    public var revision: Int
    /// Pods it should have.
    public var replicas: Int
    /// Pods that are ready.
    public var readyReplicas: Int
    /// Pods ready for `minReadySeconds`.
    public var availableReplicas: Int
    /// The images of its containers, in order.
    public var images: [String]
    /// When it was created.
    public var createdAt: Date
    /// When it is due to be scaled to 0, if it is waiting for that; absent otherwise.
    public var scaleDownDeadline: Date?
    /// The experiment that owns it (then `rollout` is empty); absent for a rollout's.
    public var experiment: String?

    /// Creates a ReplicaSet view.
    public init(
        name: String, namespace: String, rollout: String, podTemplateHash: String, revision: Int, replicas: Int,
        readyReplicas: Int, availableReplicas: Int, images: [String], createdAt: Date, scaleDownDeadline: Date? = nil,
        experiment: String? = nil
    ) {
        self.experiment = experiment
        self.name = name
        self.namespace = namespace
        self.rollout = rollout
        self.podTemplateHash = podTemplateHash
        self.revision = revision
        self.replicas = replicas
        self.readyReplicas = readyReplicas
        self.availableReplicas = availableReplicas
        self.images = images
        self.createdAt = createdAt
        self.scaleDownDeadline = scaleDownDeadline
    }
}

/// `GET /api/v1/replicasets`.
public struct ReplicaSetList: Codable, Sendable, Equatable {
    /// The ReplicaSets.
    public var replicaSets: [ReplicaSetView]

    /// Creates a list.
    public init(replicaSets: [ReplicaSetView]) {
        self.replicaSets = replicaSets
    }
}

/// A pod as `GET /api/v1/pods` sends it and `get rollout` draws it.
public struct PodView: Codable, Sendable, Hashable {
    /// The pod's name.
    public var name: String
    /// Its namespace.
    public var namespace: String
    /// Its ReplicaSet's name.
    public var replicaSet: String
    /// The rollout that owns it.
    public var rollout: String
    /// Its labels (the pod template's and `rollouts-pod-template-hash`).
    public var labels: [String: String]
    /// The port its process listens on (`PORT`).
    public var port: Int
    /// Its container's image.
    public var image: String
    /// Whether its readiness probe passes.
    public var ready: Bool
    /// How many times its process was started again.
    public var restarts: Int
    /// When it was created.
    public var createdAt: Date
    /// Where the router sends its traffic (`127.0.0.1:PORT`).
    public var address: String
    /// The host it runs on.
    public var node: String
    /// Its process's ID while it runs; absent otherwise.
    public var pid: Int?
    /// How its last process ended, if one did; absent otherwise.
    public var lastTermination: String?
    /// The Kubernetes pod phase (`Pending`, `Running`, `Succeeded`, `Failed`) on a cluster; absent on
    /// the local platform, where `pid` says whether it runs.
    public var phase: String?

    /// Whether its process runs.
    public var isRunning: Bool { pid != nil || phase == "Running" }

    /// Creates a pod view.
    public init(
        name: String, namespace: String, replicaSet: String, rollout: String, labels: [String: String], port: Int,
        image: String, ready: Bool, restarts: Int, createdAt: Date, address: String, node: String, pid: Int? = nil,
        lastTermination: String? = nil, phase: String? = nil
    ) {
        self.name = name
        self.namespace = namespace
        self.replicaSet = replicaSet
        self.rollout = rollout
        self.labels = labels
        self.port = port
        self.image = image
        self.ready = ready
        self.restarts = restarts
        self.createdAt = createdAt
        self.address = address
        self.node = node
        self.pid = pid
        self.lastTermination = lastTermination
        self.phase = phase
    }
}

/// `GET /api/v1/pods`.
public struct PodList: Codable, Sendable, Equatable {
    /// The pods.
    public var pods: [PodView]

    /// Creates a list.
    public init(pods: [PodView]) {
        self.pods = pods
    }
}

/// A Service as the platform serves it (`GET /api/v1/endpoints`): where it listens and the ready
/// pods it sends traffic to, as `aviary list services` shows it.
public struct ServiceEndpointsView: Codable, Sendable, Hashable {
    /// The Service's name.
    public var name: String
    /// Its namespace.
    public var namespace: String
    /// Where it listens, `ADDRESS:PORT` (its own loopback address when its port is taken on the shared one).
    public var listener: String
    /// Its selector, `rollouts-pod-template-hash` included when a rollout pinned it.
    public var selector: [String: String]
    /// The addresses of the ready pods it selects, sorted.
    public var endpoints: [String]

    /// Creates a view.
    public init(name: String, namespace: String, listener: String, selector: [String: String], endpoints: [String]) {
        self.name = name
        self.namespace = namespace
        self.listener = listener
        self.selector = selector
        self.endpoints = endpoints
    }
}

/// `GET /api/v1/endpoints`.
public struct ServiceEndpointsList: Codable, Sendable, Equatable {
    /// The Services, sorted by namespace and name.
    public var services: [ServiceEndpointsView]

    /// Creates a list.
    public init(services: [ServiceEndpointsView]) {
        self.services = services
    }
}
