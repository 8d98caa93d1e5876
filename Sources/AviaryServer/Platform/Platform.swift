import AviaryLocal
import AviaryStore
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
    /// Applies a Service unless the platform has it as it is, keeping the value of the selector
    /// label `pinnedLabel` the existing one has (a rollout pins Services to a revision); returns
    /// the Service's change stamp afterwards. One call per Service reconcile.
    func converge(_ service: LocalService, keepingSelectorLabel pinnedLabel: String) throws -> Int?
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
    /// A number that grows whenever anything a reconcile of the rollout observes on the platform
    /// changes (its ReplicaSets, their pods, the Services and splits); nil when the platform does
    /// not track changes, so the controller never skips the rollout's reconcile.
    func changeStamp(ofRollout rollout: String, namespace: String) -> Int?
    /// A number that grows whenever the Service changes on the platform; nil when the platform
    /// does not track changes or has no such Service.
    func changeStamp(ofService name: String) -> Int?
    /// The change stamps of several Rollouts and Services (by their keys) in one call; a key
    /// whose stamp is nil is left out.
    func changeStamps(of keys: [ResourceKey]) -> [ResourceKey: Int]
    /// Everything one reconcile of a rollout reads from the platform, in one call (one actor hop
    /// instead of one per ReplicaSet and Service).
    func observe(rollout: String, namespace: String, rootService: String?, services: [String]) -> RolloutObservation
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

    /// Composed of the single calls.
    public func converge(_ service: LocalService, keepingSelectorLabel pinnedLabel: String) throws -> Int? {
        var service = service
        let existing = self.service(service.name)
        if let pinned = existing?.selector[pinnedLabel] { service.selector[pinnedLabel] = pinned }
        if existing != service { try apply(service) }
        // Read after the apply: the stamp then covers this reconcile's own change.
        return changeStamp(ofService: service.name)
    }

    /// Composed of the single reads.
    public func changeStamps(of keys: [ResourceKey]) -> [ResourceKey: Int] {
        var stamps: [ResourceKey: Int] = [:]
        for key in keys {
            switch key.kind {
            case "Rollout": stamps[key] = changeStamp(ofRollout: key.name, namespace: key.namespace)
            case "Service": stamps[key] = changeStamp(ofService: key.name)
            default: break
            }
        }
        return stamps
    }

    /// Composed of the single reads.
    public func observe(
        rollout: String, namespace: String, rootService: String?, services: [String]
    ) -> RolloutObservation {
        var selectors: [String: String] = [:]
        for name in services {
            if let hash = service(name)?.selector[podTemplateHashLabel] { selectors[name] = hash }
        }
        return RolloutObservation(
            changeStamp: changeStamp(ofRollout: rollout, namespace: namespace),
            replicaSets: replicaSets(ofRollout: rollout, namespace: namespace).map { ($0, counts(of: $0.name)) },
            split: rootService.flatMap { split(rootService: $0) }, serviceSelectors: selectors)
    }

    /// Not tracked: pods' readiness changes behind the controller's back (it is told through the
    /// change handler), so every resync reconciles every rollout.
    public func changeStamp(ofRollout rollout: String, namespace: String) -> Int? { nil }

    /// Not tracked.
    public func changeStamp(ofService name: String) -> Int? { nil }
}

extension LocalPlatform: Platform {}

/// What one reconcile of a rollout reads from the platform (`Platform.observe(rollout:...)`).
public struct RolloutObservation: Sendable {
    /// `changeStamp(ofRollout:namespace:)`, read with the rest.
    public var changeStamp: Int?
    /// The rollout's ReplicaSets, sorted by name, with their pods' counts.
    public var replicaSets: [(replicaSet: LocalReplicaSet, counts: ReplicaSetCounts)]
    /// The split of the rollout's SMI root service.
    public var split: TrafficSplit?
    /// The pod-template hash each of the asked-for Services is pinned to, by Service name.
    public var serviceSelectors: [String: String]

    /// Creates an observation.
    public init(
        changeStamp: Int?, replicaSets: [(replicaSet: LocalReplicaSet, counts: ReplicaSetCounts)],
        split: TrafficSplit?, serviceSelectors: [String: String]
    ) {
        self.changeStamp = changeStamp
        self.replicaSets = replicaSets
        self.split = split
        self.serviceSelectors = serviceSelectors
    }
}
