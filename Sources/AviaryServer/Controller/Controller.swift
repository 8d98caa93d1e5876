import AviaryLocal
import AviaryStore
import Foundation
import Logging

/// The controller loop: level-triggered and idempotent. Changes enqueue a resource's key (not
/// the object); a worker re-reads the stored state, converges the platform, writes the status
/// once, and requeues with backoff on error. Every rollout and service is also looked at again
/// every `resyncInterval`.
public actor Controller {
    let store: AviaryStore
    let platform: any Platform
    let metrics: DaemonMetrics
    let analysis: AnalysisCoordinator
    let serviceAddress: String
    let now: @Sendable () -> Date
    let logger: Logger
    let resyncInterval: Double

    private var due: [ResourceKey: Date] = [:]
    private var failures: [ResourceKey: Int] = [:]
    private var lastResync = Date.distantPast
    /// Wakes `run()` whenever a key is enqueued, so that a change (a failed measurement, an
    /// abort) is reconciled at once instead of at the next tick of a polling loop.
    private let wakeups: AsyncStream<Void>
    private let wake: AsyncStream<Void>.Continuation

    /// Creates a controller over the store and the platform.
    public init(
        store: AviaryStore, platform: any Platform, metrics: DaemonMetrics, analysis: AnalysisCoordinator,
        serviceAddress: String = "127.0.0.1",
        resyncInterval: Double = 5, now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger = Logger(label: "aviary.controller")
    ) {
        self.store = store
        self.platform = platform
        self.metrics = metrics
        self.analysis = analysis
        self.serviceAddress = serviceAddress
        self.resyncInterval = resyncInterval
        self.now = now
        self.logger = logger
        (wakeups, wake) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
    }

    /// Asks for `key` to be reconciled as soon as possible: a sleeping `run()` wakes up for it.
    public func enqueue(_ key: ResourceKey) {
        due[key] = .distantPast
        wake.yield()
    }

    /// Asks for every rollout to be reconciled (pods changed readiness, say).
    public func enqueueAllRollouts() {
        for resource in (try? store.resources(kind: "Rollout")) ?? [] { enqueue(resource.key) }
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
        if time.timeIntervalSince(lastResync) >= resyncInterval {
            lastResync = time
            isResync = true
            for kind in ["Service", "Rollout"] {
                for resource in (try? store.resources(kind: kind)) ?? [] where due[resource.key] == nil {
                    due[resource.key] = time
                }
            }
        }
        // Services first: a rollout's reconcile points their selectors.
        let ready = due.filter { $0.value <= time }.keys.sorted { lhs, rhs in
            (lhs.kind == "Service" ? 0 : 1, lhs) < (rhs.kind == "Service" ? 0 : 1, rhs)
        }
        for key in ready {
            due.removeValue(forKey: key)
            let started = Date()
            do {
                let requeueAfter = try await reconcile(key)
                failures.removeValue(forKey: key)
                if let requeueAfter { schedule(key, after: requeueAfter) }
            } catch {
                let count = (failures[key] ?? 0) + 1
                failures[key] = count
                let delay = min(0.1 * pow(2, Double(min(count, 10))), 30)
                logger.warning("reconcile of \(key) failed (\(error)); retrying in \(delay) s")
                await metrics.countReconcileError(namespace: key.namespace, name: key.name)
                schedule(key, after: delay)
            }
            if key.kind == "Rollout" { await metrics.observeReconcile(seconds: Date().timeIntervalSince(started)) }
        }
        // A resync makes every stored Service and Rollout due, so this step was a full pass: each
        // one read, observed, reconciled and its status written, through the same loop as any change.
        if isResync {
            await metrics.observeResyncPass(
                seconds: Date().timeIntervalSince(passStarted), services: ready.count { $0.kind == "Service" },
                rollouts: ready.count { $0.kind == "Rollout" })
        }
    }

    /// Reconciles one resource; returns when to look again (nil: only on change).
    func reconcile(_ key: ResourceKey) async throws -> Double? {
        switch key.kind {
        case "Service": try await reconcileService(key)
        case "Rollout": return try await reconcileRollout(key)
        default: break
        }
        return nil
    }

    /// Makes the platform's listener match the stored Service: `spec.ports[0].port`, its selector,
    /// and the pod-template hash a rollout pinned it to (kept across re-applies of the Service).
    func reconcileService(_ key: ResourceKey) async throws {
        guard let resource = try store.resource(key) else {
            try await platform.deleteService(key.name)
            return
        }
        let spec = RolloutOperations.object(resource.spec)
        let ports = spec["ports"] as? [[String: Any]] ?? []
        guard let port = ports.first?["port"] as? Int else {
            try store.record([
                StoredEvent(
                    key: key, type: "Warning", reason: "InvalidService",
                    message: "spec.ports[0].port is missing: a Service needs a port to listen on",
                    time: AviaryStore.timestamp(now()))
            ])
            return
        }
        var selector = spec["selector"] as? [String: String] ?? [:]
        if let pinned = await platform.service(key.name)?.selector[podTemplateHashLabel] {
            selector[podTemplateHashLabel] = pinned
        }
        try await platform.apply(
            LocalService(
                name: key.name, namespace: key.namespace, address: serviceAddress, port: port, selector: selector))
    }
}

/// The label that ties pods, ReplicaSets and Service selectors to one revision.
let podTemplateHashLabel = "rollouts-pod-template-hash"
