import AviaryJSON
import AviaryTestSupport
import Foundation
import Testing

/// One of Argo's step plugins on a cluster: the controller's namespace holds Argo's
/// `argo-rollouts-config`, whose `stepPlugins` lists a go-plugin binary (built from Go source
/// here, as Argo's are), and a canary step names it.
extension CanaryOnKubernetesTests {
    @Test(.enabled(if: GoPluginPeer.isRequired))
    func anArgoStepPluginRunsItsStepAndItsStatusIsArgos() async throws {
        let binary = try GoPluginPeer.build(GoPluginPeer.stepPluginSource)
        let record = NSTemporaryDirectory() + "aviary-step-calls-" + UUID().uuidString + ".jsonl"
        defer { try? FileManager.default.removeItem(atPath: record) }
        func manifest(_ image: String) -> String {
            Self.manifest(image: image).replacingOccurrences(
                of: "      - setWeight: 10\n",
                with: "      - setWeight: 10\n      - plugin:\n          name: aviary-test/step\n"
                    + "          config: {record: \"\(record)\", phase: Successful, message: migrated}\n")
        }
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.kubectl(
                ["apply", "-f", "-"],
                input: GoPluginPeer.argoConfigMap(binary: binary, list: "stepPlugins", name: "aviary-test/step"))
            try cluster.kubectl(["apply", "-f", "-"], input: manifest("sample-app:v1"))
            try cluster.startController()
            _ = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            try cluster.kubectl(["apply", "-f", "-"], input: manifest("sample-app:v2"))
            let paused = try await waitFor("the plugin step passes and the rollout pauses after it", cluster) {
                $0.phase == "Paused" && $0.status["currentStepIndex"]?.integerValue == 2
            }
            let statuses = try #require(paused.status[path: "canary", "stepPluginStatuses"]?.arrayValue)
            #expect(statuses.count == 1)
            let run = try #require(statuses.first)
            #expect(run["index"]?.integerValue == 1)
            #expect(run["name"] == "aviary-test/step")
            #expect(run["operation"] == "Run")
            #expect(run["phase"] == "Successful")
            #expect(run["message"] == "migrated")
            #expect(run["executions"]?.integerValue == 1)
            #expect(run[path: "status", "count"]?.integerValue == 1)
            // The status is Argo's shape: the CRD's schema keeps every field of it.
            let schema = try StructuralSchema.argo("rollout-crd.yaml", field: "status")
            #expect(schema.problems(of: paused.status) == [], "\(paused.status)")
            // What the plugin received: the rollout as the cluster names it.
            let calls = GoPluginPeer.recordedCalls(record)
            #expect(calls.count == 1, "\(calls)")
            #expect(calls.first?["uid"] as? String == paused.rollout[at: "metadata", "uid"]?.stringValue)
            #expect(calls.first?["namespace"] as? String == "default")
            #expect(calls.first?["phase"] as? String == "Progressing")
        }
    }
}
