import Foundation
import Synchronization

/// The double's whole state behind one lock: every request, the simulator's ticks and the
/// control API go through here, so each sees and leaves a consistent cluster.
public final class Cluster: Sendable {
    let state: Mutex<ClusterState>

    /// A cluster with the four namespaces every cluster starts with.
    public init(podReadyAfter: Duration = .zero) {
        state = Mutex(ClusterState(podReadyAfter: podReadyAfter))
    }

    /// One step of the ReplicaSet simulator (the server runs it on a timer).
    public func tick() {
        state.withLock { ReplicaSetSimulator.tick(state: &$0, now: .now) }
    }

    /// Closes a watch whose client went away.
    func stopWatch(_ id: Int) {
        state.withLock { $0.hub.remove(id) }
    }

    /// Ends a watch at its `timeoutSeconds`, with a last BOOKMARK when the client allows them.
    func endWatch(_ id: Int, withBookmark: Bool) {
        state.withLock { state in
            guard let watcher = state.hub.watchers[id] else { return }
            if withBookmark { watcher.sendBookmark(resourceVersion: state.store.currentResourceVersion) }
            watcher.sink.end()
            state.hub.remove(id)
        }
    }

    /// Sends the periodic BOOKMARK of a watch.
    func bookmark(_ id: Int) {
        state.withLock { state in
            state.hub.watchers[id]?.sendBookmark(resourceVersion: state.store.currentResourceVersion)
        }
    }
}
