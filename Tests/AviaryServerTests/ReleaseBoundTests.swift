import AviaryLocal
import AviaryStore
import Foundation
import Testing

@testable import AviaryServer

/// Issue 28: what a long-lived rollout leaves behind does not grow with its releases. The
/// controller is stepped by hand on the simulated platform with a test clock; each release's
/// analysis is a real job metric (`sh -c "exit CODE"`, every fifth release failing), run by the
/// daemon's own providers. After N releases and after 2N, with the daemon at rest, the store's
/// rows and every cache's entries are the same: what remains is what the policies keep
/// (`revisionHistoryLimit`, the run history limits, the event cap).
@Suite struct ReleaseBoundTests {
    static let releases = 10

    /// The store, the platform, the controller and its analysis coordinator, as `aviary serve`
    /// wires them, but stepped by hand.
    struct World {
        let directory: String
        let store: AviaryStore
        let platform: SimulatedPlatform
        let metrics = DaemonMetrics()
        let analysis: AnalysisCoordinator
        let controller: Controller
        let clock = TestClock()
        let rollout = ResourceKey(kind: .rollout, name: "web")
        /// A small cap, so that N releases already reach it.
        static let eventsKept = 20

        init() throws {
            directory = NSTemporaryDirectory() + "aviary-release-bound-" + UUID().uuidString
            store = try AviaryStore(stateDirectory: directory, eventsKept: Self.eventsKept)
            let clock = self.clock
            platform = SimulatedPlatform(now: { clock.now })
            analysis = AnalysisCoordinator(store: store, metrics: metrics)
            controller = Controller(
                store: store, platform: platform, metrics: metrics, analysis: analysis, resyncInterval: 5,
                fullResyncInterval: 30, now: { clock.now })
        }

        func start() async throws {
            let controller = self.controller
            await analysis.setRolloutChanged { key in Task { await controller.enqueue(key) } }
            var manifests: [[String: Any]] = [
                [
                    "apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisTemplate", "metadata": ["name": "check"],
                    "spec": [
                        "args": [["name": "code"]],
                        "metrics": [
                            [
                                "name": "exit-code",
                                "provider": [
                                    "job": [
                                        "spec": [
                                            "template": [
                                                "spec": [
                                                    "containers": [
                                                        [
                                                            "name": "check", "image": "sh",
                                                            "command": ["sh", "-c", "exit {{args.code}}"],
                                                        ]
                                                    ]
                                                ]
                                            ]
                                        ]
                                    ]
                                ],
                            ]
                        ],
                    ],
                ]
            ]
            for (name, port) in [("web", 8080), ("web-stable", 8081), ("web-canary", 8082)] {
                manifests.append([
                    "apiVersion": "v1", "kind": "Service", "metadata": ["name": name],
                    "spec": ["selector": ["app": "web"], "ports": [["port": port]]],
                ])
            }
            try store.apply(manifests.map { try JSONSerialization.data(withJSONObject: $0) })
        }

