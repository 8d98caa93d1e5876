import Foundation
import Testing

@testable import AviaryStore

/// The store's change feed: a write wakes a waiter at once; a timeout or a cancelled task ends the wait.
@Suite struct StoreChangesTests {
    @Test func aWriteWakesAWaiter() async throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        let seen = store.changes.count
        // The waiter would sleep an hour without the write: returning at all shows the write woke it.
        async let woken = store.changes.wait(after: seen, timeout: .seconds(3600))
        try await Task.sleep(for: .milliseconds(50))
        try store.apply(rollout("web", replicas: 2))
        #expect(await woken > seen)
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
        await withTaskGroup(of: UInt64.self) { group in
            for _ in 0..<20 { group.addTask { await changes.wait(after: 0, timeout: .seconds(3600)) } }
            group.addTask {
                try? await Task.sleep(for: .milliseconds(20))
                changes.notify()
                return 1
            }
            for await count in group { #expect(count == 1) }
        }
    }
}
