import Synchronization

/// Counts the store's committed writes and wakes whoever waits for the next one, so that a watch
/// answers a write at once instead of polling the database.
///
/// A waiter says which count it has seen; `wait` returns as soon as the count is past it, when its
/// timeout passes, or when its task is cancelled, whichever comes first. Waking is coarse (any
/// write wakes every waiter): a watcher re-reads what it follows and decides whether it changed.
public final class StoreChanges: Sendable {
    private struct State {
        var count: UInt64 = 0
        var lastWaiter = 0
        var waiters: [Int: CheckedContinuation<Void, Never>] = [:]
        /// Waiters inside `wait`, registered or not yet.
        var active: Set<Int> = []
        /// Active waiters woken (by timeout or cancellation) before they had registered.
        var woken: Set<Int> = []
    }

    private let state = Mutex(State())

    /// Creates a feed with a count of 0.
    public init() {}

    /// How many writes were committed so far.
    public var count: UInt64 { state.withLock { $0.count } }

    /// How many waiters are registered for the next write: lets a test know a waiter has started
    /// waiting before it writes.
    var registeredWaiters: Int { state.withLock { $0.waiters.count } }

    /// Records a committed write and wakes every waiter.
    public func notify() {
        let waiters = state.withLock { state in
            state.count += 1
            defer { state.waiters = [:] }
            return Array(state.waiters.values)
        }
        for waiter in waiters { waiter.resume() }
    }

    /// Waits until the count is past `seen`, `timeout` has passed or the task is cancelled; returns the count then.
    @discardableResult
    public func wait(after seen: UInt64, timeout: Duration) async -> UInt64 {
        let id = state.withLock { state in
            state.lastWaiter += 1
            state.active.insert(state.lastWaiter)
            return state.lastWaiter
        }
        let timer = Task { [self] in
            guard (try? await Task.sleep(for: timeout)) != nil else { return }
            wake(id)
        }
        await withTaskCancellationHandler {
            await withCheckedContinuation { continuation in
                let resumeNow = state.withLock { state in
                    if state.count > seen || state.woken.remove(id) != nil || Task.isCancelled { return true }
                    state.waiters[id] = continuation
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            wake(id)
        }
        timer.cancel()
        return state.withLock { state in
            state.active.remove(id)
            state.woken.remove(id)
            return state.count
        }
    }

    private func wake(_ id: Int) {
        let waiter = state.withLock { state -> CheckedContinuation<Void, Never>? in
            if let waiter = state.waiters.removeValue(forKey: id) { return waiter }
            if state.active.contains(id) { state.woken.insert(id) }
            return nil
        }
        waiter?.resume()
    }
}
