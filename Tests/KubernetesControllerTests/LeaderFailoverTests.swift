import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// Two replicas of the controller, as `aviary install kubernetes` runs them: one holds the Lease
/// and writes, the other keeps warm caches; each says which it is on `/healthz` and
/// `aviary_controller_leader`. The leader killed mid-rollout, the other takes over within the
/// lease and finishes the rollout.
extension CanaryOnKubernetesTests {
    struct Endpoints {
        var address: String

        func text(_ path: String) async -> (status: Int, text: String)? {
            await http(.GET, address + path, timeout: 10).map { ($0.status, $0.text) }
        }

        /// `aviary_controller_leader`'s value, nil when it is not rendered yet.
        func leaderGauge() async -> Int? {
            guard let metrics = await text("/metrics"), metrics.status == 200 else { return nil }
            return sampleValue("aviary_controller_leader", in: metrics.text).map { Int($0) }
        }
    }

    @Test func theLeaderKilledMidRolloutIsReplacedWithinTheLeaseAndTheRolloutFinishes() async throws {
        try await withCluster(failOver)
    }

    /// The seed manifest with a short `scaleDownDelaySeconds` (Argo's default with traffic routing is
    /// 30 s), so the new leader's scale-down of the old ReplicaSet is seen without waiting half a minute.
    static func failoverManifest(image: String) -> String {
        manifest(image: image).replacingOccurrences(
            of: "      canaryService: sample-app-canary\n",
            with: "      canaryService: sample-app-canary\n      scaleDownDelaySeconds: 5\n")
    }

    func failOver(_ cluster: ClusterUnderTest) async throws {
        try cluster.installCRDs()
        try cluster.kubectl(["apply", "-f", "-"], input: Self.failoverManifest(image: "sample-app:v1"))
        let first = try cluster.startController()
        let firstEndpoints = Endpoints(address: try await cluster.endpointsAddress(log: first.log))
        _ = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
        #expect(await firstEndpoints.text("/healthz")?.text == "ok: leading\n")
        #expect(await firstEndpoints.text("/readyz")?.status == 200)
        #expect(await firstEndpoints.leaderGauge() == 1)
        let metrics = await firstEndpoints.text("/metrics")?.text ?? ""
        #expect(metrics.contains(#"rollout_info{"#) && metrics.contains(#"name="sample-app""#), "\(metrics)")
        let listed = await firstEndpoints.text("/api/v1/rollouts")
        #expect(listed?.status == 200 && (listed?.text ?? "").contains("sample-app"), "the API reads the caches")

        let second = try cluster.startController()
        let secondEndpoints = Endpoints(address: try await cluster.endpointsAddress(log: second.log))
        let standby = try await eventually(within: 60) { await secondEndpoints.text("/readyz")?.status == 200 }
        #expect(standby, "the second replica's caches never synced")
        #expect(await secondEndpoints.text("/healthz")?.text == "ok: standby (another replica holds the lease)\n")
        #expect(await secondEndpoints.leaderGauge() == 0)

        try cluster.kubectl(["apply", "-f", "-"], input: Self.failoverManifest(image: "sample-app:v2"))
        let paused = try await waitFor("the update pauses at step 1", cluster) {
            $0.stepIndex == 1 && $0.phase == "Paused" && $0.splitWeights["sample-app-canary"] == 10
        }
        let canary = try #require(paused.currentHash)

        // kill -9: the Lease is not released; the second replica waits it out (15 s) and takes over.
        kill(first.process.processIdentifier, SIGKILL)
        first.process.waitUntilExit()
        let killedAt = Date()
        let tookOver = try await eventually(within: 90) { await secondEndpoints.text("/healthz")?.text == "ok: leading\n" }
        #expect(tookOver, "the second replica never took the lease")
        let takeover = Date().timeIntervalSince(killedAt)
        print("the second replica took over \(String(format: "%.1f", takeover)) s after the leader's kill -9 (lease 15 s)")
        #expect(await secondEndpoints.leaderGauge() == 1)

        try cluster.kubectl([
            "patch", "rollout", "sample-app", "--subresource=status", "--type", "merge", "-p",
            #"{"status":{"pauseConditions":null}}"#,
        ])
        let promoted = try await waitFor("the new leader moves it to 33%", cluster) {
            $0.stepIndex == 3 && $0.phase == "Paused" && $0.splitWeights["sample-app-canary"] == 33
        }
        #expect(promoted.currentHash == canary)
        try cluster.kubectl([
            "patch", "rollout", "sample-app", "--subresource=status", "--type", "merge", "-p",
            #"{"status":{"pauseConditions":null}}"#,
        ])
        _ = try await waitFor("the new leader finishes the rollout", cluster) {
            $0.phase == "Healthy" && $0.stableHash == canary && $0.replicasByHash[canary] == 4
        }
        // With traffic routing the old ReplicaSet stays up for scaleDownDelaySeconds (5 s here), then goes.
        let old = try #require(paused.stableHash)
        let scaledDown = try await waitFor("the new leader scales the old ReplicaSet down after the delay", cluster) {
            $0.replicasByHash[old] == 0
        }
        #expect(scaledDown.replicasByHash.values.reduce(0, +) == 4, "\(scaledDown)")
    }
}
