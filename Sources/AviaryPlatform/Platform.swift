import Foundation

/// The ReplicaSets of rollouts and the counts of their pods. Writes are `async`: the local
/// platform carries them out at once, the Kubernetes platform sends them to the API server.
public protocol ReplicaSetControl: Actor {
    /// Creates or replaces a ReplicaSet.
    func apply(_ replicaSet: ReplicaSet) async throws
    /// Scales a ReplicaSet; false if there is none with that key.
    @discardableResult
    func scale(replicaSet: NamespacedName, to replicas: Int) async throws -> Bool
    /// Changes a ReplicaSet's count or annotations; false if there is none with that key.
    @discardableResult
    func update(replicaSet: NamespacedName, _ change: (inout ReplicaSet) -> Void) async throws -> Bool
    /// Sets the labels that follow a ReplicaSet's role (`canaryMetadata`/`stableMetadata`) on it and its pods.
    func setRoleLabels(replicaSet: NamespacedName, _ labels: [String: String]) async throws
    /// Evicts pods of a ReplicaSet created before `before`, at most `maxUnavailable` (at least 1)
    /// unavailable at a time; returns how many were evicted.
    @discardableResult
    func restartPods(replicaSet: NamespacedName, before: Date, maxUnavailable: Int) async throws -> Int
    /// Removes a ReplicaSet and its pods.
    func deleteReplicaSet(_ replicaSet: NamespacedName) async throws
    /// All ReplicaSets, sorted by name.
    func replicaSets() -> [ReplicaSet]
    /// The ReplicaSets of one rollout, sorted by name (what a reconcile observes; a platform with
    /// many rollouts answers from an index instead of filtering them all).
    func replicaSets(ofRollout rollout: String, namespace: String) -> [ReplicaSet]
    /// How many pods of a ReplicaSet exist, are ready and are available.
    func counts(of replicaSet: NamespacedName) -> ReplicaSetCounts
    /// Takes the anti-affinity term the platform injected for `antiAffinity` (pods avoiding the
    /// nodes of the then-stable ReplicaSet) out of a ReplicaSet's pod template, once that
    /// ReplicaSet is itself stable and has nothing to avoid; the template's own terms stay.
    /// Nothing when there is no such term.
    func removeInjectedAntiAffinity(replicaSet: NamespacedName) async throws
}

/// Services: where they listen and which pods they select.
public protocol ServiceControl: Actor {
    /// Creates or updates a Service (its selector included).
    func apply(_ service: PlatformService) async throws
    /// Removes a Service.
    func deleteService(_ service: NamespacedName) async throws
    /// A Service by key.
    func service(_ service: NamespacedName) -> PlatformService?
    /// All Services as the platform has them (with the address each listens on), sorted by
    /// namespace and name.
    func services() -> [PlatformService]
}

/// Traffic splits of root services (weight, header and mirror routes) and the data plane that serves them.
public protocol TrafficControl: Actor {
    /// Sets the split of a root service.
    func apply(_ split: TrafficSplit) async throws
    /// Removes the split of a root service.
    func deleteSplit(rootService: NamespacedName) async throws
    /// The split of one root service.
    func split(rootService: NamespacedName) -> TrafficSplit?
    /// The splits of root services, sorted by root service.
    func splits() -> [TrafficSplit]
    /// Makes the splits and selectors just set live in the data plane; false when it did not take them.
    @discardableResult
    func publishRoutes() async -> Bool
    /// Whether the router confirms it serves the split of a root service as last applied
    /// (`status.canary.weights.verified`; nil when the router cannot say), with what it looked at.
    func verifyWeights(rootService: NamespacedName) async -> WeightVerification
    /// Whether this platform checks that a Service's pods are registered in AWS target groups
    /// before the rollout goes on (`verifyTargets`).
    nonisolated var checksTargets: Bool { get }
    /// Whether the pods a Service selects are registered in the target groups bound to it.
    func verifyTargets(service: NamespacedName) async -> TargetVerification
}

/// An object whose changes a platform may stamp (`PlatformObservation.changeStamps(of:)`).
public enum StampedObject: Hashable, Sendable {
    /// A rollout: its ReplicaSets, their pods, and the Services and splits it reads.
    case rollout(NamespacedName)
    /// A Service.
    case service(NamespacedName)
}

/// What a reconcile reads, in one call, and the stamps that let a resync skip what did not change.
public protocol PlatformObservation: ReplicaSetControl, ServiceControl, TrafficControl {
    /// A number that grows whenever anything a reconcile of the rollout observes on the platform
    /// changes (its ReplicaSets, their pods, the Services and splits); nil when the platform does
    /// not track changes, so the controller never skips the rollout's reconcile.
    func changeStamp(ofRollout rollout: String, namespace: String) -> Int?
    /// A number that grows whenever the Service changes on the platform; nil when the platform
    /// does not track changes or has no such Service.
    func changeStamp(ofService service: NamespacedName) -> Int?
    /// The change stamps of several objects in one call; an object whose stamp is nil is left out.
    func changeStamps(of objects: [StampedObject]) -> [StampedObject: Int]
    /// Applies a Service unless the platform has it as it is, keeping the value of the selector
    /// label `pinnedLabel` the existing one has (a rollout pins Services to a revision); returns
    /// the Service's change stamp afterwards. One call per Service reconcile.
    func converge(_ service: PlatformService, keepingSelectorLabel pinnedLabel: String) async throws -> Int?
    /// Everything one reconcile of a rollout reads from the platform, in one call (one actor hop
    /// instead of one per ReplicaSet and Service).
    func observe(rollout: String, namespace: String, rootService: String?, services: [String]) -> RolloutObservation
}

