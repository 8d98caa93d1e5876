import AviaryLocal
import AviaryPlatform
import AviaryStore
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryServer

/// The controller stepped by hand on the simulated platform with a test clock: what a resync
/// skips, what it writes and what a forced full pass still corrects.
@Suite struct ControllerResyncTests {
    /// A store, a simulated platform and a controller (resync every 5 s, forced full every 30 s).
    struct World {
        let directory: String
        let store: AviaryStore
        let platform: SimulatedPlatform
        let metrics = DaemonMetrics()
        let controller: Controller
        let clock = TestClock()
        let rollout = ResourceKey(kind: .rollout, name: "web")

        init() throws {
            directory =
                FileManager.default.temporaryDirectory.appendingPathComponent(
                    "aviary-resync-\(UUID().uuidString)"
                ).path
            store = try AviaryStore(stateDirectory: directory)
            let clock = self.clock
            platform = SimulatedPlatform(now: { clock.now })
            controller = Controller(
                store: store, platform: platform, metrics: metrics,
                analysis: AnalysisCoordinator(store: store, metrics: metrics), resyncInterval: 5,
                fullResyncInterval: 30, now: { clock.now })
        }

        func apply(image: String) throws {
            var manifests: [[String: Any]] = [
                [
                    "apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": ["name": "web"],
                    "spec": [
                        "replicas": 2, "selector": ["matchLabels": ["app": "web"]],
                        "template": [
                            "metadata": ["labels": ["app": "web"]],
                            "spec": ["containers": [["name": "app", "image": image, "command": ["sleep"]]]],
                        ],
                        "strategy": [
                            "canary": [
                                "canaryService": "web-canary", "stableService": "web-stable",
                                "trafficRouting": ["smi": ["rootService": "web"]],
                                "steps": [["setWeight": 20], ["setWeight": 50]],
                            ]
                        ],
                    ],
                ]
            ]
            for name in ["web", "web-stable", "web-canary"] {
                manifests.append([
                    "apiVersion": "v1", "kind": "Service", "metadata": ["name": name],
                    "spec": ["selector": ["app": "web"], "ports": [["port": 8080]]],
                ])
            }
            try store.apply(manifests.map { try JSONSerialization.data(withJSONObject: $0) })
        }

        /// Steps the controller (0.1 s of test time each) until `done` or 300 steps.
        func step(until done: () throws -> Bool) async throws -> Bool {
            for _ in 0..<300 {
                await controller.step()
                if try done() { return true }
                clock.advance(by: 0.1)
            }
            return false
        }

        func status() throws -> [String: Any] {
            let resource = try #require(try store.resource(rollout))
            return (try JSONSerialization.jsonObject(with: resource.status ?? Data("{}".utf8))) as? [String: Any] ?? [:]
        }

        func resourceVersion() throws -> Int { try #require(try store.resource(rollout)).resourceVersion }

        /// Moves the clock to the next resync and runs it.
        func resync() async {
            clock.advance(by: 5)
            await controller.step()
        }

        /// A sample's value in the daemon's metrics, or nil.
        func metric(_ sample: String) async -> Double? {
            sampleValue(sample, in: await metrics.render())
        }

        func removeDirectory() { try? FileManager.default.removeItem(atPath: directory) }
    }

    @Test func aSteadyResyncSkipsUnchangedKeysAndWritesNothingAndAFullPassWritesNothingEither() async throws {
        let world = try World()
        defer { world.removeDirectory() }
        try world.apply(image: "app:v1")
        #expect(try await world.step { try world.status()["phase"] as? String == "Healthy" })
        // Reach rest: the reconcile after the last status write finds nothing to do.
        await world.resync()
        let version = try world.resourceVersion()

        await world.resync()
        #expect(await world.metric("aviary_reconcile_steady_pass_skipped") == 4, "the rollout and its three Services")
        #expect(try world.resourceVersion() == version, "an unchanged status is not written")

        // A forced full pass reconciles every key; the status is the same, so still no write.
        let fullPasses = try #require(await world.metric("aviary_reconcile_passes_total"))
        for _ in 0..<6 { await world.resync() }
        #expect(await world.metric("aviary_reconcile_passes_total") == fullPasses + 1)
        #expect(await world.metric("aviary_reconcile_pass_keys{kind=\"Rollout\"}") == 1)
        #expect(try world.resourceVersion() == version)
    }

