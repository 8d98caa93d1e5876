import Foundation

/// An always-valid sequential test on an error rate: a mixture sequential probability ratio
/// test (mSPRT) of "the canary's error rate is at most p₀" against "it is higher".
///
/// After n requests with s errors, the evidence is the likelihood ratio
///
///     Λ = Σₖ wₖ · (θₖ / p₀)^s · ((1 − θₖ) / (1 − p₀))^(n − s)
///
/// averaged over alternatives θₖ above p₀. For any true rate p ≤ p₀ each term has expectation
/// at most 1 per request, so Λ is a non-negative supermartingale and, by Ville's inequality,
/// P(Λ ever reaches 1/α) ≤ α: the test may look after every measurement, as often as it likes,
/// and a healthy canary is stopped with probability at most α. Stopping when Λ ≥ 1/α is the
/// whole rule; there is no fixed horizon to choose.
public enum SequentialTest {
    /// The alternatives, as multiples of p₀ (capped below 1): a mixture over a wide grid is
    /// powerful against a rate a little above p₀ and very quick against one far above it.
    public static let alternatives: [Double] = [1.25, 1.5, 2, 3, 5, 8, 13]

    /// log Λ after `errors` errors in `total` requests, for the rate bound `maxErrorRate` (0 < p₀ < 1).
    public static func logLikelihoodRatio(errors: Double, total: Double, maxErrorRate p0: Double) -> Double {
        let n = max(0, total)
        let s = min(max(0, errors), n)
        let terms = alternatives.map { multiple -> Double in
            let theta = min(p0 * multiple, (1 + p0) / 2, 0.999_999)
            return s * log(theta / p0) + (n - s) * log((1 - theta) / (1 - p0))
        }
        // log of the mean of exp(terms), without overflow.
        let largest = terms.max()!
        let sum = terms.reduce(0) { $0 + exp($1 - largest) }
        return largest + log(sum / Double(terms.count))
    }

    /// Whether the evidence stops the canary at false-abort rate `alpha`.
    public static func rejects(errors: Double, total: Double, maxErrorRate: Double, alpha: Double) -> Bool {
        logLikelihoodRatio(errors: errors, total: total, maxErrorRate: maxErrorRate) >= log(1 / alpha)
    }
}
