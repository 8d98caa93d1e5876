/// Per-key exponential backoff (client-go's `ItemExponentialFailureRateLimiter`).
///
/// The n-th failure of a key since it was last forgotten waits `base * 2^(n-1)`, capped at `maximum`.
/// Worked example with the defaults (5 ms, 1000 s): 5 ms, 10 ms, 20 ms, ...; the 18th failure would be
/// 655.36 s and the 19th 1310.72 s, so from the 19th on the wait is 1000 s.
public struct ExponentialFailureRateLimiter<Key: Hashable & Sendable>: Sendable {
    /// The first wait.
    public let base: Duration
    /// The longest wait.
    public let maximum: Duration
    private var failures: [Key: Int] = [:]

    /// A limiter; client-go's controller default is 5 ms to 1000 s.
    public init(base: Duration = .milliseconds(5), maximum: Duration = .seconds(1000)) {
        self.base = base
        self.maximum = maximum
    }

    /// Records one more failure of `key` and returns how long it must wait.
    public mutating func when(_ key: Key) -> Duration {
        let exponent = failures[key, default: 0]
        failures[key] = exponent + 1
        // 2^exponent overflows nothing in floating point; the cap keeps the result finite and exact.
        let seconds = base.seconds * Double(sign: .plus, exponent: exponent, significand: 1)
        if seconds >= maximum.seconds { return maximum }
        return base * (1 << min(exponent, 62))
    }

    /// Clears `key`'s failures.
    public mutating func forget(_ key: Key) { failures[key] = nil }

    /// How many failures of `key` were recorded since it was last forgotten.
    public func requeues(_ key: Key) -> Int { failures[key, default: 0] }
}

/// client-go's `DefaultControllerRateLimiter`: the larger of a per-key exponential backoff (5 ms doubling to
/// 1000 s) and an overall token bucket (10 per second, burst 100) that keeps a storm of failing keys from
/// flooding the API server.
public struct ControllerRateLimiter<Key: Hashable & Sendable, Instant: InstantProtocol>: Sendable
where Instant.Duration == Duration {
    /// The per-key backoff.
    public private(set) var perKey: ExponentialFailureRateLimiter<Key>
    /// The overall bucket.
    public private(set) var overall: TokenBucket<Instant>

    /// A limiter with client-go's defaults unless told otherwise.
    public init(
        perKey: ExponentialFailureRateLimiter<Key> = ExponentialFailureRateLimiter(),
        overall: TokenBucket<Instant> = TokenBucket(qps: 10, burst: 100)
    ) {
        self.perKey = perKey
        self.overall = overall
    }

    /// How long `key` must wait before it is queued again, at `now`.
    public mutating func when(_ key: Key, now: Instant) -> Duration {
        max(perKey.when(key), overall.reserve(now: now))
    }

    /// Clears `key`'s per-key failures (the bucket's tokens are not given back, as in client-go).
    public mutating func forget(_ key: Key) { perKey.forget(key) }

    /// How many times `key` was rate-limited since it was last forgotten.
    public func requeues(_ key: Key) -> Int { perKey.requeues(key) }
}
