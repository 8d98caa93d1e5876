import AviaryLocal
import AviaryPlatform
import AviaryStore
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryServer

/// The watch streams against a real store: a line at the start, one per change of what is
/// followed (woken by the store's writes, not by polling), none for unrelated writes.
@Suite struct WatchTests {
    /// The lines a stream wrote so far.
    actor Lines {
        var all: [String] = []
        func append(_ line: Data) { all.append(String(decoding: line, as: UTF8.self)) }
    }

    static func manifest(
        kind: String, name: String, namespace: String = "default", labels: String = "{}", spec: String
    )
        -> Data
    {
        Data(
            """
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "\(kind)",
             "metadata": {"name": "\(name)", "namespace": "\(namespace)", "labels": \(labels)}, "spec": \(spec)}
            """.utf8)
    }

    /// Runs `read`'s stream in a task while `body` makes changes; the task is cancelled after.
    func withStream(
        _ store: AviaryStore, _ read: @escaping Watch.Read, _ body: (Lines) async throws -> Void
    ) async throws {
        let lines = Lines()
        let stream = Task { try await Watch.stream(changes: store.changes, timeout: 120, read: read) { await lines.append($0) } }
        do {
            try await body(lines)
        } catch {
            stream.cancel()
            throw error
        }
        stream.cancel()
    }

    @Test func aRolloutWatchSendsALinePerChangeOfTheRolloutOrWhatItOwns() async throws {
        let directory = NSTemporaryDirectory() + "aviary-watch-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try AviaryStore(stateDirectory: directory)
        let platform = try LocalPlatform(
            stateStore: StorePlatformState(store: store, key: StorePlatformState.platformKey),
            logDirectory: directory + "/logs")
        let key = ResourceKey(kind: .rollout, name: "web")
        try store.apply(Self.manifest(kind: "Rollout", name: "web", spec: #"{"replicas": 1}"#))
        let reads = ReadLog()
        let read = reads.counting(Watch.withOwned(key, store: store, platform: platform), store: store)
        try await withStream(store, read) { lines in
            #expect(await eventually(within: 10) { await lines.all.count == 1 })
            #expect(await lines.all.first?.contains(#""name":"web""#) == true)

            // Unrelated: another rollout, and a run of another rollout. No line.
            try store.apply(Self.manifest(kind: "Rollout", name: "api", spec: #"{"replicas": 1}"#))
            try store.apply(
                Self.manifest(kind: "AnalysisRun", name: "api-1", labels: #"{"rollout": "api"}"#, spec: "{}"))
            // The stream has read again after both writes, and then once more (a wake or its
            // 2 s recheck): it has decided about those writes, and sent nothing for them.
            let unrelatedWritten = store.changes.count
            #expect(await eventually(within: 30) { reads.readsStarted(afterCount: unrelatedWritten) >= 2 })
            let sent = await lines.all
            #expect(sent.count == 1, "a line for unrelated writes: \(sent)")
            // Owned: a run of this rollout, then a ReplicaSet (the platform's state is in the store).
            try store.apply(
                Self.manifest(kind: "AnalysisRun", name: "web-1", labels: #"{"rollout": "web"}"#, spec: "{}"))
            #expect(await eventually(within: 10) { await lines.all.count == 2 })
            try await platform.apply(ReplicaSet(rollout: "web", podTemplateHash: "abc", labels: [:], replicas: 0))
            #expect(await eventually(within: 10) { await lines.all.count == 3 })
            // The rollout itself.
            try store.updateStatus(key, status: Data(#"{"phase": "Healthy"}"#.utf8))
            #expect(await eventually(within: 10) { await lines.all.count == 4 })
            #expect(await lines.all.last?.contains("Healthy") == true)
        }
    }

    @Test func aListWatchSendsTheWholeListOnEachChange() async throws {
        let directory = NSTemporaryDirectory() + "aviary-watch-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try AviaryStore(stateDirectory: directory)
        try store.apply(Self.manifest(kind: "Rollout", name: "web", spec: "{}"))
        try await withStream(store, Watch.list(kind: .rollout, namespace: nil, store: store)) { lines in
            #expect(await eventually(within: 10) { await lines.all.count == 1 })
            try store.apply(Self.manifest(kind: "Rollout", name: "api", namespace: "shop", spec: "{}"))
            #expect(await eventually(within: 10) { await lines.all.count == 2 })
            let last = try #require(await lines.all.last)
            #expect(last.contains(#""name":"api""#) && last.contains(#""name":"web""#))
            try store.delete(ResourceKey(kind: .rollout, namespace: "shop", name: "api"))
            #expect(await eventually(within: 10) { await lines.all.count == 3 })
        }
    }

    @Test func aStreamEndsWhenItsResourceIsDeletedOrItsTimeIsUp() async throws {
        let directory = NSTemporaryDirectory() + "aviary-watch-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try AviaryStore(stateDirectory: directory)
        let key = ResourceKey(kind: .rollout, name: "web")
        try store.apply(Self.manifest(kind: "Rollout", name: "web", spec: "{}"))
        let lines = Lines()
        // Time is up: one line, then the stream returns by itself.
        try await Watch.stream(changes: store.changes, timeout: 0.1, read: Watch.resource(key, store: store)) {
            await lines.append($0)
        }
        #expect(await lines.all.count == 1)
        // Deleted: the stream returns although its time is far from up.
        let deleter = Task {
            try await Task.sleep(for: .milliseconds(100))
            try store.delete(key)
        }
        try await Watch.stream(changes: store.changes, timeout: 3600, read: Watch.resource(key, store: store)) {
            await lines.append($0)
        }
        try await deleter.value
        #expect(await lines.all.count == 2)
    }
}
