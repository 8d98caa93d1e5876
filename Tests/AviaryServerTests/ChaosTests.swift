import AviaryHarness
import AviaryTestSupport
import Foundation
import Synchronization
import Testing

/// The chaos and soak reports' verdicts.
@Suite struct ReliabilityReportTests {
    @Test(arguments: [
        (0, 0, 0, 0, true, "lost: 0, unconverged: 0, client errors outside bad canaries: 0"),
        (1, 0, 0, 0, false, "lost: 1, unconverged: 0, client errors outside bad canaries: 0"),
        (0, 2, 0, 0, false, "lost: 0, unconverged: 2, client errors outside bad canaries: 0"),
        (0, 0, 3, 0, false, "lost: 0, unconverged: 0, client errors outside bad canaries: 3"),
        (0, 0, 0, 1, false, "lost: 0, unconverged: 0, client errors outside bad canaries: 0"),
    ])
    func theChaosVerdictNeedsAllCountsZero(
        lost: Int, unconverged: Int, errors: Int, orphans: Int, succeeded: Bool, line: String
    ) {
        var report = ChaosReport()
        report.lost = lost
        report.unconverged = unconverged
        report.clients.clientErrors = errors
        report.clients.badCanaryErrors = 40
        report.clients.retriedAfterRouterRestart = 7
        report.orphans = orphans
        #expect(report.succeeded == succeeded)
        #expect(report.finalLine == line)
        #expect(report.summary.hasSuffix("\n" + line), "the final line ends the output")
        #expect(report.summary.contains("retried once the router was back"))
    }

    @Test func aSoakWithoutSamplesFails() {
        #expect(!SoakReport().succeeded)
    }
}

/// scripts/chaos reduced: 3 releases (one bad), 3 kill -9's of the daemon and one of the router,
/// a real daemon, router, Prometheus and pods.
@Suite(.serialized, .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct ChaosEndToEndTests {
    @Test(.timeLimit(.minutes(8))) func aReducedChaosRunLosesNothingAndEveryReleaseEndsRight() async throws {
        var options = ChaosOptions(aviaryExecutable: builtProductsDirectory() + "/aviary")
        options.rollouts = 3
        options.kills = 3
        options.seed = 7
        let output = OutputLines()
        let report = try await Chaos.run(options) { output.append($0) }
        let text = output.text
        #expect(report.succeeded, "\(report.summary)\n\(text)")
        #expect(report.finalLine == "lost: 0, unconverged: 0, client errors outside bad canaries: 0", "\(text)")
        #expect(report.goodReleases == 2 && report.badReleases == 1)
        #expect(report.promoted == 2 && report.aborted == 1, "\(text)")
        #expect(report.kills.values.reduce(0, +) == 3)
        #expect(report.routerKills == 1)
        #expect(report.clients.requests > 1000)
        // Everything it started is gone: the state directory named in the first line too.
        let directory = text.components(separatedBy: "state in ").dropFirst().first?.split(separator: "\n").first
        let state = try #require(directory.map(String.init))
        #expect(!FileManager.default.fileExists(atPath: state), "\(state) was left behind")
    }
}

/// Collects the lines a run writes.
final class OutputLines: Sendable {
    private let lines = Mutex<[String]>([])

    func append(_ line: String) { lines.withLock { $0.append(line) } }

    var text: String { lines.withLock { $0.joined() } }
}
