import Foundation

/// The two-sample Mann-Whitney U test (Wilcoxon rank-sum), two-sided, by the normal
/// approximation with tie and continuity correction, and the Hodges-Lehmann estimate of the
/// location shift with its confidence interval.
///
/// The U statistic and p-value are what scipy's
/// `mannwhitneyu(canary, baseline, alternative='two-sided', use_continuity=True, method='asymptotic')`
/// returns; the interval is R's `wilcox.test(canary, baseline, conf.int=TRUE, exact=FALSE)`, the
/// one Kayenta's NetflixACAJudge classifies by. The shift is canary minus baseline.
public struct MannWhitneyResult: Sendable, Equatable {
    /// U of the canary sample: its rank sum minus n(n+1)/2.
    public var u: Double
    /// The two-sided p-value (normal approximation, tie and continuity corrected), in [0, 1].
    public var pValue: Double
    /// The Hodges-Lehmann estimate of the shift: the median of all canary-minus-baseline differences
    /// (for more than 4,000,000 pairs, the shift where the standardized statistic is 0).
    public var estimate: Double
    /// The confidence interval on the shift.
    public var lower: Double
    public var upper: Double
}

public enum MannWhitney {
    /// Runs the test on two samples without NaN. Both must be non-empty.
    public static func test(canary: [Double], baseline: [Double], confidence: Double = 0.98) -> MannWhitneyResult {
        precondition(!canary.isEmpty && !baseline.isEmpty, "Mann-Whitney needs two non-empty samples")
        let n1 = Double(canary.count)
        let n2 = Double(baseline.count)
        let ranked = Ranking(canary + baseline)
        let rankSum = ranked.ranks[..<canary.count].reduce(0, +)
        let u1 = rankSum - n1 * (n1 + 1) / 2
        let u = max(u1, n1 * n2 - u1)
        let sigma = deviation(n1: n1, n2: n2, tieTerm: ranked.tieTerm)
        let z = (u - n1 * n2 / 2 - 0.5) / sigma
        let pValue = min(1, max(0, 2 * Normal.survival(z)))

        let (estimate, lower, upper) = shiftInterval(canary: canary, baseline: baseline, confidence: confidence)
        return MannWhitneyResult(u: u1, pValue: pValue, estimate: estimate, lower: lower, upper: upper)
    }

    /// The standard deviation of U under the null hypothesis, corrected for ties.
    static func deviation(n1: Double, n2: Double, tieTerm: Double) -> Double {
        let n = n1 + n2
        return (n1 * n2 / 12 * ((n + 1) - tieTerm / (n * (n - 1)))).squareRoot()
    }

    /// The Hodges-Lehmann estimate and the interval where the standardized statistic of
    /// `canary - shift` against `baseline` stays within the normal quantiles (R's method).
    ///
    /// The statistic only changes where the shift equals a canary-minus-baseline difference, so
    /// each end of the interval is the difference where it crosses the quantile: found among the
    /// sorted differences, or by bisection when there are more than `pairLimit` of them.
    static func shiftInterval(canary: [Double], baseline: [Double], confidence: Double) -> (Double, Double, Double) {
        let low = canary.min()! - baseline.max()!
        let high = canary.max()! - baseline.min()!
        // Both samples constant: every difference is the same one, and it is exact.
        if low == high { return (low, low, low) }
        let quantile = Normal.quantile(1 - (1 - confidence) / 2)
        let statistic = { (shift: Double) in standardized(shift: shift, canary: canary, baseline: baseline) }
        guard canary.count * baseline.count <= pairLimit else {
            return (
                root(low: low, high: high) { statistic($0) }, root(low: low, high: high) { statistic($0) - quantile },
                root(low: low, high: high) { statistic($0) + quantile }
            )
        }
        var differences: [Double] = []
        differences.reserveCapacity(canary.count * baseline.count)
        for x in canary { for y in baseline { differences.append(x - y) } }
        differences.sort()
        let estimate = SampleStatistics.percentile(differences, 50)
        var steps: [Double] = []
        for difference in differences where steps.last != difference { steps.append(difference) }
        return (
            estimate, crossing(steps) { statistic($0) - quantile }, crossing(steps) { statistic($0) + quantile }
        )
    }

    /// Pairs of values above which the interval is found by bisection rather than among the differences.
    static let pairLimit = 4_000_000

    /// The step where a non-increasing step function that only jumps at `steps` (sorted, distinct)
    /// crosses zero: the first step where it is ≤ 0, or the one before when it already is just
    /// after that one.
    static func crossing(_ steps: [Double], _ function: (Double) -> Double) -> Double {
        if function(steps[0]) <= 0 { return steps[0] }
        guard function(steps[steps.count - 1]) <= 0 else { return steps[steps.count - 1] }
        var above = 0  // function > 0 here
        var below = steps.count - 1  // function <= 0 here
        while below - above > 1 {
            let middle = (above + below) / 2
            if function(steps[middle]) > 0 { above = middle } else { below = middle }
        }
        return function((steps[above] + steps[below]) / 2) <= 0 ? steps[above] : steps[below]
    }

