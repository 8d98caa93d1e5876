import AviaryModel
import Foundation

/// Which change of a metric counts against the canary.
public enum JudgeDirection: String, Sendable, Codable, CaseIterable {
    case increase, decrease, either
}

/// What a NaN in a sample becomes: dropped, or 0 (Kayenta's `nanStrategy`).
public enum NaNStrategy: String, Sendable, Codable, CaseIterable {
    case remove, replace
}

/// How the size of a change is measured: the ratio of means, or the common-language effect
/// size (the share of pairs where the canary is higher).
public enum EffectMeasure: String, Sendable, Codable, CaseIterable {
    case meanRatio, cles

    /// The effect of no change.
    public var neutral: Double { self == .meanRatio ? 1 : 0.5 }
}

/// One metric's rules, as in a Kayenta canary config's `analysisConfigurations.canary`.
public struct JudgeMetricRules: Sendable, Equatable {
    public var direction: JudgeDirection
    public var nanStrategy: NaNStrategy
    /// The outlier factor when outliers are removed (Kayenta: `outliers.strategy: remove`, factor 3).
    public var outlierFactor: Double?
    public var critical: Bool
    public var mustHaveData: Bool
    public var muted: Bool
    public var effectMeasure: EffectMeasure
    /// The smallest effect that makes a significant increase High (a mean ratio of 1.1: 10% more).
    public var allowedIncrease: Double
    /// The largest effect that makes a significant decrease Low.
    public var allowedDecrease: Double
    /// The effect from which a High of a critical metric fails the canary outright.
    public var criticalIncrease: Double
    public var criticalDecrease: Double

    /// Aviary's defaults: either direction, NaN removed, outliers kept, a change must be significant
    /// and at least 10% of the mean (0.1 of CLES) to count. Kayenta's default allows none (1.0).
    public init(
        direction: JudgeDirection = .either, nanStrategy: NaNStrategy = .remove, outlierFactor: Double? = nil,
        critical: Bool = false, mustHaveData: Bool = false, muted: Bool = false,
        effectMeasure: EffectMeasure = .meanRatio,
        allowedIncrease: Double? = nil, allowedDecrease: Double? = nil, criticalIncrease: Double? = nil,
        criticalDecrease: Double? = nil
    ) {
        self.direction = direction
        self.nanStrategy = nanStrategy
        self.outlierFactor = outlierFactor
        self.critical = critical
        self.mustHaveData = mustHaveData
        self.muted = muted
        self.effectMeasure = effectMeasure
        let increase = allowedIncrease ?? Self.defaultAllowedIncrease(effectMeasure)
        let decrease = allowedDecrease ?? Self.defaultAllowedDecrease(effectMeasure)
        self.allowedIncrease = increase
        self.allowedDecrease = decrease
        self.criticalIncrease = criticalIncrease ?? increase
        self.criticalDecrease = criticalDecrease ?? decrease
    }

    public static func defaultAllowedIncrease(_ measure: EffectMeasure) -> Double { measure == .meanRatio ? 1.1 : 0.6 }
    public static func defaultAllowedDecrease(_ measure: EffectMeasure) -> Double { measure == .meanRatio ? 0.9 : 0.4 }
}

/// A metric's class, Kayenta's labels.
public enum MetricClass: String, Sendable, Codable {
    case pass = "Pass"
    case high = "High"
    case low = "Low"
    case nodata = "Nodata"
    /// No data for a metric that must have data (not critical): counts as a failure in its group.
    case nodataFail = "NodataFailMetric"
}

extension SampleSummary {
    /// The summary of a sample's values.
    public init(_ values: [Double]) {
        self.init(
            count: values.count, mean: SampleStatistics.mean(values), median: SampleStatistics.median(values),
            standardDeviation: SampleStatistics.standardDeviation(values), min: values.min() ?? 0,
            max: values.max() ?? 0)
    }
}

/// The judgement of one metric.
public struct MetricVerdict: Sendable, Equatable {
    public var classification: MetricClass
    public var reason: String?
    /// Whether this verdict fails the canary by itself.
    public var critical: Bool
    public var canary: SampleSummary
    public var baseline: SampleSummary
    /// The test, when it ran (both sides had data and differed).
    public var test: MannWhitneyResult?
    /// The effect by the metric's measure (NaN when it cannot be computed).
    public var effect: Double
    /// The ratio of means, for the report (NaN when a mean is 0).
    public var ratio: Double
}

/// Kayenta's NetflixACAJudge for one metric: NaN strategy, IQR outliers, then the Mann-Whitney
/// interval against a tolerance of a quarter of the estimate, then the effect size.
public enum CanaryJudge {
    /// The fraction of the estimate within which a shift counts as none.
    public static let tolerance = 0.25

