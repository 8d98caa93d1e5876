import AviaryTestSupport
import Foundation
import NIOHTTP1
import Testing

@testable import AviaryLocal

/// A canary step analysis through the daemon: a web metric asks the canary service which image
/// it runs, and a Datadog metric (keys from the applied Secret `datadog`, as Argo reads it) asks a
/// local server in Datadog's format; the run succeeds, its measurements are stored, and the rollout
/// goes on to the pause.
@Suite(.serialized) struct AnalysisEndToEndTests {
    @Test func aSuccessfulStepAnalysisLetsTheRolloutGoOn() async throws {
        let datadog = try LoopbackServer { request in
            request.headers["dd-api-key"] == "key-from-the-secret"
                ? .respond(status: 200, body: #"{"series":[{"pointlist":[[1.0,0.001]]}]}"#)
                : .respond(status: 403, body: #"{"errors":["Forbidden"]}"#)
        }
        defer { datadog.stop() }
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
                    - name: errors
                      consecutiveErrorLimit: 0
                      successCondition: result < 0.01
                      provider:
                        datadog:
                          query: sum:trace.http.request.errors{service:web}.as_rate()
                ---
                apiVersion: v1
                kind: Secret
                metadata: {name: datadog}
                stringData: {api-key: key-from-the-secret, app-key: app, address: "\(datadog.url)"}
                """
            try daemon.applyWithCLI(template + "\n---\n" + manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 2))
            let runs = (await daemon.call(.GET, "/api/v1/analysisruns"))?.json["items"] as? [[String: Any]] ?? []
            #expect(runs.count == 1)
            let status = runs.first?["status"] as? [String: Any]
            #expect(status?["phase"] as? String == "Successful", "\(String(describing: status))")
            let results = status?["metricResults"] as? [[String: Any]] ?? []
            let errors = results.first { $0["name"] as? String == "errors" }
            #expect(errors?["phase"] as? String == "Successful", "\(results)")
            #expect(((errors?["measurements"] as? [[String: Any]])?.first)?["value"] as? String == "0.001", "\(results)")
            let metrics = await daemon.call(.GET, "/metrics")?.text ?? ""
            #expect(metrics.contains("analysis_run_metric_phase{") && metrics.contains("phase=\"Successful\"} 1"))
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    /// Argo's controller waits for a template that is not applied yet; so does Aviary, saying so on
    /// the rollout, and goes on once it is applied.
    @Test func aStepWhoseTemplateIsNotAppliedWaitsForItThenGoesOn() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            var manifests = CanaryManifests()
            manifests.steps = """
                            - setWeight: 25
                            - analysis:
                                templates:
                                  - templateName: applied-later
                            - pause: {}
                """
            let file = daemon.stateDirectory + "/rollout.yaml"
            try manifests.yaml.write(toFile: file, atomically: true, encoding: .utf8)
            let applied = try daemon.cli(["apply", "-f", file])
            #expect(applied.status == 0, "\(applied.output)")
            #expect(applied.output.contains(#"AnalysisTemplate "applied-later""#), "apply warns: \(applied.output)")
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            let waiting = await eventually(within: 60) {
                (await daemon.status()["message"] as? String ?? "").hasPrefix(
                    #"AnalysisTemplateNotFound: AnalysisTemplate "applied-later" not found"#)
            }
            let seen = await daemon.status()
            #expect(waiting, "\(seen)")
            #expect(seen["phase"] as? String == "Progressing")
            let template = """
                apiVersion: argoproj.io/v1alpha1
                kind: AnalysisTemplate
                metadata:
                  name: applied-later
                spec:
                  metrics:
                    - name: image
                      successCondition: result == "aviary-sample-app:green"
                      provider:
                        web:
                          url: http://127.0.0.1:\(manifests.canaryPort)/
                          jsonPath: "{$.image}"
                """
            try daemon.applyWithCLI(template)
            #expect(await daemon.waitPaused(atStep: 2))
            let events = (await daemon.call(.GET, "/api/v1/rollouts/web/events"))?.json["events"] as? [[String: Any]] ?? []
            let notFound = events.filter { $0["reason"] as? String == "AnalysisTemplateNotFound" }
            #expect(notFound.count == 1, "one event while it waited, not one per retry: \(notFound)")
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }
}
