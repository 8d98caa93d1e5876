import AviaryModel
import Foundation

/// How `aviary get analysisrun` and `get rollout` show a measurement of the statistical judge:
/// its value is the whole report as JSON, shown as `Fail, score 0` in a row and as a table of
/// the metrics under the run.
enum JudgeReportRenderer {
    /// The report a measurement's value holds, or nil for any other value.
    static func report(_ value: String?) -> JudgeReport? {
        guard let value, value.hasPrefix("{"), value.contains("\"classification\"") else { return nil }
        return try? JSONDecoder().decode(JudgeReport.self, from: Data(value.utf8))
    }

    /// A measurement's value as a row shows it: `Fail, score 0` for a judge report, else as stored.
    static func value(_ value: String?) -> String {
        guard let report = report(value) else { return value ?? "-" }
        return report.classification + (report.score.map { ", score \(JudgeReport.format($0))" } ?? "")
    }

    /// The metrics of a report as a table: class, each side's count and median, the shift with
    /// its interval, the effect.
    static func table(_ report: JudgeReport) -> String {
        let format = JudgeReport.format
        let rows =
            [["METRIC", "CLASS", "CANARY n / MEDIAN", "BASELINE n / MEDIAN", "SHIFT [INTERVAL]", "EFFECT"]]
            + report.metrics.map { metric in
                [
                    metric.name + (metric.muted == true ? " (muted)" : ""),
                    metric.classification + (metric.critical == true ? " (critical)" : ""),
                    "\(metric.canary.count) / \(format(metric.canary.median))",
                    "\(metric.baseline.count) / \(format(metric.baseline.median))",
                    metric.estimate.map { estimate in
                        "\(format(estimate)) [\(format(metric.ciLower ?? .nan)), \(format(metric.ciUpper ?? .nan))]"
                    } ?? "-",
                    metric.effect.map(format) ?? "-",
                ]
            }
        let widths = rows[0].indices.map { column in rows.map { $0[column].count }.max() ?? 0 }
        return rows.map { row in
            let line = row.enumerated().map { $0.element.padded(widths[$0.offset]) }.joined(separator: "  ")
            return String(line.reversed().drop { $0 == " " }.reversed())
        }.joined(separator: "\n")
    }
}
