import Foundation
import Testing

@testable import AviaryCore

/// Binomial draws the same every run: SplitMix64 and the geometric gaps between errors.
struct Draws {
    var state: UInt64

    mutating func uniform() -> Double {
        state &+= 0x9E37_79B9_7F4A_7C15
        var z = state
        z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
        z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
        return (Double((z ^ (z >> 31)) >> 11) + 0.5) / Double(1 << 53)
    }

    /// Errors among `requests` requests that each fail with probability `rate`.
    mutating func errors(in requests: Int, rate: Double) -> Int {
        guard rate > 0 else { return 0 }
        var position = 0
        var count = 0
        while true {
            position += Int(log(uniform()) / log(1 - rate)) + 1
            if position > requests { return count }
            count += 1
        }
    }
}

@Suite("The sequential early-stop test")
struct SequentialTestTests {
    /// 10,000 canaries, each looked at 30 times, 300 requests between looks (about 50 requests a
    /// second at 10% weight, looked at every minute): the look at which each one is stopped, if any.
    static func stops(rate: Double, maxErrorRate: Double = 0.05, alpha: Double = 0.01, seed: UInt64) -> [Int?] {
        var draws = Draws(state: seed)
        return (0..<10_000).map { _ in
            var errors = 0
            var total = 0
            for look in 1...30 {
                errors += draws.errors(in: 300, rate: rate)
                total += 300
                if SequentialTest.rejects(
                    errors: Double(errors), total: Double(total), maxErrorRate: maxErrorRate, alpha: alpha)
                {
                    return look
                }
            }
            return nil
        }
    }

    @Test("healthy canaries at the bound itself are stopped no more often than α, looked at 30 times each")
    func falseAbortsStayUnderAlpha() {
        for (alpha, seed) in [(0.01, UInt64(1)), (0.05, 2)] {
            let stopped = Self.stops(rate: 0.05, alpha: alpha, seed: seed).compactMap { $0 }.count
            let rate = Double(stopped) / 10_000
            print("early stop: healthy canaries at p0 = 0.05, α = \(alpha): \(stopped) of 10,000 stopped (\(rate))")
            #expect(rate <= alpha)
        }
        #expect(Self.stops(rate: 0.03, seed: 3).compactMap { $0 }.isEmpty)
    }

    @Test("a canary at twice the bound is stopped, and a fixed check of the same looks would be slower to be sure")
    func doubledErrorRateIsStopped() throws {
        let looks = Self.stops(rate: 0.10, seed: 4)
        let stopped = looks.compactMap { $0 }.sorted()
        let median = stopped[stopped.count / 2]
        print(
            "early stop: canaries at 2 × p0 (0.10): \(stopped.count) of 10,000 stopped, median at look \(median), "
                + "90th percentile at look \(stopped[stopped.count * 9 / 10])")
        #expect(stopped.count >= 9_990)
        #expect(median <= 3)
        // Far worse (the seed's bad canary: 20% errors) is stopped at the first look.
        #expect(Self.stops(rate: 0.20, seed: 5).allSatisfy { $0 == 1 })
    }

    /// The seed template's rule on the same draws: every look is a measurement of the success
    /// rate so far, `successCondition: result[0] >= 0.95`, `failureLimit: 1`, `count: 3`. The look
    /// at which it fails the canary, if it does.
    static func fixedRuleStops(rate: Double, seed: UInt64) -> [Int?] {
        var draws = Draws(state: seed)
        return (0..<10_000).map { _ in
            var errors = 0
            var failures = 0
            for look in 1...3 {
                errors += draws.errors(in: 300, rate: rate)
                if 1 - Double(errors) / Double(300 * look) < 0.95 { failures += 1 }
                if failures > 1 { return look }
            }
            return nil
        }
    }

    @Test("near the bound the fixed threshold aborts healthy canaries that the sequential test lets through")
    func fixedThresholdAgainstTheSequentialTest() {
        let fixed = Self.fixedRuleStops(rate: 0.045, seed: 6).compactMap { $0 }.count
        let sequential = Self.stops(rate: 0.045, seed: 6).compactMap { $0 }.count
        print(
            "early stop: canaries at 0.045 errors, 10,000 each way: the fixed rule aborts \(fixed), the sequential test \(sequential)"
        )
        #expect(sequential <= 100)
        #expect(fixed > sequential)
        let fixedBad = Self.fixedRuleStops(rate: 0.10, seed: 7).compactMap { $0 }.sorted()
        print(
            "early stop: canaries at 0.10 errors: the fixed rule aborts \(fixedBad.count), median at look \(fixedBad[fixedBad.count / 2])"
        )
    }

    struct Case: Sendable, CustomStringConvertible {
        var errors: Double
        var total: Double
        var stops: Bool
        var description: String { "\(errors) of \(total)" }
    }

    @Test(
        "the verdict on counts (p0 0.05, α 0.01)",
        arguments: [
            Case(errors: 0, total: 0, stops: false), Case(errors: 0, total: 10_000, stops: false),
            Case(errors: 5, total: 100, stops: false), Case(errors: 20, total: 100, stops: true),
            Case(errors: 60, total: 1_000, stops: false), Case(errors: 100, total: 1_000, stops: true),
            Case(errors: 2_000, total: 1_000, stops: true), Case(errors: -3, total: 10, stops: false),
        ])
    func verdicts(_ test: Case) {
        #expect(
            SequentialTest.rejects(errors: test.errors, total: test.total, maxErrorRate: 0.05, alpha: 0.01)
                == test.stops)
    }
}
