import Foundation
import Testing

@testable import AviaryCore

@Suite("Mann-Whitney U, Hodges-Lehmann interval")
struct MannWhitneyTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var canary: [Double]
        var baseline: [Double]
        /// What scipy 1.17.1 returns for
        /// `mannwhitneyu(canary, baseline, alternative='two-sided', use_continuity=True, method='asymptotic')`.
        var u: Double
        var pValue: Double
        var description: String { name }
    }

    static let scipy: [Case] = [
        Case(
            name: "no ties", canary: [1.2, 3.4, 2.2, 5.1, 4.4], baseline: [0.5, 1.1, 2.0, 0.9], u: 19,
            pValue: 0.03733641592066288),
        Case(
            name: "ties", canary: [1, 2, 2, 3, 3, 3, 4], baseline: [2, 2, 3, 5, 5, 1], u: 19, pValue: 0.8250375140800732
        ),
        Case(
            name: "shifted latency",
            canary: [101.5, 99.2, 130.1, 120.4, 118.0, 125.5, 140.2, 110.9, 121.3, 119.8, 133.3, 128.8],
            baseline: [100.1, 95.4, 98.7, 102.2, 99.9, 97.3, 101.1, 103.5, 96.6, 100.0], u: 112,
            pValue: 0.0006842598049474444),
        Case(name: "one each", canary: [3], baseline: [1], u: 1, pValue: 1),
        Case(
            name: "heavy ties", canary: [0, 0, 0, 1, 1, 0, 0, 2], baseline: [0, 0, 1, 0, 0, 0, 0, 0, 0, 1], u: 48,
            pValue: 0.39509158490415),
    ]

    @Test("U and the p-value are scipy's", arguments: scipy)
    func agreesWithScipy(_ test: Case) {
        let result = MannWhitney.test(canary: test.canary, baseline: test.baseline)
        #expect(result.u == test.u)
        #expect(abs(result.pValue - test.pValue) < 1e-9, "p \(result.pValue), scipy \(test.pValue)")
    }

    @Test("the interval's ends are canary-minus-baseline differences around the estimate", arguments: scipy)
    func intervalIsMadeOfDifferences(_ test: Case) {
        let result = MannWhitney.test(canary: test.canary, baseline: test.baseline)
        let differences = Set(test.canary.flatMap { x in test.baseline.map { x - $0 } })
        #expect(result.lower <= result.estimate && result.estimate <= result.upper)
        for end in [result.lower, result.upper] {
            #expect(differences.contains { abs($0 - end) < 1e-9 }, "\(end) is not a difference")
        }
    }

    @Test("a wider confidence gives a wider interval")
    func confidenceWidens() {
        let sample = MannWhitneyTests.scipy[2]
        let narrow = MannWhitney.test(canary: sample.canary, baseline: sample.baseline, confidence: 0.8)
        let wide = MannWhitney.test(canary: sample.canary, baseline: sample.baseline, confidence: 0.99)
        #expect(wide.lower <= narrow.lower && narrow.upper <= wide.upper)
        #expect(wide.upper - wide.lower > narrow.upper - narrow.lower)
        // The +20 ms shift is inside both, and zero outside both.
        #expect(narrow.lower > 0 && narrow.lower < 20 && narrow.upper > 20)
    }

    @Test("two constant samples: the shift is their difference, exactly")
    func constantSamples() {
        let result = MannWhitney.test(canary: [5, 5, 5], baseline: [2, 2])
        #expect(result.estimate == 3 && result.lower == 3 && result.upper == 3)
        #expect(result.u == 6)
    }

    @Test(
        "the normal quantile inverts the normal tail",
        arguments: [0.001, 0.01, 0.025, 0.3, 0.5, 0.9, 0.975, 0.99, 0.9999])
    func normalQuantile(_ p: Double) {
        let z = Normal.quantile(p)
        #expect(abs((1 - Normal.survival(z)) - p) < 1e-14)
    }

    @Test("ranks average over ties, and the tie term counts each group")
    func ranking() {
        let ranked = Ranking([3, 1, 3, 2, 3])
        #expect(ranked.ranks == [4, 1, 4, 2, 4])
        #expect(ranked.tieTerm == 24)
    }

    @Test("R type-7 percentiles, and Kayenta's widened fences")
    func percentilesAndOutliers() {
        let sorted: [Double] = [1, 2, 3, 4, 5, 6, 7, 8, 9, 10]
        #expect(SampleStatistics.percentile(sorted, 25) == 3.25)
        #expect(SampleStatistics.percentile(sorted, 50) == 5.5)
        #expect(SampleStatistics.percentile(sorted, 99) == 9.91)
        let values = sorted + [60]
        #expect(SampleStatistics.removingOutliers(values, factor: 3) == sorted)
        #expect(SampleStatistics.removingOutliers(values, factor: 30) == values)
    }

    @Test("effect sizes: the ratio of means and the share of pairs the canary wins")
    func effects() {
        #expect(SampleStatistics.meanRatio(canary: [2, 4], baseline: [1, 2]) == 2)
        #expect(SampleStatistics.meanRatio(canary: [0, 0], baseline: [1, 2]).isNaN)
        #expect(SampleStatistics.commonLanguageEffect(canary: [3, 4], baseline: [1, 2]) == 1)
        #expect(SampleStatistics.commonLanguageEffect(canary: [1, 2], baseline: [1, 2]) == 0.5)
        #expect(SampleStatistics.commonLanguageEffect(canary: [0], baseline: [1, 2]) == 0)
    }
}
