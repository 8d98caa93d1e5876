import AviaryRoutes
import Testing

@testable import AviaryRouter

/// Sticky sessions without sockets: bucket ranges, the spread of new sessions, what moves when
/// the weights change, and the buckets requests carry.
@Suite("Sticky sessions")
struct StickySessionsTests {
    @Test(
        "backends own consecutive bucket ranges sized by weight, in the route's order",
        arguments: [
            ([20, 80], [0: 0, 1_999: 0, 2_000: 1, 9_999: 1]),
            ([0, 100], [0: 1, 5_000: 1, 9_999: 1]),
            ([10, 5, 85], [999: 0, 1_000: 1, 1_499: 1, 1_500: 2]),
            ([1], [0: 0, 9_999: 0]),
        ])
    func ranges(weights: [Int], owners: [Int: Int]) {
        let sticky = StickySessions(key: .cookie("s"), weights: weights)
        for (bucket, owner) in owners {
            #expect(sticky.backend(forBucket: bucket) == owner, "bucket \(bucket)")
        }
    }

    @Test("10,000 new sessions split within half a point of the weight, at every weight")
    func newSessionsFollowTheWeight() {
        for canaryWeight in [1, 5, 10, 20, 33, 50, 90] {
            let sticky = StickySessions(key: .cookie("s"), weights: [canaryWeight, 100 - canaryWeight])
            var onCanary = 0
            for _ in 0..<10_000 where sticky.backend(forBucket: sticky.newBucket()) == 0 { onCanary += 1 }
            #expect(abs(onCanary - canaryWeight * 100) <= 50, "weight \(canaryWeight): \(onCanary) of 10,000")
        }
    }

    @Test("a weight change moves only the sessions needed to meet it; weight 0 keeps none")
    func weightChangesMoveFewSessions() {
        let before = StickySessions(key: .cookie("s"), weights: [20, 80])
        let buckets = (0..<10_000).map { _ in before.newBucket() }
        for (weights, expectedMoves) in [([33, 67], 1_300), ([10, 90], 1_000), ([0, 100], 2_000)] {
            let after = StickySessions(key: .cookie("s"), weights: weights)
            var moved = 0
            var towardsCanary = 0
            for bucket in buckets where before.backend(forBucket: bucket) != after.backend(forBucket: bucket) {
                moved += 1
                if after.backend(forBucket: bucket) == 0 { towardsCanary += 1 }
            }
            #expect(abs(moved - expectedMoves) <= 50, "\(weights): \(moved) moved")
            // Every move goes the way the weight went: nobody swaps sides in both directions.
            #expect(towardsCanary == (weights[0] > 20 ? moved : 0), "\(weights)")
        }
        let aborted = StickySessions(key: .cookie("s"), weights: [0, 100])
        #expect(buckets.allSatisfy { aborted.backend(forBucket: $0) == 1 })
    }

    @Test(
        "the bucket a request carries in its cookie or header",
        arguments: [
            (StickySessions.Key.cookie("aviary"), "Cookie: aviary=1234\r\n", 1_234),
            (.cookie("aviary"), "Cookie: theme=dark; aviary=77; lang=en\r\n", 77),
            (.cookie("aviary"), "Cookie: xaviary=5; aviary=7\r\n", 7),
            (.cookie("aviary"), "Cookie: a=1\r\ncookie: aviary=9\r\n", 9),
            (.cookie("aviary"), "Cookie: aviary=abc\r\n", nil),
            (.cookie("aviary"), "Cookie: aviary=10000\r\n", nil),
            (.cookie("aviary"), "Cookie: aviary=\r\n", nil),
            (.cookie("aviary"), "Cookie: Aviary=12\r\n", nil),
            (.cookie("aviary"), "X-Cookie: aviary=12\r\n", nil),
            (.header("x-user"), "X-User: alice\r\n", StickySessions.hashBucket(Array("alice".utf8))),
            (.header("x-user"), "x-user: alice\r\n", StickySessions.hashBucket(Array("alice".utf8))),
            (.header("x-user"), "X-Users: alice\r\n", nil),
        ] as [(StickySessions.Key, String, Int?)])
    func carriedBuckets(key: StickySessions.Key, fields: String, bucket: Int?) throws {
        let sticky = StickySessions(key: key, weights: [50, 50])
        var head = MessageHead()
        let text = Array(("GET / HTTP/1.1\r\nHost: x\r\n" + fields + "\r\n").utf8)
        let found = try text.withUnsafeBytes { raw in
            _ = try head.parse(raw, isRequest: true, limit: 10_000)
            return sticky.bucket(of: head, raw)
        }
        #expect(found == bucket)
    }

    @Test("a new cookie session is answered with the cookie that keeps it")
    func setCookieLine() {
        let sticky = StickySessions(key: .cookie("aviary-canary"), weights: [1, 1])
        #expect(
            String(decoding: sticky.setCookieLine(bucket: 42), as: UTF8.self)
                == "Set-Cookie: aviary-canary=42; Path=/; HttpOnly; SameSite=Lax\r\n")
    }
}
