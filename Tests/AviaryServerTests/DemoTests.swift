import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryHarness

#if canImport(Glibc)
    import Glibc
#endif

/// The demo's manifests as the demo adapts them.
@Suite struct DemoManifestsTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/demo").path

    @Test func theBundledManifestsGetThePortsAndTheAddressAndKeepTheQuery() throws {
        let bundled = try DemoManifests.read(from: Self.examples)
        let ports = DemoManifests.Ports(root: 31001, stable: 31002, canary: 31003)
        let adapted = try bundled.adapted(ports: ports, prometheus: "http://127.0.0.1:39090", fast: true)
        for port in [31001, 31002, 31003] { #expect(adapted.rollout.contains("    port: \(port)\n")) }
        #expect(!adapted.rollout.contains("port: 8080"))
        #expect(adapted.rollout.contains("containerPort: 8080"), "the container's port is left alone")
        #expect(adapted.template.contains("address: http://127.0.0.1:39090"))
        #expect(adapted.template.contains("interval: 3s") && adapted.template.contains("initialDelay: 12s"))
        let query = { (text: String) in text.split(separator: "\n").first { $0.contains("query:") } }
        #expect(query(adapted.template) == query(bundled.template))
        let slow = try bundled.adapted(ports: ports, prometheus: "http://127.0.0.1:39090", fast: false)
        #expect(slow.template.contains("interval: 10s"))
    }

    @Test(arguments: ["address: http://127.0.0.1:9090", "interval: 10s"])
    func anEditedTemplateIsRefusedNamingTheField(line: String) throws {
        var bundled = try DemoManifests.read(from: Self.examples)
        bundled.template = bundled.template.replacingOccurrences(of: line, with: line + "0")
        #expect {
            try bundled.adapted(
                ports: .init(root: 1, stable: 2, canary: 3), prometheus: "http://127.0.0.1:1", fast: true)
        } throws: { error in
            "\(error)".contains("examples/demo/success-rate.yaml") && "\(error)".contains("git checkout examples/demo")
        }
    }
}

/// The live view cuts its lines to the screen's width, keeping colours whole.
@Suite struct DemoLiveViewTests {
    @Test(arguments: [
        ("short", 10, "short"),
        ("exactly ten", 11, "exactly ten"),
        ("a long line of text", 6, "a long"),
        ("\u{1B}[32m✔ Healthy\u{1B}[0m  4/4", 9, "\u{1B}[32m✔ Healthy\u{1B}[0m"),
        ("\u{1B}[31m✖ Degraded\u{1B}[0m", 3, "\u{1B}[31m✖ D\u{1B}[0m"),
        ("├──□ pod", 4, "├──□"),
    ])
    func aLineIsCutToTheWidthWithoutCountingOrLosingColours(line: String, width: Int, expected: String) {
        #expect(Demo.clip(line, to: width) == expected)
    }
}

