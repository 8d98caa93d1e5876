import AviaryJSON
import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

/// Latencies around 100 ms with 10% log-normal spread, the same every run (SplitMix64 and Box-Muller).
func latencies(count: Int, seed: UInt64, scale: Double = 1) -> [Double] {
    var state = seed
    func next() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return Double((z ^ (z >> 31)) >> 11) / Double(1 << 53)
    }
    return (0..<count).map { _ in
        let gaussian = (-2 * log(max(next(), 1e-300))).squareRoot() * cos(2 * .pi * next())
        return 100 * scale * exp(0.1 * gaussian)
    }
}

@Suite("The canary judge: Kayenta's classification and score")
struct CanaryJudgeTests {
    func spec(_ yaml: String) throws -> JudgeSpec {
        let value = try JSONDecoder().decode(JSONValue.self, from: Data(yaml.utf8))
        return try JudgeSpec(plugin: value)
    }

    let oneMetric = #"{"metrics": [{"name": "latency", "canary": "c", "baseline": "b", "direction": "increase"}]}"#

    @Test("a +30% latency shift fails and a +1% shift passes at the defaults")
    func latencyShifts() throws {
        let spec = try spec(oneMetric)
        let baseline = latencies(count: 60, seed: 1)
        let slower = CanaryJudge.judge(
            spec, samples: ["latency": (latencies(count: 60, seed: 2, scale: 1.3), baseline)])
        #expect(slower.classification == "Fail" && slower.phase == .failed && slower.score == 0)
        #expect(slower.metrics[0].classification == "High")
        #expect(slower.summary.contains("latency High"))
        let same = CanaryJudge.judge(spec, samples: ["latency": (latencies(count: 60, seed: 2, scale: 1.01), baseline)])
        #expect(same.classification == "Pass" && same.phase == .successful && same.score == 100)
        // Faster is not worse when only an increase counts.
        let faster = CanaryJudge.judge(
            spec, samples: ["latency": (latencies(count: 60, seed: 2, scale: 0.7), baseline)])
        #expect(faster.classification == "Pass")
    }

