import AviaryJSON
import AviaryMeta
import Foundation
import Synchronization

/// The settings of a leader election on a `coordination.k8s.io/v1` Lease.
public struct LeaderElectionConfiguration: Sendable {
    /// The Lease's namespace.
    public var namespace: String
    /// The Lease's name.
    public var name: String
    /// This candidate's identity (unique per replica, e.g. the pod name plus a random suffix).
    public var identity: String
    /// How long after the last observed renewal other candidates wait before taking over (client-go: 15 s).
    public var leaseDuration: Duration
    /// How long the leader keeps trying to renew before it gives up leading (client-go: 10 s); must be
    /// shorter than `leaseDuration`, so that a leader stops before anyone else may start.
    public var renewDeadline: Duration
    /// How often candidates try to acquire and the leader renews (client-go: 2 s).
    public var retryPeriod: Duration
    /// Whether stopping (task cancellation, SIGTERM) releases the Lease so another replica takes over at
    /// once, like client-go's `ReleaseOnCancel`.
    public var releaseOnCancel: Bool

    /// A configuration; the durations default to client-go's.
    public init(
        namespace: String, name: String, identity: String, leaseDuration: Duration = .seconds(15),
        renewDeadline: Duration = .seconds(10), retryPeriod: Duration = .seconds(2), releaseOnCancel: Bool = true
    ) {
        precondition(renewDeadline < leaseDuration, "renewDeadline must be shorter than leaseDuration")
        precondition(retryPeriod < renewDeadline, "retryPeriod must be shorter than renewDeadline")
        self.namespace = namespace
        self.name = name
        self.identity = identity
        self.leaseDuration = leaseDuration
        self.renewDeadline = renewDeadline
        self.retryPeriod = retryPeriod
        self.releaseOnCancel = releaseOnCancel
    }
}

/// Leader election on a Lease, with client-go's rules.
///
/// A candidate takes the Lease when nobody holds it, or when the holder's record has not changed for the
/// record's `leaseDurationSeconds` as measured on this candidate's own clock (so clocks need not agree).
/// Every write carries the resourceVersion read, so two candidates cannot both win. The leader renews every
/// `retryPeriod`; when it has not renewed for `renewDeadline` it stops its work before anyone else can start.
public final class LeaderElector: Sendable {
    /// The settings.
    public let configuration: LeaderElectionConfiguration
    private let client: KubernetesClient
    private let state = Mutex(State())

    private struct State {
        var isLeader = false
        var observedRecord: LeaseSpec?
        var observedTime: ContinuousClock.Instant?
        var observedResourceVersion: String?
    }

    /// An elector; nothing happens until ``run(onStartedLeading:onStoppedLeading:)``.
    public init(client: KubernetesClient, configuration: LeaderElectionConfiguration) {
        self.client = client
        self.configuration = configuration
    }

    /// Whether this candidate is leading now (its own view).
    public var isLeader: Bool { state.withLock { $0.isLeader } }

    /// The holder recorded in the Lease when last read.
    public var observedHolder: String? { state.withLock { $0.observedRecord?.holderIdentity } }

    /// Campaigns until this candidate leads, runs `onStartedLeading` while it leads (cancelling it when
    /// leadership is lost), then calls `onStoppedLeading` and returns. Cancelling the calling task stops the
    /// campaign or the leadership; with `releaseOnCancel` the Lease is released after the work has ended.
    public func run(
        onStartedLeading: @escaping @Sendable () async -> Void,
        onStoppedLeading: @escaping @Sendable () async -> Void = {}
    ) async {
        guard await acquire() else { return }
        state.withLock { $0.isLeader = true }
        await withTaskGroup(of: Void.self) { group in
            group.addTask { await onStartedLeading() }
            await renewUntilLost()
            group.cancelAll()
        }
        state.withLock { $0.isLeader = false }
        if Task.isCancelled && configuration.releaseOnCancel {
            // The release must reach the server although the caller's task is cancelled.
            await Task { await self.release() }.value
        }
        await onStoppedLeading()
    }

    private func acquire() async -> Bool {
        while !Task.isCancelled {
            if await tryAcquireOrRenew() { return true }
            do {
                try await Task.sleep(for: jittered(configuration.retryPeriod))
            } catch {
                return false
            }
        }
        return false
    }