    /// The continuity-corrected z of the canary's rank sum after subtracting `shift`; it does not
    /// increase as the shift grows.
    static func standardized(shift: Double, canary: [Double], baseline: [Double]) -> Double {
        let n1 = Double(canary.count)
        let n2 = Double(baseline.count)
        let ranked = Ranking(canary.map { $0 - shift } + baseline)
        let centred = ranked.ranks[..<canary.count].reduce(0, +) - n1 * (n1 + 1) / 2 - n1 * n2 / 2
        let sigma = deviation(n1: n1, n2: n2, tieTerm: ranked.tieTerm)
        guard sigma > 0 else { return 0 }
        let correction = centred > 0 ? 0.5 : (centred < 0 ? -0.5 : 0)
        return (centred - correction) / sigma
    }

    /// The shift in [low, high] where a non-increasing `function` crosses zero, by bisection.
    static func root(low: Double, high: Double, _ function: (Double) -> Double) -> Double {
        if function(low) <= 0 { return low }
        if function(high) >= 0 { return high }
        var below = low
        var above = high
        for _ in 0..<200 {
            let middle = below + (above - below) / 2
            if middle <= below || middle >= above { break }
            if function(middle) > 0 { below = middle } else { above = middle }
        }
        return below + (above - below) / 2
    }
}

/// Ranks with ties given their average rank, and the tie term Σ(t³ - t) over groups of ties.
struct Ranking {
    var ranks: [Double]
    var tieTerm: Double

    init(_ values: [Double]) {
        let order = values.indices.sorted { values[$0] < values[$1] }
        var ranks = [Double](repeating: 0, count: values.count)
        var tieTerm = 0.0
        var start = 0
        while start < order.count {
            var end = start
            while end + 1 < order.count, values[order[end + 1]] == values[order[start]] { end += 1 }
            let average = Double(start + end + 2) / 2
            for position in start...end { ranks[order[position]] = average }
            let tied = Double(end - start + 1)
            tieTerm += tied * tied * tied - tied
            start = end + 1
        }
        self.ranks = ranks
        self.tieTerm = tieTerm
    }
}

/// The standard normal distribution's tail and quantile.
enum Normal {
    /// P(Z > z), accurate in the far tail (by `erfc`).
    static func survival(_ z: Double) -> Double {
        if z.isNaN { return 1 }
        return 0.5 * erfc(z / 2.0.squareRoot())
    }

    /// The z with P(Z ≤ z) = p, for p in (0, 1): Acklam's rational approximation, refined by
    /// one Halley step to full double precision.
    static func quantile(_ p: Double) -> Double {
        precondition(p > 0 && p < 1, "a normal quantile needs 0 < p < 1")
        let a = [
            -3.969683028665376e+01, 2.209460984245205e+02, -2.759285104469687e+02,
            1.383577518672690e+02, -3.066479806614716e+01, 2.506628277459239e+00,
        ]
        let b = [
            -5.447609879822406e+01, 1.615858368580409e+02, -1.556989798598866e+02,
            6.680131188771972e+01, -1.328068155288572e+01,
        ]
        let c = [
            -7.784894002430293e-03, -3.223964580411365e-01, -2.400758277161838e+00,
            -2.549732539343734e+00, 4.374664141464968e+00, 2.938163982698783e+00,
        ]
        let d = [7.784695709041462e-03, 3.224671290700398e-01, 2.445134137142996e+00, 3.754408661907416e+00]
        let tail = 0.02425
        var x: Double
        if p < tail {
            let q = (-2 * log(p)).squareRoot()
            x =
                (((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        } else if p <= 1 - tail {
            let q = p - 0.5
            let r = q * q
            x =
                (((((a[0] * r + a[1]) * r + a[2]) * r + a[3]) * r + a[4]) * r + a[5]) * q
                / (((((b[0] * r + b[1]) * r + b[2]) * r + b[3]) * r + b[4]) * r + 1)
        } else {
            let q = (-2 * log(1 - p)).squareRoot()
            x =
                -(((((c[0] * q + c[1]) * q + c[2]) * q + c[3]) * q + c[4]) * q + c[5])
                / ((((d[0] * q + d[1]) * q + d[2]) * q + d[3]) * q + 1)
        }
        let error = 0.5 * erfc(-x / 2.0.squareRoot()) - p
        let step = error * (2 * Double.pi).squareRoot() * exp(x * x / 2)
        x -= step / (1 + x * step / 2)
        return x
    }
}
