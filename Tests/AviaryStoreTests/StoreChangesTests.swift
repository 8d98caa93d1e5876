import Foundation
import Testing

@testable import AviaryStore

/// The store's change feed: a write wakes a waiter at once; a timeout or a cancelled task ends the wait.
@Suite struct StoreChangesTests {
    /// Waits up to 30 s for `count` waiters to be registered with `changes`.
    func waitersRegistered(_ count: Int, with changes: StoreChanges) async -> Bool {
        let deadline = ContinuousClock.now + .seconds(30)
        while changes.registeredWaiters < count && ContinuousClock.now < deadline {
            try? await Task.sleep(for: .milliseconds(20))
        }
        return changes.registeredWaiters == count
    }

    /// Awaits `waiters` against a 60 s deadline: true when all returned before it (an hour-long
    /// wait that returns was woken), false when the deadline came first and cancelled them.
    func returnBeforeTheDeadline(_ waiters: [Task<UInt64, Never>]) async -> Bool {
        let deadline = Task {
            guard (try? await Task.sleep(for: .seconds(60))) != nil else { return false }
            for waiter in waiters { waiter.cancel() }
            return true
        }
        for waiter in waiters { _ = await waiter.value }
        deadline.cancel()
        return await !deadline.value
    }

    @Test func aWriteWakesAWaiter() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        let seen = store.changes.count
        let woken = Task { await store.changes.wait(after: seen, timeout: .seconds(3600)) }
        // The waiter is registered, so the write has to wake it (a wait that starts after the
        // write returns at once, which would prove nothing).
        #expect(await waitersRegistered(1, with: store.changes))
        try store.apply(rollout("web", replicas: 2))
        #expect(await returnBeforeTheDeadline([woken]), "the write did not wake the waiter")
        #expect(await woken.value > seen)
    }

    @Test func aWaitPastTheCountReturnsAtOnce() async throws {
        let changes = StoreChanges()
        changes.notify()
        #expect(await changes.wait(after: 0, timeout: .seconds(3600)) == 1)
    }

    @Test func theTimeoutEndsAWaitWithoutWrites() async {
        let changes = StoreChanges()
        #expect(await changes.wait(after: 0, timeout: .milliseconds(20)) == 0)
    }

    @Test func cancellingTheTaskEndsTheWait() async {
        let changes = StoreChanges()
        let waiter = Task { await changes.wait(after: 0, timeout: .seconds(3600)) }
        waiter.cancel()
        #expect(await waiter.value == 0)
    }

    @Test func manyWaitersAreAllWoken() async {
        let changes = StoreChanges()
        let waiters = (0..<20).map { _ in Task { await changes.wait(after: 0, timeout: .seconds(3600)) } }
        #expect(await waitersRegistered(20, with: changes))
        changes.notify()
        #expect(await returnBeforeTheDeadline(waiters), "a notify did not wake every registered waiter")
        for waiter in waiters { #expect(await waiter.value == 1) }
    }
}