        /// Stores release `number` (image `app:vN`; its analysis fails when `bad`) and steps the
        /// controller until it is done: promoted, or aborted, with the other ReplicaSets scaled down.
        func release(_ number: Int, bad: Bool) async throws -> Bool {
            let rollout: [String: Any] = [
                "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": ["name": "web"],
                "spec": [
                    "replicas": 2, "revisionHistoryLimit": 2,
                    "analysis": ["successfulRunHistoryLimit": 2, "unsuccessfulRunHistoryLimit": 1],
                    "selector": ["matchLabels": ["app": "web"]],
                    "template": [
                        "metadata": ["labels": ["app": "web"]],
                        "spec": ["containers": [["name": "app", "image": "app:v\(number)", "command": ["sleep"]]]],
                    ],
                    "strategy": [
                        "canary": [
                            "canaryService": "web-canary", "stableService": "web-stable",
                            "scaleDownDelaySeconds": 2, "abortScaleDownDelaySeconds": 2,
                            "trafficRouting": ["smi": ["rootService": "web"]],
                            "steps": [
                                ["setWeight": 50],
                                [
                                    "analysis": [
                                        "templates": [["templateName": "check"]],
                                        "args": [["name": "code", "value": bad ? "1" : "0"]],
                                    ]
                                ],
                            ],
                        ]
                    ],
                ],
            ]
            let (stored, _) = try store.apply(try JSONSerialization.data(withJSONObject: rollout))
            await controller.enqueue(stored.key)
            let generation = String(stored.generation)
            // The job runs in real time: each step gives it a few milliseconds; the test clock
            // moves 0.1 s a step, for the scale-down delays.
            for _ in 0..<3000 {
                await controller.step()
                let status = try self.status()
                let done =
                    bad
                    ? status["abort"] as? Bool == true
                    : status["phase"] as? String == "Healthy" && status["stableRS"] as? String != nil
                        && status["stableRS"] as? String == status["currentPodHash"] as? String
                if done, status["observedGeneration"] as? String == generation, await platform.pods().count == 2 {
                    return true
                }
                clock.advance(by: 0.1)
                try await Task.sleep(for: .milliseconds(5))
            }
            return false
        }

        /// Two minutes of resyncs with nothing to do (four forced full passes).
        func rest() async {
            for _ in 0..<24 {
                clock.advance(by: 5)
                await controller.step()
            }
        }

        func status() throws -> [String: Any] {
            let resource = try #require(try store.resource(rollout))
            return (try JSONSerialization.jsonObject(with: resource.status ?? Data("{}".utf8))) as? [String: Any] ?? [:]
        }

        func census() async throws -> MemoryCensus {
            try await MemoryCensus.take(
                store: store, controller: controller, metrics: metrics, analysis: analysis, platform: platform)
        }

        func removeDirectory() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test(.timeLimit(.minutes(10))) func nReleasesAndTwiceAsManyLeaveTheStoreAndTheCachesAtOneSize() async throws {
        let world = try World()
        defer { world.removeDirectory() }
        try await world.start()
        var censuses: [MemoryCensus] = []
        var number = 0
        for _ in 0..<2 {
            for _ in 0..<Self.releases {
                number += 1
                // Releases 3, 8, 13 and 18 fail their analysis; 10 and 20 are promoted.
                let bad = number % 5 == 3
                #expect(try await world.release(number, bad: bad), "release \(number) did not settle")
            }
            await world.rest()
            censuses.append(try await world.census())
        }
        let (afterN, after2N) = (censuses[0], censuses[1])
        #expect(after2N.storeRows == afterN.storeRows)
        #expect(after2N.cacheEntries == afterN.cacheEntries)
        // What stays is what the policies keep.
        let replicaSets = await world.platform.replicaSets().count
        #expect(replicaSets == 3, "the stable ReplicaSet and revisionHistoryLimit 2")
        #expect(after2N.storeRows["revisions"] == replicaSets, "a revision per ReplicaSet kept, for undo")
        #expect(after2N.storeRows["resources/AnalysisRun"] == 3, "2 successful and 1 unsuccessful run kept")
        #expect(after2N.storeRows["measurements"] == 3, "one measurement per run kept")
        #expect(
            after2N.storeRows["events"] == World.eventsKept, "the rollout's events at the cap, none of deleted runs")
        let runs = try world.store.resources(kind: .analysisRun).map(\.key.name)
        let phases = await world.metrics.render().split(separator: "\n").filter {
            $0.hasPrefix("analysis_run_metric_phase{") && $0.hasSuffix(" 1")
        }
        #expect(
            after2N.cacheEntries["metrics.analysisRunMetricPhases"] == 3,
            "the kept runs' metrics only: \(runs) \(phases)")
        // A completed run's handle (with its finished task's stack slabs) is let go at once, not
        // when the history limits delete the run.
        #expect(after2N.cacheEntries["analysis.handles"] == 0, "no run is running at rest")
        #expect(after2N.cacheEntries["controller.statusTexts"] == 0, "at rest the interner is empty")
    }
}
