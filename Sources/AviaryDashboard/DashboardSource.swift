import AviaryAPI
import AviaryClient
import AviaryKubernetes
import AviaryModel
import Foundation

/// Where the dashboard reads rollouts and carries out actions: the daemon's own API on the local
/// platform (`APIDashboardSource`), the API server on Kubernetes (`ClusterDashboardSource`), each
/// through the calls the CLI makes there, so a page shows what `aviary get` shows.
public protocol DashboardSource: Sendable {
    /// Every rollout of every namespace, with at least the fields the list shows.
    func listRollouts() async throws(DashboardRefusal) -> [Rollout]
    /// A rollout page's data: the snapshot `get rollout` draws, and the rollout's events.
    func page(name: String, namespace: String) async throws(DashboardRefusal) -> (RolloutSnapshot, [EventList.Event])
    /// The rollout as it is now (an action is checked against it).
    func rollout(name: String, namespace: String) async throws(DashboardRefusal) -> Rollout
    /// Carries out an action as the matching CLI verb does.
    func perform(_ action: DashboardAction, name: String, namespace: String) async throws(DashboardRefusal)
    /// Whether pods have logs to link to.
    var hasPodLogs: Bool { get }
    /// A pod's log.
    func podLog(name: String, namespace: String) async throws(DashboardRefusal) -> Data
    /// Calls `onChange` each time the rollout `name` (nil: any rollout) of `namespace` (nil: every
    /// namespace) or what it owns changes, until `onChange` returns false, the stream ends or the
    /// task is cancelled.
    func followChanges(name: String?, namespace: String?, onChange: @escaping @Sendable () async -> Bool) async
}

/// The local platform: the daemon's HTTP API through `APIClient`.
public struct APIDashboardSource: DashboardSource {
    public let client: APIClient

    public init(client: APIClient) { self.client = client }

    static func refusal(_ failure: APIClient.Failure) -> DashboardRefusal {
        DashboardRefusal(status: failure.status ?? 502, message: failure.description)
    }

    public func listRollouts() async throws(DashboardRefusal) -> [Rollout] {
        do { return try await client.rolloutListings() } catch { throw Self.refusal(error) }
    }

    public func page(
        name: String, namespace: String
    ) async throws(DashboardRefusal) -> (
        RolloutSnapshot, [EventList.Event]
    ) {
        do { return try await client.dashboardPage(name: name, namespace: namespace) } catch {
            throw Self.refusal(error)
        }
    }

    public func rollout(name: String, namespace: String) async throws(DashboardRefusal) -> Rollout {
        do { return try await client.rollout(name, namespace: namespace) } catch { throw Self.refusal(error) }
    }

    public func perform(_ action: DashboardAction, name: String, namespace: String) async throws(DashboardRefusal) {
        do { try await client.perform(action, rollout: name, namespace: namespace) } catch { throw Self.refusal(error) }
    }

    public var hasPodLogs: Bool { true }

    public func podLog(name: String, namespace: String) async throws(DashboardRefusal) -> Data {
        do { return try await client.podLog(name) } catch { throw Self.refusal(error) }
    }

    public func followChanges(name: String?, namespace: String?, onChange: @escaping @Sendable () async -> Bool) async {
        // The API ends a watch after its timeout; the caller's stream then ends and the browser
        // connects again. The watch's first line is the state the page was drawn from.
        let path =
            if let name {
                APIClient.watchPath(rollout: name, namespace: namespace ?? "default", owned: true, timeoutSeconds: 300)
            } else {
                APIClient.watchPath(rolloutsIn: namespace) + (namespace == nil ? "?" : "&") + "timeoutSeconds=300"
            }
        var first = true
        _ = try? await client.follow(path) { _ in
            if first {
                first = false
                return true
            }
            return await onChange()
        }
    }
}

/// Kubernetes: the API server through `ClusterClient`, writing what Argo's `kubectl argo rollouts`
/// plugin writes (so the page steers a rollout whether Aviary's controller or Argo's runs it).
public struct ClusterDashboardSource: DashboardSource {
    public let kubernetes: KubernetesClient

    public init(kubernetes: KubernetesClient) { self.kubernetes = kubernetes }

    func client(_ namespace: String) -> ClusterClient { ClusterClient(kubernetes: kubernetes, namespace: namespace) }

    static func refusal(_ failure: ClusterFailure) -> DashboardRefusal {
        DashboardRefusal(status: failure.isNotFound ? 404 : 502, message: failure.description)
    }

    public func listRollouts() async throws(DashboardRefusal) -> [Rollout] {
        do { return try await client("default").rollouts(allNamespaces: true) } catch { throw Self.refusal(error) }
    }

    public func page(
        name: String, namespace: String
    ) async throws(DashboardRefusal) -> (
        RolloutSnapshot, [EventList.Event]
    ) {
        let client = client(namespace)
        do {
            async let events = client.events(ofRollout: name)
            return (try await client.snapshot(of: name), await events)
        } catch {
            throw Self.refusal(error)
        }
    }

    public func rollout(name: String, namespace: String) async throws(DashboardRefusal) -> Rollout {
        do { return try await client(namespace).rollout(name) } catch { throw Self.refusal(error) }
    }

    public func perform(_ action: DashboardAction, name: String, namespace: String) async throws(DashboardRefusal) {
        let client = client(namespace)
        do {
            switch action {
            case .promote: try await client.promote(name, full: false)
            case .promoteFull: try await client.promote(name, full: true)
            case .abort: try await client.write(RolloutPatches.abort, to: name)
            case .retry: try await client.write(RolloutPatches.retry, to: name)
            case .pause: try await client.write(RolloutPatches.pause, to: name)
            case .resume: try await client.write(RolloutPatches.Writes(spec: ["spec": ["paused": false]]), to: name)
            case .restart: try await client.write(RolloutPatches.restart(at: Date()), to: name)
            case .undo(let revision): _ = try await client.undo(name, toRevision: revision)
            case .setImage(let container, let image):
                try await client.setImage(name, container: container, image: image)
            }
        } catch {
            throw Self.refusal(error)
        }
    }

    public var hasPodLogs: Bool { false }

    public func podLog(name: String, namespace: String) async throws(DashboardRefusal) -> Data {
        throw DashboardRefusal(
            status: 404, message: "pod logs are not served on Kubernetes: kubectl logs -n \(namespace) \(name)")
    }

    public func followChanges(name: String?, namespace: String?, onChange: @escaping @Sendable () async -> Bool) async {
        // ClusterClient calls back synchronously; the changes go through a stream to `onChange`.
        let (changes, continuation) = AsyncStream.makeStream(of: Void.self, bufferingPolicy: .bufferingNewest(1))
        let follower = Task {
            await client(namespace ?? "default").followChanges(
                rolloutsOnly: name == nil, allNamespaces: namespace == nil, onChange: { continuation.yield() })
        }
        defer { follower.cancel() }
        for await _ in changes {
            guard await onChange() else { return }
        }
    }
}
