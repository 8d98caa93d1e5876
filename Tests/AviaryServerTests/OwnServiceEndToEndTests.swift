import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryLocal

/// The first hour with one's own service (examples/own-service): a Python service that is not
/// the sample app, its three Services all on port 80, a `$(IMAGE_TAG)` command, and the
/// Prometheus `aviary serve --prometheus` runs. v2 is promoted with no errored measurement and
/// its pods run the v2 file; a bad v3 is aborted by its analysis.
@Suite(.serialized, .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct OwnServiceEndToEndTests {
    static let example = "examples/own-service"

    @Test func aNewImageRunsNewCodeAndTheAnalysisJudgesIt() async throws {
        _ = try PrometheusExecutable.required()
        // The daemon runs in the package's directory, so the example's relative workingDir resolves.
        try #require(
            FileManager.default.fileExists(atPath: Self.example + "/rollout.yaml"),
            "run the tests from the package's root (\(FileManager.default.currentDirectoryPath))")
        let prometheusPort = try #require(PortAllocator.freePort())
        let daemon = Daemon()
        // Ports below 1024 need root: as another user the Services listen on 8080 instead.
        var arguments = ["--prometheus", "--prometheus-listen", "127.0.0.1:\(prometheusPort)"]
        if geteuid() != 0 { arguments += ["--service-port-offset", "8000"] }
        try await daemon.start(extraArguments: arguments)
        let base = daemon.base
        try await daemon.run(beside: Task<Void, Never> { await Self.sendTraffic(daemon: base) }) {
            try await check(daemon: daemon, prometheusPort: prometheusPort)
        }
    }

    func check(daemon: Daemon, prometheusPort: Int) async throws {
        // The manifests as they are; only the template's Prometheus is the one this test runs.
        let directory = daemon.stateDirectory + "/manifests"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let analysis = try String(contentsOfFile: Self.example + "/analysis.yaml", encoding: .utf8)
            .replacingOccurrences(of: "127.0.0.1:9090", with: "127.0.0.1:\(prometheusPort)")
        try analysis.write(toFile: directory + "/analysis.yaml", atomically: true, encoding: .utf8)
        let applied = try daemon.cli([
            "apply", "-f", Self.example + "/rollout.yaml", "-f", directory + "/analysis.yaml",
        ])
        #expect(applied.status == 0, "\(applied.output)")
        #expect(!applied.output.contains("warning"), "the example applies without warnings: \(applied.output)")

        #expect(await eventually(within: 120) { await isHealthy(daemon, on: "own-service:v1") })
        let services = try #require(await daemon.call(.GET, "/api/v1/endpoints")?.json["services"] as? [[String: Any]])
        let listeners = Set(services.compactMap { $0["listener"] as? String })
        #expect(listeners.count == 3, "three Services on one port, each at an address of its own: \(listeners)")

        #expect(try daemon.cli(["set", "image", "own-service", "app=own-service:v2"]).status == 0)
        let promoted = await eventually(within: 240) { await isHealthy(daemon, on: "own-service:v2") }
        let afterV2 = await status(daemon)
        #expect(promoted, "v2 is promoted by its analysis; status: \(String(describing: afterV2))")
        let measurements = await measurementPhases(daemon)
        #expect(!measurements.isEmpty)
        #expect(!measurements.contains { $0.hasPrefix("Error") }, "no measurement of v2 errored: \(measurements)")
        #expect(!measurements.contains { $0.hasPrefix("Failed") }, "no measurement of v2 failed: \(measurements)")
        let commands = try await podCommandLines(daemon)
        #expect(commands.count == 3)
        #expect(
            commands.allSatisfy { $0.contains("releases/v2/server.py") }, "the pods of v2 run the v2 file: \(commands)")

        #expect(try daemon.cli(["set", "image", "own-service", "app=own-service:v3"]).status == 0)
        let aborted = await eventually(within: 240) { await status(daemon)?.phase == "Degraded" }
        let afterV3 = await status(daemon)
        #expect(aborted, "the bad v3 is aborted by its analysis; status: \(String(describing: afterV3))")
        let stillStable = try await podCommandLines(daemon)
        #expect(
            stillStable.filter { $0.contains("releases/v2/server.py") }.count == 3, "v2 keeps serving: \(stillStable)")
    }

    /// The rollout's phase and its template's image, once the controller has seen the latest spec.
    func status(_ daemon: Daemon) async -> (phase: String, image: String)? {
        guard let rollout = await daemon.call(.GET, "/api/v1/rollouts/own-service")?.json,
            let status = rollout["status"] as? [String: Any], let phase = status["phase"] as? String,
            let generation = (rollout["metadata"] as? [String: Any])?["generation"] as? Int,
            "\(status["observedGeneration"] ?? "")" == String(generation),
            let spec = rollout["spec"] as? [String: Any], let template = spec["template"] as? [String: Any],
            let podSpec = template["spec"] as? [String: Any],
            let containers = podSpec["containers"] as? [[String: Any]],
            let image = containers.first?["image"] as? String
        else { return nil }
        return (phase, image)
    }

    /// Whether the rollout is Healthy on `image`.
    func isHealthy(_ daemon: Daemon, on image: String) async -> Bool {
        guard let status = await status(daemon) else { return false }
        return status.phase == "Healthy" && status.image == image
    }

    /// The phase of every measurement of the rollout's AnalysisRuns.
    func measurementPhases(_ daemon: Daemon) async -> [String] {
        let runs = (await daemon.call(.GET, "/api/v1/analysisruns"))?.json["items"] as? [[String: Any]] ?? []
        return runs.flatMap { run -> [String] in
            let metrics = (run["status"] as? [String: Any])?["metricResults"] as? [[String: Any]] ?? []
            return metrics.flatMap {
                ($0["measurements"] as? [[String: Any]] ?? []).compactMap { measurement in
                    // The phase, and for one that did not succeed what it said.
                    (measurement["phase"] as? String).map { phase in
                        (measurement["message"] as? String).map { "\(phase): \($0)" } ?? phase
                    }
                }
            }
        }
    }

    /// The command lines of the running pods of the rollout's stable revision, from /proc.
    func podCommandLines(_ daemon: Daemon) async throws -> [String] {
        let rollout = await daemon.call(.GET, "/api/v1/rollouts/own-service")?.json
        let stable = try #require((rollout?["status"] as? [String: Any])?["stableRS"] as? String)
        let pods = (await daemon.call(.GET, "/api/v1/pods"))?.json["pods"] as? [[String: Any]] ?? []
        let pids = pods.filter { ($0["labels"] as? [String: String])?["rollouts-pod-template-hash"] == stable }
            .compactMap { ($0["pid"] as? Int).map(Int32.init) }
        return try pids.map { pid in
            let data = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/cmdline"))
            return String(decoding: data.map { $0 == 0 ? UInt8(ascii: " ") : $0 }, as: UTF8.self)
        }
    }

    /// About 20 requests a second to the all-traffic Service, wherever it listens, until cancelled.
    static func sendTraffic(daemon base: String) async {
        var listener: String?
        while !Task.isCancelled {
            if listener == nil {
                let services =
                    (await http(.GET, base + "/api/v1/endpoints"))?.json["services"] as? [[String: Any]] ?? []
                listener = services.first { $0["name"] as? String == "own-service" }?["listener"] as? String
            }
            if let listener { _ = await http(.GET, "http://\(listener)/") }
            try? await Task.sleep(for: .milliseconds(50))
        }
    }
}

