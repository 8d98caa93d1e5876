import Foundation

// What the statistical judge (the `aviary.dev/judge` metric plugin) stores as a measurement's
// value: the whole report, so that the CLI and the dashboard can show every metric's numbers.
// AviaryCore computes it; clients decode it from the measurement.

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

        public init(
            name: String, classification: String, reason: String? = nil, critical: Bool? = nil, muted: Bool? = nil,
            canary: SampleSummary, baseline: SampleSummary, pValue: Double? = nil, estimate: Double? = nil,
            ciLower: Double? = nil, ciUpper: Double? = nil, effect: Double? = nil, ratio: Double? = nil
        ) {
            self.name = name
            self.classification = classification
            self.reason = reason
            self.critical = critical
            self.muted = muted
            self.canary = canary
            self.baseline = baseline
            self.pValue = pValue
            self.estimate = estimate
            self.ciLower = ciLower
            self.ciUpper = ciUpper
            self.effect = effect
            self.ratio = ratio
        }
    }

    /// 0 to 100; nil when too few points were there to judge.
    public var score: Double?
    /// `Pass`, `Marginal`, `Fail`, or `Inconclusive` when too few points were there.
    public var classification: String
    public var reason: String?
    public var groups: [JudgeGroupScore]
    public var metrics: [MetricReport]

    public init(
        score: Double?, classification: String, reason: String?, groups: [JudgeGroupScore], metrics: [MetricReport]
    ) {
        self.score = score
        self.classification = classification
        self.reason = reason
        self.groups = groups
        self.metrics = metrics
    }

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
        if let score { line += " (score \(Self.format(score)))" }
        let flagged = metrics.filter { $0.classification != "Pass" && $0.muted != true }
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

    /// A number in four significant digits; `NaN` for NaN.
    public static func format(_ value: Double) -> String {
        value.isNaN ? "NaN" : String(format: "%.4g", value)
    }
}

/// Count, mean, median and spread of one side of a metric after NaN and outlier handling.
public struct SampleSummary: Sendable, Equatable, Codable {
    public var count: Int
    public var mean: Double
    public var median: Double
    public var standardDeviation: Double
    public var min: Double
    public var max: Double

    public init(count: Int, mean: Double, median: Double, standardDeviation: Double, min: Double, max: Double) {
        self.count = count
        self.mean = mean
        self.median = median
        self.standardDeviation = standardDeviation
        self.min = min
        self.max = max
    }
}

/// One metric group's score.
public struct JudgeGroupScore: Sendable, Equatable, Codable {
    public var name: String
    public var score: Double
    /// No metric of the group counted (all Nodata): the group scores 100 in the total.
    public var noData: Bool

    public init(name: String, score: Double, noData: Bool) {
        self.name = name
        self.score = score
        self.noData = noData
    }
}
