import AsyncHTTPClient
import AviaryModel
import AviaryPlatform
import AviaryRoutes
import Foundation
import Logging

#if canImport(Glibc)
    import Glibc
#endif

/// Where the local platform keeps its state (ReplicaSets, pods with their PIDs, services) so a
/// restarted daemon adopts the running pods instead of starting new ones.
public protocol PlatformStateStore: Sendable {
    /// The last saved state, or nil when none was saved.
    func loadPlatformState() throws -> Data?
    /// Saves the state; must be durable when it returns.
    func savePlatformState(_ data: Data) throws
}

/// A `PlatformStateStore` in a JSON file, replaced atomically (for tests and tools).
public struct FilePlatformStateStore: PlatformStateStore {
    /// The file's path.
    public let path: String

    /// Creates a store writing `path`.
    public init(path: String) {
        self.path = path
    }

    public func loadPlatformState() throws -> Data? {
        FileManager.default.fileExists(atPath: path) ? try Data(contentsOf: URL(fileURLWithPath: path)) : nil
    }

    public func savePlatformState(_ data: Data) throws {
        try data.write(to: URL(fileURLWithPath: path), options: .atomic)
    }
}

/// Everything the local platform must remember across daemon restarts.
struct PlatformState: Codable, Equatable {
    var replicaSets: [String: ReplicaSet] = [:]
    /// How each ReplicaSet's pods start, by ReplicaSet name.
    var launches: [String: PodLaunch] = [:]
    var pods: [String: PodRecord] = [:]
    var services: [String: PlatformService] = [:]
    var splits: [String: TrafficSplit] = [:]
    /// Processes of removed pods, by pod name, until they are seen gone: saved before they are
    /// signalled, so a daemon killed in between stops them after its restart instead of leaving
    /// them running unowned.
    var terminating: [String: ProcessIdentity] = [:]

    init() {}

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        replicaSets = try container.decode([String: ReplicaSet].self, forKey: .replicaSets)
        pods = try container.decode([String: PodRecord].self, forKey: .pods)
        services = try container.decode([String: PlatformService].self, forKey: .services)
        if let launches = try container.decodeIfPresent([String: PodLaunch].self, forKey: .launches) {
            self.launches = launches
            splits = try container.decode([String: TrafficSplit].self, forKey: .splits)
        } else {
            // Saved before the platform seam: each ReplicaSet held its launch, and each route of a
            // split the manifest's step as `source` JSON.
            launches = try container.decode([String: SavedLaunch].self, forKey: .replicaSets).mapValues(\.launch)
            for (name, launch) in launches { replicaSets[name]?.minReadySeconds = Int(launch.minReadySeconds) }
            splits = try container.decode([String: SavedSplit].self, forKey: .splits).mapValues(\.split)
        }
        // State saved before `terminating` existed has none.
        terminating = try container.decodeIfPresent([String: ProcessIdentity].self, forKey: .terminating) ?? [:]
    }
}

/// The launch a ReplicaSet saved before the platform seam held.
private struct SavedLaunch: Decodable {
    var launch: PodLaunch
}

/// A split saved before the platform seam: no namespace, and routes that kept their step as `source`.
private struct SavedSplit: Decodable {
    struct SavedRoute: Decodable {
        var name: String
        var source: Data?
    }

    var rootService: String
    var canaryService: String
    var stableService: String
    var canaryWeight: Int
    var headerRoutes: [SavedRoute]
    var mirrorRoutes: [SavedRoute]
    var rollout: String?

    var split: TrafficSplit {
        func steps<Step: Decodable>(_ routes: [SavedRoute], _ bare: (String) -> Step) -> [Step] {
            routes.map { route in
                route.source.flatMap { try? JSONDecoder().decode(Step.self, from: $0) } ?? bare(route.name)
            }
        }
        return TrafficSplit(
            rootService: rootService, canaryService: canaryService, stableService: stableService,
            canaryWeight: canaryWeight, headerRoutes: steps(headerRoutes) { SetHeaderRoute(name: $0) },
            mirrorRoutes: steps(mirrorRoutes) { SetMirrorRoute(name: $0) }, rollout: rollout)
    }
}