    private func renewUntilLost() async {
        var lastRenewal = ContinuousClock.now
        while !Task.isCancelled {
            do {
                try await Task.sleep(for: configuration.retryPeriod)
            } catch {
                return
            }
            let remaining = configuration.renewDeadline - lastRenewal.duration(to: .now)
            if remaining > .zero, await withDeadline(remaining, { await self.tryAcquireOrRenew() }) == true {
                lastRenewal = .now
            } else if lastRenewal.duration(to: .now) >= configuration.renewDeadline {
                return
            }
        }
    }

    /// One attempt to take or keep the Lease; true when this candidate holds it afterwards.
    func tryAcquireOrRenew() async -> Bool {
        let now = Date()
        let nowText = MicroTime.string(from: now)
        let identity = configuration.identity
        let durationSeconds = Int(configuration.leaseDuration.seconds.rounded(.up))
        let lease: Lease
        do {
            lease = try await client.get(Lease.resource, namespace: configuration.namespace, name: configuration.name)
                .decoded(as: Lease.self)
        } catch let error as KubernetesError where error.isNotFound {
            let fresh = Lease(
                metadata: ObjectMeta(name: configuration.name, namespace: configuration.namespace),
                spec: LeaseSpec(
                    holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: nowText,
                    renewTime: nowText, leaseTransitions: 0))
            guard let object = try? KubernetesObject(encoding: fresh),
                let created = try? await client.create(Lease.resource, namespace: configuration.namespace, object)
            else { return false }
            observe(fresh.spec, resourceVersion: created.metadata.resourceVersion)
            return true
        } catch {
            return false
        }
        let record = lease.spec
        let observedTime = state.withLock { state in
            if state.observedRecord != record {
                state.observedRecord = record
                state.observedTime = .now
            }
            state.observedResourceVersion = lease.metadata.resourceVersion
            return state.observedTime ?? .now
        }
        let holder = record.holderIdentity ?? ""
        let recordDuration = Duration.seconds(record.leaseDurationSeconds ?? durationSeconds)
        if !holder.isEmpty, holder != identity, observedTime.duration(to: .now) < recordDuration {
            return false
        }
        var spec = LeaseSpec(
            holderIdentity: identity, leaseDurationSeconds: durationSeconds, acquireTime: nowText, renewTime: nowText,
            leaseTransitions: record.leaseTransitions ?? 0)
        if holder == identity {
            spec.acquireTime = record.acquireTime ?? nowText
        } else {
            spec.leaseTransitions = (record.leaseTransitions ?? 0) + 1
        }
        var updated = lease
        updated.spec = spec
        guard let object = try? KubernetesObject(encoding: updated),
            let written = try? await client.update(Lease.resource, namespace: configuration.namespace, object)
        else { return false }
        observe(spec, resourceVersion: written.metadata.resourceVersion)
        return true
    }

    /// Gives the Lease up: no holder, a duration of one second, as client-go's `ReleaseOnCancel`.
    private func release() async {
        guard
            let lease = try? await client.get(
                Lease.resource, namespace: configuration.namespace, name: configuration.name
            )
            .decoded(as: Lease.self),
            lease.spec.holderIdentity == configuration.identity
        else { return }
        let nowText = MicroTime.string(from: Date())
        var released = lease
        released.spec = LeaseSpec(
            holderIdentity: nil, leaseDurationSeconds: 1, acquireTime: nowText, renewTime: nowText,
            leaseTransitions: lease.spec.leaseTransitions)
        guard let object = try? KubernetesObject(encoding: released),
            let written = try? await client.update(Lease.resource, namespace: configuration.namespace, object)
        else { return }
        observe(released.spec, resourceVersion: written.metadata.resourceVersion)
    }

    private func observe(_ record: LeaseSpec, resourceVersion: String?) {
        state.withLock { state in
            state.observedRecord = record
            state.observedTime = .now
            state.observedResourceVersion = resourceVersion
        }
    }

    /// `period` plus up to 20% (client-go's JitterFactor 1.2), so candidates do not march in step.
    private func jittered(_ period: Duration) -> Duration {
        period + period * Double.random(in: 0..<0.2)
    }
}

/// Runs `body`, giving up after `timeout`; nil when it gave up.
func withDeadline<T: Sendable>(_ timeout: Duration, _ body: @escaping @Sendable () async -> T) async -> T? {
    await withTaskGroup(of: T?.self) { group in
        group.addTask { await body() }
        group.addTask {
            try? await Task.sleep(for: timeout)
            return nil
        }
        let first = await group.next() ?? nil
        group.cancelAll()
        return first
    }
}
