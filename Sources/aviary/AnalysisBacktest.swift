import ArgumentParser
import AviaryCore
import AviaryMetrics
import AviaryModel
import Foundation

/// `aviary analysis backtest`: how a template would have judged past releases.
struct AnalysisBacktest: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "backtest",
        abstract: "Replay an AnalysisTemplate over Prometheus' history for past releases.",
        discussion: """
            For each release of --releases (its name, the start of its analysis, optionally an \
            end, whether it was in fact bad, and the template's arguments for it), makes the run \
            the daemon would have made and replays it from the start: every measurement (and \
            every look of an aviary.dev/early-stop test) is queried from Prometheus at the time \
            it would have been taken, and recorded by the same rules. Prints, per release, the \
            outcome and when it would have been decided; then the missed-bad and false-abort \
            rates and the median time to a decision. A template with an early-stop annotation is \
            replayed twice, with and without it. Only Prometheus metrics (and the judge plugin) \
            can be replayed.

            The releases file:
              releases:
              - name: v7
                start: 2026-12-01T10:00:00Z
                end: 2026-12-01T10:10:00Z      # optional; default an hour after start
                bad: true
                args: {service-name: checkout}

            A release whose window Prometheus does not hold (any more) is reported as "no data" \
            and left out of the rates. Exits 0; 2 when an input cannot be read.

            Example:
              aviary analysis backtest -f success-rate.yaml --releases releases.yaml \\
                  --prometheus http://127.0.0.1:9090 --plot backtest.svg
            """
    )

    @Option(name: [.customShort("f"), .long], help: "The YAML file with the AnalysisTemplate.")
    var filename: String

    @Option(help: "The YAML file listing the past releases.")
    var releases: String

    @Option(help: "The template to replay when the file has several.")
    var template: String?

    @Option(help: "Prometheus address for metrics that set none.")
    var prometheus: String?

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: String = "text"

    @Option(help: "Also write an SVG plot of each release's measurements against the condition.")
    var plot: String?

    func validate() throws {
        guard ["text", "json"].contains(output) else { throw ValidationError("-o \(output): use text or json") }
    }

    func run() async throws {
        let replays: [(label: String, outcomes: [BacktestOutcome])]
        let templateText: String
        do {
            guard let text = try? String(contentsOfFile: filename, encoding: .utf8) else {
                throw AdHocAnalysisError(description: "-f \(filename): cannot read the file")
            }
            templateText = text
            replays = try await replay(templateText)
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        if output == "json" {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let object = replays.map {
                BacktestReport(label: $0.label, releases: $0.outcomes, summary: BacktestSummary($0.outcomes))
            }
            print(String(decoding: try encoder.encode(object), as: UTF8.self))
        } else {
            print(replays.map { Self.table(label: $0.label, outcomes: $0.outcomes) }.joined(separator: "\n\n"))
        }
        if let plot {
            let threshold = Self.threshold(in: templateText)
            try Self.svg(replays[0].outcomes, threshold: threshold).write(
                toFile: plot, atomically: true, encoding: .utf8)
        }
    }

    struct BacktestReport: Encodable {
        var label: String
        var releases: [BacktestOutcome]
        var summary: BacktestSummary
    }

    func replay(_ templateText: String) async throws -> [(label: String, outcomes: [BacktestOutcome])] {
        guard let releasesText = try? String(contentsOfFile: releases, encoding: .utf8) else {
            throw AdHocAnalysisError(description: "--releases \(releases): cannot read the file")
        }
        let list = try Backtest.releases(text: releasesText, file: releases)
        let providers = MetricProviders(defaultPrometheusAddress: prometheus)
        var withStop: [BacktestOutcome] = []
        var without: [BacktestOutcome] = []
        var hasEarlyStop = false
        for release in list {
            let run = try AdHocAnalysis.makeRun(
                text: templateText, file: filename, templateName: template, args: release.args,
                defaultPrometheusAddress: prometheus)
            if let metric = run.spec.metrics.first(where: { $0.provider.prometheus == nil && $0.provider.plugin == nil }
            ) {
                throw AdHocAnalysisError(
                    description: "\(filename): metric \(metric.name) uses \(metric.provider.setKeys.joined()): "
                        + "only Prometheus metrics and the \(judgePluginName) plugin can be replayed")
            }
            hasEarlyStop = hasEarlyStop || run.metadata.annotations?[EarlyStop.annotation] != nil
            withStop.append(await Backtest.replay(run, release: release, providers: providers))
            if run.metadata.annotations?[EarlyStop.annotation] != nil {
                var stripped = run
                stripped.metadata.annotations?[EarlyStop.annotation] = nil
                without.append(await Backtest.replay(stripped, release: release, providers: providers))
            }
        }
        return hasEarlyStop ? [("with early stop", withStop), ("without early stop", without)] : [("", withStop)]
    }

    static func table(label: String, outcomes: [BacktestOutcome]) -> String {
        var rows = [["RELEASE", "ACTUAL", "OUTCOME", "DECIDED", "VERDICT", "MESSAGE"]]
        for outcome in outcomes {
            let verdict =
                outcome.noData
                ? "no data" : outcome.bad == outcome.aborted ? "right" : outcome.bad ? "missed bad" : "false abort"
            rows.append([
                outcome.name, outcome.bad ? "bad" : "good", outcome.phase,
                outcome.decidedAfter.map { "\(Int($0.rounded()))s" } ?? "-", verdict,
                outcome.noData
                    ? "Prometheus holds no data for this window (past its retention?)" : outcome.message ?? "",
            ])
        }
        let widths = (0..<5).map { column in rows.map { $0[column].count }.max() ?? 0 }
        var lines = label.isEmpty ? [] : ["\(label):"]
        lines += rows.map { row in
            (0..<5).map { row[$0].padding(toLength: widths[$0], withPad: " ", startingAt: 0) }.joined(separator: "  ")
                + "  " + row[5]
        }
        let summary = BacktestSummary(outcomes)
        let percent = { (rate: Double?) in rate.map { String(format: "%.0f%%", $0 * 100) } ?? "-" }
        lines.append(
            "\(summary.releases) releases (\(summary.bad) bad, \(summary.good) good\(summary.noData > 0 ? ", \(summary.noData) without data" : "")): "
                + "caught \(summary.caught) of \(summary.bad) bad (missed-bad rate \(percent(summary.missedBadRate))), "
                + "aborted \(summary.falseAborts) of \(summary.good) good (false-abort rate \(percent(summary.falseAbortRate))), "
                + "median time to a decision \(summary.medianDecision.map { "\(Int($0.rounded())) s" } ?? "-")")
        return lines.joined(separator: "\n")
    }

    /// The number of the first `successCondition: result[0] >= X` (or `>`, `<=`, `<`) in the file.
    static func threshold(in text: String) -> Double? {
        guard let match = text.firstMatch(of: /Condition:\s*'?result\[0\]\s*[<>]=?\s*([0-9.]+)/) else { return nil }
        return Double(match.1)
    }

    /// One panel per release: its measurements' first numbers over time, green when Successful,
    /// red otherwise, and the condition's threshold as a dashed line.
    static func svg(_ outcomes: [BacktestOutcome], threshold: Double?) -> String {
        let width = 640.0
        let panel = 90.0
        let values = outcomes.flatMap(\.points).compactMap { Self.number($0.value) } + (threshold.map { [$0] } ?? [])
        let low = values.min() ?? 0
        let high = max(values.max() ?? 1, low + 1e-9)
        let span = max(outcomes.flatMap(\.points).map(\.at).max() ?? 1, 1)
        var body = ""
        for (index, outcome) in outcomes.enumerated() {
            let top = Double(index) * panel + 10
            let y = { (value: Double) in top + 70 - (value - low) / (high - low) * 60 }
            let x = { (at: Double) in 150 + at / span * (width - 170) }
            let title = "\(outcome.name) (\(outcome.bad ? "bad" : "good")): \(outcome.phase)"
            body += "<text x=\"10\" y=\"\(top + 40)\" font-size=\"12\">\(Self.escaped(title))</text>\n"
            body +=
                "<rect x=\"150\" y=\"\(top)\" width=\"\(width - 170)\" height=\"80\" fill=\"none\" stroke=\"#ccc\"/>\n"
            if let threshold {
                body +=
                    "<line x1=\"150\" x2=\"\(width - 20)\" y1=\"\(y(threshold))\" y2=\"\(y(threshold))\" "
                    + "stroke=\"#888\" stroke-dasharray=\"4 3\"/>\n"
            }
            for point in outcome.points {
                guard let value = Self.number(point.value) else { continue }
                let colour = point.phase == AnalysisPhase.successful.rawValue ? "#2a2" : "#d22"
                body += "<circle cx=\"\(x(point.at))\" cy=\"\(y(value))\" r=\"3\" fill=\"\(colour)\"/>\n"
            }
        }
        let height = Double(outcomes.count) * panel + 20
        return "<svg xmlns=\"http://www.w3.org/2000/svg\" width=\"\(width)\" height=\"\(height)\" "
            + "font-family=\"sans-serif\">\n\(body)</svg>\n"
    }

    static func number(_ value: String?) -> Double? {
        guard let value else { return nil }
        let trimmed = value.trimmingCharacters(in: CharacterSet(charactersIn: "[] "))
        return Double(trimmed.split(separator: ",").first.map(String.init) ?? trimmed)
    }

    static func escaped(_ text: String) -> String {
        text.replacingOccurrences(of: "&", with: "&amp;").replacingOccurrences(of: "<", with: "&lt;")
            .replacingOccurrences(of: ">", with: "&gt;")
    }
}
