import Testing

@testable import AviaryKubernetes

@Suite struct RateLimiterTests {
    /// client-go's defaults: 5 ms doubling per failure, capped at 1000 s (reached at the 19th failure).
    @Test(arguments: [
        (1, Duration.milliseconds(5)), (2, .milliseconds(10)), (3, .milliseconds(20)), (11, .milliseconds(5120)),
        (18, .milliseconds(655_360)), (19, .seconds(1000)), (200, .seconds(1000)),
    ])
    func exponentialBackoffPerKey(failure: Int, expected: Duration) {
        var limiter = ExponentialFailureRateLimiter<String>()
        var last = Duration.zero
        for _ in 0..<failure { last = limiter.when("a") }
        #expect(last == expected)
        #expect(limiter.requeues("a") == failure)
        #expect(limiter.when("b") == .milliseconds(5), "keys back off independently")
    }

    @Test func forgetStartsAgain() {
        var limiter = ExponentialFailureRateLimiter<String>()
        _ = limiter.when("a")
        _ = limiter.when("a")
        limiter.forget("a")
        #expect(limiter.requeues("a") == 0)
        #expect(limiter.when("a") == .milliseconds(5))
    }

    /// qps 10, burst 2: two at once, then one every 100 ms; refill while idle up to the burst.
    @Test func tokenBucketReservations() {
        let start = TestClock.Instant(offset: .zero)
        var bucket = TokenBucket<TestClock.Instant>(qps: 10, burst: 2)
        #expect(bucket.reserve(now: start) == .zero)
        #expect(bucket.reserve(now: start) == .zero)
        #expect(bucket.reserve(now: start) == .milliseconds(100))
        #expect(bucket.reserve(now: start) == .milliseconds(200))
        // 10 s later the bucket is full again (2 tokens), not 100.
        let later = start.advanced(by: .seconds(10))
        #expect(bucket.reserve(now: later) == .zero)
        #expect(bucket.reserve(now: later) == .zero)
        #expect(bucket.reserve(now: later) == .milliseconds(100))
    }

    /// The controller limiter takes the larger of both: the 101st distinct key in one instant waits 100 ms
    /// for the bucket although its own backoff is 5 ms.
    @Test func controllerLimiterTakesTheMaximum() {
        let now = TestClock.Instant(offset: .zero)
        var limiter = ControllerRateLimiter<Int, TestClock.Instant>()
        for key in 0..<100 { #expect(limiter.when(key, now: now) == .milliseconds(5)) }
        #expect(limiter.when(100, now: now) == .milliseconds(100))
        // A key failing for the 12th time waits its own 10.24 s, longer than the bucket.
        var perKey = ControllerRateLimiter<Int, TestClock.Instant>()
        var wait = Duration.zero
        for _ in 0..<12 { wait = perKey.when(7, now: now) }
        #expect(wait == .milliseconds(10_240))
    }
}

@Suite struct WorkQueueStateTests {
    typealias State = WorkQueueState<String, TestClock.Instant>
    static let zero = TestClock.Instant(offset: .zero)

    @Test func queuedKeysAreDeduplicated() {
        var state = State()
        state.add("a")
        state.add("b")
        state.add("a")
        #expect(state.count == 2)
        #expect(state.next() == "a")
        #expect(state.next() == "b")
        #expect(state.next() == nil)
    }

    /// A key added while it is processed is not handed to a second worker; it comes back after `done`.
    @Test func aKeyInProcessingIsRequeuedOnlyAfterDone() {
        var state = State()
        state.add("a")
        #expect(state.next() == "a")
        state.add("a")
        state.add("a")
        #expect(state.count == 0)
        #expect(state.next() == nil)
        state.done("a")
        #expect(state.count == 1)
        #expect(state.next() == "a")
        state.done("a")
        #expect(state.next() == nil)
    }

    @Test func addAfterKeepsTheEarliestTimeAndPromotesInOrder() {
        var state = State()
        let now = Self.zero
        state.addAfter("late", at: now.advanced(by: .seconds(5)), now: now)
        state.addAfter("early", at: now.advanced(by: .seconds(3)), now: now)
        state.addAfter("late", at: now.advanced(by: .seconds(1)), now: now)
        state.addAfter("early", at: now.advanced(by: .seconds(9)), now: now)
        #expect(state.nextDue == now.advanced(by: .seconds(1)))
        state.promote(now: now.advanced(by: .milliseconds(999)))
        #expect(state.count == 0)
        state.promote(now: now.advanced(by: .seconds(3)))
        #expect(state.next() == "late")
        #expect(state.next() == "early")
        state.addAfter("now", at: now, now: now)
        #expect(state.next() == "now")
    }

    @Test func shutDownRefusesNewKeysButHandsOutQueuedOnes() {
        var state = State()
        state.add("a")
        state.addAfter("b", at: Self.zero.advanced(by: .seconds(1)), now: Self.zero)
        state.shutDown()
        state.add("c")
        state.promote(now: Self.zero.advanced(by: .seconds(2)))
        #expect(state.next() == "a")
        #expect(state.next() == nil)
    }
}

@Suite struct WorkQueueTests {
    /// The actor with a fake clock: a rate-limited key comes back exactly when its backoff has passed.
    @Test func rateLimitedKeysWaitTheirBackoffOnTheClock() async {
        let clock = TestClock()
        let queue = WorkQueue<String, TestClock>(clock: clock)
        await queue.addRateLimited("a")  // 5 ms
        await queue.addRateLimited("a")  // 10 ms, earliest (5 ms) kept
        await queue.addAfter("b", delay: .seconds(1))
        #expect(await queue.count == 0)
        #expect(await eventually { clock.sleeperCount == 1 })
        clock.advance(by: .milliseconds(4))
        #expect(await queue.count == 0)
        clock.advance(by: .milliseconds(1))
        #expect(await eventually { await queue.count == 1 })
        #expect(await queue.get() == "a")
        #expect(await queue.requeues("a") == 2)
        await queue.forget("a")
        #expect(await queue.requeues("a") == 0)
        await queue.done("a")

        async let waiting = queue.get()
        #expect(await eventually { clock.sleeperCount == 1 })
        clock.advance(by: .seconds(1))
        #expect(await waiting == "b")
    }

    @Test func shutDownWakesWaitingWorkers() async {
        let queue = WorkQueue<String, TestClock>(clock: TestClock())
        async let first = queue.get()
        async let second = queue.get()
        await queue.add("x")
        await queue.shutDown()
        let results = await [first, second]
        #expect(results.compactMap { $0 } == ["x"])
        #expect(await queue.get() == nil)
    }
}
