import AviaryModel
import Foundation

/// One judgement of all a judge's metrics: the measurement's phase, its message, and the report
/// stored as its value (shown by `aviary get analysisrun`).
public struct JudgeReport: Sendable, Equatable, Codable {
    public struct MetricReport: Sendable, Equatable, Codable {
        public var name: String
        public var classification: String
        public var reason: String?
        public var critical: Bool?
        public var muted: Bool?
        public var canary: SampleSummary
        public var baseline: SampleSummary
        public var pValue: Double?
        public var estimate: Double?
        public var ciLower: Double?
        public var ciUpper: Double?
        public var effect: Double?
        public var ratio: Double?
    }

    /// 0 to 100; nil when too few points were there to judge.
    public var score: Double?
    /// `Pass`, `Marginal`, `Fail`, or `Inconclusive` when too few points were there.
    public var classification: String
    public var reason: String?
    public var groups: [CanaryScore.GroupScore]
    public var metrics: [MetricReport]

    /// The measurement's phase: Pass is Successful, Marginal Inconclusive, Fail Failed.
    public var phase: AnalysisPhase {
        switch classification {
        case "Pass": .successful
        case "Fail": .failed
        default: .inconclusive
        }
    }

    /// One line for the measurement's message.
    public var summary: String {
        var line = "judge: \(classification)"
        if let score { line += " (score \(CanaryJudge.format(score)))" }
        let flagged = metrics.filter { $0.classification != MetricClass.pass.rawValue && $0.muted != true }
        if !flagged.isEmpty {
            line += ": " + flagged.map { "\($0.name) \($0.classification)" }.joined(separator: ", ")
        }
        if let reason { line += "; \(reason)" }
        return line
    }

    /// The report as compact JSON with its keys in a stable order (NaN written as null).
    public var json: String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys]
        encoder.nonConformingFloatEncodingStrategy = .convertToString(
            positiveInfinity: "+Inf", negativeInfinity: "-Inf", nan: "NaN")
        return (try? encoder.encode(self)).flatMap { String(data: $0, encoding: .utf8) } ?? "{}"
    }
}

extension CanaryJudge {
    /// Judges every metric of `spec` on its samples (canary, baseline) and scores them.
    /// A metric whose sides have points but fewer than `minSamples` makes the whole judgement
    /// Inconclusive, naming it: too little data is not evidence either way.
    public static func judge(
        _ spec: JudgeSpec, samples: [String: (canary: [Double], baseline: [Double])]
    ) -> JudgeReport {
        var entries: [(name: String, groups: [String], muted: Bool, verdict: MetricVerdict)] = []
        var short: [String] = []
        for metric in spec.metrics {
            let (canary, baseline) = samples[metric.name] ?? ([], [])
            let verdict = classify(canary: canary, baseline: baseline, rules: metric.rules, confidence: spec.confidence)
            entries.append((metric.name, metric.groups, metric.rules.muted, verdict))
            let counts = [("canary", verdict.canary.count), ("baseline", verdict.baseline.count)]
            if !metric.rules.muted, counts.allSatisfy({ $0.1 > 0 }),
                let side = counts.first(where: { $0.1 < spec.minSamples })
            {
                short.append("\(metric.name): \(side.0) n=\(side.1) < \(spec.minSamples)")
            }
        }
        let metrics = entries.map { entry in
            let verdict = entry.verdict
            let finite: (Double) -> Double? = { $0.isFinite ? $0 : nil }
            return JudgeReport.MetricReport(
                name: entry.name, classification: verdict.classification.rawValue, reason: verdict.reason,
                critical: verdict.critical ? true : nil, muted: entry.muted ? true : nil, canary: verdict.canary,
                baseline: verdict.baseline, pValue: verdict.test?.pValue, estimate: verdict.test?.estimate,
                ciLower: verdict.test?.lower, ciUpper: verdict.test?.upper, effect: finite(verdict.effect),
                ratio: finite(verdict.ratio))
        }
        let scored = CanaryScore.score(entries, groupWeights: spec.groupWeights)
        if !short.isEmpty {
            return JudgeReport(
                score: nil, classification: "Inconclusive", reason: "too few points: " + short.joined(separator: "; "),
                groups: scored.groups, metrics: metrics)
        }
        let classification = scored.score >= spec.pass ? "Pass" : (scored.score >= spec.marginal ? "Marginal" : "Fail")
        return JudgeReport(
            score: scored.score, classification: classification, reason: scored.reason, groups: scored.groups,
            metrics: metrics)
    }
}
