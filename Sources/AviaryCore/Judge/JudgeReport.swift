import AviaryModel
import Foundation

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
