/// The order in which a route's backends take requests: smooth weighted round-robin (the
/// algorithm nginx uses), computed once per table and then read by sequence number.
///
/// Each step adds every backend's weight to its running score, picks the highest score (the
/// first on ties) and subtracts the total weight from it. Over one period of `total / gcd`
/// picks every backend gets exactly its share, interleaved as evenly as possible.
/// Worked example: weights 90 and 10 reduce to 9:1, the period is 10 picks, backend 1 is
/// picked once in it, so 10,000 requests give backend 1 exactly 1,000.
public struct WeightedSchedule: Sendable, Equatable {
    /// The backend index for each pick of one period.
    public let period: [Int]

    /// The longest period the router computes (the sum of weights divided by their gcd).
    public static let maximumPeriod = 1_000_000

    /// Builds the schedule; nil when no weight is positive or the period exceeds `maximumPeriod`.
    public init?(weights: [Int]) {
        guard weights.allSatisfy({ $0 >= 0 }) else { return nil }
        let divisor = weights.reduce(0) { Self.gcd($0, $1) }
        guard divisor > 0 else { return nil }
        let reduced = weights.map { $0 / divisor }
        let total = reduced.reduce(0, +)
        guard total <= Self.maximumPeriod else { return nil }
        var scores = [Int](repeating: 0, count: reduced.count)
        var period: [Int] = []
        period.reserveCapacity(total)
        for _ in 0..<total {
            var best = 0
            for index in reduced.indices {
                scores[index] += reduced[index]
                if scores[index] > scores[best] { best = index }
            }
            scores[best] -= total
            period.append(best)
        }
        self.period = period
    }

    /// The backend index of pick number `sequence` (0-based, wrapping around the period).
    @inline(__always)
    public func pick(_ sequence: Int) -> Int {
        period[Int(UInt(bitPattern: sequence) % UInt(period.count))]
    }

    private static func gcd(_ a: Int, _ b: Int) -> Int {
        var (a, b) = (a, b)
        while b != 0 { (a, b) = (b, a % b) }
        return a
    }
}

/// Which requests of a stream a share applies to, spread evenly and deterministically.
///
/// Request n (counting from 1) is selected when `floor(n * p) > floor((n - 1) * p)`, with the
/// share p in parts per million: at 5% requests 20, 40, 60, … are selected, so the first
/// 10,000 requests hold exactly 500.
public struct EvenShare: Sendable, Equatable {
    /// The share in parts per million (0...1,000,000).
    public let partsPerMillion: Int

    /// Makes a share from a percentage (0...100).
    public init(percent: Double) {
        partsPerMillion = Int((percent * 10_000).rounded())
    }

    /// Whether request number `sequence` (0-based, so request n is `sequence` n - 1) is selected.
    @inline(__always)
    public func isSelected(_ sequence: Int) -> Bool {
        let n = UInt64(truncatingIfNeeded: sequence) % 1_000_000 + 1
        let p = UInt64(partsPerMillion)
        return (n * p) / 1_000_000 > ((n - 1) * p) / 1_000_000
    }
}
