import AviaryTestSupport
import Foundation
import Testing

/// One of Argo's step plugins on one host: the ConfigMap `argo-rollouts-config` applied to the
/// daemon lists the go-plugin binary under `stepPlugins`, and a canary step names it. The plugin
/// (the Go peer) records every call it gets in a file the test reads.
@Suite(.serialized, .enabled(if: GoPluginPeer.isRequired))
struct StepPluginEndToEndTests {
    /// Runs `body` with a daemon whose rollout `web` has the steps setWeight 25, the plugin step
    /// with `config` (JSON, to which the record file is added), then a pause; v1 is Healthy and
    /// the record file is empty when `body` starts.
    func withPluginStep(
        _ config: String, _ body: (Daemon, _ record: String) async throws -> Void
    ) async throws {
        let binary = try GoPluginPeer.build(GoPluginPeer.stepPluginSource)
        let daemon = Daemon()
        try await daemon.start()
        try await daemon.run {
            let record = daemon.stateDirectory + "/step-calls.jsonl"
            var manifests = CanaryManifests()
            manifests.steps = """
                            - setWeight: 25
                            - plugin:
                                name: aviary-test/step
                                config: {record: "\(record)", \(config)}
                            - pause: {}
                """
            let configuration = GoPluginPeer.argoConfigMap(
                binary: binary, list: "stepPlugins", name: "aviary-test/step")
            try daemon.applyWithCLI(configuration + "\n---\n" + manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(GoPluginPeer.recordedCalls(record).isEmpty, "the first version skips the steps, as Argo does")
            try await body(daemon, record)
        }
    }

    static func pluginStatuses(_ status: [String: Any]) -> [[String: Any]] {
        (status["canary"] as? [String: Any])?["stepPluginStatuses"] as? [[String: Any]] ?? []
    }

    @Test func aSuccessfulStepGoesOnAndAbortRevertsIt() async throws {
        try await withPluginStep(#"phase: Successful, message: "smoke test passed""#) {
            (daemon: Daemon, record: String) async throws in
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            var status: [String: Any] = [:]
            let paused = await eventually(within: 90) {
                status = await daemon.status()
                return status["phase"] as? String == "Paused" && status["currentStepIndex"] as? Int == 2
            }
            #expect(paused, "\(status)")
            let calls = GoPluginPeer.recordedCalls(record)
            #expect(calls.count == 1, "\(calls)")
            let run = try #require(calls.first)
            #expect(run["op"] as? String == "Run")
            #expect(run["pluginName"] as? String == "aviary-test/step")
            #expect((run["config"] as? [String: Any])?["phase"] as? String == "Successful")
            #expect(run["status"] is NSNull, "a first Run has no status of its own")
            #expect(run["rollout"] as? String == "web")
            #expect(run["kind"] as? String == "Rollout")
            #expect(run["currentStepIndex"] as? Int == 1)
            let statuses = Self.pluginStatuses(status)
            #expect(statuses.count == 1, "\(statuses)")
            #expect(statuses.first?["index"] as? Int == 1)
            #expect(statuses.first?["operation"] as? String == "Run")
            #expect(statuses.first?["phase"] as? String == "Successful")
            #expect(statuses.first?["message"] as? String == "smoke test passed")
            #expect(statuses.first?["executions"] as? Int == 1)
            #expect((statuses.first?["status"] as? [String: Any])?["count"] as? Int == 1)

            #expect(try daemon.cli(["abort", "web"]).status == 0)
            let reverted = await eventually(within: 90) {
                status = await daemon.status()
                return status["phase"] as? String == "Degraded"
                    && Self.pluginStatuses(status).contains { $0["operation"] as? String == "Abort" }
            }
            #expect(reverted, "\(status)")
            let abort = GoPluginPeer.recordedCalls(record).last ?? [:]
            #expect(abort["op"] as? String == "Abort")
            #expect((abort["status"] as? [String: Any])?["count"] as? Int == 1, "Abort gets the status Run kept")
            let events =
                (await daemon.call(.GET, "/api/v1/rollouts/web/events"))?.json["events"] as? [[String: Any]] ?? []
            #expect(
                events.contains {
                    $0["reason"] as? String == "StepPluginTransition"
                        && $0["message"] as? String == "Step plugin aviary-test/step (step 2) aborted (Successful)"
                }, "\(events)")
            #expect(GoPluginPeer.recordedCalls(record).filter { $0["op"] as? String == "Abort" }.count == 1)
        }
    }

    @Test func aFailedStepAbortsTheUpdate() async throws {
        try await withPluginStep(#"phase: Failed, message: "smoke test failed""#) {
            (daemon: Daemon, record: String) async throws in
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            var status: [String: Any] = [:]
            let aborted = await eventually(within: 90) {
                status = await daemon.status()
                return status["phase"] as? String == "Degraded"
            }
            #expect(aborted, "\(status)")
            let message = status["message"] as? String ?? ""
            #expect(message.hasSuffix("Step Plugin 2 (aviary-test/step) failed: smoke test failed"), "\(message)")
            // A Failed Run is not aborted: there is nothing it did to revert.
            #expect(GoPluginPeer.recordedCalls(record).map { $0["op"] as? String } == ["Run"])
        }
    }

    @Test func aRunningStepIsTerminatedByAFullPromotion() async throws {
        try await withPluginStep("phase: Running, requeueAfterSeconds: 600") {
            (daemon: Daemon, record: String) async throws in
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            var status: [String: Any] = [:]
            let running = await eventually(within: 90) {
                status = await daemon.status()
                let run = Self.pluginStatuses(status).first
                return run?["phase"] as? String == "Running" && run?["backoff"] as? String == "10m0s"
            }
            #expect(running, "\(status)")
            #expect(status["currentStepIndex"] as? Int == 1, "the step waits while its plugin runs")
            #expect(try daemon.cli(["promote", "--full", "web"]).status == 0)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:green"))
            let calls = GoPluginPeer.recordedCalls(record).map { $0["op"] as? String }
            #expect(calls == ["Run", "Terminate"], "one Run (the next is 10 minutes away), then Terminate")
            let terminate = Self.pluginStatuses(await daemon.status()).first {
                $0["operation"] as? String == "Terminate"
            }
            #expect(terminate?["phase"] as? String == "Successful")
            #expect(terminate?["message"] as? String == "stopped")
        }
    }
}
