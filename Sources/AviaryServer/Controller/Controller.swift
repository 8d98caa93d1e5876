import AviaryCore
import AviaryModel
import AviaryPlatform
import AviaryStore
import Foundation
import Logging

/// The controller loop: level-triggered and idempotent. Changes enqueue a resource's key (not
/// the object); a worker re-reads the stored state, converges the platform, writes the status
/// once (only when it changed), and requeues with backoff on error.
///
/// Resync: every `resyncInterval` each Service and Rollout with nothing due is looked at again.
/// Such a key is skipped when nothing it reads changed since its last reconcile, which then had
/// nothing to do: the stored resource version, the platform's change stamp for it and (for a
/// rollout) the namespace's AnalysisRuns are the same, that reconcile took no action, wrote no
/// status, asked for no requeue and left the rollout not Progressing. A platform that does not
/// track changes (the local one) never lets a key be skipped. Every `fullResyncInterval` the
/// resync skips nothing (a forced full pass), so anything the stamps miss is still corrected.
///
/// A pass reconciles a listed key from the controller's decoded copy, without reading its row,
/// when the copy is of the version the listing gave and the key was not enqueued since the
/// listing (every write outside the controller enqueues its key): the reconcile still observes
/// the platform and corrects it, only the store read and JSON decoding are saved.
public actor Controller {
    let store: any ResourceStore
    let platform: any Platform
    let metrics: DaemonMetrics
    let analysis: AnalysisCoordinator
    let serviceAddress: String
    let servicePortOffset: Int
    let now: @Sendable () -> Date
    let logger: Logger
    let resyncInterval: Double
    let fullResyncInterval: Double
    /// How many reconciles of different resources may be in flight at once (Argo runs 10
    /// workers). 1 keeps them one after another: the local platform's calls return at once,
    /// while on Kubernetes each write waits for its watch event, so there a rollout's reconcile
    /// spends most of its time waiting and several overlap.
    let concurrentReconciles: Int
    /// Where the notification configuration is read (nil: notifications are not sent).
    let notificationSettings: NotificationSettings?
    /// Makes Argo's step plugin calls (nil: a plugin step waits, and says no plugin runs here).
    let stepPlugins: (any StepPluginRunner)?
    /// The last reason each rollout's step plugin could not be asked, so that it is one event, not one per retry.
    var stepPluginFailures: [ResourceKey: String] = [:]

    private var due: [ResourceKey: Date] = [:]
    private var failures: [ResourceKey: Int] = [:]
    private var lastResync = Date.distantPast
    private var lastFullResync = Date.distantPast
    /// What each key's last reconcile read, when re-running it on the same inputs would do nothing.
    var unchangedSince: [ResourceKey: ReconcileInputs] = [:]
    /// The last decoded Rollout of each key, with the resource version it was decoded from.
    var decodedRollouts: [ResourceKey: DecodedRollout] = [:]
    /// Rollouts with a `workloadRef`, resolved, with the versions of both objects they came from.
    var resolvedRollouts: [ResourceKey: ResolvedWorkload] = [:]
    /// The port and selector of each Service with a valid spec, with the resource version they
    /// were decoded from.
    var decodedServices: [ResourceKey: DecodedService] = [:]
    /// The decoded pod templates of each rollout's ReplicaSets, by ReplicaSet name, with the
    /// encoded template they came from.
    var decodedTemplates: [ResourceKey: [String: DecodedTemplate]] = [:]
    /// Shares the repeated texts of the statuses in `decodedRollouts`.
    var statusTexts = TextInterner()
    /// Statuses decided by the reconciles of the chunk in progress, written together at its end.
    var pendingStatusWrites: [StatusUpdate] = []
    /// What the metrics were last told about each rollout, so an unchanged rollout costs no call.
    var reportedFacts: [ResourceKey: DaemonMetrics.RolloutFacts] = [:]
    /// Wakes `run()` whenever a key is enqueued, so that a change (a failed measurement, an
    /// abort) is reconciled at once instead of at the next tick of a polling loop.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// Creates a controller over the store and the platform.
    public init(
        store: any ResourceStore, platform: any Platform, metrics: DaemonMetrics, analysis: AnalysisCoordinator,
        serviceAddress: String = "127.0.0.1", servicePortOffset: Int = 0,
        resyncInterval: Double = 5, fullResyncInterval: Double = 30, concurrentReconciles: Int = 1,
        notifications: NotificationSettings? = nil, stepPlugins: (any StepPluginRunner)? = nil,
        now: @escaping @Sendable () -> Date = { Date() }, logger: Logger = Logger(label: "aviary.controller")
    ) {
        self.stepPlugins = stepPlugins
        self.concurrentReconciles = max(1, concurrentReconciles)
        notificationSettings = notifications
        self.store = store
        self.platform = platform
        self.metrics = metrics
        self.analysis = analysis
        self.serviceAddress = serviceAddress
        self.servicePortOffset = servicePortOffset
        self.resyncInterval = resyncInterval
        self.fullResyncInterval = fullResyncInterval
        self.now = now
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// How many entries each of its caches and queues holds (for `GET /debug/memory`): each is
    /// keyed by a stored resource or bounded, so none may grow with releases.
    public func cacheEntries() -> [String: Int] {
        [
            "controller.due": due.count, "controller.failures": failures.count,
            "controller.unchangedSince": unchangedSince.count, "controller.decodedRollouts": decodedRollouts.count,
            "controller.decodedServices": decodedServices.count, "controller.resolvedRollouts": resolvedRollouts.count,
            "controller.decodedTemplates": decodedTemplates.values.reduce(0) { $0 + $1.count },
            "controller.statusTexts": statusTexts.count, "controller.pendingStatusWrites": pendingStatusWrites.count,
            "controller.reportedFacts": reportedFacts.count, "controller.stepPluginFailures": stepPluginFailures.count,
        ]
    }

    /// Asks for `key` to be reconciled as soon as possible: a sleeping `run()` wakes up for it. A
    /// Deployment or PodTemplate is not reconciled itself: the rollouts whose `workloadRef` names
    /// it are (one that has never been reconciled yet is anyway).
    public func enqueue(_ key: ResourceKey) {
        if key.kind.isWorkload {
            for (rolloutKey, decoded) in decodedRollouts where rolloutKey.namespace == key.namespace {
                let reference = decoded.rollout.spec.workloadRef
                if reference?.kind == key.kind.rawValue, reference?.name == key.name { due[rolloutKey] = .distantPast }
            }
        } else {
            due[key] = .distantPast
        }
        wake.yield()
    }

    /// Asks for every rollout and experiment to be reconciled (pods changed readiness, say).
    public func enqueueAllRollouts() {
        for (key, _) in (try? store.versions(kind: .rollout)) ?? [] { enqueue(key) }
        for (key, _) in (try? store.versions(kind: .experiment)) ?? [] { enqueue(key) }
    }

    private func schedule(_ key: ResourceKey, after seconds: Double) {
        let time = now().addingTimeInterval(seconds)
        if let existing = due[key], existing <= time { return }
        due[key] = time
    }

    /// Works the queue until the task is cancelled: a pass, then sleep until the next key is
    /// due, the next resync, or an `enqueue`, whichever comes first.
    public func run() async {
        var wakeups = self.wakeups.makeAsyncIterator()
        while !Task.isCancelled {
            await step()
            let delay = Self.nextWake(due: due.values, lastResync: lastResync, resyncInterval: resyncInterval)
                .timeIntervalSince(now())
            guard delay > 0 else { continue }
            let timer = Task { [wake] in
                try? await Task.sleep(for: .milliseconds(Int64((delay * 1000).rounded(.up))))
                if !Task.isCancelled { wake.yield() }
            }
            // nil once the task is cancelled, which ends the loop.
            _ = await wakeups.next(isolation: self)
            timer.cancel()
        }
    }

    /// When the loop has to look again without being told: the earliest due key, or the next
    /// resync of everything.
    static func nextWake(due: some Collection<Date>, lastResync: Date, resyncInterval: Double) -> Date {
        min(due.min() ?? .distantFuture, lastResync.addingTimeInterval(resyncInterval))
    }

    /// Reconciles every key that is due (and resyncs when it is time): one pass of the loop.
    public func step() async {
        let time = now()
        let passStarted = Date()
        var isResync = false
        var isFullResync = false
        var analysisStamps: [String: ResourceStamp] = [:]
        var skippedServices = 0
        var skippedRollouts = 0
        // Services first: a rollout's reconcile points their selectors. Within a kind the order
        // does not matter (each key is reconciled on its own), so tens of thousands of keys are
        // partitioned rather than sorted.
        // Each with its version in the resync's listing (nil: due, not listed).
        var services: [(key: ResourceKey, listedVersion: Int?)] = []
        var rollouts: [(key: ResourceKey, listedVersion: Int?)] = []
        if time.timeIntervalSince(lastResync) >= resyncInterval {
            lastResync = time
            isResync = true
            if time.timeIntervalSince(lastFullResync) >= fullResyncInterval {
                lastFullResync = time
                isFullResync = true
            }
            // Every stored Service and Rollout with nothing due (a due one is taken below). The
            // listing goes straight to the pass: tens of thousands of keys are not queued.
            // Experiments are few and keep no skip stamps: each is looked at on every resync.
            let listing =
                ((try? store.versions(kind: .service)) ?? []) + ((try? store.versions(kind: .rollout)) ?? [])
                + ((try? store.versions(kind: .experiment)) ?? [])
            // The platform's stamps of the keys that may be skipped, read in one call. A change
            // after this read is caught by the next resync, as one after a reconcile's own read is.
            var platformStamps: [ResourceKey: Int] = [:]
            if !isFullResync {
                let candidates = listing.compactMap { key, resourceVersion in
                    unchangedSince[key]?.resourceVersion == resourceVersion ? key : nil
                }
                if !candidates.isEmpty {
                    let stamps = await platform.changeStamps(of: candidates.map(\.stampedObject))
                    for key in candidates { platformStamps[key] = stamps[key.stampedObject] }
                }
            }
            services.reserveCapacity(listing.count)
            rollouts.reserveCapacity(listing.count)
            // Looked at after the await: a key enqueued meanwhile is due, and is never skipped.
            for (key, resourceVersion) in listing where due[key] == nil {
                if !isFullResync, let last = unchangedSince[key], last.resourceVersion == resourceVersion,
                    last.platformStamp == platformStamps[key],
                    analysisUnchanged(key, since: last, analysisStamps: &analysisStamps)
                {
                    if key.kind == .service { skippedServices += 1 } else { skippedRollouts += 1 }
                    continue
                }
                if key.kind == .service {
                    services.append((key, resourceVersion))
                } else {
                    rollouts.append((key, resourceVersion))
                }
            }
        }
        for (key, dueAt) in due where dueAt <= time {
            if key.kind == .service { services.append((key, nil)) } else { rollouts.append((key, nil)) }
        }
        let ready = services + rollouts
        var reconcileSeconds: [Double] = []
        var start = 0
        while start < ready.count {
            let chunk = ready[start..<min(start + Self.chunkSize, ready.count)]
            start += chunk.count
            let toReconcile = chunk.map(\.key)
            // Looked at before the keys leave the queue: one enqueued since the listing is read.
            let cached = Self.keysFromCache(chunk, due: due) { key in
                key.kind == .service ? decodedServices[key]?.resourceVersion : decodedRollouts[key]?.resourceVersion
            }
            // Taken off the queue before anything is read: an enqueue from here on makes the key
            // due again (for the next step), so a change after the read below is never missed.
            for key in toReconcile { due.removeValue(forKey: key) }
            let snapshot =
                toReconcile.count > 1 ? read(toReconcile, cached: cached, analysisStamps: &analysisStamps) : nil
            for outcome in await reconcileAll(toReconcile, snapshot: snapshot) {
                switch outcome.result {
                case .success(let requeueAfter):
                    failures.removeValue(forKey: outcome.key)
                    if let requeueAfter { schedule(outcome.key, after: requeueAfter) }
                case .failure(let error):
                    await failed(outcome.key, error)
                }
                if outcome.key.kind == .rollout { reconcileSeconds.append(outcome.seconds) }
            }
            await writePendingStatuses()
        }
        if !reconcileSeconds.isEmpty { await metrics.observeReconciles(seconds: reconcileSeconds) }
        // A dictionary keeps its capacity when emptied: once every key of 10,000 rollouts was
        // due (at start, after an apply of them all), `due` would keep about 4 MB of empty
        // buckets for good.
        if due.capacity > 4 * max(due.count, 256) {
            due = Dictionary(uniqueKeysWithValues: due.map { ($0.key, $0.value) })
        }
        // A resync makes every stored Service and Rollout due, so this step was a pass over all of
        // them through the same loop as any change: a forced full pass reconciled each one, a
        // steady-state pass skipped those whose inputs had not changed.
        if isResync {
            if isFullResync {
                statusTexts.age()
                if let runs = try? store.versions(kind: .analysisRun) {
                    await metrics.retainAnalysisRuns(Set(runs.map { "\($0.key.namespace)/\($0.key.name)" }))
                }
            }
            Heap.releaseFreedMemory()
            await metrics.observeResyncPass(
                seconds: Date().timeIntervalSince(passStarted), full: isFullResync,
                services: services.count + skippedServices, rollouts: rollouts.count + skippedRollouts,
                skipped: skippedServices + skippedRollouts)
        }
    }

    /// One reconcile's outcome: when to look again, or why it failed, and how long it took.
    struct ReconcileOutcome: Sendable {
        var key: ResourceKey
        var result: Result<Double?, any Error>
        var seconds: Double
    }

    /// Reconciles `keys` (distinct resources), at most `concurrentReconciles` at a time, and
    /// returns their outcomes in the order of `keys`. Reconciles of different resources touch
    /// different entries of the controller's state, so they may interleave at their awaits.
    private func reconcileAll(_ keys: [ResourceKey], snapshot: StoreSnapshot?) async -> [ReconcileOutcome] {
        guard concurrentReconciles > 1, keys.count > 1 else {
            var outcomes: [ReconcileOutcome] = []
            for key in keys { outcomes.append(await reconcileTimed(key, snapshot: snapshot)) }
            return outcomes
        }
        return await withTaskGroup(of: (Int, ReconcileOutcome).self) { group in
            var outcomes = [ReconcileOutcome?](repeating: nil, count: keys.count)
            var next = 0
            func startNext() {
                let (index, key) = (next, keys[next])
                next += 1
                group.addTask { (index, await self.reconcileTimed(key, snapshot: snapshot)) }
            }
            while next < min(concurrentReconciles, keys.count) { startNext() }
            for await (index, outcome) in group {
                outcomes[index] = outcome
                if next < keys.count { startNext() }
            }
            return outcomes.compactMap { $0 }
        }
    }

    /// `reconcile`, timed, its error as a value (the body of one task of `reconcileAll`).
    private func reconcileTimed(_ key: ResourceKey, snapshot: StoreSnapshot?) async -> ReconcileOutcome {
        let started = Date()
        do {
            let requeue = try await reconcile(key, snapshot: snapshot)
            return ReconcileOutcome(key: key, result: .success(requeue), seconds: Date().timeIntervalSince(started))
        } catch {
            return ReconcileOutcome(key: key, result: .failure(error), seconds: Date().timeIntervalSince(started))
        }
    }

    /// Retries a failed reconcile of `key` with backoff.
    private func failed(_ key: ResourceKey, _ error: any Error) async {
        unchangedSince.removeValue(forKey: key)
        let count = (failures[key] ?? 0) + 1
        failures[key] = count
        let delay = min(0.1 * pow(2, Double(min(count, 10))), 30)
        logger.warning("reconcile of \(key) failed (\(error)); retrying in \(delay) s")
        await metrics.countReconcileError(namespace: key.namespace, name: key.name)
        schedule(key, after: delay)
    }

    /// Writes the statuses a chunk's reconciles left, in one transaction: one sync to disk for
    /// the chunk instead of one per rollout. A rollout written meanwhile (promote, apply) keeps
    /// its version and is looked at again at once, as after its own refused write; if the store
    /// fails, each of them is retried with backoff.
    private func writePendingStatuses() async {
        guard !pendingStatusWrites.isEmpty else { return }
        let updates = pendingStatusWrites
        pendingStatusWrites = []
        do {
            let written = try await store.updateStatuses(updates)
            for (update, result) in zip(updates, written) {
                guard result != nil else {
                    schedule(update.key, after: 0)
                    continue
                }
                for event in update.events { await metrics.countEvent(type: event.type, reason: event.reason) }
            }
        } catch {
            for update in updates { await failed(update.key, error) }
        }
    }

    /// How many keys a pass reads from the store in one transaction before reconciling them: a
    /// transaction per key cost more than the read itself, and a bounded chunk keeps what is held
    /// in memory small.
    static let chunkSize = 256

    /// The keys of a chunk a pass may reconcile from the controller's decoded copy (with the
    /// version it is of) instead of reading their rows: listed by the resync, not enqueued since
    /// (so not written since the listing) and decoded from the listed version.
    static func keysFromCache(
        _ chunk: some Sequence<(key: ResourceKey, listedVersion: Int?)>, due: [ResourceKey: Date],
        decodedVersion: (ResourceKey) -> Int?
    ) -> [ResourceKey: Int] {
        var cached: [ResourceKey: Int] = [:]
        for (key, listedVersion) in chunk where due[key] == nil {
            if let listedVersion, decodedVersion(key) == listedVersion { cached[key] = listedVersion }
        }
        return cached
    }

    /// The stored resources of `keys` but the `cached` ones and the AnalysisRun stamps of their
    /// namespaces (those not in `analysisStamps` yet), read in one transaction each; nil when the
    /// store failed, so that each reconcile reads (and reports the failure) on its own.
    private func read(
        _ keys: [ResourceKey], cached: [ResourceKey: Int], analysisStamps: inout [String: ResourceStamp]
    ) -> StoreSnapshot? {
        let known = analysisStamps
        let namespaces = Set(keys.filter { $0.kind == .rollout && known[$0.namespace] == nil }.map(\.namespace))
        let toRead = keys.filter { cached[$0] == nil }
        guard let resources = toRead.isEmpty ? [:] : try? store.resources(toRead),
            let stamps = namespaces.isEmpty ? [:] : try? store.stamps(kind: .analysisRun, namespaces: namespaces)
        else { return nil }
        analysisStamps.merge(stamps) { known, _ in known }
        return StoreSnapshot(resources: resources, cachedVersions: cached, analysisStamps: analysisStamps)
    }

    /// Whether the AnalysisRuns of a rollout's namespace are as its last reconcile read them
    /// (always true for a Service, which reads none).
    private func analysisUnchanged(
        _ key: ResourceKey, since last: ReconcileInputs, analysisStamps: inout [String: ResourceStamp]
    ) -> Bool {
        switch key.kind {
        case .service:
            return true
        case .rollout:
            let stamp: ResourceStamp
            if let known = analysisStamps[key.namespace] {
                stamp = known
            } else {
                guard let read = try? store.stamp(kind: .analysisRun, namespace: key.namespace) else { return false }
                analysisStamps[key.namespace] = read
                stamp = read
            }
            return stamp == last.analysisStamp
        default:
            return false
        }
    }

    /// Reconciles one resource, from `snapshot` when given (else read now); returns when to look
    /// again (nil: only on change).
    func reconcile(_ key: ResourceKey, snapshot: StoreSnapshot? = nil) async throws -> Double? {
        switch key.kind {
        case .service: try await reconcileService(key, snapshot: snapshot)
        case .rollout: return try await reconcileRollout(key, snapshot: snapshot)
        case .experiment: return try await reconcileExperiment(key)
        case .analysisRun:
            // `terminate analysisrun` wrote spec.terminate: the run stops at its next measurement.
            if let run = try store.resource(key), RolloutOperations.object(run.spec)["terminate"] as? Bool == true {
                try await analysis.terminate(name: key.name, namespace: key.namespace)
            }
        default: break
        }
        return nil
    }

    /// Makes the platform's listener match the stored Service: `spec.ports[0].port`, its selector,
    /// and the pod-template hash a rollout pinned it to (kept across re-applies of the Service).
    func reconcileService(_ key: ResourceKey, snapshot: StoreSnapshot? = nil) async throws {
        unchangedSince.removeValue(forKey: key)
        let decoded: DecodedService
        if let version = snapshot?.cachedVersions[key], let cached = decodedServices[key],
            cached.resourceVersion == version
        {
            decoded = cached
        } else {
            // A key missing from the snapshot did not exist when it was read.
            guard let resource = try snapshot.map({ $0.resources[key] }) ?? store.resource(key) else {
                decodedServices.removeValue(forKey: key)
                try await platform.deleteService(key.namespacedName)
                return
            }
            if let cached = decodedServices[key], cached.resourceVersion == resource.resourceVersion {
                decoded = cached
            } else {
                // Decoded into a small struct: a pass reads tens of thousands of Services, and
                // JSONSerialization's untyped objects cost several times more.
                let spec = StoredServiceSpec.decode(resource.spec)
                guard let port = spec?.port else {
                    decodedServices.removeValue(forKey: key)
                    try await store.record([
                        StoredEvent(
                            key: key, type: "Warning", reason: "InvalidService",
                            message: "spec.ports[0].port is missing: a Service needs a port to listen on",
                            time: AviaryStore.timestamp(now()))
                    ])
                    return
                }
                let annotations = ServiceAnnotations(StoredMetadataAnnotations.decode(resource.metadata))
                decoded = DecodedService(
                    resourceVersion: resource.resourceVersion, port: port, selector: spec?.selector ?? [:],
                    tls: annotations.tls, tlsSecret: annotations.tlsSecret, sticky: annotations.sticky,
                    http2: spec?.http2 ?? false)
                decodedServices[key] = decoded
            }
        }
        var service = PlatformService(
            name: key.name, namespace: key.namespace, address: serviceAddress, port: decoded.port + servicePortOffset,
            selector: decoded.selector)
        service.tls = decoded.tls
        service.tlsSecret = decoded.tlsSecret
        service.sticky = decoded.sticky
        service.http2 = decoded.http2 ? true : nil
        if let stamp = try await platform.converge(service, keepingSelectorLabel: podTemplateHashLabel) {
            unchangedSince[key] = ReconcileInputs(resourceVersion: decoded.resourceVersion, platformStamp: stamp)
        }
    }
}

/// What a chunk of a pass read from the store before its reconciles, in one transaction: a
/// reconcile uses it as it would its own read (a change after it enqueues the key again).
struct StoreSnapshot {
    /// The chunk's resources that exist, but for the `cachedVersions` ones.
    var resources: [ResourceKey: StoredResource]
    /// The chunk's keys that were not read: the controller's decoded copy is of this version.
    var cachedVersions: [ResourceKey: Int] = [:]
    /// The AnalysisRun stamps of the chunk's namespaces.
    var analysisStamps: [String: ResourceStamp]
}

/// A decoded Rollout, its spec prepared for the reconciler, and the resource version it came
/// from. A class, so the cache's dictionary holds a pointer per rollout rather than the (large)
/// struct inline in every bucket.
final class DecodedRollout: Sendable {
    let resourceVersion: Int
    /// The stored resource's generation (what `status.observedGeneration` reports).
    let generation: Int
    let rollout: Rollout
    let spec: PreparedSpec
    /// The generation of the object `spec.workloadRef` names, when the template came from it.
    let workloadGeneration: Int?

    init(resourceVersion: Int, generation: Int, rollout: Rollout, spec: PreparedSpec, workloadGeneration: Int? = nil) {
        self.resourceVersion = resourceVersion
        self.generation = generation
        self.rollout = rollout
        self.spec = spec
        self.workloadGeneration = workloadGeneration
    }
}

/// What a Service reconcile uses of a stored Service with a valid spec, and the resource version
/// it came from: a pass over tens of thousands of Services then neither reads nor decodes them.
struct DecodedService {
    let resourceVersion: Int
    let port: Int
    let selector: [String: String]
    /// From the Service's annotations (`ServiceAnnotations`); the API refused unusable ones.
    @Indirect var tls: ServiceTLSFiles?
    /// `aviary.dev/tls-secret`.
    let tlsSecret: String?
    @Indirect var sticky: ServiceStickiness?
    /// Its pods speak cleartext HTTP/2 (`PlatformService.speaksHTTP2`).
    let http2: Bool
}

/// `metadata.annotations` of a stored resource, decoded alone.
struct StoredMetadataAnnotations: Decodable {
    var annotations: [String: String]?

    /// The annotations of stored `metadata`; empty when there are none or it does not decode.
    static func decode(_ metadata: Data) -> [String: String] {
        (try? JSONDecoder().decode(StoredMetadataAnnotations.self, from: metadata))?.annotations ?? [:]
    }
}

/// A decoded pod template and the encoded template it came from (a class for the same reason).
final class DecodedTemplate: Sendable {
    let data: Data
    let template: PodTemplateSpec

    init(data: Data, template: PodTemplateSpec) {
        self.data = data
        self.template = template
    }
}

/// What a Service reconcile (and the API's port check) reads of the stored spec. A field of
/// another type reads as absent (a selector with a non-string value as none), as the untyped
/// reading did.
struct StoredServiceSpec: Decodable {
    /// The stored spec decoded, nil when there is none or it is not an object.
    static func decode(_ spec: Data?) -> StoredServiceSpec? {
        spec.flatMap { try? JSONDecoder().decode(StoredServiceSpec.self, from: $0) }
    }

    /// `ports[0].port`: the port the Service listens on locally.
    var port: Int? { ports?.first?.port }

    /// `ports[0].name` and `ports[0].appProtocol`: whether its pods speak HTTP/2.
    var http2: Bool { ports?.first.map { PlatformService.speaksHTTP2(appProtocol: $0.appProtocol, portName: $0.name) } ?? false }

    struct Port: Decodable {
        var port: Int?
        var name: String?
        var appProtocol: String?

        init(from decoder: any Decoder) throws {
            let container = try decoder.container(keyedBy: CodingKeys.self)
            port = try? container.decode(Int.self, forKey: .port)
            name = try? container.decode(String.self, forKey: .name)
            appProtocol = try? container.decode(String.self, forKey: .appProtocol)
        }

        enum CodingKeys: String, CodingKey { case port, name, appProtocol }
    }

    var ports: [Port]?
    var selector: [String: String]?

    init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        ports = try? container.decode([Port].self, forKey: .ports)
        selector = try? container.decode([String: String].self, forKey: .selector)
    }

    enum CodingKeys: String, CodingKey { case ports, selector }
}

/// What a reconcile read, to tell whether a later one would read the same.
struct ReconcileInputs: Equatable {
    /// The stored resource's version.
    var resourceVersion: Int
    /// The platform's change stamp for it.
    var platformStamp: Int
    /// The AnalysisRuns of the rollout's namespace (nil for a Service).
    var analysisStamp: ResourceStamp?
}

extension ResourceKey {
    /// The key on the platform.
    var namespacedName: NamespacedName { NamespacedName(namespace: namespace, name: name) }

    /// The key of what the platform stamps for a Rollout or a Service.
    var stampedObject: StampedObject {
        kind == .rollout ? .rollout(namespacedName) : .service(namespacedName)
    }
}
