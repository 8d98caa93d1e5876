import AviaryTestSupport
import Foundation
import NIOHTTP1
import Testing

@testable import AviaryLocal

/// A canary step analysis through the daemon: a web metric asks the canary service which image
/// it runs; the run succeeds, its measurement is stored, and the rollout goes on to the pause.
@Suite(.serialized) struct AnalysisEndToEndTests {
    @Test func aSuccessfulStepAnalysisLetsTheRolloutGoOn() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            var manifests = CanaryManifests()
            manifests.steps = """
                            - setWeight: 25
                            - analysis:
                                templates:
                                  - templateName: is-green
                            - pause: {}
                """
            let template = """
                apiVersion: argoproj.io/v1alpha1
                kind: AnalysisTemplate
                metadata:
                  name: is-green
                spec:
                  metrics:
                    - name: image
                      successCondition: result == "aviary-sample-app:green"
                      provider:
                        web:
                          url: http://127.0.0.1:\(manifests.canaryPort)/
                          jsonPath: "{$.image}"
                """
            try daemon.applyWithCLI(template + "\n---\n" + manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 2))
            let runs = (await daemon.call(.GET, "/api/v1/analysisruns"))?.json["items"] as? [[String: Any]] ?? []
            #expect(runs.count == 1)
            let status = runs.first?["status"] as? [String: Any]
            #expect(status?["phase"] as? String == "Successful", "\(String(describing: status))")
            let metrics = await daemon.call(.GET, "/metrics")?.text ?? ""
            #expect(metrics.contains("analysis_run_metric_phase{") && metrics.contains("phase=\"Successful\"} 1"))
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }
}
