import AviaryLocal
import Foundation

/// What the controller and the API need from the platform that runs rollouts: ReplicaSets and
/// their pods' readiness, Service selectors, traffic splits (weights, header and mirror routes),
/// pod logs and Prometheus service discovery.
///
/// It lives in AviaryServer rather than AviaryCore because it speaks in the local platform's value
/// types (`LocalReplicaSet`, `LocalService`, `TrafficSplit`, `PodRecord`), which live in
/// AviaryLocal; moving them down to the core is for when a second real platform (Kubernetes)
/// needs them. Two platforms conform: `LocalPlatform` (pods are processes, Services are router
/// listeners) and `SimulatedPlatform` (pods are ready at once, nothing runs; for scale benchmarks
/// and tests).
public protocol Platform: Actor {
    // MARK: Desired state

    /// Creates or replaces a ReplicaSet.
    func apply(_ replicaSet: LocalReplicaSet) throws
    /// Scales a ReplicaSet; false if there is none with that name.
    @discardableResult
    func scale(replicaSet name: String, to replicas: Int) throws -> Bool
    /// Changes a ReplicaSet's count or annotations; false if there is none with that name.
    @discardableResult
    func update(replicaSet name: String, _ change: (inout LocalReplicaSet) -> Void) throws -> Bool
    /// Sets the labels that follow a ReplicaSet's role (`canaryMetadata`/`stableMetadata`) on it and its pods.
    func setRoleLabels(replicaSet name: String, _ labels: [String: String]) throws
    /// Evicts pods of a ReplicaSet created before `before`, at most `maxUnavailable` (at least 1)
    /// unavailable at a time; returns how many were evicted.
    @discardableResult
    func restartPods(replicaSet name: String, before: Date, maxUnavailable: Int) throws -> Int
    /// Removes a ReplicaSet and its pods.
    func deleteReplicaSet(_ name: String) throws
    /// Creates or updates a Service (its selector included).
    func apply(_ service: LocalService) throws
    /// Removes a Service.
    func deleteService(_ name: String) throws
    /// Sets the split of a root service (weight, header and mirror routes).
    func apply(_ split: TrafficSplit) throws
    /// Removes the split of a root service.
    func deleteSplit(rootService: String) throws
    /// Makes the splits and selectors just set live in the data plane; false when it did not take them.
    @discardableResult
    func publishRoutes() async -> Bool

    // MARK: Observed state

    /// All ReplicaSets, sorted by name.
    func replicaSets() -> [LocalReplicaSet]
    /// The ReplicaSets of one rollout, sorted by name (what a reconcile observes; a platform with
    /// many rollouts answers from an index instead of filtering them all).
    func replicaSets(ofRollout rollout: String, namespace: String) -> [LocalReplicaSet]
    /// The split of one root service.
    func split(rootService: String) -> TrafficSplit?
    /// All pods, sorted by name.
    func pods() -> [PodRecord]
    /// A service by name.
    func service(_ name: String) -> LocalService?
    /// The splits of root services, sorted by root service.
    func splits() -> [TrafficSplit]
    /// How many pods of a ReplicaSet exist, are ready and are available.
    func counts(of replicaSet: String) -> ReplicaSetCounts
    /// The Prometheus `http_sd_configs` payload for the ready pods.
    func serviceDiscoveryJSON() -> Data
    /// The path of a pod's log file.
    func logPath(of pod: String) -> String

    // MARK: Running

    /// Sets what is called when pods change readiness, start or stop (the controller requeues).
    func setChangeHandler(_ handler: @escaping @Sendable () -> Void)
    /// Converges until the task is cancelled.
    func run(tickInterval: Duration) async
    /// Stops every pod (daemon shutdown); the desired state is kept.
    func stopAllPods(grace: Double) async
}

extension Platform {
    /// Filters `replicaSets()`: enough for one host's worth of processes.
    public func replicaSets(ofRollout rollout: String, namespace: String) -> [LocalReplicaSet] {
        replicaSets().filter { $0.rollout == rollout && $0.namespace == namespace }
    }

    /// Searches `splits()`.
    public func split(rootService: String) -> TrafficSplit? {
        splits().first { $0.rootService == rootService }
    }
}

extension LocalPlatform: Platform {}
