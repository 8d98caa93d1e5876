import Foundation
import Testing

@testable import AviaryStore

private func notification(_ rollout: String, _ trigger: String, at time: Date) -> StoredNotification {
    StoredNotification(
        rollout: ResourceKey(kind: .rollout, name: rollout), trigger: trigger, service: "hook", recipient: "",
        payload: Data(#"{"message":"\#(trigger)"}"#.utf8), createdAt: time)
}

@Suite struct NotificationOutboxTests {
    let start = Date(timeIntervalSince1970: 1_700_000_000)

    @Test func eachRolloutsOldestPendingNotificationIsDueAndTheNextWaitsForIt() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        try store.enqueue([
            notification("a", "on-rollout-updated", at: start), notification("b", "on-rollout-updated", at: start),
            notification("a", "on-rollout-paused", at: start),
        ])
        let due = try store.dueNotifications(at: start)
        #expect(due.map(\.rollout.name) == ["a", "b"])
        #expect(due.map(\.trigger) == ["on-rollout-updated", "on-rollout-updated"])
        #expect(Set(due.map(\.idempotencyKey)).count == 2)

        // a's first fails and waits 4 s: a's second must wait for it, in order.
        try store.recordAttempt(
            due[0].id, state: .pending, error: "HTTP 503", nextAttemptAt: start.addingTimeInterval(4), at: start)
        try store.recordAttempt(due[1].id, state: .delivered, error: nil, nextAttemptAt: start, at: start)
        #expect(try store.dueNotifications(at: start.addingTimeInterval(1)).isEmpty)
        #expect(try store.nextNotificationDue() == start.addingTimeInterval(4))
        let retried = try store.dueNotifications(at: start.addingTimeInterval(4))
        #expect(retried.map(\.trigger) == ["on-rollout-updated"])
        #expect(retried.first?.attempts == 1 && retried.first?.lastError == "HTTP 503")
        #expect(retried.first?.idempotencyKey == due[0].idempotencyKey, "a retry carries the same key")

        try store.recordAttempt(retried[0].id, state: .delivered, error: nil, nextAttemptAt: start, at: start)
        #expect(try store.dueNotifications(at: start.addingTimeInterval(4)).map(\.trigger) == ["on-rollout-paused"])
    }

    @Test func whatIsEnqueuedWithAStatusIsWrittenOnlyIfTheStatusIs() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        let (stored, _) = try store.apply(rollout("a", replicas: 1))
        let pending = [notification("a", "on-rollout-updated", at: start)]
        // A refused write (someone wrote the rollout meanwhile) enqueues nothing.
        let refused = try store.updateStatuses([
            StatusUpdate(
                key: stored.key, status: Data(#"{"phase":"Progressing"}"#.utf8),
                expectedResourceVersion: stored.resourceVersion + 1, notifications: pending)
        ])
        #expect(refused == [nil])
        #expect(try store.pendingNotificationCount() == 0)
        _ = try store.updateStatuses([
            StatusUpdate(
                key: stored.key, status: Data(#"{"phase":"Progressing"}"#.utf8),
                expectedResourceVersion: stored.resourceVersion, notifications: pending)
        ])
        #expect(try store.pendingNotificationCount() == 1)
    }

    @Test func finishedNotificationsAreBoundedPerRolloutAndPendingOnesAreKept() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        try store.apply(rollout("a", replicas: 1))
        let count = AviaryStore.finishedNotificationsKept + 5
        try store.enqueue((0..<count).map { notification("a", "t\($0)", at: start) })
        try store.enqueue([notification("a", "last", at: start)])
        for _ in 0..<count {
            let head = try #require(try store.dueNotifications(at: start).first)
            try store.recordAttempt(head.id, state: .failed, error: "HTTP 400", nextAttemptAt: start, at: start)
        }
        let kept = try store.notifications(of: ResourceKey(kind: .rollout, name: "a"), limit: 100)
        #expect(kept.count == AviaryStore.finishedNotificationsKept + 1)
        #expect(kept.first?.trigger == "last" && kept.first?.state == .pending)
        #expect(kept.dropFirst().allSatisfy { $0.state == .failed && $0.lastError == "HTTP 400" })
        #expect(kept.last?.trigger == "t5", "the oldest finished ones went first")
    }

    @Test func aDeletedRolloutsPendingNotificationsAreSentAndThenNothingOfItIsKept() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        let (stored, _) = try store.apply(rollout("a", replicas: 1))
        try store.enqueue([notification("a", "on-rollout-completed", at: start), notification("a", "on-rollout-aborted", at: start)])
        let first = try #require(try store.dueNotifications(at: start).first)
        try store.recordAttempt(first.id, state: .delivered, error: nil, nextAttemptAt: start, at: start)
        #expect(try store.delete(stored.key))
        #expect(try store.notifications(of: stored.key).map(\.trigger) == ["on-rollout-aborted"], "the pending one stays")
        let second = try #require(try store.dueNotifications(at: start).first)
        try store.recordAttempt(second.id, state: .delivered, error: nil, nextAttemptAt: start, at: start)
        #expect(try store.rowCounts()["notifications"] == 0)
    }

    @Test func aNotificationThatCannotBeSentIsStoredAsFailedAndNeverDue() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        try store.enqueue([
            StoredNotification(
                rollout: ResourceKey(kind: .rollout, name: "a"), trigger: "on-rollout-aborted", service: "pager",
                recipient: "", payload: Data("{}".utf8), createdAt: start, failure: "no service pager")
        ])
        #expect(try store.dueNotifications(at: start.addingTimeInterval(60)).isEmpty)
        let shown = try store.notifications(of: ResourceKey(kind: .rollout, name: "a"))
        #expect(shown.map(\.state) == [.failed] && shown.first?.lastError == "no service pager")
    }
}
