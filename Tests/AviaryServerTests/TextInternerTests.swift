import AviaryModel
import Testing

@testable import AviaryServer

/// Interning keeps values equal; only long strings enter the table, whose generation ages at its
/// limit and on `age()`, dropping the generation before.
@Suite struct TextInternerTests {
    static let rows: [(texts: [String?], count: Int)] = [
        ([nil, "short", "exactly15bytes!"], 0),
        (["2026-11-29T01:34:51Z", "2026-11-29T01:34:51Z", "Rollout is healthy"], 2),
        // The fourth distinct long string finds the generation full (limit 3): it ages, and the
        // three are the generation before.
        (["2026-11-29T01:34:51Z", "2026-11-29T01:34:52Z", "2026-11-29T01:34:53Z", "2026-11-29T01:34:54Z"], 4),
        // The fifth ages it again: the first three are dropped.
        (
            [
                "2026-11-29T01:34:51Z", "2026-11-29T01:34:52Z", "2026-11-29T01:34:53Z", "2026-11-29T01:34:54Z",
                "2026-11-29T01:34:55Z", "2026-11-29T01:34:56Z", "2026-11-29T01:34:57Z",
            ], 4
        ),
    ]

    @Test(arguments: rows.indices)
    func internedTextsAreEqual(row: Int) {
        var interner = TextInterner(limit: 3)
        let (texts, count) = Self.rows[row]
        #expect(texts.map { interner.intern($0) } == texts)
        #expect(interner.count == count)
    }

    @Test func aStringNotAskedForInTwoGenerationsLeavesTheTable() {
        var interner = TextInterner()
        let kept = "Rollout is healthy"
        _ = interner.intern(kept)
        _ = interner.intern("2026-11-29T01:34:51Z")
        interner.age()
        #expect(interner.count == 2, "the previous generation still shares them")
        // Asked for again: carried into the new generation, as the same string.
        #expect(interner.intern(String(kept)) == kept)
        interner.age()
        #expect(interner.count == 1, "the timestamp nobody asked for is gone")
        interner.age()
        interner.age()
        #expect(interner.count == 0, "at rest the table empties")
    }

    @Test func anInternedStatusIsEqual() {
        var status = RolloutStatus()
        status.phase = .healthy
        status.conditions = [
            RolloutCondition(
                type: .healthy, status: .true, reason: "RolloutHealthy", message: "Rollout is healthy",
                lastUpdateTime: "2026-11-29T01:34:51Z", lastTransitionTime: "2026-11-29T01:34:51Z"),
            RolloutCondition(
                type: .progressing, status: .true, reason: "NewReplicaSetAvailable",
                message: "ReplicaSet \"web-58f9f96688\" has successfully progressed.",
                lastUpdateTime: "2026-11-29T01:34:51Z", lastTransitionTime: "2026-11-29T01:34:47Z"),
        ]
        status.duration = RolloutDuration(rolloutStartedAt: "2026-11-29T01:34:47Z")
        var interner = TextInterner()
        #expect(interner.intern(status) == status)
        // Two timestamps, one long reason, two messages.
        #expect(interner.count == 5)
    }
}
