import ArgumentParser
import AviaryCore
import AviaryJSON
import AviaryModel
import Foundation

/// `aviary analysis judge`: the statistical judge on two samples, offline.
struct AnalysisJudge: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "judge",
        abstract: "Judge a canary sample against a baseline sample (Mann-Whitney U, as Kayenta's judge does).",
        discussion: """
            Reads two files, each a JSON array of numbers (null for a missing point, dropped as \
            NaN), and classifies the canary against the baseline by the rules of Kayenta's \
            NetflixACAJudge: a two-sided Mann-Whitney U test with the Hodges-Lehmann confidence \
            interval on the shift (canary minus baseline); the canary is High when the whole \
            interval lies above a tolerance of a quarter of the estimated shift and the effect \
            reaches --allowed-increase (Low the same way downwards), Pass otherwise, Nodata when a \
            side is empty. Prints the classification, the U statistic of the canary sample, the \
            two-sided p-value by the normal approximation with tie and continuity correction \
            (scipy's mannwhitneyu with method='asymptotic'), the interval and the effect.

            The defaults count a change only when it is significant and at least 10% of the mean \
            (a mean ratio of 1.1 up or 0.9 down; 0.6 and 0.4 of CLES). Kayenta's own defaults \
            count any significant change: --allowed-increase 1 --allowed-decrease 1.

            The same judge runs inside analyses as the metric plugin aviary.dev/judge \
            (docs/judge.md).

            Exits 0 whatever the classification; 2 when a file cannot be read.

            Example:
              aviary analysis judge --baseline stable.json --canary canary.json --direction increase -o json
            """
    )

    @Option(help: "The baseline's sample: a file with a JSON array of numbers.")
    var baseline: String

    @Option(help: "The canary's sample: a file with a JSON array of numbers.")
    var canary: String

    @Option(help: "Which change counts against the canary: increase, decrease or either.")
    var direction: String = "either"

    @Option(help: "The confidence of the interval on the shift, between 0 and 1.")
    var confidence: Double = 0.98

    @Option(help: "The smallest effect that makes a significant increase High (default 1.1, or 0.6 for cles).")
    var allowedIncrease: Double?

    @Option(help: "The largest effect that makes a significant decrease Low (default 0.9, or 0.4 for cles).")
    var allowedDecrease: Double?

    @Option(help: "How the effect is measured: mean-ratio (canary mean / baseline mean) or cles.")
    var effect: String = "mean-ratio"

    @Option(name: .shortAndLong, help: "Output format: text or json.")
    var output: String = "text"

    var measure: EffectMeasure? { ["mean-ratio": .meanRatio, "cles": .cles][effect] }

    func validate() throws {
        guard JudgeDirection(rawValue: direction) != nil else {
            throw ValidationError("--direction \(direction): use increase, decrease or either")
        }
        guard confidence > 0 && confidence < 1 else {
            throw ValidationError("--confidence \(confidence): use a number between 0 and 1, e.g. 0.98")
        }
        guard measure != nil else { throw ValidationError("--effect \(effect): use mean-ratio or cles") }
        guard ["text", "json"].contains(output) else { throw ValidationError("-o \(output): use text or json") }
    }

    func run() throws {
        let canaryValues: [Double]
        let baselineValues: [Double]
        do {
            canaryValues = try Self.sample(canary, option: "--canary")
            baselineValues = try Self.sample(baseline, option: "--baseline")
        } catch {
            printError("\(error)")
            throw ExitCode(2)
        }
        let rules = JudgeMetricRules(
            direction: JudgeDirection(rawValue: direction)!, effectMeasure: measure!,
            allowedIncrease: allowedIncrease, allowedDecrease: allowedDecrease)
        let verdict = CanaryJudge.classify(
            canary: canaryValues, baseline: baselineValues, rules: rules, confidence: confidence)
        let cleanCanary = canaryValues.filter { !$0.isNaN }
        let cleanBaseline = baselineValues.filter { !$0.isNaN }
        let test =
            verdict.test
            ?? (cleanCanary.isEmpty || cleanBaseline.isEmpty
                ? nil : MannWhitney.test(canary: cleanCanary, baseline: cleanBaseline, confidence: confidence))
        let effectValue =
            measure == .cles
            ? SampleStatistics.commonLanguageEffect(canary: cleanCanary, baseline: cleanBaseline)
            : SampleStatistics.meanRatio(canary: cleanCanary, baseline: cleanBaseline)
        if output == "json" {
            print(Self.json(verdict: verdict, test: test, effect: effectValue))
        } else {
            print(text(verdict: verdict, test: test, effect: effectValue, rules: rules))
        }
    }

    /// The JSON object of `-o json`: classification, u, pValue, ciLower, ciUpper, effect (null
    /// where they cannot be computed), the estimate, the reason and each side's summary.
    static func json(verdict: MetricVerdict, test: MannWhitneyResult?, effect: Double) -> String {
        let number: (Double?) -> Any = { value in value.flatMap { $0.isFinite ? $0 : nil } ?? NSNull() }
        let side: (SampleSummary) -> [String: Any] = {
            ["n": $0.count, "mean": $0.mean, "median": $0.median, "standardDeviation": $0.standardDeviation]
        }
        let object: [String: Any] = [
            "classification": verdict.classification.rawValue, "reason": verdict.reason ?? NSNull(),
            "u": number(test?.u), "pValue": number(test?.pValue), "estimate": number(test?.estimate),
            "ciLower": number(test?.lower), "ciUpper": number(test?.upper), "effect": number(effect),
            "canary": side(verdict.canary), "baseline": side(verdict.baseline),
        ]
        let data = try! JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: data, as: UTF8.self)
    }

    func text(verdict: MetricVerdict, test: MannWhitneyResult?, effect: Double, rules: JudgeMetricRules) -> String {
        let format = CanaryJudge.format
        var lines = ["classification:  \(verdict.classification.rawValue)"]
        if let reason = verdict.reason { lines.append("reason:          \(reason)") }
        for (name, summary) in [("canary:", verdict.canary), ("baseline:", verdict.baseline)] {
            lines.append(
                name.padding(toLength: 17, withPad: " ", startingAt: 0)
                    + "n=\(summary.count)  median \(format(summary.median))  mean \(format(summary.mean))")
        }
        if let test {
            lines.append("U:               \(format(test.u))")
            lines.append("p-value:         \(format(test.pValue))")
            lines.append(
                "shift:           \(format(test.estimate)) (\(format(confidence * 100))% interval "
                    + "\(format(test.lower)) to \(format(test.upper)))")
        }
        let effectNote = effect.isNaN ? "cannot be computed: a mean is 0; " : ""
        lines.append(
            "effect:          \(format(effect)) (\(effectNote)\(self.effect); allowed increase "
                + "\(format(rules.allowedIncrease)), decrease \(format(rules.allowedDecrease)))")
        return lines.joined(separator: "\n")
    }

    struct SampleError: Error, CustomStringConvertible {
        var description: String
    }

    /// A file's JSON array of numbers; null is NaN.
    static func sample(_ path: String, option: String) throws -> [Double] {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SampleError(description: "\(option) \(path): cannot read the file")
        }
        if let values = try? JSONDecoder().decode([Double?].self, from: data) { return values.map { $0 ?? .nan } }
        guard let items = try? JSONDecoder().decode([JSONValue].self, from: data) else {
            throw SampleError(
                description: "\(option) \(path): is not a JSON array: write the sample as [1.2, 3.4, ...]")
        }
        let index =
            items.firstIndex { item in
                switch item {
                case .integer, .double, .null: false
                default: true
                }
            } ?? 0
        throw SampleError(
            description: "\(option) \(path): item \(index) is \(items[index].kindDescription), not a number: "
                + "the sample is numbers (null for a missing point)")
    }
}
