import AviaryLocal
import AviaryModel
import AviaryTestSupport
import Foundation
import Testing

/// examples/canary.yaml with examples/early-stop.yaml's template, real pods, steady traffic and
/// the Prometheus `aviary serve --prometheus` runs. The metric's first measurement is pushed to
/// a minute, so that what stops the `bad-` canary (20% errors) is the early-stop test's looks.
@Suite(.serialized, .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct EarlyStopEndToEndTests {
    @Test func theSequentialTestStopsABadCanaryBeforeTheFirstMeasurement() async throws {
        _ = try PrometheusExecutable.required()
        try #require(
            FileManager.default.fileExists(atPath: "examples/early-stop.yaml"),
            "run the tests from the package's root (\(FileManager.default.currentDirectoryPath))")
        let prometheusPort = try #require(PortAllocator.freePort())
        let daemon = Daemon()
        try await daemon.start(extraArguments: ["--prometheus", "--prometheus-listen", "127.0.0.1:\(prometheusPort)"])
        let traffic = Task {
            while !Task.isCancelled {
                _ = await http(.GET, "http://127.0.0.1:8080/", timeout: 5)
                try? await Task.sleep(for: .milliseconds(20))
            }
        }
        try await daemon.run(beside: traffic) {
            try await check(daemon: daemon, prometheusPort: prometheusPort)
        }
    }

    func check(daemon: Daemon, prometheusPort: Int) async throws {
        let rollout = try String(contentsOfFile: "examples/canary.yaml", encoding: .utf8)
            .replacingOccurrences(of: "templateName: success-rate", with: "templateName: success-rate-early-stop")
        let template = try String(contentsOfFile: "examples/early-stop.yaml", encoding: .utf8)
            .replacingOccurrences(of: "127.0.0.1:9090", with: "127.0.0.1:\(prometheusPort)")
            .replacingOccurrences(of: "initialDelay: 10s", with: "initialDelay: 60s")
        try daemon.applyWithCLI(template + "\n---\n" + rollout)
        #expect(await eventually(within: 120) { await Self.phase(daemon) == "Healthy" })

        let started = Date()
        #expect(try daemon.cli(["set", "image", "sample-app", "sample-app=sample-app:bad-v2"]).status == 0)
        let aborted = await eventually(within: 120) { await Self.phase(daemon) == "Degraded" }
        let took = Date().timeIntervalSince(started)
        let message = await Self.message(daemon)
        print("early stop: the bad canary was aborted \(String(format: "%.1f", took)) s after set image: \(message)")
        #expect(aborted, "\(message)")
        #expect(message.contains("due to earlyStop: the error rate is above 0.05 (α 0.01)"), "\(message)")
        #expect(took < 60, "stopped before the first measurement was due")

        let runs = (await daemon.call(.GET, "/api/v1/analysisruns"))?.json["items"] as? [[String: Any]] ?? []
        let names = runs.compactMap { ($0["metadata"] as? [String: Any])?["name"] as? String }
        let name = try #require(names.first)
        let shown = try daemon.cli(["get", "analysisrun", name])
        print(shown.output)
        #expect(shown.output.contains("success-rate: early stop, "), "\(shown.output)")
        #expect(shown.output.contains("looks: stopped: the error rate is above 0.05"), "\(shown.output)")
    }

    static func status(_ daemon: Daemon) async -> [String: Any] {
        ((await daemon.call(.GET, "/api/v1/rollouts/sample-app"))?.json["status"] as? [String: Any]) ?? [:]
    }

    static func phase(_ daemon: Daemon) async -> String? { await status(daemon)["phase"] as? String }

    static func message(_ daemon: Daemon) async -> String { await status(daemon)["message"] as? String ?? "" }
}
