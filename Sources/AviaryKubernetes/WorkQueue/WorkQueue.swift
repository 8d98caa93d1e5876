/// A rate-limited work queue of keys for controller workers, like client-go's
/// `RateLimitingInterface` with its default controller rate limiter.
///
/// Workers loop on ``get()``, process the key, then call ``done(_:)``; on failure they call
/// ``addRateLimited(_:)``, on success ``forget(_:)``. The rules of ``WorkQueueState`` apply (dedup, a key in
/// processing is re-queued only after `done`). The clock is a parameter so tests drive time.
public actor WorkQueue<Key: Hashable & Sendable, C: Clock> where C.Duration == Duration {
    private let clock: C
    private var state = WorkQueueState<Key, C.Instant>()
    private var rateLimiter: ControllerRateLimiter<Key, C.Instant>
    private var getters: [CheckedContinuation<Key?, Never>] = []
    private var timer: Task<Void, Never>?
    private var timerDue: C.Instant?

    /// A queue on `clock` with client-go's default controller rate limiter unless told otherwise.
    public init(clock: C, rateLimiter: ControllerRateLimiter<Key, C.Instant> = ControllerRateLimiter()) {
        self.clock = clock
        self.rateLimiter = rateLimiter
    }

    /// Keys ready to be handed out.
    public var count: Int { state.count }
    /// Whether ``shutDown()`` was called.
    public var isShuttingDown: Bool { state.isShuttingDown }

    /// Queues `key` unless it is already queued.
    public func add(_ key: Key) {
        state.add(key)
        handOut()
    }

    /// Queues `key` after `delay`.
    public func addAfter(_ key: Key, delay: Duration) {
        let now = clock.now
        state.addAfter(key, at: now.advanced(by: delay), now: now)
        handOut()
        scheduleTimer()
    }

    /// Queues `key` after its rate-limited delay (one more failure of the key).
    public func addRateLimited(_ key: Key) {
        addAfter(key, delay: rateLimiter.when(key, now: clock.now))
    }

    /// Clears `key`'s failure count: its next rate-limited add starts again at the shortest delay.
    public func forget(_ key: Key) { rateLimiter.forget(key) }

    /// How many times `key` was rate-limited since it was last forgotten.
    public func requeues(_ key: Key) -> Int { rateLimiter.requeues(key) }

    /// Marks the processing of `key` as finished.
    public func done(_ key: Key) {
        state.done(key)
        handOut()
    }

    /// Waits for a key; nil once the queue is shut down and empty.
    public func get() async -> Key? {
        if let key = state.next() { return key }
        if state.isShuttingDown { return nil }
        return await withCheckedContinuation { getters.append($0) }
    }

    /// Stops accepting keys; waiting workers get nil once the queued keys are handed out.
    public func shutDown() {
        state.shutDown()
        timer?.cancel()
        timer = nil
        handOut()
        if state.count == 0 {
            let waiting = getters
            getters = []
            for getter in waiting { getter.resume(returning: nil) }
        }
    }

    private func handOut() {
        while !getters.isEmpty, let key = state.next() {
            getters.removeFirst().resume(returning: key)
        }
    }

    private func scheduleTimer() {
        guard let due = state.nextDue else { return }
        if let timerDue, timerDue <= due, timer != nil { return }
        timer?.cancel()
        timerDue = due
        timer = Task { [clock] in
            try? await clock.sleep(until: due, tolerance: nil)
            self.timerFired(cancelled: Task.isCancelled)
        }
    }

    private func timerFired(cancelled: Bool) {
        if cancelled { return }
        timer = nil
        timerDue = nil
        state.promote(now: clock.now)
        handOut()
        scheduleTimer()
    }
}

extension WorkQueue where C == ContinuousClock {
    /// A queue on the real clock with client-go's default controller rate limiter.
    public init() { self.init(clock: ContinuousClock()) }
}