    @Test func aSteadyResyncReconcilesAKeyWhoseStoredObjectOrPlatformChanged() async throws {
        let world = try World()
        defer { world.removeDirectory() }
        try world.apply(image: "app:v1")
        #expect(try await world.step { try world.status()["phase"] as? String == "Healthy" })
        await world.resync()
        await world.resync()

        // Pods lost behind the controller's back: the platform's stamp changed, so the next
        // steady resync (not only the forced full one) scales the ReplicaSet back.
        let name = try #require(await world.platform.replicaSets(ofRollout: "web", namespace: "default").first?.key)
        await world.platform.scale(replicaSet: name, to: 0)
        let fullPasses = await world.metric("aviary_reconcile_passes_total")
        await world.resync()
        #expect(await world.metric("aviary_reconcile_passes_total") == fullPasses, "a steady-state resync")
        #expect(await world.platform.counts(of: name).ready == 2)

        // A new image stored without telling the controller: the resource version changed.
        let stable = try #require(try world.status()["stableRS"] as? String)
        try world.apply(image: "app:v2")
        #expect(
            try await world.step {
                let status = try world.status()
                return status["phase"] as? String == "Healthy" && status["stableRS"] as? String != stable
            })
    }

    @Test func aPassOverMoreKeysThanAChunkReconcilesEachOneFromItsRead() async throws {
        let world = try World()
        defer { world.removeDirectory() }
        // More Services than one chunk of a pass reads at once, so the pass spans chunks.
        let count = Controller.chunkSize + 45
        let names = (0..<count).map { "svc\($0)" }
        try world.store.apply(
            names.map { name in
                try JSONSerialization.data(withJSONObject: [
                    "apiVersion": "v1", "kind": "Service", "metadata": ["name": name],
                    "spec": ["selector": ["app": name], "ports": [["port": 8080]]],
                ])
            })
        await world.controller.step()
        for name in names {
            #expect(await world.platform.service(.init(stringLiteral: name))?.selector == ["app": name], "\(name)")
        }

        // Two deleted, as the API does (delete, then enqueue): the step reads both in one
        // snapshot, finds them missing and removes them from the platform.
        let deleted = [names[3], names[count - 2]]
        for name in deleted {
            let key = ResourceKey(kind: .service, name: name)
            try world.store.delete(key)
            await world.controller.enqueue(key)
        }
        await world.controller.step()
        for name in names {
            let service = await world.platform.service(.init(stringLiteral: name))
            #expect((service == nil) == deleted.contains(name), "\(name)")
        }
    }

