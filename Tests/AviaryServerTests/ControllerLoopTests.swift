import AviaryLocal
import AviaryPlatform
import AviaryStore
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryServer

@Suite struct ControllerLoopTests {
    static let base = Date(timeIntervalSince1970: 1_800_000_000)

    @Test(arguments: [
        // Nothing due: the next resync.
        ([] as [Double], 0.0, 5.0, 5.0),
        // A key due before the resync wins.
        ([0.05, 3], 0, 5, 0.05),
        // An enqueued key (due long ago) means at once.
        ([-1e9, 2], 0, 5, -1e9),
        // A resync that is overdue means at once too.
        ([4], -10, 5, -5),
    ])
    func nextWake(due: [Double], lastResync: Double, interval: Double, expected: Double) {
        let wake = Controller.nextWake(
            due: due.map { Self.base.addingTimeInterval($0) }, lastResync: Self.base.addingTimeInterval(lastResync),
            resyncInterval: interval)
        #expect(wake == Self.base.addingTimeInterval(expected))
    }

    /// The loop sleeps until its next resync, an hour away here; only `enqueue` can make it
    /// reconcile the second Service before then. Cancelling the task ends the loop.
    @Test(.timeLimit(.minutes(1))) func enqueueWakesTheSleepingLoop() async throws {
        let directory = NSTemporaryDirectory() + "aviary-controller-loop-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try AviaryStore(stateDirectory: directory)
        let platform = try LocalPlatform(
            stateStore: StorePlatformState(store: store, key: StorePlatformState.platformKey),
            logDirectory: directory + "/logs")
        let metrics = DaemonMetrics()
        let controller = Controller(
            store: store, platform: platform, metrics: metrics,
            analysis: AnalysisCoordinator(store: store, metrics: metrics), resyncInterval: 3600)
        func service(_ name: String, port: Int) -> Data {
            Data(
                """
                {"apiVersion": "v1", "kind": "Service", "metadata": {"name": "\(name)"},
                 "spec": {"selector": {"app": "\(name)"}, "ports": [{"port": \(port)}]}}
                """.utf8)
        }
        _ = try store.apply(service("first", port: 18_081))
        let loop = Task { await controller.run() }
        defer { loop.cancel() }
        // The first pass (a resync) picks up the first Service; then the loop sleeps.
        #expect(await eventually { await platform.service("first") != nil })

        let (second, _) = try store.apply(service("second", port: 18_082))
        await controller.enqueue(second.key)
        #expect(await eventually { await platform.service("second")?.port == 18_082 })

        loop.cancel()
        await loop.value
    }
}
