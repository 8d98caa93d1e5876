import AviaryLocal
import AviaryPlatform
import AviaryTestSupport
import Foundation
import Synchronization
import Testing

/// A clock the tests move by hand.
final class TestClock: Sendable {
    private let current = Mutex(Date(timeIntervalSince1970: 1_000_000))

    var now: Date { current.withLock { $0 } }

    func advance(by seconds: Double) {
        current.withLock { $0 = $0.addingTimeInterval(seconds) }
    }
}

private func replicaSet(hash: String = "abc", replicas: Int, minReadySeconds: Int = 0) -> ReplicaSet {
    ReplicaSet(
        rollout: "web", podTemplateHash: hash, labels: ["app": "web"],
        template: Data(#"{"spec": {"containers": [{"name": "web", "image": "web:\#(hash)"}]}}"#.utf8),
        minReadySeconds: minReadySeconds, replicas: replicas)
}

struct SimulatedPlatformTests {
    struct Scaling: Sendable, CustomTestStringConvertible {
        var created: Int
        var scaledTo: Int
        var testDescription: String { "\(created) -> \(scaledTo)" }
    }

    @Test(arguments: [
        Scaling(created: 0, scaledTo: 3), Scaling(created: 3, scaledTo: 3), Scaling(created: 4, scaledTo: 1),
        Scaling(created: 2, scaledTo: 0), Scaling(created: 1, scaledTo: 5),
    ])
    func podsExistAndAreReadyAtOnceAfterEveryScale(_ scaling: Scaling) async throws {
        let platform = SimulatedPlatform()
        await platform.apply(replicaSet(replicas: scaling.created))
        #expect(
            await platform.counts(of: "web-abc")
                == ReplicaSetCounts(replicas: scaling.created, ready: scaling.created, available: scaling.created))
        let before = await platform.pods()
        #expect(await platform.scale(replicaSet: "web-abc", to: scaling.scaledTo))
        let count = scaling.scaledTo
        #expect(
            await platform.counts(of: "web-abc") == ReplicaSetCounts(replicas: count, ready: count, available: count))
        let after = await platform.pods()
        #expect(after.allSatisfy { $0.isReady && $0.processID == nil && $0.image == "web:abc" })
        // Scaling down keeps the oldest pods; scaling up keeps every existing one.
        let kept = Set(before.map(\.name)).intersection(after.map(\.name))
        #expect(kept.count == min(scaling.created, scaling.scaledTo))
    }

    @Test func podsBecomeAvailableAfterMinReadySeconds() async {
        let clock = TestClock()
        let platform = SimulatedPlatform(now: { clock.now })
        await platform.apply(replicaSet(replicas: 2, minReadySeconds: 10))
        #expect(await platform.counts(of: "web-abc") == ReplicaSetCounts(replicas: 2, ready: 2, available: 0))
        clock.advance(by: 10)
        #expect(await platform.counts(of: "web-abc") == ReplicaSetCounts(replicas: 2, ready: 2, available: 2))
    }

    @Test func roleLabelsReplaceThePreviousRolesLabelsOnEveryPod() async {
        let platform = SimulatedPlatform()
        await platform.apply(replicaSet(replicas: 2))
        await platform.setRoleLabels(replicaSet: "web-abc", ["role": "canary", "track": "new"])
        await platform.setRoleLabels(replicaSet: "web-abc", ["role": "stable"])
        let labels = await platform.pods().map(\.labels)
        #expect(
            labels == Array(repeating: ["app": "web", "rollouts-pod-template-hash": "abc", "role": "stable"], count: 2))
        #expect(await platform.scale(replicaSet: "web-abc", to: 3))
        #expect(await platform.pods().last?.labels["role"] == "stable", "new pods get the current role's labels")
    }

    @Test func restartReplacesOldPodsWithinTheUnavailableBudget() async {
        let clock = TestClock()
        let platform = SimulatedPlatform(now: { clock.now })
        await platform.apply(replicaSet(replicas: 3, minReadySeconds: 5))
        clock.advance(by: 5)
        let restartAt = clock.now
        let old = Set(await platform.pods().map(\.name))
        #expect(await platform.restartPods(replicaSet: "web-abc", before: restartAt, maxUnavailable: 1) == 1)
        // The replacement is ready but not yet available: the budget is spent until it is.
        #expect(await platform.restartPods(replicaSet: "web-abc", before: restartAt, maxUnavailable: 1) == 0)
        clock.advance(by: 5)
        #expect(await platform.restartPods(replicaSet: "web-abc", before: restartAt, maxUnavailable: 2) == 2)
        clock.advance(by: 5)
        let now = Set(await platform.pods().map(\.name))
        #expect(now.count == 3 && now.isDisjoint(with: old))
        #expect(await platform.restartPods(replicaSet: "web-abc", before: restartAt, maxUnavailable: 3) == 0)
    }

    @Test func servicesSplitsAndDeletionsAreRecorded() async {
        let platform = SimulatedPlatform()
        await platform.apply(replicaSet(replicas: 1))
        await platform.apply(replicaSet(hash: "def", replicas: 1))
        await platform.apply(PlatformService(name: "web-canary", port: 8080, selector: ["app": "web"]))
        var split = TrafficSplit(
            rootService: "web", canaryService: "web-canary", stableService: "web-stable", canaryWeight: 20,
            rollout: "web")
        await platform.apply(split)
        split.canaryWeight = 50
        await platform.apply(split)
        #expect(await platform.publishRoutes())
        #expect(await platform.splits() == [split])
        #expect(await platform.service("web-canary")?.selector == ["app": "web"])
        #expect(await platform.update(replicaSet: "web-def") { $0.revision = 7 })
        #expect(await platform.replicaSets().map(\.revision) == [1, 7])
        #expect(
            await platform.replicaSets(ofRollout: "web", namespace: "default").map(\.name) == ["web-abc", "web-def"])
        #expect(await platform.replicaSets(ofRollout: "web", namespace: "other").isEmpty)
        #expect(await platform.split(rootService: "web") == split)
        #expect(await !platform.update(replicaSet: "web-xyz") { $0.revision = 1 })

        await platform.deleteReplicaSet("web-abc")
        await platform.deleteSplit(rootService: "web")
        await platform.deleteService("web-canary")
        #expect(await platform.replicaSets().map(\.name) == ["web-def"])
        #expect(await platform.pods().map(\.replicaSet) == ["web-def"])
        #expect(await platform.splits().isEmpty)
        #expect(await platform.replicaSets(ofRollout: "web", namespace: "default").map(\.name) == ["web-def"])
        #expect(await platform.service("web-canary") == nil)
    }
}

