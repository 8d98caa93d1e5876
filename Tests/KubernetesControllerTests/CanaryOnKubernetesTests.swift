import AviaryJSON
import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// The seed canary against the API server double, driven the way a team drives Argo: manifests
/// with `kubectl apply`, operations with the merge patches of Argo's `kubectl argo rollouts`
/// plugin (`kubectl patch --subresource=status --type merge`).
@Suite(.serialized) struct CanaryOnKubernetesTests {
    static func manifest(image: String) -> String {
        let services = ["sample-app", "sample-app-stable", "sample-app-canary"].map { name in
            """
            apiVersion: v1
            kind: Service
            metadata: {name: \(name)}
            spec:
              selector: {app: sample-app}
              ports: [{name: http, port: 8080, targetPort: 8080}]
            ---

            """
        }
        return services.joined() + """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: sample-app}
        spec:
          replicas: 4
          selector:
            matchLabels: {app: sample-app}
          template:
            metadata:
              labels: {app: sample-app}
            spec:
              containers:
              - name: sample-app
                image: \(image)
                ports: [{name: http, containerPort: 8080}]
          strategy:
            canary:
              canaryService: sample-app-canary
              stableService: sample-app-stable
              trafficRouting:
                smi: {rootService: sample-app}
              steps:
              - setWeight: 10
              - pause: {}
              - setWeight: 33
              - pause: {}
        """
    }

    /// What the test reads after each step: the rollout, its ReplicaSets, Services and split.
    struct View: CustomStringConvertible {
        var rollout: JSONValue
        var replicaSets: [JSONValue]
        var services: [String: JSONValue]
        var split: JSONValue?

        var status: JSONValue { rollout["status"] ?? [:] }
        var phase: String? { status["phase"]?.stringValue }
        var stepIndex: Int64? { status["currentStepIndex"]?.integerValue }
        var canaryWeight: Int64? { status[at: "canary", "weights", "canary", "weight"]?.integerValue }
        var currentHash: String? { status["currentPodHash"]?.stringValue }
        var stableHash: String? { status["stableRS"]?.stringValue }
        /// The TrafficSplit's weights by backend service.
        var splitWeights: [String: Int] {
            var weights: [String: Int] = [:]
            for backend in split?[at: "spec", "backends"]?.arrayValue ?? [] {
                let weight = backend["weight"]
                weights[backend["service"]?.stringValue ?? ""] = Int(
                    weight?.integerValue ?? weight?.stringValue.flatMap { Int64($0) } ?? -1)
            }
            return weights
        }
        /// `spec.replicas` by pod-template hash.
        var replicasByHash: [String: Int64] {
            var replicas: [String: Int64] = [:]
            for replicaSet in replicaSets {
                let hash = replicaSet[at: "metadata", "labels", "rollouts-pod-template-hash"]?.stringValue ?? "?"
                replicas[hash] = replicaSet[at: "spec", "replicas"]?.integerValue
            }
            return replicas
        }
        func selectorHash(_ service: String) -> String? {
            services[service]?[at: "spec", "selector", "rollouts-pod-template-hash"]?.stringValue
        }
        var description: String {
            "phase \(phase ?? "-") step \(stepIndex.map(String.init) ?? "-") weight \(canaryWeight.map(String.init) ?? "-") "
                + "current \(currentHash ?? "-") stable \(stableHash ?? "-") replicas \(replicasByHash) "
                + "split \(splitWeights) canary→\(selectorHash("sample-app-canary") ?? "-") "
                + "stable→\(selectorHash("sample-app-stable") ?? "-") message \(status["message"]?.stringValue ?? "-")"
        }
    }

    func view(_ cluster: ClusterUnderTest) throws -> View? {
        guard let rollout = try cluster.object("rollout", "sample-app") else { return nil }
        var services: [String: JSONValue] = [:]
        for name in ["sample-app", "sample-app-stable", "sample-app-canary"] {
            services[name] = try cluster.object("service", name)
        }
        return View(
            rollout: rollout, replicaSets: try cluster.list("replicasets"), services: services,
            split: try cluster.object("trafficsplits.split.smi-spec.io", "sample-app"))
    }

    /// Waits (generously: the machine is shared) until `condition` holds of the view; records the last view when it does not.
    func waitFor(
        _ what: String, _ cluster: ClusterUnderTest, within seconds: Double = 120,
        _ condition: (View) -> Bool
    ) async throws -> View {
        var last: View?
        let held = try await eventually(within: seconds) {
            last = try view(cluster)
            return last.map(condition) ?? false
        }
        try #require(held, "\(what): last seen \(last.map(String.init(describing:)) ?? "no rollout")")
        return last!
    }

    @Test func seedCanaryFollowsArgosPluginPatches() async throws {
        try await withCluster(run)
    }

