import AviaryJSON
import AviaryTestSupport
import Foundation
import Testing

/// One of Argo's metric plugins on a cluster: the controller's namespace holds Argo's
/// `argo-rollouts-config`, whose `metricProviderPlugins` lists a go-plugin binary (built from
/// Go source here, as Argo's are), and an analysis step's metric names it.
extension CanaryOnKubernetesTests {
    static func pluginManifest(image: String, phase: String) -> String {
        rollout(image: image, analysedBy: "plugin-rate") + "\n---\n"
            + GoPluginPeer.analysisTemplate(phase: phase, value: "[0.97]")
    }

    @Test(.enabled(if: GoPluginPeer.isRequired), arguments: ["Successful", "Failed"])
    func anArgoMetricPluginGatesTheStep(phase: String) async throws {
        let binary = try GoPluginPeer.build(GoPluginPeer.metricPluginSource)
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.kubectl(["apply", "-f", "-"], input: GoPluginPeer.argoConfigMap(binary: binary))
            try cluster.kubectl(["apply", "-f", "-"], input: Self.pluginManifest(image: "sample-app:v1", phase: phase))
            try cluster.startController()
            let first = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            try cluster.kubectl(["apply", "-f", "-"], input: Self.pluginManifest(image: "sample-app:v2", phase: phase))
            if phase == "Successful" {
                _ = try await waitFor("the plugin's Successful measurements let the update finish", cluster) {
                    $0.phase == "Healthy" && $0.stableHash != first.stableHash
                }
            } else {
                _ = try await waitFor("the plugin's Failed measurement aborts the update", cluster) {
                    $0.phase == "Degraded" && $0.stableHash == first.stableHash
                }
            }
            let run = try #require(try analysisRuns(cluster).first)
            #expect(run[at: "status", "phase"]?.stringValue == phase)
            let result = try #require(run[at: "status", "metricResults", 0])
            let measurement = try #require(result["measurements"]?.arrayValue?.first)
            #expect(measurement["phase"]?.stringValue == phase)
            #expect(measurement["value"]?.stringValue == "[0.97]")
            // What the plugin received: the run as a cluster names it.
            let metadata = measurement["metadata"]
            #expect(metadata?["run"]?.stringValue == run[at: "metadata", "name"]?.stringValue)
            #expect(metadata?["uid"]?.stringValue == run[at: "metadata", "uid"]?.stringValue)
            #expect(metadata?["namespace"]?.stringValue == "default")
            #expect(metadata?["successCondition"]?.stringValue == "result[0] >= 0.95")
        }
    }
}
