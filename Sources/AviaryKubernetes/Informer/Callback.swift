import Synchronization

/// A callback one task sets while others call it (an informer's handler, set once the controller
/// exists).
///
/// Why not `Mutex<((Argument) -> Void)?>`: a closure kept in a generic container is stored at the
/// container's abstraction, and each `withLock { $0 }` that reads it leaves it wrapped in two more
/// reabstraction thunks. A handler read on every watch event so became a chain as long as the events
/// seen: at 10,000 rollouts, 28,000 frames deep and nine tenths of the controller's CPU, every call
/// walking the whole chain. Kept in a struct's field, the closure is copied as it is.
public final class Callback<Argument: Sendable>: Sendable {
    private struct Entry: Sendable {
        let call: @Sendable (Argument) -> Void
    }

    private let entry = Mutex<Entry?>(nil)

    /// No callback yet: calls do nothing.
    public init() {}

    /// Sets what calls run from now on.
    public func set(_ call: @escaping @Sendable (Argument) -> Void) {
        entry.withLock { $0 = Entry(call: call) }
    }

    /// Runs the callback set last, outside the lock; nothing when none is set.
    public func callAsFunction(_ argument: Argument) {
        entry.withLock { $0 }?.call(argument)
    }
}
