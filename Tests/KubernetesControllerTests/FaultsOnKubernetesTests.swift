import AviaryJSON
import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// The controller under the API server's faults, through the double's control API: watches dropped
/// and resource versions compacted mid-rollout, 500s and no answers for 30 s, a conflicting write.
extension CanaryOnKubernetesTests {
    /// A cluster with the seed canary updated to v2 and paused at step 1 under one controller.
    func pausedAtStepOne(_ cluster: ClusterUnderTest) async throws -> (view: View, endpoints: Endpoints, log: String) {
        try cluster.installCRDs()
        try cluster.kubectl(["apply", "-f", "-"], input: Self.manifest(image: "sample-app:v1"))
        let controller = try cluster.startController()
        let endpoints = Endpoints(address: try await cluster.endpointsAddress(log: controller.log))
        _ = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
        try cluster.kubectl(["apply", "-f", "-"], input: Self.manifest(image: "sample-app:v2"))
        let paused = try await waitFor("the update pauses at step 1", cluster) {
            $0.stepIndex == 1 && $0.phase == "Paused" && $0.splitWeights["sample-app-canary"] == 10
                && $0.replicasByHash.values.sorted() == [1, 4]
        }
        return (paused, endpoints, controller.log)
    }

    func promote(_ cluster: ClusterUnderTest) throws {
        try cluster.kubectl([
            "patch", "rollout", "sample-app", "--subresource=status", "--type", "merge", "-p",
            #"{"status":{"pauseConditions":null}}"#,
        ])
    }