/// The local platform: runs ReplicaSets as processes, probes their readiness, restarts them with
/// backoff, and computes the router's listeners from Services and ready pods.
///
/// It converges in `tick()`, which `run()` calls every `tickInterval`; every change is saved
/// through the `PlatformStateStore` before it is acted on by others. On one host names of
/// ReplicaSets, Services and root services are unique across namespaces (`LocalPlatformRules`),
/// so a key's name finds the object.
public actor LocalPlatform: Platform {
    private var state: PlatformState
    private let stateStore: any PlatformStateStore
    private let logDirectory: String
    private let now: @Sendable () -> Date
    private let logger: Logger
    /// The TLS files found unreadable at the last publish, each logged once.
    private var reportedUnreadableTLS: Set<String> = []
    /// When each `aviary.dev/tls-secret` Secret (namespace/name) was last read.
    private var secretsCheckedAt: [String: Date] = [:]
    private var reportedMissingSecrets: Set<String> = []
    /// The `aviary.dev/tls-secret` Secrets the Services named at the last route table (nil before
    /// the first): when that changes, files of Secrets no Service names any more are removed.
    private var referencedTLSSecrets: Set<String>?
    private var probesInFlight: Set<String> = []
    private var stopsInFlight: Set<String> = []
    /// Whether the first tick looked for pod processes the saved state does not name.
    private var sweptUnrecorded = false
    private var lastTable: RouteTable?
    private var tableSink: (@Sendable (RouteTable) async -> Bool)?
    private var changeHandler: (@Sendable () -> Void)?
    private let inheritedEnvironment: [String: String]
    /// Reads a ConfigMap or Secret by kind, namespace and name, for `envFrom` and `valueFrom`.
    private let configuration: @Sendable (ConfigurationKind, String, String) throws -> [String: String]?
    /// Where a Service whose port is taken on the shared address listens instead; nil: nowhere.
    private let serviceAddressRange: ServiceAddressRange?

    /// Loads the saved state and adopts the pods whose processes still run (same PID and start
    /// time); the others are restarted by the first `tick()`.
    ///
    /// `serviceAddressRange`: see `ServiceAddressPlacement`.
    ///
    /// A pod's process gets its container's `env`, the variables Aviary provides and, of the
    /// daemon's own environment, only `PATH`, `HOME`, `LANG` and `TMPDIR`; with
    /// `inheritEnvironment` (`aviary serve --pod-env-inherit`) it gets the daemon's whole environment
    /// beneath those. `envFrom` and `valueFrom` read ConfigMaps and Secrets through
    /// `configuration` (kind, namespace, name; nil when there is none) when the process starts.
    public init(
        stateStore: any PlatformStateStore, logDirectory: String, inheritEnvironment: Bool = false,
        serviceAddressRange: ServiceAddressRange? = nil,
        configuration: @escaping @Sendable (ConfigurationKind, String, String) throws -> [String: String]? = {
            _, _, _ in nil
        },
        now: @escaping @Sendable () -> Date = { Date() }, logger: Logger = Logger(label: "aviary.local")
    ) throws {
        self.configuration = configuration
        self.serviceAddressRange = serviceAddressRange
        self.stateStore = stateStore
        self.logDirectory = logDirectory
        self.now = now
        self.logger = logger
        if let data = try stateStore.loadPlatformState() {
            state = try JSONDecoder().decode(PlatformState.self, from: data)
        } else {
            state = PlatformState()
        }
        try FileManager.default.createDirectory(
            atPath: logDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        let environment = ProcessInfo.processInfo.environment
        inheritedEnvironment =
            inheritEnvironment
            ? environment : environment.filter { ["PATH", "HOME", "LANG", "TMPDIR"].contains($0.key) }
    }

    /// Sets what receives the route table whenever it changes (and once at the next tick); the
    /// sink returns whether the table was delivered.
    public func setTableSink(_ sink: @escaping @Sendable (RouteTable) async -> Bool) {
        tableSink = sink
        lastTable = nil
    }

    /// Sets what is called when pods change readiness, start or stop (the controller requeues).
    public func setChangeHandler(_ handler: @escaping @Sendable () -> Void) {
        changeHandler = handler
    }

    // MARK: - Desired state

    /// Creates or rescales a ReplicaSet whose pods start as its template says.
    public func apply(_ replicaSet: ReplicaSet) throws {
        try apply(replicaSet, launch: state.launches[replicaSet.name] ?? PodLaunch(replicaSet))
    }

    /// Creates or rescales a ReplicaSet whose pods start with `launch`. Its pod template is fixed by
    /// its hash: a changed launch for an existing name applies to pods created from then on.
    public func apply(_ replicaSet: ReplicaSet, launch: PodLaunch) throws {
        guard state.replicaSets[replicaSet.name] != replicaSet || state.launches[replicaSet.name] != launch else {
            return
        }
        state.replicaSets[replicaSet.name] = replicaSet
        state.launches[replicaSet.name] = launch
        try save()
    }

    /// Scales a ReplicaSet; false if there is none with that name.
    @discardableResult
    public func scale(replicaSet: NamespacedName, to replicas: Int) throws -> Bool {
        try update(replicaSet: replicaSet) { $0.replicas = max(0, replicas) }
    }

    /// Changes a ReplicaSet's count or annotations (revision, scale-down deadline); false if
    /// there is none with that name.
    @discardableResult
    public func update(replicaSet key: NamespacedName, _ change: (inout ReplicaSet) -> Void) throws -> Bool {
        let name = key.name
        guard var replicaSet = state.replicaSets[name] else { return false }
        let before = replicaSet
        change(&replicaSet)
        guard replicaSet != before else { return true }
        state.replicaSets[name] = replicaSet
        try save()
        return true
    }

    /// Sets the labels that follow a ReplicaSet's role (`canaryMetadata` or `stableMetadata`
    /// labels, as Argo's ephemeral metadata): its pods get them at once, and lose the previous
    /// role's labels, without a restart.
    public func setRoleLabels(replicaSet key: NamespacedName, _ labels: [String: String]) throws {
        let name = key.name
        guard var replicaSet = state.replicaSets[name], replicaSet.roleLabels != labels else { return }
        let previous = replicaSet.roleLabels
        replicaSet.roleLabels = labels
        state.replicaSets[name] = replicaSet
        for (podName, pod) in state.pods where pod.replicaSet == name {
            var podLabels = pod.labels
            for key in previous.keys { podLabels.removeValue(forKey: key) }
            podLabels.merge(replicaSet.labels) { _, base in base }
            podLabels.merge(labels) { _, role in role }
            state.pods[podName]?.labels = podLabels
        }
        try save()
    }

    /// Evicts pods of a ReplicaSet created before `before` (for `restartAt`), keeping at most
    /// `maxUnavailable` (at least 1) of its pods unavailable at a time; the ReplicaSet then
    /// creates new ones. Returns how many pods were evicted.
    @discardableResult
    public func restartPods(replicaSet: NamespacedName, before: Date, maxUnavailable: Int) throws -> Int {
        let time = now()
        let owned = state.pods.values.filter { $0.replicaSet == replicaSet.name }
        let unavailable = owned.filter { !$0.isAvailable(at: time) }.count
        let budget = max(maxUnavailable, 1) - unavailable
        guard budget > 0 else { return 0 }
        let victims = owned.filter { $0.createdAt < before }.sorted { $0.createdAt < $1.createdAt }.prefix(budget)
        for victim in victims { remove(victim) }
        if !victims.isEmpty { try save() }
        return victims.count
    }

    /// Removes a ReplicaSet; its pods are stopped by the next tick.
    public func deleteReplicaSet(_ replicaSet: NamespacedName) throws {
        guard state.replicaSets.removeValue(forKey: replicaSet.name) != nil else { return }
        state.launches.removeValue(forKey: replicaSet.name)
        try save()
    }

    /// Creates or updates a Service (its selector included).
    public func apply(_ service: PlatformService) throws {
        let service = ServiceAddressPlacement.place(service, among: state.services, range: serviceAddressRange)
        guard state.services[service.name] != service else { return }
        state.services[service.name] = service
        try save()
    }

    /// Removes a Service.
    public func deleteService(_ service: NamespacedName) throws {
        guard state.services.removeValue(forKey: service.name) != nil else { return }
        try save()
    }

    /// Sets the split of a root service (weight, header and mirror routes).
    public func apply(_ split: TrafficSplit) throws {
        guard state.splits[split.rootService] != split else { return }
        state.splits[split.rootService] = split
        try save()
    }

    /// Removes the split of a root service: it spreads over its own endpoints again.
    public func deleteSplit(rootService: NamespacedName) throws {
        guard state.splits.removeValue(forKey: rootService.name) != nil else { return }
        try save()
    }

    // MARK: - Observed state

    /// All ReplicaSets.
    public func replicaSets() -> [ReplicaSet] {
        state.replicaSets.values.sorted { $0.name < $1.name }
    }

    /// All pods, sorted by name.
    public func pods() -> [Pod] {
        podRecords().map(\.pod)
    }

    /// All pods with their processes and probes, sorted by name.
    public func podRecords() -> [PodRecord] {
        state.pods.values.sorted { $0.name < $1.name }
    }

    /// A service by key.
    public func service(_ service: NamespacedName) -> PlatformService? {
        state.services[service.name]
    }

    /// All Services, sorted by namespace and name.
    public func services() -> [PlatformService] {
        state.services.values.sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }

    /// The splits of root services.
    public func splits() -> [TrafficSplit] {
        state.splits.values.sorted { $0.rootService < $1.rootService }
    }

    /// The split of one root service.
    public func split(rootService: NamespacedName) -> TrafficSplit? {
        state.splits[rootService.name]
    }

    /// Counts for one ReplicaSet.
    public func counts(of replicaSet: NamespacedName) -> ReplicaSetCounts {
        let owned = state.pods.values.filter { $0.replicaSet == replicaSet.name }
        let time = now()
        return ReplicaSetCounts(
            replicas: owned.count, ready: owned.filter(\.isReady).count,
            available: owned.filter { $0.isAvailable(at: time) }.count)
    }

    /// The route table for the current services, splits and ready pods.
    public func routeTable() -> RouteTable {
        let services = state.services.values.map { service in
            guard let secret = service.tlsSecret else { return service }
            var service = service
            service.tls = secretTLSFiles(namespace: service.namespace, secret: secret)
            return service
        }
        let referenced = Set(services.compactMap { service in service.tlsSecret.map { "\(service.namespace).\($0)" } })
        if referenced != referencedTLSSecrets {
            removeUnreferencedTLSFiles(keeping: referenced)
            referencedTLSSecrets = referenced
        }
        return ServiceRouting.table(services: services, splits: Array(state.splits.values), pods: Array(state.pods.values))
    }

    /// Where the certificates and keys of `aviary.dev/tls-secret` Secrets are kept as files for
    /// the router (the state directory's `tls`, beside `logs`).
    public var tlsDirectory: String { (logDirectory as NSString).deletingLastPathComponent + "/tls" }

    /// The files a Secret's `tls.crt` and `tls.key` are kept in, written again when the Secret
    /// changes (read at most once a second); the router reads changed files within a second, so
    /// a re-applied Secret rotates the certificate without dropping connections. A Secret that
    /// is gone or lacks a key has its files removed, so its listener is left out (and logged)
    /// rather than served without TLS.
    private func secretTLSFiles(namespace: String, secret: String) -> ServiceTLSFiles {
        let base = "\(tlsDirectory)/\(namespace).\(secret)"
        let files = ServiceTLSFiles(certificateFile: base + ".crt", keyFile: base + ".key")
        let key = "\(namespace)/\(secret)"
        let time = now()
        if let checked = secretsCheckedAt[key], time.timeIntervalSince(checked) < 1 { return files }
        secretsCheckedAt[key] = time
        let values = (try? configuration(.secret, namespace, secret)) ?? nil
        guard let certificate = values?["tls.crt"], let privateKey = values?["tls.key"] else {
            try? FileManager.default.removeItem(atPath: files.certificateFile)
            try? FileManager.default.removeItem(atPath: files.keyFile)
            if reportedMissingSecrets.insert(key).inserted {
                logger.error(
                    "Secret \(key) of a Service's aviary.dev/tls-secret is missing or has no tls.crt and tls.key; its listener is not served until it has")
            }
            return files
        }
        reportedMissingSecrets.remove(key)
        do {
            try FileManager.default.createDirectory(
                atPath: tlsDirectory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
            for (path, text) in [(files.keyFile, privateKey), (files.certificateFile, certificate)]
            where FileManager.default.contents(atPath: path) != Data(text.utf8) {
                // A rename, so the router never reads half a file.
                let temporary = path + ".new"
                guard FileManager.default.createFile(
                    atPath: temporary, contents: Data(text.utf8), attributes: [.posixPermissions: 0o600])
                else { throw CocoaError(.fileWriteNoPermission) }
                _ = rename(temporary, path)
            }
        } catch {
            logger.error("cannot write the TLS files of Secret \(key) to \(tlsDirectory): \(error)")
        }
        return files
    }

    /// Removes the key and certificate files of Secrets no Service names any more (its Service was
    /// deleted, or re-applied without the annotation), also those left by an earlier daemon: a
    /// private key is not kept longer than a listener uses it.
    private func removeUnreferencedTLSFiles(keeping referenced: Set<String>) {
        guard let names = try? FileManager.default.contentsOfDirectory(atPath: tlsDirectory) else { return }
        for name in names {
            var base = name
            for suffix in [".new", ".crt", ".key"] where base.hasSuffix(suffix) { base = String(base.dropLast(suffix.count)) }
            guard !referenced.contains(base) else { continue }
            try? FileManager.default.removeItem(atPath: "\(tlsDirectory)/\(name)")
            // `namespace.secret`: namespaces have no dots, so the first one splits them.
            if let dot = base.firstIndex(of: ".") {
                let key = "\(base[..<dot])/\(base[base.index(after: dot)...])"
                secretsCheckedAt[key] = nil
                reportedMissingSecrets.remove(key)
            }
        }
    }

    /// The Prometheus http_sd payload for the current ready pods.
    public func serviceDiscoveryJSON() -> Data {
        ServiceRouting.serviceDiscoveryJSON(pods: Array(state.pods.values))
    }

    /// The path of a pod's log file.
    public func logPath(of pod: String) -> String {
        (logDirectory as NSString).appendingPathComponent("\(pod).log")
    }

    /// The pod's log file.
    public func log(of pod: NamespacedName) -> String {
        (try? String(contentsOfFile: logPath(of: pod.name), encoding: .utf8)) ?? ""
    }

    // MARK: - Converging

    /// Calls `tick()` every `tickInterval` until the task is cancelled.
    public func run(tickInterval: Duration = .milliseconds(100)) async {
        while !Task.isCancelled {
            await tick()
            try? await Task.sleep(for: tickInterval)
        }
    }

    /// One pass: notice exits, restart after backoff, start due probes, create and remove pods
    /// to match each ReplicaSet, then publish listeners if they changed.
    public func tick() async {
        let before = state
        let time = now()
        if !sweptUnrecorded {
            sweptUnrecorded = true
            stopUnrecordedPods()
        }
        reapAndRestart(at: time)
        scaleReplicaSets(at: time)
        startProbes(at: time)
        if state != before {
            do {
                try save()
            } catch {
                logger.error("cannot save the local platform state: \(error)")
            }
            changeHandler?()
        }
        // The router stops sending requests to removed pods before they are signalled.
        await publishTable()
        stopTerminating()
    }

    private func reapAndRestart(at time: Date) {
        for var pod in state.pods.values {
            if let process = pod.process {
                if case .exited(let how) = ProcessControl.liveness(of: process) {
                    // The last thing the process wrote usually says why (`sh: 1: pythn3: not found`).
                    let reason = Self.lastLine(ofFile: logPath(of: pod.name)).map { "\(how): \($0)" } ?? how
                    pod = PodLifecycle.applyExit(pod, termination: reason, now: time)
                    logger.info("pod \(pod.name) exited (\(how)); restart \(pod.restarts) after backoff")
                    state.pods[pod.name] = pod
                } else if pod.launch.readiness == nil, !pod.isReady {
                    pod.isReady = true
                    pod.readySince = time
                    state.pods[pod.name] = pod
                }
            } else if pod.nextStartAt.map({ $0 <= time }) ?? true {
                state.pods[pod.name] = start(pod, at: time)
            }
        }
    }

    private func start(_ pod: PodRecord, at time: Date) -> PodRecord {
        var pod = pod
        let image = ImageReference(parsing: pod.launch.image)
        let configuration = self.configuration
        let namespace = pod.namespace
        let resolved: ResolvedPodProcess
        do {
            resolved = try ResolvedPodProcess(
                arguments: pod.launch.arguments, environmentFrom: pod.launch.environmentFrom ?? [],
                containerEnvironment: pod.launch.environment,
                provided: [
                    "PORT": String(pod.port), "IMAGE": pod.launch.image, "IMAGE_NAME": image.name,
                    "IMAGE_TAG": image.tag, "POD_NAME": pod.name, "POD_NAMESPACE": pod.namespace,
                ],
                base: inheritedEnvironment,
                fields: PodFields(
                    name: pod.name, namespace: pod.namespace, labels: pod.labels, address: "127.0.0.1",
                    nodeName: ProcessInfo.processInfo.hostName),
                lookup: { kind, name in try configuration(kind, namespace, name) })
        } catch {
            // The kubelet's CreateContainerConfigError: nothing starts, and the next try is after the backoff.
            appendToLog(pod.name, "aviary: \(error)\n")
            pod.startedAt = time
            let termination = "CreateContainerConfigError: \(error)"
            return PodLifecycle.applyExit(pod, termination: String(termination.prefix(200)), now: time)
        }
        do {
            pod.process = try ProcessControl.spawn(
                arguments: resolved.arguments, environment: resolved.environment, logPath: logPath(of: pod.name),
                workingDirectory: pod.launch.workingDirectory)
            pod.startedAt = time
            pod.nextStartAt = nil
            pod.lastProbeAt = nil
            pod.consecutiveProbeFailures = 0
        } catch {
            appendToLog(pod.name, "aviary: \(error)\n")
            pod.startedAt = time
            let termination = "cannot start \(error.command): \(error.reason)"
            pod = PodLifecycle.applyExit(pod, termination: String(termination.prefix(120)), now: time)
        }
        return pod
    }

    /// The last non-empty line of the file's last 4 KiB, at most 100 characters; nil when there is none.
    static func lastLine(ofFile path: String) -> String? {
        guard let handle = FileHandle(forReadingAtPath: path) else { return nil }
        defer { try? handle.close() }
        guard let size = try? handle.seekToEnd() else { return nil }
        try? handle.seek(toOffset: size > 4096 ? size - 4096 : 0)
        guard let data = try? handle.readToEnd() else { return nil }
        let line = String(decoding: data, as: UTF8.self).split(whereSeparator: \.isNewline)
            .last { !$0.allSatisfy(\.isWhitespace) }?.trimmingCharacters(in: .whitespaces)
        return line.map { $0.count > 100 ? String($0.prefix(99)) + "…" : $0 }
    }

    private func appendToLog(_ pod: String, _ text: String) {
        let path = logPath(of: pod)
        if !FileManager.default.fileExists(atPath: path) {
            _ = FileManager.default.createFile(atPath: path, contents: nil, attributes: [.posixPermissions: 0o600])
        }
        if let handle = FileHandle(forWritingAtPath: path) {
            _ = try? handle.seekToEnd()
            try? handle.write(contentsOf: Data(text.utf8))
            try? handle.close()
        }
    }

    private func scaleReplicaSets(at time: Date) {
        for replicaSet in state.replicaSets.values {
            let owned = state.pods.values.filter { $0.replicaSet == replicaSet.name }
            if owned.count < replicaSet.replicas {
                for _ in owned.count..<replicaSet.replicas {
                    guard let pod = makePod(of: replicaSet, at: time) else { break }
                    state.pods[pod.name] = start(pod, at: time)
                }
            } else if owned.count > replicaSet.replicas {
                // Remove the least useful first: unready, then the newest (as Kubernetes does).
                let victims = owned.sorted { lhs, rhs in
                    if lhs.isReady != rhs.isReady { return !lhs.isReady }
                    return lhs.createdAt > rhs.createdAt
                }.prefix(owned.count - replicaSet.replicas)
                for victim in victims { remove(victim) }
            }
        }
        for pod in state.pods.values where state.replicaSets[pod.replicaSet] == nil {
            remove(pod)
        }
    }

    private func makePod(of replicaSet: ReplicaSet, at time: Date) -> PodRecord? {
        guard let port = PortAllocator.freePort() else {
            logger.error("no free loopback port for a pod of \(replicaSet.name)")
            return nil
        }
        var name: String
        repeat {
            name = replicaSet.name + "-" + String((0..<5).map { _ in Self.podNameAlphabet.randomElement()! })
        } while state.pods[name] != nil
        return PodRecord(
            name: name, namespace: replicaSet.namespace, replicaSet: replicaSet.name,
            rollout: replicaSet.ownerKind == .rollout ? replicaSet.rollout : "",
            labels: replicaSet.podLabels, launch: state.launches[replicaSet.name] ?? PodLaunch(replicaSet),
            port: port, process: nil, startedAt: nil,
            restarts: 0, nextStartAt: nil, lastTermination: nil, isReady: false, readySince: nil,
            consecutiveProbeFailures: 0, lastProbeAt: nil, createdAt: time)
    }

    /// Forgets a pod and marks its process for stopping; `stopTerminating()` signals it once
    /// the state saying so is saved.
    private func remove(_ pod: PodRecord) {
        state.pods.removeValue(forKey: pod.name)
        if let process = pod.process {
            state.terminating[pod.name] = process
        }
    }

    /// Marks for stopping the pod processes that write to a pod's log in the log directory but
    /// that the saved state does not name: a daemon killed between starting a pod's process and
    /// saving that it had left them, and nothing else would ever stop them.
    private func stopUnrecordedPods() {
        let recorded = Set(state.pods.values.compactMap(\.process?.pid) + state.terminating.values.map(\.pid))
        for writer in ProcessControl.outputWriters(in: logDirectory) where !recorded.contains(writer.group) {
            let file = (writer.path as NSString).lastPathComponent
            guard file.hasSuffix(".log") else { continue }
            let name = String(file.dropLast(4))
            guard Self.isGeneratedPodName(name), state.pods[name] == nil, state.terminating[name] == nil else {
                continue
            }
            logger.warning(
                "stopping the process group \(writer.group) of pod \(name): an earlier daemon started it and was stopped before it recorded it"
            )
            if let ticks = ProcessControl.startTicks(of: writer.group) {
                state.terminating[name] = ProcessIdentity(pid: writer.group, startTicks: ticks)
            } else {
                Task { await ProcessControl.stopGroup(writer.group, grace: 0) }
            }
        }
    }

    /// The names `makePod` gives: the ReplicaSet's name, a dash and five of its characters.
    static func isGeneratedPodName(_ name: String) -> Bool {
        let suffix = name.suffix(6)
        return name.count > 6 && suffix.first == "-" && suffix.dropFirst().allSatisfy(podNameAlphabet.contains)
    }

    private static let podNameAlphabet = Array("bcdfghjklmnpqrstvwxz2456789")

    /// Stops the processes of removed pods (also those a killed daemon left behind) and forgets
    /// each once it is gone.
    private func stopTerminating() {
        for (name, process) in state.terminating where !stopsInFlight.contains(name) {
            stopsInFlight.insert(name)
            Task {
                await ProcessControl.stop(process)
                self.stopped(pod: name, process: process)
            }
        }
    }

    private func stopped(pod name: String, process: ProcessIdentity) {
        stopsInFlight.remove(name)
        guard state.terminating[name] == process else { return }
        state.terminating.removeValue(forKey: name)
        do {
            try save()
        } catch {
            logger.error("cannot save the local platform state: \(error)")
        }
    }

    private func startProbes(at time: Date) {
        for pod in state.pods.values {
            guard let probe = pod.launch.readiness, !probesInFlight.contains(pod.name),
                PodLifecycle.isProbeDue(pod, probe: probe, now: time), let process = pod.process
            else { continue }
            probesInFlight.insert(pod.name)
            let url = "http://127.0.0.1:\(pod.port)\(probe.path.hasPrefix("/") ? "" : "/")\(probe.path)"
            let name = pod.name
            Task {
                let succeeded = await Self.probe(url: url, timeout: probe.timeoutSeconds)
                self.recordProbe(pod: name, process: process, succeeded: succeeded)
            }
        }
    }

    private func recordProbe(pod name: String, process: ProcessIdentity, succeeded: Bool) {
        probesInFlight.remove(name)
        guard let pod = state.pods[name], pod.process == process, let probe = pod.launch.readiness else { return }
        let updated = PodLifecycle.applyProbe(pod, succeeded: succeeded, probe: probe, now: now())
        state.pods[name] = updated
        if updated.isReady != pod.isReady {
            logger.info("pod \(name) is \(updated.isReady ? "ready" : "not ready")")
            try? save()
            changeHandler?()
        }
    }

    /// One readiness probe: a GET through a client of its own, shut down after the answer (the
    /// kubelet too opens a connection per probe). Not through `HTTPClient.shared`: it keeps a
    /// connection pool per host and port for as long as it lives, and every release starts pods on
    /// new ports, so each pod ever probed left its pool behind (issue 28).
    static func probe(url: String, timeout: Double) async -> Bool {
        let client = HTTPClient(eventLoopGroup: HTTPClient.defaultEventLoopGroup)
        let succeeded: Bool
        do {
            let response = try await client.execute(
                HTTPClientRequest(url: url), timeout: .milliseconds(Int64(timeout * 1000)))
            _ = try? await response.body.collect(upTo: 1 << 20)
            succeeded = (200..<400).contains(Int(response.status.code))
        } catch {
            succeeded = false
        }
        try? await client.shutdown()
        return succeeded
    }

    /// Sends the route table to the router now, so that a weight or route the controller just set
    /// is live before the rollout's status says so. False when the router did not take it; it is
    /// sent again at the next tick.
    @discardableResult
    public func publishRoutes() async -> Bool {
        await publishTable()
    }

    /// Sends the whole route table again even if it did not change (to a restarted router).
    @discardableResult
    public func republishRoutes() async -> Bool {
        lastTable = nil
        return await publishTable()
    }

    @discardableResult
    private func publishTable() async -> Bool {
        guard let tableSink else { return true }
        let current = leavingOutUnreadableTLS(routeTable())
        guard current != lastTable else { return true }
        // A table the sink could not deliver is sent again at the next tick.
        guard await tableSink(current) else { return false }
        lastTable = current
        return true
    }

    /// `table` without the listeners whose TLS files cannot be read: the router refuses a whole
    /// table whose new certificate it cannot read, which would hold back every weight change
    /// after it. Such a listener is left out (and logged once) until its files can be read; the
    /// API refuses the Service in the first place.
    private func leavingOutUnreadableTLS(_ table: RouteTable) -> RouteTable {
        var table = table
        var unreadable: Set<String> = []
        table.listeners.removeAll { listener in
            guard
                let file = listener.tls?.certificates.flatMap({ [$0.certificateFile, $0.keyFile] })
                    .first(where: { !FileManager.default.isReadableFile(atPath: $0) })
            else { return false }
            unreadable.insert(file)
            if !reportedUnreadableTLS.contains(file) {
                logger.error(
                    "listener \(listener.address) is not served: its TLS file \(file) cannot be read; fix the file or the Service's annotations"
                )
            }
            return true
        }
        reportedUnreadableTLS = unreadable
        return table
    }

    private func save() throws {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        try stateStore.savePlatformState(try encoder.encode(state))
    }

    // MARK: - Shutting down

    /// Stops every pod's process (SIGTERM, then SIGKILL after `grace` seconds). The state is
    /// kept, so the next start creates the pods again.
    public func stopAllPods(grace: Double = 5) async {
        let processes = state.pods.values.compactMap(\.process) + state.terminating.values
        await withTaskGroup(of: Void.self) { group in
            for process in processes {
                group.addTask { await ProcessControl.stop(process, grace: grace) }
            }
        }
        for name in state.pods.keys {
            state.pods[name]?.process = nil
            state.pods[name]?.isReady = false
            state.pods[name]?.readySince = nil
            state.pods[name]?.nextStartAt = nil
        }
        state.terminating = [:]
        try? save()
    }
}
