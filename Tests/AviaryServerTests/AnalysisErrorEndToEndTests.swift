import AviaryTestSupport
import Foundation
import NIOHTTP1
import Testing

@testable import AviaryLocal

/// A real Prometheus on a free loopback port that discovers the daemon's pods through `/sd`.
final class PrometheusServer {
    let port = PortAllocator.freePort() ?? 19090
    let process = Process()
    var address: String { "http://127.0.0.1:\(port)" }

    /// Starts the `prometheus` on PATH with its data in `directory` and waits until it is ready.
    init(directory: String, discovery: String) async throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configuration = """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: aviary-pods
                http_sd_configs:
                  - url: \(discovery)
                    refresh_interval: 1s
            """
        try configuration.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        process.executableURL = URL(fileURLWithPath: try PrometheusExecutable.required())
        process.arguments = [
            "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ]
        process.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        process.standardError = FileHandle(forWritingAtPath: "/dev/null")
        try process.run()
        let address = address
        let ready = await eventually(within: 60) { await http(.GET, address + "/-/ready")?.status == 200 }
        if !ready { killNine() }
        try #require(ready, "prometheus did not get ready on \(address)")
    }

    /// SIGKILL, as when the metrics back end dies; waits until it is gone.
    func killNine() {
        guard process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
    }
}

