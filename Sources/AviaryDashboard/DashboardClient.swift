import AviaryAPI
import AviaryClient
import AviaryModel
import Foundation

/// What the dashboard reads and does, through the daemon's HTTP API: the same calls, paths and
/// answers as the CLI's, so a page shows exactly what `aviary get` would.
extension APIClient {
    /// A rollout page's data: the snapshot `get rollout` draws, and the rollout's events.
    public func dashboardPage(
        name: String, namespace: String
    ) async throws(Failure) -> (
        RolloutSnapshot, [EventList.Event]
    ) {
        async let events = try? self.events(ofRollout: name, namespace: namespace)
        let snapshot = try await snapshot(of: name, namespace: namespace)
        return (snapshot, await events ?? [])
    }

    /// Carries out an action the way the matching CLI verb does.
    public func perform(_ action: DashboardAction, rollout name: String, namespace: String) async throws(Failure) {
        switch action {
        case .setImage(let container, let image):
            try await setImage(rollout: name, container: container, image: image, namespace: namespace)
            return
        default: break
        }
        let (operation, query): (String, String?) =
            switch action {
            case .promote: ("promote", nil)
            case .promoteFull: ("promote", "full=true")
            case .abort: ("abort", nil)
            case .retry: ("retry", nil)
            case .pause: ("pause", nil)
            case .resume: ("resume", nil)
            case .restart: ("restart", nil)
            case .undo(let revision): ("undo", "toRevision=\(revision)")
            case .setImage: ("image", nil)
            }
        _ = try await send(
            .POST, Self.operationPath(rollout: name, operation: operation, namespace: namespace, query: query),
            body: Data())
    }

    /// A pod's log (the local platform's STATE_DIR/logs/POD.log).
    public func podLog(_ name: String) async throws(Failure) -> Data {
        try await send(
            .GET, "/api/v1/pods/\(name.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed) ?? name)/logs")
    }
}
