import AviaryModel
import AviaryTestSupport
import Foundation
import Testing

/// A standalone Experiment on the local platform with real pods: its templates run for its
/// duration (counted from when every template is available), its template Service serves the
/// template's pods, it ends Successful, and its ReplicaSets keep their pods for
/// `scaleDownDelaySeconds` before they go; `aviary terminate experiment` ends one early.
@Suite(.serialized) struct ExperimentEndToEndTests {
    /// Two templates of the sample app; the baseline has a Service on `port`.
    static func manifest(port: Int, extra: String) -> String {
        let app = builtProductsDirectory() + "/aviary-sample-app"
        func template(_ name: String, image: String, replicas: Int, service: Bool) -> String {
            """
              - name: \(name)
                replicas: \(replicas)
                selector: {matchLabels: {app: ab, side: \(name)}}
                template:
                  metadata: {labels: {app: ab, side: \(name)}}
                  spec:
                    containers:
                    - name: app
                      image: \(image)
                      command: ["\(app)"]
                      ports: [{name: http, containerPort: \(port)}]
                      readinessProbe: {httpGet: {path: /healthz, port: http}, periodSeconds: 1}
            \(service ? "    service: {}" : "")
            """
        }
        return """
            apiVersion: argoproj.io/v1alpha1
            kind: Experiment
            metadata: {name: ab}
            spec:
            \(extra)
              templates:
            \(template("baseline", image: "sample-app:baseline", replicas: 1, service: true))
            \(template("canary", image: "sample-app:canary", replicas: 2, service: false))
            """
    }

    static func experiment(_ daemon: Daemon) async -> Experiment? {
        guard let answer = await daemon.call(.GET, "/api/v1/experiments/ab"), answer.status == 200 else { return nil }
        return try? JSONDecoder().decode(Experiment.self, from: answer.body)
    }

    static func phase(_ daemon: Daemon) async -> AnalysisPhase? {
        await experiment(daemon)?.status?.phase
    }

    @Test func itRunsForItsDurationThenKeepsThePodsForTheScaleDownDelay() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            let port = try freePort()
            try daemon.applyWithCLI(Self.manifest(port: port, extra: "  duration: 10s\n  scaleDownDelaySeconds: 8"))
            #expect(await eventually(within: 90) { await Self.phase(daemon) == .running })
            let running = try #require(await Self.experiment(daemon)?.status)
            let availableAt = try #require(running.availableAt.flatMap(RFC3339.parse))
            #expect(running.templateStatuses?.map(\.status) == ["Running", "Running"])
            #expect(running.templateStatuses?.map(\.availableReplicas) == [1, 2])
            #expect(running.templateStatuses?.first?.serviceName == "ab-baseline")

            // The template's Service sends its traffic to the template's pods only (once the
            // router has its endpoints).
            #expect(await eventually(within: 30) { await sendTraffic(port: port, count: 1).errors == 0 })
            let sample = await sendTraffic(port: port, count: 40)
            #expect(sample.errors == 0)
            #expect(sample.images == ["sample-app:baseline": 40])

            #expect(await eventually(within: 60) { await Self.phase(daemon) == .successful })
            let ended = Date()
            let ran = ended.timeIntervalSince(availableAt)
            #expect(ran >= 10 && ran < 20, "ended \(ran) s after every template became available")
            // Within the delay the pods are still there; after it they are gone.
            #expect(await daemon.pods().count == 3, "the pods stay for scaleDownDelaySeconds")
            #expect(await eventually(within: 60) { await daemon.pods().isEmpty })
            let gone = Date().timeIntervalSince(ended)
            #expect(gone >= 6, "the pods went \(gone) s after the end; the delay is 8 s")
            #expect(await eventually(within: 30) { await sendTraffic(port: port, count: 1).errors == 1 })

            let view = try daemon.cli(["get", "experiment", "ab", "--no-color"])
            #expect(view.status == 0)
            #expect(view.output.contains("Status:          ✔ Successful"))
            #expect(view.output.contains("⧉ ab-canary"))
            #expect(view.output.contains("• ScaledDown"))
            let list = try daemon.cli(["list", "experiments", "--no-color"])
            #expect(list.output.contains("ab    Successful  10s"))
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    @Test func terminateEndsItEarlyAndDeletingItRemovesItsPods() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            let port = try freePort()
            try daemon.applyWithCLI(Self.manifest(port: port, extra: "  scaleDownDelaySeconds: 0"))
            #expect(await eventually(within: 90) { await Self.phase(daemon) == .running })
            // No duration and no analysis: it would run until told otherwise.
            let terminate = try daemon.cli(["terminate", "experiment", "ab"])
            #expect(terminate.status == 0)
            #expect(terminate.output.contains("experiment \"ab\" terminated"))
            #expect(await eventually(within: 30) { await Self.phase(daemon) == .successful })
            #expect(await eventually(within: 30) { await daemon.pods().isEmpty })

            let retry = try daemon.cli(["retry", "experiment", "ab"])
            #expect(retry.status == 0)
            let missing = try daemon.cli(["terminate", "experiment", "nope"])
            #expect(missing.status != 0)
            #expect(missing.output.contains("experiment \"nope\" not found"))

            let delete = try daemon.cli(["delete", "experiment", "ab"])
            #expect(delete.status == 0)
            #expect(await eventually(within: 30) { await daemon.pods().isEmpty })
            #expect(await eventually(within: 30) { await sendTraffic(port: port, count: 1).errors == 1 })
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }
}