/// `aviary serve --platform simulated`: the controller runs rollouts with no process and no router.
@Suite(.serialized) struct SimulatedServeTests {
    @Test func aCanaryRunsToHealthyWithNoProcesses() async throws {
        let daemon = Daemon()
        try await daemon.start(extraArguments: ["--platform", "simulated"])
        do {
            var manifests = CanaryManifests()
            manifests.command = ["/nonexistent/never-started"]
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))

            let setImage = try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"])
            #expect(setImage.status == 0, "\(setImage.output)")
            #expect(await daemon.waitPaused(atStep: 1))
            let status = await daemon.status()
            let weights = (status["canary"] as? [String: Any])?["weights"] as? [String: Any]
            #expect((weights?["canary"] as? [String: Any])?["weight"] as? Int == 25)
            let pods = await daemon.pods()
            #expect(pods.allSatisfy { $0["pid"] == nil }, "no pod is a process")
            #expect(pods.filter { $0["image"] as? String == "aviary-sample-app:green" }.count == 1)

            let promote = try daemon.cli(["promote", "web"])
            #expect(promote.status == 0, "\(promote.output)")
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:green"))
            let metrics = await daemon.call(.GET, "/metrics")?.text ?? ""
            #expect(metrics.contains("aviary_rollouts{phase=\"Healthy\"} 1"))
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }
}