/// Prometheus dies while a canary's step analysis measures it: every later measurement is an
/// Error, the metric gives up after `consecutiveErrorLimit` + 1 of them in a row, the run ends in
/// Error, and the rollout aborts back to the stable version with the run's message.
@Suite(.serialized, .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct AnalysisErrorEndToEndTests {
    static let consecutiveErrorLimit = 2

    @Test func prometheusStoppedDuringAnAnalysisEndsTheRunInErrorAndAbortsTheRollout() async throws {
        let daemon = Daemon()
        try await daemon.start()
        var prometheus: PrometheusServer?
        do {
            let server = try await PrometheusServer(
                directory: daemon.stateDirectory + "/prometheus", discovery: daemon.base + "/sd")
            prometheus = server
            try await check(daemon: daemon, prometheus: server)
        } catch {
            prometheus?.killNine()
            await daemon.cleanUp()
            throw error
        }
        prometheus?.killNine()
        await daemon.cleanUp()
    }

    func check(daemon: Daemon, prometheus: PrometheusServer) async throws {
        let limit = Self.consecutiveErrorLimit
        var manifests = CanaryManifests()
        manifests.steps = """
                        - setWeight: 25
                        - analysis:
                            templates:
                              - templateName: pods-up
                        - pause: {}
            """
        // The canary's pods go one second after the abort instead of Argo's default 30 s.
        let rollout = manifests.yaml.replacingOccurrences(
            of: "      scaleDownDelaySeconds: 1\n",
            with: "      scaleDownDelaySeconds: 1\n      abortScaleDownDelaySeconds: 1\n")
        try #require(rollout.contains("abortScaleDownDelaySeconds: 1"), "the manifest changed shape:\n\(rollout)")
        // Measured every second until terminated; `or vector(0)` gives a value before the first scrape.
        let template = """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata:
              name: pods-up
            spec:
              metrics:
                - name: pods-up
                  interval: 1s
                  consecutiveErrorLimit: \(limit)
                  successCondition: result[0] >= 0
                  provider:
                    prometheus:
                      address: \(prometheus.address)
                      query: sum(up{app="web"}) or vector(0)
            """
        try daemon.applyWithCLI(template + "\n---\n" + rollout)
        #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
        #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)

        // The analysis is under way: at least one measurement answered by Prometheus.
        func run() async -> [String: Any] {
            let runs = (await daemon.call(.GET, "/api/v1/analysisruns"))?.json["items"] as? [[String: Any]] ?? []
            return runs.first ?? [:]
        }
        func metricResult(_ run: [String: Any]) -> [String: Any] {
            ((run["status"] as? [String: Any])?["metricResults"] as? [[String: Any]])?.first ?? [:]
        }
        let measuring = await eventually(within: 90) {
            let measurements = metricResult(await run())["measurements"] as? [[String: Any]] ?? []
            return measurements.contains { $0["phase"] as? String == "Successful" }
        }
        let early = await run()
        try #require(measuring, "no successful measurement: \(early)")
        prometheus.killNine()

        // Errors are retried every 10 s (Argo's DefaultErrorRetryInterval): limit + 1 errors take
        // about 20 s.
        let ended = await eventually(within: 90) {
            (await run()["status"] as? [String: Any])?["phase"] as? String == "Error"
        }
        let finished = await run()
        try #require(ended, "the run did not end in Error: \(finished)")
        let runName = try #require((finished["metadata"] as? [String: Any])?["name"] as? String)
        let runStatus = finished["status"] as? [String: Any] ?? [:]
        let result = metricResult(finished)
        #expect(result["phase"] as? String == "Error")
        #expect(result["consecutiveError"] as? Int == limit + 1, "\(result)")
        #expect(result["error"] as? Int == limit + 1, "only the measurements after the kill failed: \(result)")
        let measurements = result["measurements"] as? [[String: Any]] ?? []
        let phases = measurements.compactMap { $0["phase"] as? String }
        #expect(
            Array(phases.suffix(limit + 2)) == ["Successful"] + Array(repeating: "Error", count: limit + 1),
            "the last measurements: \(phases)")
        for measurement in measurements.suffix(limit + 1) {
            let message = measurement["message"] as? String ?? ""
            #expect(
                message.contains("127.0.0.1:\(prometheus.port)") && message.contains("connection refused"),
                "the error names the address and the cause: \(message)")
        }
        let runMessage = runStatus["message"] as? String ?? ""
        let assessed =
            "Metric \"pods-up\" assessed Error due to consecutiveErrors (\(limit + 1)) > consecutiveErrorLimit (\(limit))"
        #expect(runMessage.hasPrefix(assessed) && runMessage.contains("connection refused"), "\(runMessage)")

        // The rollout aborts: Degraded with Argo's message, no canary weight, all traffic to the
        // stable pods, the canary scaled down.
        let aborted = await eventually(within: 60) {
            let status = await daemon.status()
            return status["abort"] as? Bool == true && status["phase"] as? String == "Degraded"
        }
        let status = await daemon.status()
        #expect(aborted, "\(status)")
        let message = status["message"] as? String ?? ""
        #expect(
            message == "RolloutAborted: Rollout aborted update to revision 2: \(runMessage)", "\(message)")
        let weights = (status["canary"] as? [String: Any])?["weights"] as? [String: Any]
        #expect((weights?["canary"] as? [String: Any])?["weight"] as? Int == 0, "\(String(describing: weights))")
        let stableOnly = await eventually(within: 30) {
            await sendTraffic(port: manifests.rootPort, count: 40).images == ["aviary-sample-app:blue": 40]
        }
        #expect(stableOnly, "after the abort every request reaches the stable pods")
        let scaledDown = await eventually(within: 60) {
            let pods = await daemon.pods()
            return pods.count == 4 && pods.allSatisfy { $0["image"] as? String == "aviary-sample-app:blue" }
        }
        let pods = await daemon.pods()
        #expect(scaledDown, "the canary is scaled down: \(pods)")

        // What a person sees.
        let shown = try daemon.cli(["get", "rollout", "web"])
        #expect(shown.status == 0)
        for expected in [
            "✖ Degraded", "Rollout aborted update to revision 2", assessed, "connection refused", runName, "⚠ Error",
        ] {
            #expect(shown.output.contains(expected), "get rollout lacks \(expected):\n\(shown.output)")
        }
        #expect(!shown.output.contains("\u{1B}"), "piped output is plain")
    }
}
