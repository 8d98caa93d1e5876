import AviaryPlatform
import Foundation

/// A platform where nothing runs: a ReplicaSet's pods exist and are ready the moment it is created
/// or scaled, Services and traffic splits are only recorded, and there is no router. It measures
/// the controller alone (`aviary serve --platform simulated`, `bench/scale/run`) and lets tests
/// step rollouts without processes.
///
/// Everything lives in memory: a restarted daemon starts from an empty world (and recreates it
/// from the stored rollouts). Pods are available `minReadySeconds` after they were created.
public actor SimulatedPlatform: Platform {
    private var replicaSetsByName: [String: ReplicaSet] = [:]
    /// What each ReplicaSet's pods show of their template (image, `minReadySeconds`), decoded once.
    private var launchesByName: [String: PodLaunch] = [:]
    /// ReplicaSet names by `namespace/rollout`, so a reconcile's observation costs what one rollout has.
    private var replicaSetNamesByRollout: [String: Set<String>] = [:]
    /// Pods by the name of the ReplicaSet that owns them, oldest first.
    private var podsByReplicaSet: [String: [PodRecord]] = [:]
    private var servicesByName: [String: PlatformService] = [:]
    private var splitsByRoot: [String: TrafficSplit] = [:]
    private var podSerial = 0
    private var stamps = ChangeStamps()
    private let now: @Sendable () -> Date

    /// Creates an empty world.
    public init(now: @escaping @Sendable () -> Date = { Date() }) {
        self.now = now
    }

    // MARK: - Desired state

    public func apply(_ replicaSet: ReplicaSet) {
        // The template is fixed by the hash in the name.
        if launchesByName[replicaSet.name] == nil { launchesByName[replicaSet.name] = PodLaunch(replicaSet) }
        replicaSetsByName[replicaSet.name] = replicaSet
        replicaSetNamesByRollout["\(replicaSet.namespace)/\(replicaSet.rollout)", default: []].insert(replicaSet.name)
        converge(replicaSet.name)
    }

    /// Marks a change of the rollout that owns `replicaSet`.
    private func touch(_ replicaSet: ReplicaSet) {
        stamps.rolloutChanged("\(replicaSet.namespace)/\(replicaSet.rollout)")
    }

    @discardableResult
    public func scale(replicaSet: NamespacedName, to replicas: Int) -> Bool {
        update(replicaSet: replicaSet) { $0.replicas = max(0, replicas) }
    }

    @discardableResult
    public func update(replicaSet key: NamespacedName, _ change: (inout ReplicaSet) -> Void) -> Bool {
        let name = key.name
        guard var replicaSet = replicaSetsByName[name] else { return false }
        change(&replicaSet)
        replicaSetsByName[name] = replicaSet
        converge(name)
        return true
    }

    public func setRoleLabels(replicaSet key: NamespacedName, _ labels: [String: String]) {
        let name = key.name
        guard var replicaSet = replicaSetsByName[name], replicaSet.roleLabels != labels else { return }
        touch(replicaSet)
        replicaSet.roleLabels = labels
        replicaSetsByName[name] = replicaSet
        // A pod here has no labels but its ReplicaSet's and role's, so all pods of a ReplicaSet
        // share one dictionary instead of a copy each.
        let podLabels = replicaSet.podLabels
        podsByReplicaSet[name] = podsByReplicaSet[name]?.map { pod in
            var pod = pod
            pod.labels = podLabels
            return pod
        }
    }

    /// Replaces the oldest pods created before `before`, `maxUnavailable` (at least 1) at a time;
    /// the replacements are ready at once, so the next call may replace more.
    @discardableResult
    public func restartPods(replicaSet key: NamespacedName, before: Date, maxUnavailable: Int) -> Int {
        let name = key.name
        guard let owned = podsByReplicaSet[name] else { return 0 }
        let time = now()
        let budget = max(maxUnavailable, 1) - owned.filter { !$0.isAvailable(at: time) }.count
        guard budget > 0 else { return 0 }
        let victims = Set(owned.filter { $0.createdAt < before }.prefix(budget).map(\.name))
        podsByReplicaSet[name] = owned.filter { !victims.contains($0.name) }
        converge(name)
        return victims.count
    }

    public func deleteReplicaSet(_ key: NamespacedName) {
        let name = key.name
        guard let replicaSet = replicaSetsByName.removeValue(forKey: name) else { return }
        launchesByName.removeValue(forKey: name)
        touch(replicaSet)
        podsByReplicaSet.removeValue(forKey: name)
        let owner = "\(replicaSet.namespace)/\(replicaSet.rollout)"
        replicaSetNamesByRollout[owner]?.remove(name)
        if replicaSetNamesByRollout[owner]?.isEmpty == true { replicaSetNamesByRollout.removeValue(forKey: owner) }
    }

    public func apply(_ service: PlatformService) {
        guard servicesByName[service.name] != service else { return }
        servicesByName[service.name] = service
        stamps.serviceChanged(service.name)
    }

    public func deleteService(_ service: NamespacedName) {
        guard servicesByName.removeValue(forKey: service.name) != nil else { return }
        stamps.serviceRemoved(service.name)
    }

    public func apply(_ split: TrafficSplit) {
        guard splitsByRoot[split.rootService] != split else { return }
        splitsByRoot[split.rootService] = split
        stamps.routingChanged()
    }

    public func deleteSplit(rootService: NamespacedName) {
        guard splitsByRoot.removeValue(forKey: rootService.name) != nil else { return }
        stamps.routingChanged()
    }

    /// There is no data plane: what was applied is what is live.
    public func publishRoutes() -> Bool { true }

    // MARK: - Observed state

    public func replicaSets() -> [ReplicaSet] {
        replicaSetsByName.values.sorted { $0.name < $1.name }
    }

    public func replicaSets(ofRollout rollout: String, namespace: String) -> [ReplicaSet] {
        (replicaSetNamesByRollout["\(namespace)/\(rollout)"] ?? []).sorted().compactMap { replicaSetsByName[$0] }
            .filter { $0.ownerKind == .rollout }
    }

    public func split(rootService: NamespacedName) -> TrafficSplit? {
        splitsByRoot[rootService.name]
    }

    /// Covers the rollout's ReplicaSets and pods (count, role labels, restarts) and all Services
    /// and splits. Pods' availability after `minReadySeconds` is not a change: it comes with time.
    public func changeStamp(ofRollout rollout: String, namespace: String) -> Int? {
        stamps.rollout("\(namespace)/\(rollout)")
    }

    public func changeStamp(ofService service: NamespacedName) -> Int? {
        stamps.service(service.name)
    }

    public func pods() -> [Pod] {
        podsByReplicaSet.values.joined().sorted { $0.name < $1.name }.map(\.pod)
    }

    public func service(_ service: NamespacedName) -> PlatformService? {
        servicesByName[service.name]
    }

    /// All Services, sorted by namespace and name.
    public func services() -> [PlatformService] {
        servicesByName.values.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }

    public func splits() -> [TrafficSplit] {
        splitsByRoot.values.sorted { $0.rootService < $1.rootService }
    }

    public func counts(of replicaSet: NamespacedName) -> ReplicaSetCounts {
        let owned = podsByReplicaSet[replicaSet.name] ?? []
        let time = now()
        return ReplicaSetCounts(
            replicas: owned.count, ready: owned.count, available: owned.filter { $0.isAvailable(at: time) }.count)
    }

    /// The pods as Prometheus targets; their address is `127.0.0.1:0`, as nothing listens.
    public func serviceDiscoveryJSON() -> Data {
        ServiceRouting.serviceDiscoveryJSON(pods: Array(podsByReplicaSet.values.joined()))
    }

    /// Nothing runs, so nothing is logged.
    public func log(of pod: NamespacedName) -> String { "" }

    // MARK: - Running

    /// Nothing changes on its own here (pods are ready when created), so the handler is never
    /// needed: the controller requeues after its own actions and at `minReadySeconds`.
    public func setChangeHandler(_ handler: @escaping @Sendable () -> Void) {}

    /// Waits until cancelled: there are no processes to supervise.
    public func run(tickInterval: Duration) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: .seconds(3600))
        }
    }

    /// Nothing runs, so nothing stops.
    public func stopAllPods(grace: Double) {}

    // MARK: - Pods

    /// Creates or removes pods until the ReplicaSet has its count: new pods are ready at once,
    /// the newest go first (as Kubernetes does among ready pods).
    private func converge(_ name: String) {
        guard let replicaSet = replicaSetsByName[name] else { return }
        touch(replicaSet)
        var owned = podsByReplicaSet[name] ?? []
        if owned.count > replicaSet.replicas {
            owned.removeLast(owned.count - replicaSet.replicas)
        }
        let time = now()
        let labels = replicaSet.podLabels
        let launch = launchesByName[name] ?? PodLaunch(replicaSet)
        while owned.count < replicaSet.replicas {
            podSerial += 1
            owned.append(
                PodRecord(
                    name: "\(name)-\(podSerial)", namespace: replicaSet.namespace, replicaSet: name,
                    rollout: replicaSet.rollout,
                    labels: labels,
                    launch: launch, port: 0, process: nil, startedAt: time, restarts: 0,
                    nextStartAt: nil, lastTermination: nil, isReady: true, readySince: time,
                    consecutiveProbeFailures: 0, lastProbeAt: nil, createdAt: time))
        }
        podsByReplicaSet[name] = owned
    }
}
