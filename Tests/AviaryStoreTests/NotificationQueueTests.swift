import Foundation
import Testing

@testable import AviaryStore

/// The in-memory outbox of a Kubernetes leader keeps the SQLite outbox's rules (NotificationOutboxTests).
@Suite struct NotificationQueueTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    func notification(_ rollout: String, _ trigger: String) -> StoredNotification {
        StoredNotification(
            rollout: ResourceKey(kind: .rollout, name: rollout), trigger: trigger, service: "hook", recipient: "",
            payload: Data("{}".utf8), createdAt: start)
    }

    @Test func eachRolloutsOldestPendingNotificationIsDueAndTheNextWaitsForIt() {
        var queue = NotificationQueue()
        let kept = queue.enqueue([
            notification("a", "on-rollout-updated"), notification("b", "on-rollout-updated"),
            notification("a", "on-rollout-paused"),
        ])
        #expect(kept.map(\.id) == [1, 2, 3])
        let due = queue.due(at: start, limit: 32)
        #expect(due.map(\.rollout.name) == ["a", "b"])
        #expect(queue.due(at: start, limit: 1).map(\.id) == [1], "the limit takes the oldest")

        queue.recordAttempt(
            1, state: .pending, error: "HTTP 503", nextAttemptAt: start.addingTimeInterval(4), at: start)
        queue.recordAttempt(2, state: .delivered, error: nil, nextAttemptAt: start, at: start)
        #expect(queue.due(at: start.addingTimeInterval(1), limit: 32).isEmpty, "a's second waits for its first")
        #expect(queue.nextDue == start.addingTimeInterval(4))
        let retried = queue.due(at: start.addingTimeInterval(4), limit: 32)
        #expect(retried.map(\.id) == [1] && retried.first?.attempts == 1 && retried.first?.lastError == "HTTP 503")
        #expect(retried.first?.idempotencyKey == kept[0].idempotencyKey)
        queue.recordAttempt(1, state: .delivered, error: nil, nextAttemptAt: start, at: start)
        #expect(queue.due(at: start.addingTimeInterval(4), limit: 32).map(\.trigger) == ["on-rollout-paused"])
        #expect(queue.recordAttempt(99, state: .delivered, error: nil, nextAttemptAt: start, at: start) == nil)
    }

    @Test func finishedNotificationsAreBoundedPerRolloutAndPendingOnesAreKept() {
        var queue = NotificationQueue()
        let count = AviaryStore.finishedNotificationsKept + 5
        _ = queue.enqueue((0..<count).map { notification("a", "t\($0)") } + [notification("a", "last")])
        for _ in 0..<count {
            let head = queue.due(at: start, limit: 1)[0]
            queue.recordAttempt(head.id, state: .failed, error: "HTTP 400", nextAttemptAt: start, at: start)
        }
        let kept = queue.notifications(of: ResourceKey(kind: .rollout, name: "a"), limit: 100)
        #expect(kept.count == AviaryStore.finishedNotificationsKept + 1)
        #expect(kept.first?.trigger == "last" && kept.first?.state == .pending)
        #expect(kept.dropFirst().allSatisfy { $0.state == .failed && $0.finishedAt != nil })
        #expect(kept.last?.trigger == "t5", "the oldest finished ones went first")
    }

    @Test func aGoneRolloutsPendingNotificationsAreSentAndThenNothingOfItIsKept() {
        var queue = NotificationQueue()
        _ = queue.enqueue([notification("a", "on-rollout-completed"), notification("a", "on-rollout-aborted")])
        queue.recordAttempt(1, state: .delivered, error: nil, nextAttemptAt: start, at: start)
        queue.recordAttempt(
            2, state: .delivered, error: nil, nextAttemptAt: start, at: start, rolloutExists: { _ in false })
        #expect(queue.notifications(of: ResourceKey(kind: .rollout, name: "a"), limit: 20).isEmpty)
        #expect(queue.finishedCount == 0 && queue.pending.isEmpty)
    }

    @Test func aQueueLoadedFromWhatAnEarlierHolderLeftKeepsItsIdsAndGoesOnAfterThem() {
        var earlier = NotificationQueue()
        let left = earlier.enqueue([notification("a", "on-rollout-paused"), notification("a", "on-rollout-aborted")])
        var failed = notification("a", "shown only")
        failed.state = .failed
        var queue = NotificationQueue(pending: left + [failed])
        #expect(queue.pending.count == 2, "only pending ones are taken over")
        #expect(queue.due(at: start, limit: 32).map(\.id) == [1])
        let next = queue.enqueue([notification("a", "on-rollout-completed")])
        #expect(next.map(\.id) == [3])
    }

    @Test func aNotificationThatCannotBeSentIsKeptAsFailedAndNeverDue() {
        var queue = NotificationQueue()
        _ = queue.enqueue([
            StoredNotification(
                rollout: ResourceKey(kind: .rollout, name: "a"), trigger: "on-rollout-aborted", service: "pager",
                recipient: "", payload: Data("{}".utf8), createdAt: start, failure: "no service pager")
        ])
        #expect(queue.due(at: start.addingTimeInterval(60), limit: 32).isEmpty && queue.nextDue == nil)
        let shown = queue.notifications(of: ResourceKey(kind: .rollout, name: "a"), limit: 20)
        #expect(shown.map(\.state) == [.failed] && shown.first?.lastError == "no service pager")
    }
}
