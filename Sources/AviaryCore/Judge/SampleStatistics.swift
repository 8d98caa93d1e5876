import Foundation

/// Descriptive statistics, outlier fences and effect sizes of one sample, as Kayenta's judge
/// computes them (percentiles by R's type 7, the default of R and numpy).
public enum SampleStatistics {
    /// The arithmetic mean; 0 for an empty sample.
    public static func mean(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : values.reduce(0, +) / Double(values.count)
    }

    /// The sample standard deviation (n - 1); 0 for fewer than two values.
    public static func standardDeviation(_ values: [Double]) -> Double {
        guard values.count > 1 else { return 0 }
        let centre = mean(values)
        let squares = values.reduce(0) { $0 + ($1 - centre) * ($1 - centre) }
        return (squares / Double(values.count - 1)).squareRoot()
    }

    /// The median; 0 for an empty sample.
    public static func median(_ values: [Double]) -> Double {
        values.isEmpty ? 0 : percentile(values.sorted(), 50)
    }

    /// The p-th percentile (0...100) of sorted values by linear interpolation between the
    /// closest ranks (R type 7).
    public static func percentile(_ sorted: [Double], _ p: Double) -> Double {
        guard !sorted.isEmpty else { return .nan }
        let position = Double(sorted.count - 1) * p / 100
        let below = Int(position.rounded(.down))
        let above = min(below + 1, sorted.count - 1)
        let fraction = position - Double(below)
        return sorted[below] + fraction * (sorted[above] - sorted[below])
    }

    /// The values inside Tukey's fences, widened as Kayenta's judge widens them: below
    /// min(p1, Q1 - factor·IQR) or above max(p99, Q3 + factor·IQR) is an outlier.
    public static func removingOutliers(_ values: [Double], factor: Double) -> [Double] {
        guard !values.isEmpty else { return values }
        let sorted = values.sorted()
        let q1 = percentile(sorted, 25)
        let q3 = percentile(sorted, 75)
        let lowerFence = min(percentile(sorted, 1), q1 - factor * (q3 - q1))
        let upperFence = max(percentile(sorted, 99), q3 + factor * (q3 - q1))
        return values.filter { $0 >= lowerFence && $0 <= upperFence }
    }

    /// The canary's mean over the baseline's; NaN when either mean is 0.
    public static func meanRatio(canary: [Double], baseline: [Double]) -> Double {
        let canaryMean = mean(canary)
        let baselineMean = mean(baseline)
        return canaryMean == 0 || baselineMean == 0 ? .nan : canaryMean / baselineMean
    }

    /// The common-language effect size: the share of (canary, baseline) pairs where the canary
    /// value is higher, ties counting one half (Vargha and Delaney's A).
    public static func commonLanguageEffect(canary: [Double], baseline: [Double]) -> Double {
        guard !canary.isEmpty, !baseline.isEmpty else { return .nan }
        let m = Double(canary.count)
        let n = Double(baseline.count)
        let rankSum = Ranking(canary + baseline).ranks[..<canary.count].reduce(0, +)
        return (2 * rankSum - m * (m + 1)) / (2 * n * m)
    }
}