/// Pods as the API lists them, their logs, and Prometheus service discovery.
public protocol PodsAndDiscovery: Actor {
    /// All pods, sorted by name.
    func pods() -> [Pod]
    /// What a pod wrote so far (empty when it wrote nothing).
    func log(of pod: NamespacedName) -> String
    /// The Prometheus `http_sd_configs` payload for the ready pods.
    func serviceDiscoveryJSON() -> Data
}

/// What the platform does on its own while the daemon runs.
public protocol PlatformLifecycle: Actor {
    /// Sets what is called when pods change readiness, start or stop (the controller requeues).
    func setChangeHandler(_ handler: @escaping @Sendable () -> Void)
    /// Converges until the task is cancelled.
    func run(tickInterval: Duration) async
    /// Stops every pod (daemon shutdown); the desired state is kept.
    func stopAllPods(grace: Double) async
}

/// Everything the controller and the API need from the platform that runs rollouts.
public typealias Platform = PlatformObservation & PodsAndDiscovery & PlatformLifecycle

/// What a platform runs apart from the daemon that the daemon starts, watches and stops (the
/// local platform's router process); handed to the daemon with the platform that feeds it.
public protocol DataPlane: Sendable {
    /// Starts it, or adopts the one an earlier daemon left running, and connects the platform to it.
    func startOrAdopt() async throws
    /// Watches it until the task is cancelled, bringing it back (with the current routes) when it dies.
    func supervise() async
    /// Stops it.
    func stop() async
    /// Its own metrics in Prometheus' text format, for the daemon's `/metrics`; empty when it
    /// has none or cannot be reached.
    func metricsText() async -> String
}

extension DataPlane {
    public func metricsText() async -> String { "" }
}

extension ReplicaSetControl {
    /// A platform that injects no anti-affinity (one host) has none to take out.
    public func removeInjectedAntiAffinity(replicaSet: NamespacedName) async throws {}

    /// Filters `replicaSets()`: enough for one host's worth of processes.
    public func replicaSets(ofRollout rollout: String, namespace: String) -> [ReplicaSet] {
        replicaSets().filter { $0.ownerKind == .rollout && $0.rollout == rollout && $0.namespace == namespace }
    }

    /// The ReplicaSets of one experiment's templates, sorted by name.
    public func replicaSets(ofExperiment experiment: String, namespace: String) -> [ReplicaSet] {
        replicaSets().filter { $0.ownerKind == .experiment && $0.rollout == experiment && $0.namespace == namespace }
    }
}

extension TrafficControl {
    /// The router cannot say, as Argo's SMI, NGINX, Istio and Traefik routers cannot.
    public func verifyWeights(rootService: NamespacedName) async -> WeightVerification {
        WeightVerification(verified: nil)
    }

    /// Targets are not checked.
    public nonisolated var checksTargets: Bool { false }

    public func verifyTargets(service: NamespacedName) async -> TargetVerification {
        TargetVerification(verified: nil)
    }

    /// Searches `splits()`.
    public func split(rootService: NamespacedName) -> TrafficSplit? {
        splits().first { $0.key == rootService }
    }
}

extension PlatformObservation {
    /// Composed of the single calls.
    public func converge(_ service: PlatformService, keepingSelectorLabel pinnedLabel: String) async throws -> Int? {
        var service = service
        let existing = self.service(service.key)
        if let pinned = existing?.selector[pinnedLabel] { service.selector[pinnedLabel] = pinned }
        if existing != service { try await apply(service) }
        // Read after the apply: the stamp then covers this reconcile's own change.
        return changeStamp(ofService: service.key)
    }

    /// Composed of the single reads.
    public func changeStamps(of objects: [StampedObject]) -> [StampedObject: Int] {
        var stamps: [StampedObject: Int] = [:]
        for object in objects {
            switch object {
            case .rollout(let key): stamps[object] = changeStamp(ofRollout: key.name, namespace: key.namespace)
            case .service(let key): stamps[object] = changeStamp(ofService: key)
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
            let key = NamespacedName(namespace: namespace, name: name)
            if let hash = service(key)?.selector[podTemplateHashLabel] { selectors[name] = hash }
        }
        return RolloutObservation(
            changeStamp: changeStamp(ofRollout: rollout, namespace: namespace),
            replicaSets: replicaSets(ofRollout: rollout, namespace: namespace).map { ($0, counts(of: $0.key)) },
            split: rootService.flatMap { split(rootService: NamespacedName(namespace: namespace, name: $0)) },
            serviceSelectors: selectors)
    }

    /// Not tracked: pods' readiness changes behind the controller's back (it is told through the
    /// change handler), so every resync reconciles every rollout.
    public func changeStamp(ofRollout rollout: String, namespace: String) -> Int? { nil }

    /// Not tracked.
    public func changeStamp(ofService service: NamespacedName) -> Int? { nil }
}

/// What one reconcile of a rollout reads from the platform (`PlatformObservation.observe(rollout:...)`).
public struct RolloutObservation: Sendable {
    /// `changeStamp(ofRollout:namespace:)`, read with the rest.
    public var changeStamp: Int?
    /// The rollout's ReplicaSets, sorted by name, with their pods' counts.
    public var replicaSets: [(replicaSet: ReplicaSet, counts: ReplicaSetCounts)]
    /// The split of the rollout's SMI root service.
    public var split: TrafficSplit?
    /// The pod-template hash each of the asked-for Services is pinned to, by Service name.
    public var serviceSelectors: [String: String]

    /// Creates an observation.
    public init(
        changeStamp: Int?, replicaSets: [(replicaSet: ReplicaSet, counts: ReplicaSetCounts)],
        split: TrafficSplit?, serviceSelectors: [String: String]
    ) {
        self.changeStamp = changeStamp
        self.replicaSets = replicaSets
        self.split = split
        self.serviceSelectors = serviceSelectors
    }
}
