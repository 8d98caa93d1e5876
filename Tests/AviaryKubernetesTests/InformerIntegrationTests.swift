import Foundation
import Synchronization
import Testing

@testable import AviaryKubernetes

/// Counts what an informer delivers, by event type and resourceVersion.
final class EventLog: Sendable {
    private let entries = Mutex<[String: Int]>([:])
    private let total = Mutex(0)

    /// Consumes `stream` until it ends.
    func consume(_ stream: AsyncStream<InformerEvent>) async {
        for await event in stream {
            let label: String
            switch event {
            case .added(let object): label = "added \(object.metadata.resourceVersion ?? "")"
            case .updated(_, let object): label = "updated \(object.metadata.resourceVersion ?? "")"
            case .deleted(let object): label = "deleted \(object.key)"
            }
            entries.withLock { $0[label, default: 0] += 1 }
            total.withLock { $0 += 1 }
        }
    }

    var counts: [String: Int] { entries.withLock { $0 } }
    var count: Int { total.withLock { $0 } }
}

private func configMapBody(_ name: String, value: String) -> KubernetesObject {
    try! KubernetesObject(
        json: [
            "apiVersion": "v1", "kind": "ConfigMap", "metadata": ["name": .string(name)], "data": ["v": .string(value)],
        ])
}

/// Runs an informer on ConfigMaps in `default` until `body` returns.
private func withInformer(
    _ server: APIServerDouble, backoff: Backoff = Backoff(initial: .milliseconds(100), maximum: .seconds(2)),
    _ body: (Informer, EventLog) async throws -> Void
) async throws {
    let client = try server.client()
    let informer = Informer(client: client, resource: .configMaps, namespace: "default", backoff: backoff)
    let log = EventLog()
    let stream = informer.events()
    let consumer = Task { await log.consume(stream) }
    let runner = Task { await informer.run() }
    do {
        try await body(informer, log)
    } catch {
        runner.cancel()
        try? await client.shutdown()
        throw error
    }
    runner.cancel()
    await runner.value
    await consumer.value
    try await client.shutdown()
}

/// Whether the informer's cache holds exactly the server's objects at the server's resourceVersions.
private func cacheMatchesServer(_ informer: Informer, _ client: KubernetesClient) async throws -> Bool {
    let server = try await client.listAll(.configMaps, namespace: "default")
    let cached = informer.list()
    return server.items.map { "\($0.key)@\($0.metadata.resourceVersion ?? "")" }.sorted()
        == cached.map { "\($0.key)@\($0.metadata.resourceVersion ?? "")" }.sorted()
}

@Suite(.serialized) struct InformerIntegrationTests {
    /// 1,000 writes from a second client while every watch is dropped 100 times: the cache ends equal to the
    /// server's list and every write is delivered exactly once.
    @Test func droppedWatchesLoseAndRepeatNothing() async throws {
        let server = try APIServerDouble()
        defer { server.stop() }
        let writer = try server.client()
        defer { Task { [writer] in try? await writer.shutdown() } }
        try await withInformer(server) { informer, log in
            await informer.waitForSync()
            var expected: [String: Int] = [:]
            // Objects the server starts with (if any) arrive as adds of the first list.
            let initial = informer.list()
            for object in initial { expected["added \(object.metadata.resourceVersion ?? "")", default: 0] += 1 }
            var live: [String] = []
            var generator = SystemRandomNumberGenerator()
            var created = 0
            for write in 1...1000 {
                let choice = live.count < 20 ? 0 : Int.random(in: 0..<3, using: &generator)
                if choice == 0 {
                    let name = "cm-\(created)"
                    created += 1
                    let object = try await writer.create(
                        .configMaps, namespace: "default", configMapBody(name, value: "0"))
                    expected["added \(object.metadata.resourceVersion ?? "")", default: 0] += 1
                    live.append(name)
                } else if choice == 1 {
                    let name = live.randomElement(using: &generator)!
                    var object = try await writer.get(.configMaps, namespace: "default", name: name)
                    var json = object.json
                    json["data"] = ["v": .string(String(write))]
                    object = try KubernetesObject(json: json)
                    let updated = try await writer.update(.configMaps, namespace: "default", object)
                    expected["updated \(updated.metadata.resourceVersion ?? "")", default: 0] += 1
                } else {
                    let index = Int.random(in: 0..<live.count, using: &generator)
                    let name = live.remove(at: index)
                    try await writer.delete(.configMaps, namespace: "default", name: name)
                    expected["deleted default/\(name)", default: 0] += 1
                }
                if write % 10 == 0 { try await server.dropWatches() }
            }
            let converged = try await eventually(within: 120) { try await cacheMatchesServer(informer, writer) }
            #expect(converged, "the cache ends equal to the server's list")
            #expect(await eventually(within: 60) { log.count >= 1000 + initial.count })
            let counts = log.counts
            let repeated = counts.filter { $0.value > 1 }
            let missing = expected.keys.filter { counts[$0] == nil }
            let unexpected = counts.keys.filter { expected[$0] == nil }
            #expect(repeated.isEmpty, "delivered more than once: \(repeated.keys.sorted().prefix(10))")
            #expect(missing.isEmpty, "never delivered: \(missing.sorted().prefix(10))")
            #expect(unexpected.isEmpty, "delivered but never written: \(unexpected.sorted().prefix(10))")
            #expect(log.count == 1000 + initial.count)
            #expect(informer.statistics.watches >= 100, "\(informer.statistics)")
            #expect(informer.statistics.lists == 1, "no relist was needed: \(informer.statistics)")
        }
    }

