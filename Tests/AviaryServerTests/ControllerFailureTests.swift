import AviaryLocal
import AviaryStore
import Foundation
import GRDB
import Synchronization
import Testing

@testable import AviaryServer

/// The controller when the store fails under it: another connection holds the database's write
/// lock (as a second process could), so every write of the reconcile fails once SQLite's busy
/// timeout has passed. The failure is counted and retried with backoff; once the lock is gone,
/// the retry converges and writes the status.
@Suite(.serialized) struct ControllerFailureTests {
    /// A clock the test moves.
    final class TestClock: Sendable {
        private let time = Mutex(Date(timeIntervalSince1970: 1_800_000_000))
        var now: Date { time.withLock { $0 } }
        func advance(_ seconds: Double) { time.withLock { $0 = $0.addingTimeInterval(seconds) } }
    }

    static let rollout = Data(
        #"""
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web"},
         "spec": {"replicas": 0, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "app", "image": "web:1", "command": ["/bin/true"]}]}},
                  "strategy": {"canary": {"steps": [{"setWeight": 50}]}}}}
        """#.utf8)

    @Test(.timeLimit(.minutes(5))) func aStoreWriteFailureFailsTheReconcileWhichIsRetriedAfterwards() async throws {
        let directory = NSTemporaryDirectory() + "aviary-controller-failure-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try AviaryStore(stateDirectory: directory)
        let platform = try LocalPlatform(
            stateStore: StorePlatformState(store: store, key: StorePlatformState.platformKey),
            logDirectory: directory + "/logs")
        let metrics = DaemonMetrics()
        let clock = TestClock()
        let controller = Controller(
            store: store, platform: platform, metrics: metrics,
            analysis: AnalysisCoordinator(store: store, metrics: metrics), resyncInterval: 3600,
            now: { clock.now })
        let (stored, _) = try store.apply(Self.rollout)
        let key = stored.key
        let errorLine = #"rollout_reconcile_error{namespace="default",name="web"}"#

        // A connection of its own that keeps its transaction open between accesses.
        var lockConfiguration = GRDB.Configuration()
        lockConfiguration.allowsUnsafeTransactions = true
        let lock = try DatabaseQueue(path: store.path, configuration: lockConfiguration)
        try await lock.writeWithoutTransaction { try $0.execute(sql: "BEGIN IMMEDIATE") }
        do {
            await controller.enqueue(key)
            await controller.step()
            #expect(await metrics.render().contains(errorLine + " 1"), "the failed reconcile is counted")
            #expect(try store.resource(key)?.status == nil, "nothing was written")
            #expect(try store.revisions(of: key).isEmpty)
        } catch {
            try? await lock.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }
            throw error
        }
        try await lock.writeWithoutTransaction { try $0.execute(sql: "ROLLBACK") }

        // Not retried before its backoff is up: the key is due 0.2 s after the failure.
        await controller.step()
        #expect(try store.resource(key)?.status == nil)
        clock.advance(1)
        await controller.step()
        let status = try #require(try store.resource(key)?.status)
        let phase = (try JSONSerialization.jsonObject(with: status) as? [String: Any])?["phase"] as? String
        #expect(phase != nil, "the retry wrote the status")
        let revisions = try store.revisions(of: key)
        #expect(revisions.count == 1, "the retry recorded the revision of the ReplicaSet it created")
        #expect(await metrics.render().contains(errorLine + " 1"), "one failure only")
        await platform.stopAllPods(grace: 1)
    }
}