/// `aviary demo --fast --no-watch` end to end: the built binary, a real Prometheus, real pods.
@Suite(.serialized, .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct DemoEndToEndTests {
    @Test func theGoodReleaseIsPromotedAndTheBadOneRolledBackByItsAnalysis() throws {
        let summaryPath = NSTemporaryDirectory() + "aviary-demo-summary-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: summaryPath) }
        let result = try runCommand([
            builtProductsDirectory() + "/aviary", "demo", "--fast", "--no-watch", "--summary-json", summaryPath,
            "--manifests", DemoManifestsTests.examples,
        ])
        #expect(result.status == 0, "aviary demo failed:\n\(result.output)")
        let summary = try JSONDecoder().decode(
            DemoSummary.self, from: try Data(contentsOf: URL(fileURLWithPath: summaryPath)))
        try #require(summary.releases.count == 2, "\(result.output)")
        let good = summary.releases[0]
        let bad = summary.releases[1]
        #expect(good.image == "sample-app:v2" && good.outcome == "Promoted")
        #expect(good.clientErrors == 0, "clients saw errors during the good release:\n\(result.output)")
        #expect(good.requests > 100)
        #expect(bad.image == "sample-app:bad-v3" && bad.outcome == "Aborted")
        #expect(bad.message.contains("success-rate"), "the abort names the failed metric: \(bad.message)")
        // Only the canary's share fails: its weight (10%) times its error rate (20%), plus noise.
        let bound = Int((0.10 * 0.20 * Double(bad.requests)).rounded(.up)) + 5
        #expect(bad.clientErrors <= bound, "\(bad.clientErrors) errors of \(bad.requests) requests")
        // Outside the releases nothing fails: not before the first (the load starts once the
        // Service answers), nor between them, nor after the abort.
        let total = result.output.split(separator: "\n").first { $0.contains("traffic in all: ") }
        let totalErrors = total.flatMap { $0.components(separatedBy: "), ").last?.split(separator: " ").first }
            .flatMap { Int($0) }
        #expect(totalErrors == good.clientErrors + bad.clientErrors, "\(String(describing: total))")

        // Everything the demo started is gone: the daemon, Prometheus and the temporary directory.
        for name in ["aviary serve", "prometheus"] {
            let line = result.output.split(separator: "\n").first { $0.contains("  \(name) (pid ") }
            let pid = line.flatMap { $0.split(separator: "(pid ").last?.split(separator: ")").first }.flatMap {
                Int32($0)
            }
            let started = try #require(pid, "the output names \(name)'s pid:\n\(result.output)")
            #expect(!isRunning(started), "\(name) (pid \(started)) is still running")
        }
        let state = result.output.split(separator: "\n").first { $0.contains("state in ") }
        let directory = state.flatMap { $0.components(separatedBy: "state in ").last }.map {
            ($0 as NSString).deletingLastPathComponent
        }
        let demoDirectory = try #require(directory)
        #expect(!FileManager.default.fileExists(atPath: demoDirectory), "\(demoDirectory) was left behind")
    }
}

/// `aviary demo` in a real terminal (tmux), with its own TMPDIR so that whatever it starts can be
/// found: the daemon, Prometheus and the router name the demo's directory on their command line,
/// and the pods inherit TMPDIR.
final class DemoInTerminal {
    let directory = NSTemporaryDirectory() + "aviary-demo-test-\(UUID().uuidString.prefix(8))/"
    let terminal: TmuxSession

    /// Starts `aviary demo ARGUMENTS` in a 160 x 50 pane; when it exits the pane shows
    /// `demo exited STATUS` and stays.
    init(_ arguments: String) throws {
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        // bash, not sh: after a Ctrl-C that the demo handles (exit 130) bash goes on to the echo.
        let script = """
            TMPDIR=\(directory) \(builtProductsDirectory())/aviary demo \(arguments) --manifests \(DemoManifestsTests.examples)
            echo "demo exited $?"
            exec sleep 600
            """
        try script.write(toFile: directory + "run.sh", atomically: true, encoding: .utf8)
        terminal = try TmuxSession(command: "bash \(directory)run.sh", columns: 160, rows: 50)
    }

    /// The processes the demo started that still run.
    func processes() -> [Int32] {
        let own = Data("TMPDIR=\(directory)".utf8)
        let path = Data(directory.utf8)
        let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
        return entries.compactMap(Int32.init).filter { pid in
            guard isRunning(pid) else { return false }
            let environment = FileManager.default.contents(atPath: "/proc/\(pid)/environ") ?? Data()
            let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()
            let isScript = commandLine.range(of: Data("run.sh".utf8)) != nil
            return !isScript
                && (environment.split(separator: 0).contains { Data($0) == own } || commandLine.range(of: path) != nil)
        }
    }

    /// What the demo left in its TMPDIR (the test's own script aside).
    func leftovers() -> [String] {
        ((try? FileManager.default.contentsOfDirectory(atPath: directory)) ?? []).filter { $0 != "run.sh" }
    }

    /// Closes the terminal; stops and removes whatever the demo left, so a failed test leaves nothing.
    func close() {
        terminal.close()
        for pid in processes() { kill(pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The live view of `aviary demo --fast` and Ctrl-C, in a real terminal.
extension DemoEndToEndTests {
    @Test(.enabled(if: TmuxSession.isAvailable, "tmux is not installed"))
    func theLiveViewShowsTheRolloutTreeAndEachMeasurementThenTheSummary() async throws {
        let demo = try DemoInTerminal("--fast")
        defer { demo.close() }
        // During release 1: the header and tree of `get rollout`, an AnalysisRun in the tree, and a
        // line for a measurement under it.
        let midway = await eventually(within: 150) {
            let pane = demo.terminal.capture()
            return pane.contains("NAME") && pane.contains("KIND") && pane.contains("AnalysisRun")
                && pane.contains("success-rate  [") && pane.contains("Successful")
        }
        let during = demo.terminal.capture()
        #expect(midway, "no tree with a measurement:\n\(during)")
        for expected in [
            "aviary demo --fast", "Name:", "sample-app", "Strategy:", "Canary", "# revision:2", "Traffic:",
        ] {
            #expect(during.contains(expected), "the live view lacks \(expected):\n\(during)")
        }
        #expect(during.components(separatedBy: "Namespace:").count == 2, "redrawn in place:\n\(during)")

        let ended = await eventually(within: 180) { demo.terminal.capture().contains("demo exited") }
        let screen = demo.terminal.capture()
        let history = demo.terminal.capture(history: true)
        #expect(ended, "the demo did not end:\n\(history)")
        #expect(screen.contains("demo exited 0"), "\(history)")
        for expected in [
            "release  image                outcome   seconds  requests  client errors",
            "sample-app:v2        Promoted", "sample-app:bad-v3    Aborted", "✖ Degraded", "# revision:3",
        ] {
            #expect(history.contains(expected), "the end lacks \(expected):\n\(history)")
        }
        // The view never wrapped or scrolled: in the whole history one title and one header, so the
        // frame was redrawn in place; only the summary at the end pushed its top lines up.
        #expect(history.components(separatedBy: "aviary demo --fast ").count == 2, "\(history)")
        #expect(history.components(separatedBy: "Namespace:").count == 2, "\(history)")
        #expect(demo.processes().isEmpty, "still running: \(demo.processes())")
        #expect(demo.leftovers().isEmpty, "left behind in \(demo.directory): \(demo.leftovers())")
    }

    /// With the live view and without it (`--no-watch` prints progress lines instead): both
    /// stop through the same path, and both must leave nothing.
    @Test(.enabled(if: TmuxSession.isAvailable, "tmux is not installed"), arguments: ["--fast", "--fast --no-watch"])
    func ctrlCStopsEverythingTheDemoStarted(arguments: String) async throws {
        let demo = try DemoInTerminal(arguments)
        defer { demo.close() }
        // Release 1 under way: daemon, Prometheus, router, five pods and the traffic are running.
        let underWay = await eventually(within: 150) { demo.terminal.capture().contains("release 1: set image") }
        #expect(underWay, "\(demo.terminal.capture())")
        let started = demo.processes()
        #expect(started.count >= 7, "daemon, Prometheus, router and pods: \(started)")
        try demo.terminal.send(keys: "C-c")
        let ended = await eventually(within: 90) { demo.terminal.capture().contains("demo exited") }
        let screen = demo.terminal.capture(history: true)
        #expect(ended, "\(screen)")
        #expect(screen.contains("demo exited 130") && screen.contains("interrupted"), "\(screen)")
        #expect(demo.processes().isEmpty, "still running after Ctrl-C: \(demo.processes())")
        #expect(demo.leftovers().isEmpty, "left behind in \(demo.directory): \(demo.leftovers())")
    }
}