    /// Views the rollout every half second for `seconds` and returns those that differ from `expected`.
    func departures(
        _ cluster: ClusterUnderTest, for seconds: Double, from expected: (View) -> Bool
    ) async throws -> [String] {
        var seen: [String] = []
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if let view = try view(cluster), !expected(view) { seen.append(view.description) }
            try await Task.sleep(for: .milliseconds(500))
        }
        return seen
    }

    /// Runs `body` on a fresh cluster and stops everything it started, on failure too.
    func withCluster(_ body: (ClusterUnderTest) async throws -> Void) async throws {
        try #require(ClusterUnderTest.kubectl != nil, "kubectl is needed for this test")
        let cluster = try ClusterUnderTest()
        do {
            try await body(cluster)
        } catch {
            cluster.stop()
            throw error
        }
        cluster.stop()
    }

    @Test func watchesDroppedAndVersionsCompactedMidRolloutMissNoStepAndDoubleNone() async throws {
        try await withCluster { cluster in
            let (paused, _, _) = try await pausedAtStepOne(cluster)
            let canary = try #require(paused.currentHash)
            try await cluster.control(.DELETE, "/_double/requests")
            // Every resourceVersion the informers hold becomes too old, then their watches end: each
            // informer's next watch gets 410 and must list again. The promote lands meanwhile.
            try await cluster.control(.POST, "/_double/compact")
            let dropped = try await cluster.control(.POST, "/_double/drop-watches")
            #expect((dropped["dropped"]?.integerValue ?? 0) >= 3, "the informers had watches open: \(dropped)")
            try promote(cluster)
            let promoted = try await waitFor("the promote is seen after the relist", cluster) {
                $0.stepIndex == 3 && $0.phase == "Paused" && $0.splitWeights["sample-app-canary"] == 33
            }
            #expect(promoted.currentHash == canary)
            #expect(promoted.replicasByHash[canary] == 2)
            let counts = try await cluster.requestCounts()
            #expect((counts["list rollouts"] ?? 0) >= 1, "the Rollout informer listed again after the 410: \(counts)")
            #expect((counts["list replicasets"] ?? 0) >= 1, "\(counts)")
            // No doubled step: it stays paused at step 3 at 33% (the next pause is indefinite).
            let moved = try await departures(cluster, for: 8) {
                $0.stepIndex == 3 && $0.phase == "Paused" && $0.splitWeights["sample-app-canary"] == 33
            }
            #expect(moved.isEmpty, "it left step 3 by itself: \(moved.first ?? "")")

            // The watches dropped again with nothing compacted: they resume from where they were.
            try await cluster.control(.POST, "/_double/drop-watches")
            try promote(cluster)
            _ = try await waitFor("the last promote finishes the rollout", cluster) {
                $0.phase == "Healthy" && $0.stableHash == canary && $0.replicasByHash[canary] == 4
            }
        }
    }

    @Test func anAPIServerFailingOrSilentForThirtySecondsLosesNothingAndTheControllerRecoversByItself() async throws {
        try await withCluster { cluster in
            let (paused, endpoints, log) = try await pausedAtStepOne(cluster)
            let canary = try #require(paused.currentHash)
            let expected = paused.replicasByHash
            let unchanged: (View) -> Bool = {
                $0.stepIndex == 1 && $0.phase == "Paused" && $0.replicasByHash == expected
                    && $0.splitWeights == ["sample-app-canary": 10, "sample-app-stable": 90]
                    && $0.selectorHash("sample-app-canary") == canary
            }
            for fault in [#"{"status": 500}"#, #"{"hang": true}"#] {
                try await cluster.control(.DELETE, "/_double/requests")
                try await cluster.control(.POST, "/_double/faults", fault)
                // The open watches end too, so the informers meet the fault when they watch or list again.
                try await cluster.control(.POST, "/_double/drop-watches")
                try await Task.sleep(for: .seconds(30))
                let counts = try await cluster.requestCounts()
                try await cluster.control(.DELETE, "/_double/faults")
                let total = counts.values.reduce(0, +)
                print("30 s of \(fault): \(total) requests, \(counts.sorted { $0.key < $1.key })")
                // No hot loop: informers and the Lease back off; well under 10 requests a second.
                #expect(total <= 300, "\(total) requests in 30 s of \(fault): \(counts)")
                #expect(counts.keys.filter { $0.hasPrefix("delete") }.isEmpty, "\(counts)")
                // Nothing was deleted or scaled down meanwhile or once it answers again.
                let changed = try await departures(cluster, for: 6, from: unchanged)
                #expect(changed.isEmpty, "after \(fault): \(changed.first ?? "")")
                // It takes the Lease again (it lost it: no renewal went through for 30 s).
                let leading = try await eventually(within: 60) { await endpoints.text("/healthz")?.text == "ok: leading\n" }
                #expect(leading, "the controller did not lead again after \(fault)")
            }
            // It lost the Lease (no renewal went through) and took it again in the same process.
            let text = try String(contentsOfFile: log, encoding: .utf8)
            #expect(text.components(separatedBy: "lost the lease; standing by").count - 1 == 2, "\(text)")
            // And it carries on by itself: the promotes move it to the end.
            try promote(cluster)
            _ = try await waitFor("the promote after the faults moves it to 33%", cluster) {
                $0.stepIndex == 3 && $0.phase == "Paused" && $0.splitWeights["sample-app-canary"] == 33
            }
            try promote(cluster)
            _ = try await waitFor("the last promote finishes the rollout", cluster) {
                $0.phase == "Healthy" && $0.stableHash == canary && $0.replicasByHash[canary] == 4
            }
        }
    }

    @Test func aConflictOnTheStatusWriteIsReadAgainAndRetriedWithNothingLost() async throws {
        try await withCluster { cluster in
            let (paused, _, _) = try await pausedAtStepOne(cluster)
            let canary = try #require(paused.currentHash)
            try await cluster.control(.DELETE, "/_double/requests")
            // The controller's next two status writes meet a 409, as when someone else wrote the rollout
            // between its read and its write.
            try await cluster.control(
                .POST, "/_double/faults", #"{"status": 409, "count": 2, "request": "patch rollouts/status", "agent": "aviary"}"#)
            try promote(cluster)
            let promoted = try await waitFor("the promote lands despite the conflicts", cluster) {
                $0.stepIndex == 3 && $0.phase == "Paused" && $0.splitWeights["sample-app-canary"] == 33
            }
            #expect(promoted.status["pauseConditions"]?.arrayValue?.first?["reason"]?.stringValue == "CanaryPauseStep")
            #expect(promoted.currentHash == canary)
            let counts = try await cluster.requestCounts()
            #expect((counts["patch rollouts/status"] ?? 0) >= 4, "the plugin's, two conflicts, then the write: \(counts)")
            // The status it wrote after the conflicts does not undo a later write of the plugin: abort holds.
            try cluster.kubectl([
                "patch", "rollout", "sample-app", "--subresource=status", "--type", "merge", "-p",
                #"{"status":{"abort":true}}"#,
            ])
            let aborted = try await waitFor("the abort is not overwritten", cluster) {
                $0.phase == "Degraded" && $0.splitWeights["sample-app-canary"] == 0
            }
            #expect(aborted.status["abort"] == .bool(true))
        }
    }
}

/// `smi.trafficSplitName` names the TrafficSplit the controller writes (else the rollout's name).
extension CanaryOnKubernetesTests {
    @Test func trafficSplitNameNamesTheSplit() async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            func named(_ image: String) -> String {
                Self.manifest(image: image).replacingOccurrences(
                    of: "smi: {rootService: sample-app}", with: "smi: {rootService: sample-app, trafficSplitName: web-split}")
            }
            try cluster.kubectl(["apply", "-f", "-"], input: named("sample-app:v1"))
            try cluster.startController()
            _ = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            try cluster.kubectl(["apply", "-f", "-"], input: named("sample-app:v2"))
            var split: JSONValue?
            let weighted = try await eventually(within: 120) {
                split = try cluster.object("trafficsplits.split.smi-spec.io", "web-split")
                let backends = split?[at: "spec", "backends"]?.arrayValue ?? []
                return backends.first?["service"]?.stringValue == "sample-app-canary"
                    && (backends.first?["weight"]?.stringValue == "10" || backends.first?["weight"]?.integerValue == 10)
            }
            #expect(weighted, "\(split.map(String.init(describing:)) ?? "no split named web-split")")
            #expect(split?[at: "spec", "service"]?.stringValue == "sample-app")
            #expect(split?[at: "metadata", "ownerReferences", 0, "name"]?.stringValue == "sample-app")
            #expect(try cluster.object("trafficsplits.split.smi-spec.io", "sample-app") == nil)
        }
    }
}