    /// After a compaction the informer's resourceVersion is too old: it relists, and the relist is delivered
    /// as its difference (deletes, updates, adds; nothing for unchanged objects).
    @Test func goneRelistsAndDeliversTheDifference() async throws {
        let server = try APIServerDouble()
        defer { server.stop() }
        let writer = try server.client()
        defer { Task { [writer] in try? await writer.shutdown() } }
        for index in 0..<10 {
            _ = try await writer.create(.configMaps, namespace: "default", configMapBody("cm-\(index)", value: "0"))
        }
        // A long backoff opens a window in which the informer is not watching.
        try await withInformer(server, backoff: Backoff(initial: .seconds(3), maximum: .seconds(3))) { informer, log in
            await informer.waitForSync()
            let initial = informer.list().count
            #expect(initial >= 10)
            #expect(await eventually { log.count == initial && informer.statistics.watches == 1 })
            try await server.compact()
            try await server.injectFault(status: 500, count: 1)
            try await server.dropWatches()
            // The informer's next watch takes the 500 and backs off for 3 s; meanwhile the server changes.
            #expect(await eventually { informer.statistics.failures == 1 })
            for index in 0..<3 { try await writer.delete(.configMaps, namespace: "default", name: "cm-\(index)") }
            var updatedVersions: [String] = []
            for index in 3..<6 {
                var json = try await writer.get(.configMaps, namespace: "default", name: "cm-\(index)").json
                json["data"] = ["v": "1"]
                let updated = try await writer.update(.configMaps, namespace: "default", KubernetesObject(json: json))
                updatedVersions.append(updated.metadata.resourceVersion ?? "")
            }
            let added = try await writer.create(.configMaps, namespace: "default", configMapBody("cm-new", value: "0"))
            #expect(informer.statistics.goneRelists == 0, "the relist must come after the writes")

            #expect(
                try await eventually {
                    try await cacheMatchesServer(informer, writer) && informer.statistics.lists == 2
                })
            #expect(informer.statistics.goneRelists == 1, "\(informer.statistics)")
            #expect(await eventually { log.count == initial + 7 })
            let counts = log.counts
            for index in 0..<3 { #expect(counts["deleted default/cm-\(index)"] == 1) }
            for version in updatedVersions { #expect(counts["updated \(version)"] == 1) }
            #expect(counts["added \(added.metadata.resourceVersion ?? "")"] == 1)
            #expect(
                log.count == initial + 7,
                "the first list's adds, then 3 deletes, 3 updates and 1 add; nothing for the unchanged")
        }
    }

    /// An HTTP 410 answering the watch request (rather than an ERROR event) also relists; a relist that finds
    /// nothing changed delivers nothing.
    @Test func anHTTPGoneRelistsToo() async throws {
        let server = try APIServerDouble()
        defer { server.stop() }
        let writer = try server.client()
        defer { Task { [writer] in try? await writer.shutdown() } }
        _ = try await writer.create(.configMaps, namespace: "default", configMapBody("kept", value: "0"))
        try await withInformer(server) { informer, log in
            await informer.waitForSync()
            let initial = informer.list().count
            #expect(await eventually { informer.statistics.watches == 1 })
            try await server.injectFault(status: 410, count: 1)
            try await server.dropWatches()
            #expect(await eventually { informer.statistics.lists == 2 && informer.statistics.watches == 2 })
            #expect(informer.statistics.goneRelists == 1, "\(informer.statistics)")
            #expect(log.count == initial, "the relist found nothing new")
            #expect(try await cacheMatchesServer(informer, writer))
        }
    }

    /// 429 with Retry-After: 1 makes the client wait at least a second and then succeed.
    @Test func tooManyRequestsWaitsAsTold() async throws {
        let server = try APIServerDouble()
        defer { server.stop() }
        let client = try server.client()
        defer { Task { [client] in try? await client.shutdown() } }
        try await server.injectFault(status: 429, count: 2, retryAfterSeconds: 1)
        let start = ContinuousClock.now
        let list = try await client.list(.configMaps, namespace: "default")
        let waited = start.duration(to: .now)
        #expect(list.items.isEmpty)
        #expect(waited >= .milliseconds(1900), "waited \(waited) for two Retry-After: 1")
        #expect(client.retriedRequests == 2)

        // A 503 with Retry-After is waited out the same way.
        try await server.injectFault(status: 503, count: 1, retryAfterSeconds: 1)
        let before503 = ContinuousClock.now
        _ = try await client.list(.configMaps, namespace: "default")
        #expect(before503.duration(to: .now) >= .milliseconds(950))
        #expect(client.retriedRequests == 3)

        // The same under an informer: it syncs after waiting.
        try await server.injectFault(status: 429, count: 1, retryAfterSeconds: 1)
        let begin = ContinuousClock.now
        try await withInformer(server) { informer, _ in
            await informer.waitForSync()
            #expect(begin.duration(to: .now) >= .milliseconds(900))
            #expect(informer.statistics.failures == 0, "a 429 is waited out, not failed")
        }
    }

    /// 500s are retried by the reflector with an exponential backoff (100, 200, 400 ms here).
    @Test func serverErrorsAreRetriedWithBackoff() async throws {
        let server = try APIServerDouble()
        defer { server.stop() }
        try await server.injectFault(status: 500, count: 3)
        let begin = ContinuousClock.now
        try await withInformer(server) { informer, _ in
            await informer.waitForSync()
            #expect(begin.duration(to: .now) >= .milliseconds(650))
            #expect(informer.statistics.failures == 3)
            #expect(informer.statistics.lists == 1)
        }
    }
}