    @Test("Kayenta's own defaults (any significant change counts) fail a +3% shift on enough data")
    func kayentaDefaults() {
        let rules = JudgeMetricRules(direction: .increase, allowedIncrease: 1.0)
        let verdict = CanaryJudge.classify(
            canary: latencies(count: 1_000, seed: 2, scale: 1.03), baseline: latencies(count: 1_000, seed: 1),
            rules: rules)
        #expect(verdict.classification == .high)
        #expect(verdict.test!.lower > 0)
    }

    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var rules: JudgeMetricRules
        var canary: [Double]
        var baseline: [Double]
        var classification: MetricClass
        var critical = false
        var description: String { name }
    }

    static let cases: [Case] = [
        Case(name: "no canary data", rules: .init(), canary: [], baseline: [1, 2], classification: .nodata),
        Case(
            name: "no data, critical", rules: .init(critical: true), canary: [.nan], baseline: [1],
            classification: .nodata, critical: true),
        Case(
            name: "no data, must have data", rules: .init(mustHaveData: true), canary: [], baseline: [1],
            classification: .nodataFail),
        Case(
            name: "no data, NaN replaced", rules: .init(nanStrategy: .replace), canary: [], baseline: [1],
            classification: .pass),
        Case(name: "identical", rules: .init(), canary: [3, 1, 2], baseline: [1, 2, 3], classification: .pass),
        Case(
            name: "lower, either direction", rules: .init(), canary: latencies(count: 40, seed: 3, scale: 0.5),
            baseline: latencies(count: 40, seed: 4), classification: .low),
        Case(
            name: "lower, increase only", rules: .init(direction: .increase),
            canary: latencies(count: 40, seed: 3, scale: 0.5), baseline: latencies(count: 40, seed: 4),
            classification: .pass),
        Case(
            name: "higher, decrease only", rules: .init(direction: .decrease),
            canary: latencies(count: 40, seed: 3, scale: 2), baseline: latencies(count: 40, seed: 4),
            classification: .pass),
        Case(
            name: "higher, critical", rules: .init(critical: true), canary: latencies(count: 40, seed: 3, scale: 2),
            baseline: latencies(count: 40, seed: 4), classification: .high, critical: true),
        Case(
            name: "higher, but under criticalIncrease", rules: .init(critical: true, criticalIncrease: 3),
            canary: latencies(count: 40, seed: 3, scale: 2), baseline: latencies(count: 40, seed: 4),
            classification: .high),
        Case(
            name: "higher by CLES", rules: .init(effectMeasure: .cles),
            canary: latencies(count: 40, seed: 3, scale: 1.5), baseline: latencies(count: 40, seed: 4),
            classification: .high),
        Case(
            name: "higher, within allowedIncrease", rules: .init(allowedIncrease: 2.5),
            canary: latencies(count: 40, seed: 3, scale: 2), baseline: latencies(count: 40, seed: 4),
            classification: .pass),
        Case(
            name: "one outlier removed", rules: .init(outlierFactor: 3),
            canary: Array(repeating: 1.0, count: 5) + [2, 1.5, 1.2, 1.1, 1_000],
            baseline: [1, 1, 1, 1, 1, 2, 1.5, 1.2, 1.1, 0.9], classification: .pass),
    ]

    @Test("one metric's class", arguments: cases)
    func classify(_ test: Case) {
        let verdict = CanaryJudge.classify(canary: test.canary, baseline: test.baseline, rules: test.rules)
        #expect(verdict.classification == test.classification, "\(verdict.reason ?? "")")
        #expect(verdict.critical == test.critical)
    }

    @Test("a metric with some points but fewer than minSamples is Inconclusive and says n < N")
    func tooFewPoints() throws {
        let report = CanaryJudge.judge(
            try spec(oneMetric), samples: ["latency": ([1, 2, 3], [1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11])])
        #expect(report.phase == .inconclusive && report.score == nil)
        #expect(report.reason == "too few points: latency: canary n=3 < 10")
        let single = CanaryJudge.judge(try spec(oneMetric), samples: ["latency": ([5], [5])])
        #expect(single.reason == "too few points: latency: canary n=1 < 10")
    }

    @Test("groups are weighted, a critical failure is 0, muted metrics do not count, half without data is 0")
    func scoring() throws {
        let spec = try spec(
            #"""
            {"thresholds": {"pass": 80, "marginal": 50}, "groupWeights": {"errors": 70},
             "metrics": [
              {"name": "errors", "canary": "c", "baseline": "b", "groups": ["errors"]},
              {"name": "p50", "canary": "c", "baseline": "b", "groups": ["latency"]},
              {"name": "p99", "canary": "c", "baseline": "b", "groups": ["latency"]},
              {"name": "cpu", "canary": "c", "baseline": "b", "muted": true}]}
            """#)
        let same = (latencies(count: 30, seed: 5), latencies(count: 30, seed: 6))
        let worse = (latencies(count: 30, seed: 5, scale: 2), latencies(count: 30, seed: 6))
        let oneLatencyBad = CanaryJudge.judge(spec, samples: ["errors": same, "p50": same, "p99": worse, "cpu": worse])
        #expect(oneLatencyBad.score == 85)  // 70 × 100% + 30 × 50%
        #expect(oneLatencyBad.classification == "Pass")
        #expect(
            oneLatencyBad.groups.map(\.name) == ["errors", "latency", "cpu"]
                || oneLatencyBad.groups.map(\.name) == ["errors", "latency"])
        let errorsBad = CanaryJudge.judge(spec, samples: ["errors": worse, "p50": same, "p99": same, "cpu": same])
        #expect(errorsBad.score == 30 && errorsBad.classification == "Fail")
        let marginal = CanaryJudge.judge(spec, samples: ["errors": same, "p50": worse, "p99": worse, "cpu": same])
        #expect(marginal.score == 70 && marginal.classification == "Marginal" && marginal.phase == .inconclusive)
        let nodata = CanaryJudge.judge(spec, samples: ["errors": same, "p50": ([], [])])
        #expect(nodata.score == 0 && nodata.reason == "2 of 3 metrics have no data (50% or more)")

        let critical = try self.spec(
            #"{"metrics": [{"name": "a", "canary": "c", "baseline": "b", "critical": true}, {"name": "b", "canary": "c", "baseline": "b"}, {"name": "c", "canary": "c", "baseline": "b"}]}"#
        )
        let failed = CanaryJudge.judge(critical, samples: ["a": worse, "b": same, "c": same])
        #expect(failed.score == 0 && failed.reason == "critical metric a is High")
    }

    @Test("the report is JSON with every metric's numbers")
    func reportJSON() throws {
        let report = CanaryJudge.judge(
            try spec(oneMetric),
            samples: ["latency": (latencies(count: 20, seed: 2, scale: 1.3), latencies(count: 20, seed: 1))])
        let decoded = try JSONDecoder().decode(JudgeReport.self, from: Data(report.json.utf8))
        #expect(decoded == report)
        #expect(report.json.hasPrefix(#"{"classification":"Fail""#))
        #expect(report.metrics[0].canary.count == 20 && report.metrics[0].ciLower! > 0)
    }

    struct BadSpec: Sendable, CustomStringConvertible {
        var json: String
        var error: String
        var description: String { error }
    }

    static let badSpecs: [BadSpec] = [
        BadSpec(json: "{}", error: "metrics: is required: list each metric with its canary and baseline query"),
        BadSpec(
            json: #"{"metrics": [{"name": "m", "baseline": "b"}]}"#,
            error: "metrics[0].canary: is required: the PromQL query of the canary's series"),
        BadSpec(
            json: #"{"metrics": [{"name": "m", "canary": "c", "baseline": "b", "direction": "up"}]}"#,
            error: #"metrics[0].direction: "up" is not one of increase, decrease, either"#),
        BadSpec(
            json: #"{"lookback": "soon", "metrics": []}"#,
            error: #"lookback: "soon" is not a duration: use e.g. 30s, 5m or 1h"#),
        BadSpec(
            json: #"{"confidence": 1.5, "metrics": []}"#,
            error: "confidence: must be below 1 (e.g. 0.98 for a 98% interval)"),
        BadSpec(
            json: #"{"thresholds": {"pass": 50, "marginal": 75}, "metrics": []}"#,
            error: "thresholds: needs marginal ≤ pass ≤ 100 (got pass 50.0, marginal 75.0)"),
        BadSpec(
            json: #"{"threshold": 1}"#,
            error:
                "threshold: is not a judge field: use one of address, confidence, groupWeights, headers, insecure, lookback, metrics, minSamples, step, thresholds, timeout"
        ),
        BadSpec(
            json:
                #"{"metrics": [{"name": "m", "canary": "c", "baseline": "b"}, {"name": "m", "canary": "c", "baseline": "b"}]}"#,
            error: #"metrics[1].name: "m" is used twice"#),
        BadSpec(
            json:
                #"{"metrics": [{"name": "m", "canary": "c", "baseline": "b", "effectSize": {"allowedIncrease": "x"}}]}"#,
            error: "metrics[0].effectSize.allowedIncrease: must be a number, not a string"),
    ]

    @Test("bad configuration names the field and the fix", arguments: badSpecs)
    func badSpec(_ test: BadSpec) {
        #expect(throws: JudgeSpecError.self) { try spec(test.json) }
        do {
            _ = try spec(test.json)
        } catch {
            #expect("\(error)" == test.error)
        }
    }
}
