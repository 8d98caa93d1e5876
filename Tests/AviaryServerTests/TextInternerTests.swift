import AviaryModel
import Testing

@testable import AviaryServer

/// Interning keeps values equal; only long strings enter the table, which starts over at its limit.
@Suite struct TextInternerTests {
    static let rows: [(texts: [String?], count: Int)] = [
        ([nil, "short", "exactly15bytes!"], 0),
        (["2026-11-29T01:34:51Z", "2026-11-29T01:34:51Z", "Rollout is healthy"], 2),
        // The fourth distinct long string finds the table full (limit 3) and starts it over.
        (["2026-11-29T01:34:51Z", "2026-11-29T01:34:52Z", "2026-11-29T01:34:53Z", "2026-11-29T01:34:54Z"], 1),
    ]

    @Test(arguments: rows.indices)
    func internedTextsAreEqual(row: Int) {
        var interner = TextInterner(limit: 3)
        let (texts, count) = Self.rows[row]
        #expect(texts.map { interner.intern($0) } == texts)
        #expect(interner.count == count)
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
