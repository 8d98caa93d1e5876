import AviaryTestSupport
import Foundation
import Testing

/// One of Argo's metric plugins on one host: the ConfigMap `argo-rollouts-config` applied to the
/// daemon lists the go-plugin binary, a canary's analysis step measures with it, and a daemon
/// killed with SIGKILL leaves no plugin behind once the next one starts.
@Suite(.serialized, .enabled(if: GoPluginPeer.isRequired))
struct MetricPluginEndToEndTests {
    @Test func anAnalysisStepMeasuresWithTheConfiguredPlugin() async throws {
        let binary = try GoPluginPeer.build(GoPluginPeer.metricPluginSource)
        let daemon = Daemon()
        try await daemon.start()
        try await daemon.run {
            var manifests = CanaryManifests()
            manifests.steps = """
                            - setWeight: 25
                            - analysis:
                                templates:
                                  - templateName: plugin-rate
                """
            let configuration =
                GoPluginPeer.argoConfigMap(binary: binary) + "\n---\n"
                + GoPluginPeer.analysisTemplate(phase: "Successful", value: "[0.99]")
            try daemon.applyWithCLI(configuration + "\n---\n" + manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            let promoted = await daemon.waitHealthy(image: "aviary-sample-app:green")
            let rollout = await daemon.status()
            #expect(promoted, "\(rollout)")

            let runs = (await daemon.call(.GET, "/api/v1/analysisruns"))?.json["items"] as? [[String: Any]] ?? []
            let run = try #require(runs.first)
            let status = run["status"] as? [String: Any] ?? [:]
            #expect(status["phase"] as? String == "Successful", "\(run)")
            let result = (status["metricResults"] as? [[String: Any]])?.first ?? [:]
            let measurements = result["measurements"] as? [[String: Any]] ?? []
            #expect(measurements.count == 2, "\(result)")
            #expect(measurements.first?["value"] as? String == "[0.99]")
            let metadata = measurements.first?["metadata"] as? [String: String] ?? [:]
            #expect(metadata["run"] == (run["metadata"] as? [String: Any])?["name"] as? String)
            let pid = try #require(metadata["pid"].flatMap(Int32.init))
            #expect(isRunning(pid), "the plugin keeps running for the next measurements")

            // SIGKILL leaves the plugin running; the next daemon stops it when it starts.
            daemon.killNine()
            #expect(isRunning(pid))
            try await daemon.start()
            let gone = await eventually(within: 30) {
                (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()).isEmpty
            }
            #expect(gone, "the plugin the killed daemon left still runs")
        }
    }
}