    @Test(arguments: [
        // (spec as JSON, the platform's selector after the reconcile or nil for none, an InvalidService event)
        (#"{"selector": {"app": "a"}, "ports": [{"port": 8080}]}"#, ["app": "a"] as [String: String]?, false),
        (#"{"selector": {"app": 1}, "ports": [{"port": 8080}]}"#, [:], false),
        (#"{"ports": [{"port": 8080}]}"#, [:], false),
        (#"{"selector": {"app": "a"}, "ports": [{"port": "http"}]}"#, nil, true),
        (#"{"selector": {"app": "a"}}"#, nil, true),
    ])
    func aServiceReconcileReadsItsSpecLikeTheUntypedReading(
        spec: String, selector: [String: String]?, invalid: Bool
    ) async throws {
        let world = try World()
        defer { world.removeDirectory() }
        let key = ResourceKey(kind: .service, name: "svc")
        try world.store.apply(
            Data(#"{"apiVersion": "v1", "kind": "Service", "metadata": {"name": "svc"}, "spec": \#(spec)}"#.utf8))
        try await world.controller.reconcileService(key)
        #expect(await world.platform.service("svc")?.selector == selector)
        #expect(try world.store.events(for: key).contains { $0.reason == "InvalidService" } == invalid)
    }

    @Test func aServiceReconcileKeepsTheRevisionARolloutPinnedItTo() async throws {
        let world = try World()
        defer { world.removeDirectory() }
        let key = ResourceKey(kind: .service, name: "svc")
        try world.store.apply(
            JSONSerialization.data(withJSONObject: [
                "apiVersion": "v1", "kind": "Service", "metadata": ["name": "svc"],
                "spec": ["selector": ["app": "a"], "ports": [["port": 8080]]],
            ]))
        try await world.controller.reconcileService(key)
        var pinned = try #require(await world.platform.service("svc"))
        pinned.selector[podTemplateHashLabel] = "abc123"
        await world.platform.apply(pinned)
        try await world.controller.reconcileService(key)
        #expect(await world.platform.service("svc")?.selector == ["app": "a", podTemplateHashLabel: "abc123"])
    }

    /// Which keys of a chunk a pass reconciles from the decoded copy without reading the row.
    @Test(arguments: [
        // (listed version, enqueued since the listing, decoded version, from the copy)
        (7 as Int?, false, 7 as Int?, true),
        (7, false, 6, false),  // written since it was decoded (a new spec, a status, a label)
        (7, false, nil, false),  // never decoded (new, or its spec was invalid)
        (7, true, 7, false),  // enqueued since the listing: written after it
        (nil, false, 7, false),  // due, not listed
    ])
    func aPassReadsTheRowUnlessTheDecodedCopyIsOfTheListedVersion(
        listed: Int?, enqueued: Bool, decoded: Int?, fromCopy: Bool
    ) {
        let key = ResourceKey(kind: .rollout, name: "web")
        let cached = Controller.keysFromCache(
            [(key: key, listedVersion: listed)], due: enqueued ? [key: .distantPast] : [:],
            decodedVersion: { _ in decoded })
        #expect((cached[key] != nil) == fromCopy)
    }

    @Test func aFullPassFromTheDecodedCopiesStillCorrectsThePlatformAndSeesAWrittenSpec() async throws {
        let world = try World()
        defer { world.removeDirectory() }
        // The rollout and its three Services fall in one chunk of a pass, which takes the copies.
        try world.apply(image: "app:v1")
        #expect(try await world.step { try world.status()["phase"] as? String == "Healthy" })
        await world.resync()
        let version = try world.resourceVersion()

        // Behind the controller's back: a Service and a ReplicaSet's pods changed on the platform
        // in ways a steady resync sees by stamp, and a Service's port changed in the store
        // without an enqueue. The next forced full pass corrects all of them.
        await world.platform.deleteService("web-stable")
        let replicaSet = try #require(
            await world.platform.replicaSets(ofRollout: "web", namespace: "default").first?.key)
        await world.platform.scale(replicaSet: replicaSet, to: 0)
        try world.store.apply(
            JSONSerialization.data(withJSONObject: [
                "apiVersion": "v1", "kind": "Service", "metadata": ["name": "web-canary"],
                "spec": ["selector": ["app": "web"], "ports": [["port": 9090]]],
            ]))
        let fullPasses = try #require(await world.metric("aviary_reconcile_passes_total"))
        while await world.metric("aviary_reconcile_passes_total") == fullPasses { await world.resync() }
        #expect(await world.platform.service("web-stable")?.port == 8080)
        #expect(await world.platform.service("web-canary")?.port == 9090)
        #expect(await world.platform.counts(of: replicaSet).ready == 2)
        #expect(try world.status()["phase"] as? String == "Healthy")

        // Resting again, a full pass from the copies writes nothing.
        await world.resync()
        let rested = try world.resourceVersion()
        for _ in 0..<6 { await world.resync() }
        #expect(await world.metric("aviary_reconcile_passes_total") == fullPasses + 2)
        #expect(try world.resourceVersion() == rested)
        #expect(rested >= version)
    }
}
