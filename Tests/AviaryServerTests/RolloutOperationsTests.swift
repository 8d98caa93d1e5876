import AviaryAPI
import AviaryStore
import Foundation
import Synchronization
import Testing

@testable import AviaryServer

/// The operations against a real store, with another writer racing them through the
/// `beforeWrite` seam: a lost race is retried on the fresh rollout, a race lost every time is
/// a 409, and a container the rollout does not have is a 422 that names the ones it has.
@Suite struct RolloutOperationsTests {
    static let rollout = Data(
        #"""
        {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web", "namespace": "default"},
         "spec": {"replicas": 1, "selector": {"matchLabels": {"app": "web"}},
                  "template": {"metadata": {"labels": {"app": "web"}},
                               "spec": {"containers": [{"name": "app", "image": "sample:1"},
                                                       {"name": "sidecar", "image": "proxy:1"}]}},
                  "strategy": {"canary": {"steps": [{"setWeight": 50}, {"pause": {}}]}}}}
        """#.utf8)
    static let key = ResourceKey(kind: .rollout, name: "web")

    /// A store holding the rollout, removed after `body`.
    func withStore(_ body: (AviaryStore) throws -> Void) throws {
        let directory = NSTemporaryDirectory() + "aviary-operations-test-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try AviaryStore(stateDirectory: directory)
        try store.apply(Self.rollout)
        try body(store)
    }

    /// The stored rollout's status as a dictionary.
    func status(_ store: AviaryStore) throws -> [String: Any] {
        let stored = try #require(try store.resource(Self.key))
        return stored.status.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] } ?? [:]
    }

    @Test func aStatusWriteThatLosesARaceIsRetriedOnTheFreshRollout() throws {
        try withStore { store in
            let attempts = Attempts()
            var operations = RolloutOperations(store: store, changed: { _ in })
            operations.beforeWrite = { attempt in
                attempts.record(attempt)
                // The controller writes the status between the operation's read and its write.
                if attempt == 0 {
                    _ = try? store.updateStatus(
                        Self.key, status: Data(#"{"phase": "Paused", "message": "written by the controller"}"#.utf8))
                }
            }
            let result = try operations.perform(.abort, namespace: "default", name: "web")
            #expect(attempts.all == [0, 1], "one lost race, one retry")
            let status = try status(store)
            #expect(status["abort"] as? Bool == true)
            #expect(status["message"] as? String == "written by the controller", "the controller's write is kept")
            #expect(result.resourceVersion == (try store.resource(Self.key))?.resourceVersion)
        }
    }

    @Test func aRaceLostEveryTimeIsA409AndWritesNothing() throws {
        try withStore { store in
            let attempts = Attempts()
            var operations = RolloutOperations(store: store, changed: { _ in Issue.record("nothing was written") })
            operations.beforeWrite = { attempt in
                attempts.record(attempt)
                // A different status each time: an unchanged one is not a write.
                _ = try? store.updateStatus(
                    Self.key, status: Data(#"{"phase": "Progressing", "message": "write \#(attempt)"}"#.utf8))
            }
            #expect(
                throws: APIError(status: 409, message: "rollout \"web\" changed while the operation ran; try again")
            ) {
                try operations.perform(.abort, namespace: "default", name: "web")
            }
            #expect(attempts.all == Array(0..<20))
            let stored = try status(store)
            #expect(stored["abort"] == nil)
        }
    }

    @Test func anUnknownContainerIsA422NamingTheContainers() throws {
        try withStore { store in
            let changes = Attempts()
            let operations = RolloutOperations(store: store, changed: { _ in changes.record(1) })
            #expect(
                throws: APIError(
                    status: 422,
                    message: "rollout \"web\" has no container \"web\"; its containers: app, sidecar "
                        + "(use CONTAINER=IMAGE, or *=IMAGE for all)")
            ) {
                try operations.perform(
                    .setImage(container: "web", image: "sample:2"), namespace: "default", name: "web")
            }
            let stored = try #require(try store.resource(Self.key))
            #expect(stored.generation == 1, "the spec is unchanged")
            #expect(changes.all.isEmpty, "nothing was written")
            let changed = try operations.perform(
                .setImage(container: "sidecar", image: "proxy:2"), namespace: "default", name: "web")
            let spec = try #require(
                changed.spec.flatMap { try JSONSerialization.jsonObject(with: $0) as? [String: Any] })
            let template = spec["template"] as? [String: Any]
            let containers = (template?["spec"] as? [String: Any])?["containers"] as? [[String: Any]]
            #expect(containers?.map { $0["image"] as? String } == ["sample:1", "proxy:2"])
        }
    }
}

/// The attempt numbers `beforeWrite` saw.
final class Attempts: Sendable {
    private let attempts = Mutex<[Int]>([])
    func record(_ attempt: Int) { attempts.withLock { $0.append(attempt) } }
    var all: [Int] { attempts.withLock { $0 } }
}
