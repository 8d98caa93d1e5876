/// A token bucket that hands out reservations, like Go's `rate.Limiter` that client-go uses for both the
/// client's QPS limit and the work queue's overall limit.
///
/// The bucket holds up to `burst` tokens and refills at `qps` tokens a second. Each reservation takes one
/// token; when none is left it still succeeds but returns how long to wait, and the bucket goes into debt,
/// so the next caller waits behind it. Worked example: qps 10, burst 2, three reservations at t=0 return
/// 0, 0 and 0.1 s; a fourth at t=0 returns 0.2 s.
public struct TokenBucket<Instant: InstantProtocol>: Sendable where Instant.Duration == Duration {
    /// Tokens added per second.
    public let qps: Double
    /// The bucket's capacity.
    public let burst: Int
    private var tokens: Double
    private var last: Instant?

    /// A full bucket.
    public init(qps: Double, burst: Int) {
        precondition(qps > 0 && burst > 0, "a token bucket needs qps > 0 and burst > 0")
        self.qps = qps
        self.burst = burst
        self.tokens = Double(burst)
    }

    /// Takes one token at `now` and returns how long the caller must wait before going ahead.
    public mutating func reserve(now: Instant) -> Duration {
        if let last {
            let elapsed = last.duration(to: now)
            if elapsed > .zero {
                tokens = min(Double(burst), tokens + elapsed.seconds * qps)
                self.last = now
            }
        } else {
            last = now
        }
        tokens -= 1
        if tokens >= 0 { return .zero }
        return .seconds(-tokens / qps)
    }
}

extension Duration {
    /// The duration in seconds as a floating-point number.
    var seconds: Double {
        let (whole, attoseconds) = components
        return Double(whole) + Double(attoseconds) / 1e18
    }
}
