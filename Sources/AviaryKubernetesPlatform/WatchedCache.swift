import AviaryKubernetes
import Foundation
import Synchronization

/// An informer with read-your-writes: after the controller writes an object it waits until the
/// informer's watch has delivered that write (or a later one), so the next reconcile reads what
/// it just wrote instead of deciding again from the state before it (a second ReplicaSet create,
/// a second AnalysisRun driver, a status computed from stale counts).
///
/// Resource versions are compared as integers: the API server's are etcd revisions, and the test
/// double's one global counter. A write that the watch has not shown within `timeout` is given up
/// on (the reconcile goes on; a later watch event enqueues the rollout again).
final class WatchedCache: Sendable {
    let informer: Informer
    let timeout: Duration
    private let state = Mutex(State())

    private struct State {
        /// The highest resource version any event of this informer carried.
        var seen = 0
        var waiters: [Int: Waiter] = [:]
        var nextWaiter = 0
    }

    private struct Waiter {
        var resourceVersion: Int
        var continuation: CheckedContinuation<Void, Never>
    }

    init(informer: Informer, timeout: Duration = .seconds(5)) {
        self.informer = informer
        self.timeout = timeout
    }

    /// Follows the informer's events until it stops, calling `onEvent` for each.
    func follow(_ onEvent: @Sendable (InformerEvent) -> Void) async {
        for await event in informer.events() {
            let version = Self.version(of: event.object)
            let ready = state.withLock { state -> [CheckedContinuation<Void, Never>] in
                state.seen = max(state.seen, version)
                let due = state.waiters.filter { $0.value.resourceVersion <= state.seen }
                for id in due.keys { state.waiters.removeValue(forKey: id) }
                return due.values.map(\.continuation)
            }
            for continuation in ready { continuation.resume() }
            onEvent(event)
        }
    }

    /// Returns once the informer has shown resource version `resourceVersion` (or a later one), or
    /// after `timeout`.
    func waitUntilSeen(_ object: KubernetesObject) async {
        let wanted = Self.version(of: object)
        guard wanted > 0 else { return }
        let id = state.withLock { state -> Int? in
            if state.seen >= wanted { return nil }
            state.nextWaiter += 1
            return state.nextWaiter
        }
        guard let id else { return }
        let timeout = self.timeout
        let timer = Task { [weak self] in
            try? await Task.sleep(for: timeout)
            self?.resume(id)
        }
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let already = state.withLock { state -> Bool in
                if state.seen >= wanted { return true }
                state.waiters[id] = Waiter(resourceVersion: wanted, continuation: continuation)
                return false
            }
            if already { continuation.resume() }
        }
        timer.cancel()
    }

    /// Returns once the informer no longer has the object at `key`, or after `timeout`.
    func waitUntilGone(_ key: String) async {
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        // A delete's watch event arrives within milliseconds; this bounds the wait without a waiter per key.
        while informer.object(forKey: key) != nil, clock.now < deadline {
            try? await Task.sleep(for: .milliseconds(5))
        }
    }

    private func resume(_ id: Int) {
        let waiter = state.withLock { $0.waiters.removeValue(forKey: id) }
        waiter?.continuation.resume()
    }

    static func version(of object: KubernetesObject) -> Int {
        Int(object.metadata.resourceVersion ?? "") ?? 0
    }
}
