import AviaryStore
import Synchronization

@testable import AviaryServer

/// Records the store's change count each time a watch stream starts a read, so a test knows
/// the stream has looked at the store after a given write without sleeping.
final class ReadLog: Sendable {
    private let counts = Mutex<[UInt64]>([])

    /// `read`, recording the change count before each call.
    func counting(_ read: @escaping Watch.Read, store: AviaryStore) -> Watch.Read {
        { [self] in
            counts.withLock { $0.append(store.changes.count) }
            return try await read()
        }
    }

    /// How many reads started with the change count at `count` or past it.
    func readsStarted(afterCount count: UInt64) -> Int {
        counts.withLock { $0.filter { $0 >= count }.count }
    }
}
