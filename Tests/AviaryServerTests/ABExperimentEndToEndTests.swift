import AviaryLocal
import AviaryTestSupport
import Foundation
import Testing

/// examples/ab-experiment.yaml as a user runs it, with real pods and the Prometheus `aviary serve
/// --prometheus` runs: while the canary's `experiment` step runs, the router sends 10% of the root
/// Service's requests to the baseline, 10% to the candidate and 80% to stable; the analysis
/// compares the two sides, the experiment ends Successful and the rollout goes on. A bad
/// candidate fails the analysis, the experiment ends Failed and the update aborts with Argo's
/// message.
@Suite(.serialized, .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct ABExperimentEndToEndTests {
    static let example = "examples/ab-experiment.yaml"

    @Test func baselineAndCandidateEachGetTheirShareAndTheAnalysisDecides() async throws {
        _ = try PrometheusExecutable.required()
        try #require(
            FileManager.default.fileExists(atPath: Self.example),
            "run the tests from the package's root (\(FileManager.default.currentDirectoryPath))")
        let prometheusPort = try #require(PortAllocator.freePort())
        let daemon = Daemon()
        try await daemon.start(extraArguments: ["--prometheus", "--prometheus-listen", "127.0.0.1:\(prometheusPort)"])
        try await daemon.run {
            try await check(daemon: daemon, prometheusPort: prometheusPort)
        }
    }

    func check(daemon: Daemon, prometheusPort: Int) async throws {
        let manifest = try String(contentsOfFile: Self.example, encoding: .utf8)
            .replacingOccurrences(of: "127.0.0.1:9090", with: "127.0.0.1:\(prometheusPort)")
        try daemon.applyWithCLI(manifest)
        #expect(
            await eventually(within: 120) {
                await Self.phase(daemon).map { $0 == ("Healthy", "sample-app:v1") } == true
            })

        #expect(try daemon.cli(["set", "image", "ab", "app=sample-app:v2"]).status == 0)
        // Every template's pod serves (the router has their endpoints) once the experiment runs.
        let serving = await eventually(within: 120) {
            guard await Self.experimentPhase(daemon) == "Running" else { return false }
            let sample = await Self.sides(count: 100)
            return sample["baseline", default: 0] > 0 && sample["candidate", default: 0] > 0
        }
        #expect(serving, "the experiment runs and both templates take traffic")
        let sample = await Self.sides(count: 2_000)
        let shares = sample.mapValues { Double($0) / 2_000 }
        print("ab-experiment: 2,000 requests while the experiment ran: \(sample.sorted { $0.key < $1.key })")
        #expect(abs(shares["baseline", default: 0] - 0.10) <= 0.01, "baseline share \(shares)")
        #expect(abs(shares["candidate", default: 0] - 0.10) <= 0.01, "candidate share \(shares)")
        #expect(abs(shares["stable", default: 0] - 0.80) <= 0.01, "stable share \(shares)")
        #expect(sample["error", default: 0] == 0)

        // The analysis compares the sides; the experiment ends, and the rollout goes on to the end.
        let traffic = Task { await Self.keepSending() }
        defer { traffic.cancel() }
        #expect(
            await eventually(within: 180) {
                await Self.phase(daemon).map { $0 == ("Healthy", "sample-app:v2") } == true
            })
        let experiments = try #require(
            await daemon.call(.GET, "/api/v1/experiments")?.json["items"] as? [[String: Any]])
        let phases = experiments.compactMap { ($0["status"] as? [String: Any])?["phase"] as? String }
        #expect(phases == ["Successful"])

        // A candidate that answers 20% of its requests with 500 fails the comparison.
        #expect(try daemon.cli(["set", "image", "ab", "app=sample-app:bad-v3"]).status == 0)
        let aborted = await eventually(within: 180) { await Self.phase(daemon)?.phase == "Degraded" }
        let message = await Self.message(daemon)
        #expect(aborted, "the update aborts: \(message)")
        #expect(
            message.hasPrefix(
                "RolloutAborted: Rollout aborted update to revision 3: Experiment analysis phase is error/failed: "
                    + "Metric \"candidate\" assessed Failed"), "\(message)")
        let after = try #require(await daemon.call(.GET, "/api/v1/experiments")?.json["items"] as? [[String: Any]])
        #expect(
            after.compactMap { ($0["status"] as? [String: Any])?["phase"] as? String }.sorted() == [
                "Failed", "Successful",
            ])
        let split = await Self.sides(count: 200)
        #expect(split["stable", default: 0] == 200, "after the abort all traffic is on stable: \(split)")
    }

    static func rollout(_ daemon: Daemon) async -> [String: Any] {
        (await daemon.call(.GET, "/api/v1/rollouts/ab"))?.json ?? [:]
    }

    /// The rollout's phase and the image of its stable pods (its template's when Healthy).
    static func phase(_ daemon: Daemon) async -> (phase: String, image: String)? {
        let rollout = await rollout(daemon)
        guard let status = rollout["status"] as? [String: Any], let phase = status["phase"] as? String else {
            return nil
        }
        let spec = rollout["spec"] as? [String: Any]
        let containers =
            ((spec?["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"] as? [[String: Any]]
        return (phase, containers?.first?["image"] as? String ?? "")
    }

    static func message(_ daemon: Daemon) async -> String {
        ((await rollout(daemon))["status"] as? [String: Any])?["message"] as? String ?? ""
    }

    static func experimentPhase(_ daemon: Daemon) async -> String? {
        let items = (await daemon.call(.GET, "/api/v1/experiments"))?.json["items"] as? [[String: Any]] ?? []
        return items.compactMap { ($0["status"] as? [String: Any])?["phase"] as? String }.last
    }

    /// Sends `count` requests to the root Service `ab` one after another and counts who answered:
    /// the experiment's baseline or candidate pods, or the rollout's (stable) pods.
    static func sides(count: Int) async -> [String: Int] {
        var counts: [String: Int] = [:]
        for _ in 0..<count {
            guard let answer = await http(.GET, "http://127.0.0.1:8090/", timeout: 10), answer.status == 200,
                let pod = answer.json["pod"] as? String
            else {
                counts["error", default: 0] += 1
                continue
            }
            let side = pod.contains("-baseline-") ? "baseline" : pod.contains("-candidate-") ? "candidate" : "stable"
            counts[side, default: 0] += 1
        }
        return counts
    }

    /// Keeps both sides measured while the analysis runs.
    static func keepSending() async {
        while !Task.isCancelled {
            _ = await http(.GET, "http://127.0.0.1:8090/", timeout: 5)
            try? await Task.sleep(for: .milliseconds(20))
        }
    }
}
