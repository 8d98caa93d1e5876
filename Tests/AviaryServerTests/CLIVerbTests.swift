import ArgumentParser
import AviaryAPI
import AviaryClient
import AviaryLocal
import AviaryMeta
import AviaryModel
import Foundation
import Testing

@testable import aviary

/// `aviary plan` reads every file it is given as one set.
@Suite struct PlanFilesTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples").path

    @Test func oneRolloutAcrossSeveralFilesIsPlanned() throws {
        let plan = try Plan.parse(["-f", "\(Self.examples)/canary.yaml", "-f", "\(Self.examples)/success-rate.yaml"])
        try plan.run()
    }

    @Test func twoRolloutsAreRefusedNamingBothFiles() throws {
        let plan = try Plan.parse(["-f", "\(Self.examples)/canary.yaml", "-f", "\(Self.examples)/blue-green.yaml"])
        let error = try #require(throws: PlanError.self) { try plan.run() }
        #expect(error.description.contains("found 2"))
        #expect(error.description.contains("canary.yaml"))
        #expect(error.description.contains("blue-green.yaml"))
    }

    @Test func aMissingFileIsNamed() throws {
        let plan = try Plan.parse(["-f", "/nonexistent/rollout.yaml"])
        let error = try #require(throws: PlanError.self) { try plan.run() }
        #expect(error.description.hasPrefix("/nonexistent/rollout.yaml: no such file or directory"))
    }

    /// Every file the help's examples name exists, so they run as written.
    @Test func helpExamplesNameFilesThatExist() throws {
        let root = URL(fileURLWithPath: Self.examples).deletingLastPathComponent().path
        let discussion = Plan.configuration.discussion
        let named = discussion.split(whereSeparator: \.isWhitespace).filter { $0.hasPrefix("examples/") }
        #expect(!named.isEmpty)
        for path in named {
            #expect(FileManager.default.fileExists(atPath: "\(root)/\(path)"), "\(path) is named by plan --help")
        }
    }
}

/// What the live view writes to a terminal and to a pipe.
@Suite struct LiveViewOutputTests {
    @Test func aPipeGetsPlainFramesWithoutEscapesAndNoRepeats() throws {
        let first = try #require(LiveView.output(for: "web ✔ Healthy\n  step 1/3", previous: nil, isTerminal: false))
        #expect(first == "web ✔ Healthy\n  step 1/3\n\n")
        #expect(!first.contains("\u{1B}"))
        #expect(
            LiveView.output(for: "web ✔ Healthy\n  step 1/3", previous: "web ✔ Healthy\n  step 1/3", isTerminal: false)
                == nil)
        #expect(LiveView.output(for: "b", previous: "a", isTerminal: false) == "b\n\n")
    }

    @Test func aTerminalGetsTheFrameRedrawnInPlace() {
        #expect(
            LiveView.output(for: "a\nb", previous: "a\nb", isTerminal: true) == "\u{1B}[Ha\u{1B}[K\nb\u{1B}[K\n\u{1B}[J"
        )
    }

    @Test(arguments: [(Int32(SIGINT), Int32(0)), (Int32(SIGTERM), Int32(143)), (Int32(SIGHUP), Int32(129))])
    func signalsEndTheViewWithTheShellsStatus(signal: Int32, status: Int32) {
        #expect(LiveView.exitStatus(after: signal) == status)
    }
}

/// `aviary prometheus-config` writes a configuration the real Prometheus accepts.
@Suite struct PrometheusConfigTests {
    @Test(arguments: [false, true])
    func promtoolAcceptsTheConfiguration(withToken: Bool) throws {
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aviary-promcfg-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(at: directory) }
        let tokenFile = directory.appendingPathComponent("token").path
        try "secret".write(toFile: tokenFile, atomically: true, encoding: .utf8)
        let arguments =
            withToken ? ["--server", "127.0.0.1:9000/", "--token-file", tokenFile, "--scrape-interval", "2s"] : []
        let command = try PrometheusConfig.parse(arguments)
        let yaml = command.configuration.yaml
        #expect(yaml.contains("refresh_interval: 5s"))
        #expect(yaml.contains(withToken ? "url: http://127.0.0.1:9000/sd" : "url: http://127.0.0.1:7480/sd"))
        #expect(yaml.contains("credentials_file: \(tokenFile)") == withToken)
        // The daemon's own /metrics (the router's counters among them) is scraped too.
        #expect(yaml.contains(withToken ? #"targets: ["127.0.0.1:9000"]"# : #"targets: ["127.0.0.1:7480"]"#))
        let promtool = ["/usr/bin/promtool", "/usr/local/bin/promtool"].first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
        guard let promtool else {
            Issue.record("promtool not found: install the Debian package prometheus (scripts/test does)")
            return
        }
        let file = directory.appendingPathComponent("prometheus.yml")
        try yaml.write(to: file, atomically: true, encoding: .utf8)
        let check = Process()
        check.executableURL = URL(fileURLWithPath: promtool)
        check.arguments = ["check", "config", file.path]
        let output = Pipe()
        check.standardOutput = output
        check.standardError = output
        try check.run()
        let text = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        check.waitUntilExit()
        #expect(check.terminationStatus == 0, "promtool check config: \(text)")
    }

    @Test func aBadIntervalIsRefused() {
        #expect(throws: (any Error).self) { try PrometheusConfig.parse(["--scrape-interval", "5 seconds"]) }
    }
}

/// `aviary status --watch`'s verdict.
@Suite struct StatusVerdictTests {
    static func rollout(phase: RolloutPhase?, aborted: Bool) -> Rollout {
        var status = RolloutStatus()
        status.phase = phase
        status.abort = aborted ? true : nil
        return Rollout(
            metadata: ObjectMeta(name: "web"), spec: RolloutSpec(strategy: RolloutStrategy()), status: status)
    }

    @Test func anAbortTheControllerHasNotActedOnDecidesNothingYet() {
        #expect(StatusLine.verdict(Self.rollout(phase: .paused, aborted: true)) == .undecided)
        #expect(StatusLine.verdict(Self.rollout(phase: .degraded, aborted: true)) == .degraded)
        #expect(StatusLine.verdict(Self.rollout(phase: .healthy, aborted: false)) == .healthy)
        #expect(StatusLine.verdict(Self.rollout(phase: .progressing, aborted: false)) == .undecided)
    }
}

/// `aviary events ROLLOUT`'s table.
@Suite struct EventTableTests {
    @Test func eventsAreListedOldestFirstWithTheirAge() {
        let now = Date(timeIntervalSince1970: 1_800_000_000 + 1230)
        let events = [
            EventList.Event(
                type: "Normal", reason: "RolloutUpdated", message: "Rollout updated to revision 2",
                time: "2027-01-15T08:00:00Z"),
            EventList.Event(
                type: "Warning", reason: "RolloutAborted", message: "Rollout aborted update to revision 2",
                time: "2027-01-15T08:20:00Z"),
        ]
        #expect(
            EventRenderer.table(events, rollout: "web", now: now) == """
                LAST SEEN   TYPE      REASON           MESSAGE
                20m         Normal    RolloutUpdated   Rollout updated to revision 2
                30s         Warning   RolloutAborted   Rollout aborted update to revision 2

                """)
        #expect(EventRenderer.table([], rollout: "web", now: now) == "No events for rollout \"web\".\n")
    }
}
