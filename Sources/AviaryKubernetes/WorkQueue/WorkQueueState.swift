/// The rules of client-go's work queue as a value type, with time passed in, so each rule is a table test.
///
/// - A key is queued at most once: adding a queued key does nothing.
/// - A key being processed (returned by ``next()`` and not yet ``done(_:)``) that is added again is not
///   handed to a second worker: it is queued again when its worker calls ``done(_:)``.
/// - ``addAfter(_:at:now:)`` keeps the earliest of several requested times.
/// - After ``shutDown()`` nothing is added; keys already queued are still handed out.
public struct WorkQueueState<Key: Hashable & Sendable, Instant: InstantProtocol>: Sendable {
    private var queue: [Key] = []
    private var head = 0
    /// Keys that need processing: queued, or added while being processed.
    private var dirty: Set<Key> = []
    private var processing: Set<Key> = []
    private var waiting: [Key: Instant] = [:]
    /// Whether ``shutDown()`` was called.
    public private(set) var isShuttingDown = false

    /// An empty queue.
    public init() {}

    /// Keys ready to be handed out.
    public var count: Int { queue.count - head }
    /// Keys waiting for their time.
    public var waitingCount: Int { waiting.count }
    /// Whether `key` is being processed.
    public func isProcessing(_ key: Key) -> Bool { processing.contains(key) }

    /// Marks `key` as needing processing.
    public mutating func add(_ key: Key) {
        guard !isShuttingDown, !dirty.contains(key) else { return }
        dirty.insert(key)
        if processing.contains(key) { return }
        queue.append(key)
    }

    /// Adds `key` at `time` (at once when `time` is not after `now`); of several times, the earliest wins.
    public mutating func addAfter(_ key: Key, at time: Instant, now: Instant) {
        guard !isShuttingDown else { return }
        if time <= now {
            add(key)
            return
        }
        if let existing = waiting[key], existing <= time { return }
        waiting[key] = time
    }

    /// Adds every waiting key whose time has come.
    public mutating func promote(now: Instant) {
        let due = waiting.filter { $0.value <= now }.sorted { $0.value < $1.value }
        for (key, _) in due {
            waiting[key] = nil
            add(key)
        }
    }

    /// When the next waiting key is due.
    public var nextDue: Instant? { waiting.values.min() }

    /// Hands out the next key and marks it as being processed; nil when none is queued.
    public mutating func next() -> Key? {
        guard head < queue.count else { return nil }
        let key = queue[head]
        head += 1
        if head > 64 && head * 2 > queue.count {
            queue.removeFirst(head)
            head = 0
        }
        processing.insert(key)
        dirty.remove(key)
        return key
    }

    /// Ends the processing of `key`; queues it again if it was added meanwhile.
    public mutating func done(_ key: Key) {
        processing.remove(key)
        if dirty.contains(key) { queue.append(key) }
    }

    /// Refuses new keys from now on; waiting keys are dropped.
    public mutating func shutDown() {
        isShuttingDown = true
        waiting = [:]
    }
}