/// The compiled own-service (examples/own-service/compiled): `./build` makes a binary per release,
/// and the pods of each revision run the binary their image names, answering as that release.
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/cc"), "no C compiler"))
struct CompiledServiceEndToEndTests {
    static let example = "examples/own-service/compiled"

    @Test func eachImageRunsTheBinaryOfItsRelease() async throws {
        try #require(
            FileManager.default.fileExists(atPath: Self.example + "/rollout.yaml"),
            "run the tests from the package's root (\(FileManager.default.currentDirectoryPath))")
        let built = try runCommand([Self.example + "/build"])
        try #require(built.status == 0, "examples/own-service/compiled/build: \(built.output)")
        try await Daemon.run(extraArguments: geteuid() == 0 ? [] : ["--service-port-offset", "8000"]) {
            try await check($0)
        }
    }

    func check(_ daemon: Daemon) async throws {
        let applied = try daemon.cli([
            "apply", "-f", Self.example + "/rollout.yaml", "-f", OwnServiceEndToEndTests.example + "/analysis.yaml",
        ])
        #expect(applied.status == 0, "\(applied.output)")
        let releases = FileManager.default.currentDirectoryPath + "/" + Self.example + "/releases"
        var seen: [(executable: String, answer: String)] = []
        #expect(
            await eventually(within: 90) {
                seen = await runningPods(daemon)
                return seen.count == 3 && seen.allSatisfy { $0.answer.hasPrefix("own-service v1 (own-service:v1)") }
            }, "v1's pods answer as v1: \(seen)")
        #expect(seen.allSatisfy { $0.executable == releases + "/v1/server" }, "\(seen)")
        let shown = try daemon.cli(["get", "service", "own-service"])
        #expect(shown.status == 0, "\(shown.output)")
        #expect(shown.output.contains("Listener:   127."), "get service shows where it listens: \(shown.output)")
        #expect(shown.output.contains("Selector:   app=own-service"), "\(shown.output)")
        let missing = try daemon.cli(["get", "service", "nope"])
        #expect(missing.status != 0 && missing.output.contains("aviary list services"), "\(missing.output)")

        #expect(try daemon.cli(["set", "image", "own-service", "app=own-service:v2"]).status == 0)
        #expect(
            await eventually(within: 90) {
                seen = await runningPods(daemon)
                return seen.contains {
                    $0.executable == releases + "/v2/server" && $0.answer.hasPrefix("own-service v2")
                }
            }, "the canary runs releases/v2/server and answers as v2: \(seen)")
    }

    /// Each running, ready pod's executable (from /proc) and its answer to GET /.
    func runningPods(_ daemon: Daemon) async -> [(executable: String, answer: String)] {
        let pods = (await daemon.call(.GET, "/api/v1/pods"))?.json["pods"] as? [[String: Any]] ?? []
        var found: [(String, String)] = []
        for pod in pods where pod["ready"] as? Bool == true {
            guard let pid = pod["pid"] as? Int, let address = pod["address"] as? String,
                let executable = try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\(pid)/exe"),
                let answer = await http(.GET, "http://\(address)/")
            else { continue }
            found.append((executable, answer.text))
        }
        return found
    }
}