    func run(_ cluster: ClusterUnderTest) async throws {
        try cluster.installCRDs()
        let schema = try StructuralSchema.argo("rollout-crd.yaml", field: "status")
        try cluster.kubectl(["apply", "-f", "-"], input: Self.manifest(image: "sample-app:v1"))
        try cluster.startController()

        let healthy = try await waitFor("the first version goes Healthy", cluster) {
            $0.phase == "Healthy" && $0.replicaSets.count == 1
                && $0.replicaSets.first?[at: "status", "availableReplicas"]?.integerValue == 4
        }
        let stable = try #require(healthy.stableHash)
        #expect(healthy.currentHash == stable)
        #expect(schema.problems(of: healthy.status) == [])
        let firstSet = try #require(healthy.replicaSets.first)
        #expect(firstSet[at: "metadata", "name"]?.stringValue == "sample-app-\(stable)")
        #expect(firstSet[at: "metadata", "annotations", "rollout.argoproj.io/revision"]?.stringValue == "1")
        #expect(firstSet[at: "metadata", "annotations", "rollout.argoproj.io/desired-replicas"]?.stringValue == "4")
        #expect(firstSet[at: "metadata", "ownerReferences", 0, "kind"]?.stringValue == "Rollout")
        #expect(firstSet[at: "metadata", "ownerReferences", 0, "controller"] == .bool(true))
        #expect(healthy.status["observedGeneration"]?.stringValue == "1")

        // A new image: the canary pauses at step 1 (pause {}) with 10% of the traffic.
        try cluster.kubectl(["apply", "-f", "-"], input: Self.manifest(image: "sample-app:v2"))
        let paused = try await waitFor("the update pauses at step 1", cluster) {
            $0.stepIndex == 1 && $0.phase == "Paused" && $0.canaryWeight == 10 && $0.currentHash != stable
                && $0.splitWeights["sample-app-canary"] == 10
        }
        let canary = try #require(paused.currentHash)
        #expect(paused.stableHash == stable)
        #expect(paused.replicasByHash == [stable: 4, canary: 1])
        #expect(paused.selectorHash("sample-app-canary") == canary)
        #expect(paused.selectorHash("sample-app-stable") == stable)
        #expect(
            paused.services["sample-app-canary"]?[
                at: "metadata", "annotations", "argo-rollouts.argoproj.io/managed-by-rollouts"]?.stringValue
                == "sample-app")
        #expect(paused.splitWeights == ["sample-app-canary": 10, "sample-app-stable": 90])
        #expect(paused.status["pauseConditions"]?.arrayValue?.first?["reason"]?.stringValue == "CanaryPauseStep")
        #expect(paused.status["observedGeneration"]?.stringValue == "2")
        #expect(schema.problems(of: paused.status) == [])

        // promote: Argo's plugin clears the pause conditions through the status subresource.
        try cluster.kubectl([
            "patch", "rollout", "sample-app", "--subresource=status", "--type", "merge", "-p",
            #"{"status":{"pauseConditions":null}}"#,
        ])
        let promoted = try await waitFor("promote moves it to 33%", cluster) {
            $0.stepIndex == 3 && $0.canaryWeight == 33 && $0.splitWeights["sample-app-canary"] == 33
                && $0.phase == "Paused"
        }
        #expect(promoted.splitWeights == ["sample-app-canary": 33, "sample-app-stable": 67])
        #expect(promoted.replicasByHash[canary] == 2)
        #expect(schema.problems(of: promoted.status) == [])

        // abort: all traffic back to stable, Degraded.
        try cluster.kubectl([
            "patch", "rollout", "sample-app", "--subresource=status", "--type", "merge", "-p",
            #"{"status":{"abort":true}}"#,
        ])
        let aborted = try await waitFor("abort sends all traffic to stable", cluster) {
            $0.phase == "Degraded" && $0.splitWeights["sample-app-canary"] == 0 && $0.canaryWeight == 0
        }
        #expect(aborted.splitWeights == ["sample-app-canary": 0, "sample-app-stable": 100])
        #expect(aborted.stableHash == stable)
        #expect(schema.problems(of: aborted.status) == [])

        // retry: the steps run again from the first one.
        try cluster.kubectl([
            "patch", "rollout", "sample-app", "--subresource=status", "--type", "merge", "-p",
            #"{"status":{"abort":false}}"#,
        ])
        let retried = try await waitFor("retry resumes the steps", cluster) {
            $0.phase == "Paused" && $0.stepIndex == 1 && $0.canaryWeight == 10 && $0.splitWeights["sample-app-canary"] == 10
        }
        #expect(retried.status["abort"] == nil || retried.status["abort"] == .bool(false))
        #expect(schema.problems(of: retried.status) == [])

        // promote --full: the new version becomes stable.
        try cluster.kubectl([
            "patch", "rollout", "sample-app", "--subresource=status", "--type", "merge", "-p",
            #"{"status":{"promoteFull":true}}"#,
        ])
        let finished = try await waitFor("promote --full finishes the update", cluster) {
            $0.phase == "Healthy" && $0.stableHash == canary && $0.replicasByHash[canary] == 4
        }
        #expect(finished.currentHash == canary)
        #expect(finished.splitWeights["sample-app-canary"] ?? 0 == 0)
        #expect(schema.problems(of: finished.status) == [])
    }

    @Test func anUnreachableServerIsOneLineNamingItAndTheCause() throws {
        let directory = NSTemporaryDirectory() + "aviary-k8s-unreachable-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let port = try freePort()
        let kubeconfig = directory + "/kubeconfig"
        try """
        apiVersion: v1
        kind: Config
        clusters: [{name: c, cluster: {server: "http://127.0.0.1:\(port)"}}]
        users: [{name: u, user: {token: t}}]
        contexts: [{name: x, context: {cluster: c, user: u}}]
        current-context: x
        """.write(toFile: kubeconfig, atomically: true, encoding: .utf8)
        let (status, output) = try runCommand([
            builtProductsDirectory(containing: "aviary") + "/aviary", "serve", "--platform", "kubernetes",
            "--kubeconfig", kubeconfig,
        ])
        #expect(status == 1)
        let lines = output.split(separator: "\n")
        #expect(lines.count == 1, "\(output)")
        #expect(output.contains("http://127.0.0.1:\(port)"), "\(output)")
        #expect(output.contains("unreachable"), "\(output)")
    }
}
