import AviaryLocal
import AviaryModel
import AviaryTestSupport
import Foundation
import Testing

/// examples/judge.yaml as a user runs it, with real pods, steady traffic and the Prometheus
/// `aviary serve --prometheus` runs: the aviary.dev/judge plugin compares the canary's pods with
/// the stable pods over the same window. A healthy canary passes and is promoted; a `slow-` one
/// (+300 ms per answer) is judged High on latency and the update aborts.
@Suite(.serialized, .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct JudgeEndToEndTests {
    static let example = "examples/judge.yaml"

    @Test func aHealthyCanaryPassesTheJudgeAndASlowOneIsAborted() async throws {
        _ = try PrometheusExecutable.required()
        try #require(
            FileManager.default.fileExists(atPath: Self.example),
            "run the tests from the package's root (\(FileManager.default.currentDirectoryPath))")
        let prometheusPort = try #require(PortAllocator.freePort())
        let daemon = Daemon()
        try await daemon.start(extraArguments: ["--prometheus", "--prometheus-listen", "127.0.0.1:\(prometheusPort)"])
        try await daemon.run(beside: Task { await Self.keepSending() }) {
            try await check(daemon: daemon, prometheusPort: prometheusPort)
        }
    }

    func check(daemon: Daemon, prometheusPort: Int) async throws {
        let manifest = try String(contentsOfFile: Self.example, encoding: .utf8)
            .replacingOccurrences(of: "127.0.0.1:9090", with: "127.0.0.1:\(prometheusPort)")
        try daemon.applyWithCLI(manifest)
        #expect(await eventually(within: 120) { await Self.phase(daemon) == "Healthy" })

        #expect(try daemon.cli(["set", "image", "judged", "app=sample-app:v2"]).status == 0)
        let promoted = await eventually(within: 240) {
            let healthy = await Self.phase(daemon) == "Healthy"
            let runs = await Self.runs(daemon)
            return healthy && runs.count == 1
        }
        let first = try #require(await Self.runs(daemon).first)
        let report = try #require(Self.report(first), "the run holds a judge report: \(first)")
        let afterPromotion = await Self.message(daemon)
        #expect(promoted, "the healthy canary is promoted: \(afterPromotion) \(report.summary)")
        print("judge, healthy canary: \(report.summary); \(report.json)")
        #expect(report.classification == "Pass")
        #expect(report.metrics.map(\.name) == ["error-rate", "latency"])
        #expect(report.metrics.allSatisfy { $0.canary.count >= 8 && $0.baseline.count >= 8 }, "\(report.json)")

        #expect(try daemon.cli(["set", "image", "judged", "app=sample-app:slow-v3"]).status == 0)
        let aborted = await eventually(within: 240) { await Self.phase(daemon) == "Degraded" }
        let message = await Self.message(daemon)
        #expect(aborted, "the slow canary is aborted: \(message)")
        #expect(message.contains("Metric \"judge\" assessed Failed"), "\(message)")
        let runs = await Self.runs(daemon)
        let second = try #require(runs.first { ($0.metadata.name ?? "") != (first.metadata.name ?? "") })
        let failed = try #require(Self.report(second))
        print("judge, slow canary: \(failed.summary)")
        #expect(failed.classification == "Fail")
        #expect(failed.metrics.first { $0.name == "latency" }?.classification == "High", "\(failed.json)")

        // The CLI shows the report as a table under the run.
        let shown = try daemon.cli(["get", "analysisrun", second.metadata.name ?? ""])
        #expect(shown.status == 0)
        print(shown.output)
        #expect(shown.output.contains("judge: the judge's latest report"), "\(shown.output)")
        #expect(shown.output.contains("Fail, score 50"), "\(shown.output)")
        #expect(
            shown.output.split(separator: "\n").contains { $0.hasPrefix("latency") && $0.contains("High") },
            "\(shown.output)")
    }

    static func rollout(_ daemon: Daemon) async -> [String: Any] {
        (await daemon.call(.GET, "/api/v1/rollouts/judged"))?.json ?? [:]
    }

    static func phase(_ daemon: Daemon) async -> String? {
        ((await rollout(daemon))["status"] as? [String: Any])?["phase"] as? String
    }

    static func message(_ daemon: Daemon) async -> String {
        ((await rollout(daemon))["status"] as? [String: Any])?["message"] as? String ?? ""
    }

    /// The rollout's AnalysisRuns that have finished, oldest first.
    static func runs(_ daemon: Daemon) async -> [AnalysisRun] {
        guard let answer = await daemon.call(.GET, "/api/v1/analysisruns"),
            let items = answer.json["items"] as? [Any],
            let data = try? JSONSerialization.data(withJSONObject: items),
            let runs = try? JSONDecoder().decode([AnalysisRun].self, from: data)
        else { return [] }
        return runs.filter { $0.status?.phase?.isCompleted == true }
            .sorted { ($0.status?.startedAt ?? "") < ($1.status?.startedAt ?? "") }
    }

    static func report(_ run: AnalysisRun) -> JudgeReport? {
        guard let value = run.status?.metricResults?.first?.measurements?.last?.value else { return nil }
        return try? JSONDecoder().decode(JudgeReport.self, from: Data(value.utf8))
    }

    /// About 40 requests a second to the root Service, for as long as the test runs.
    static func keepSending() async {
        while !Task.isCancelled {
            _ = await http(.GET, "http://127.0.0.1:8120/", timeout: 5)
            try? await Task.sleep(for: .milliseconds(25))
        }
    }
}