    public static func classify(
        canary rawCanary: [Double], baseline rawBaseline: [Double], rules: JudgeMetricRules, confidence: Double = 0.98
    ) -> MetricVerdict {
        let canary = prepare(rawCanary, rules)
        let baseline = prepare(rawBaseline, rules)
        var verdict = MetricVerdict(
            classification: .pass, reason: nil, critical: false, canary: SampleSummary(canary),
            baseline: SampleSummary(baseline), test: nil, effect: .nan,
            ratio: SampleStatistics.meanRatio(canary: canary, baseline: baseline))

        if canary.isEmpty || baseline.isEmpty {
            guard rules.nanStrategy == .remove else { return verdict }
            let side = canary.isEmpty ? (baseline.isEmpty ? "canary and baseline" : "canary") : "baseline"
            verdict.reason = "no data for the \(side)"
            if rules.mustHaveData && !rules.critical {
                verdict.classification = .nodataFail
            } else {
                verdict.classification = .nodata
                verdict.critical = rules.critical
            }
            return verdict
        }
        if canary.sorted() == baseline.sorted() {
            verdict.reason = "the canary and baseline data are identical"
            return verdict
        }
        if Set(canary + baseline).count == 1 { return verdict }

        let test = MannWhitney.test(canary: canary, baseline: baseline, confidence: confidence)
        verdict.test = test
        verdict.effect =
            rules.effectMeasure == .cles
            ? SampleStatistics.commonLanguageEffect(canary: canary, baseline: baseline) : verdict.ratio
        let bound = tolerance * abs(test.estimate)
        let effect = verdict.effect
        let high =
            rules.direction != .decrease && test.lower > bound && (effect.isNaN || effect >= rules.allowedIncrease)
        let low =
            rules.direction != .increase && test.upper < -bound && (effect.isNaN || effect <= rules.allowedDecrease)
        if high {
            verdict.classification = .high
            verdict.critical = rules.critical && (effect.isNaN || effect >= rules.criticalIncrease)
        } else if low {
            verdict.classification = .low
            verdict.critical = rules.critical && (effect.isNaN || effect <= rules.criticalDecrease)
        }
        if verdict.classification != .pass {
            verdict.reason =
                "the canary is \(verdict.classification.rawValue.lowercased()): shift \(format(test.estimate)) "
                + "in [\(format(test.lower)), \(format(test.upper))], \(rules.effectMeasure.rawValue) \(format(effect))"
                + (verdict.critical ? " (critical)" : "")
        }
        return verdict
    }

    static func prepare(_ values: [Double], _ rules: JudgeMetricRules) -> [Double] {
        let clean = rules.nanStrategy == .remove ? values.filter { !$0.isNaN } : values.map { $0.isNaN ? 0 : $0 }
        guard let factor = rules.outlierFactor else { return clean }
        return SampleStatistics.removingOutliers(clean, factor: factor)
    }

    /// A number in four significant digits for messages and the text view; `NaN` for NaN.
    public static func format(_ value: Double) -> String { JudgeReport.format(value) }
}

/// The canary's score from its metrics' verdicts, Kayenta's weighted-sum scorer: per group the
/// share of Pass among Pass, High, Low and NodataFailMetric; groups weighted (groups without a
/// weight share what is left of 100); a critical failure or half the metrics without data is 0.
/// Muted metrics are reported and not scored.
public enum CanaryScore {
    public struct Scored: Sendable, Equatable {
        public var score: Double
        /// Why the score is 0 outright (a critical failure, too many without data).
        public var reason: String?
        public var groups: [JudgeGroupScore]
    }

    /// Scores `(name, groups, muted, verdict)` entries with `groupWeights` in percent.
    public static func score(
        _ entries: [(name: String, groups: [String], muted: Bool, verdict: MetricVerdict)],
        groupWeights: [String: Double]
    ) -> Scored {
        let entries = entries.filter { !$0.muted }
        var labels: [String: [MetricClass]] = [:]
        var order: [String] = []
        for entry in entries {
            for group in entry.groups {
                if labels[group] == nil { order.append(group) }
                labels[group, default: []].append(entry.verdict.classification)
            }
        }
        let groups = order.map { name in
            let classes = labels[name] ?? []
            let passed = classes.filter { $0 == .pass }.count
            let counted = classes.filter { $0 != .nodata }.count
            return JudgeGroupScore(
                name: name, score: counted == 0 ? 0 : Double(passed) / Double(counted) * 100, noData: counted == 0)
        }
        if let failure = entries.first(where: { $0.verdict.critical && $0.verdict.classification != .pass }) {
            return Scored(
                score: 0, reason: "critical metric \(failure.name) is \(failure.verdict.classification.rawValue)",
                groups: groups)
        }
        let nodata = entries.filter { $0.verdict.classification == .nodata }.count
        if !entries.isEmpty, Double(nodata) / Double(entries.count) >= 0.5 {
            return Scored(
                score: 0, reason: "\(nodata) of \(entries.count) metrics have no data (50% or more)", groups: groups)
        }
        let unweighted = Set(order).subtracting(groupWeights.keys)
        let shared = unweighted.isEmpty ? 0 : (100 - groupWeights.values.reduce(0, +)) / Double(unweighted.count)
        var total = 0.0
        for group in groups {
            total += (group.noData ? 100 : group.score) * (groupWeights[group.name] ?? shared) / 100
        }
        return Scored(score: (total * 100).rounded() / 100, reason: nil, groups: groups)
    }
}
