import Foundation
import Synchronization

/// Exponential backoff between failed lists or watches: `initial` doubling to `maximum`, reset by success.
public struct Backoff: Sendable {
    /// The first wait.
    public var initial: Duration
    /// The longest wait.
    public var maximum: Duration
    private var next: Duration

    /// A backoff; client-go's reflector waits 800 ms doubling to 30 s.
    public init(initial: Duration = .milliseconds(800), maximum: Duration = .seconds(30)) {
        self.initial = initial
        self.maximum = maximum
        self.next = initial
    }

    /// The wait before the next attempt; doubles the one after.
    public mutating func nextDelay() -> Duration {
        let delay = next
        next = min(next * 2, maximum)
        return delay
    }

    /// Starts again from `initial`.
    public mutating func reset() { next = initial }
}

/// Counters of what an informer's reflector did.
public struct InformerStatistics: Sendable, Hashable {
    /// Full lists made (the first one and every relist).
    public var lists = 0
    /// Watches started.
    public var watches = 0
    /// Relists forced by 410 Gone (an expired resourceVersion).
    public var goneRelists = 0
    /// Lists or watches that failed and were retried after a backoff.
    public var failures = 0
}

/// A cache of one resource kept current by list and watch (client-go's reflector + store + shared informer).
///
/// ``run()`` lists the collection page by page, then watches from the list's resourceVersion with bookmarks.
/// When a watch ends it starts again from the last resourceVersion seen (an event's or a bookmark's), so no
/// event is lost or delivered twice. A 410 Gone (at the start of a watch or as an ERROR event) relists, and
/// the relist is delivered as its difference with the cache: deletes for objects gone, updates for those
/// changed, nothing for the others. Other errors are retried after an exponential ``Backoff``.
public final class Informer: Sendable {
    /// The resource watched.
    public let resource: GroupVersionResource
    /// The namespace watched; nil for all namespaces.
    public let namespace: String?
    /// A label selector narrowing the objects, if any.
    public let labelSelector: String?
    /// A field selector narrowing the objects, if any (`metadata.name=NAME`).
    public let fieldSelector: String?
    private let client: KubernetesClient
    private let pageSize: Int
    private let initialBackoff: Backoff
    private let transform: @Sendable (KubernetesObject) -> KubernetesObject
    private let state: Mutex<State>

    private struct State {
        var store: InformerStore
        var subscribers: [Int: AsyncStream<InformerEvent>.Continuation] = [:]
        var nextSubscriber = 0
        var hasSynced = false
        var syncWaiters: [CheckedContinuation<Void, Never>] = []
        var statistics = InformerStatistics()
        var resourceVersion: String?
    }

    /// An informer; nothing happens until ``run()``.
    public init(
        client: KubernetesClient, resource: GroupVersionResource, namespace: String? = nil,
        labelSelector: String? = nil, fieldSelector: String? = nil, indexers: [String: Indexer] = [:],
        pageSize: Int = 500,
        backoff: Backoff = Backoff(), transform: @escaping @Sendable (KubernetesObject) -> KubernetesObject = { $0 }
    ) {
        // As client-go's informers are usually set up: `metadata.managedFields` (often the largest
        // part of an object) is never read by a controller, so it is not cached.
        self.transform = { transform($0.removingManagedFields()) }
        self.client = client
        self.resource = resource
        self.namespace = namespace
        self.labelSelector = labelSelector
        self.fieldSelector = fieldSelector
        self.pageSize = pageSize
        self.initialBackoff = backoff
        self.state = Mutex(State(store: InformerStore(indexers: indexers)))
    }

    // MARK: Reading the cache

    /// Whether the first list has been applied to the cache.
    public var hasSynced: Bool { state.withLock { $0.hasSynced } }

    /// Waits until the first list has been applied.
    public func waitForSync() async {
        await withCheckedContinuation { (continuation: CheckedContinuation<Void, Never>) in
            let ready = state.withLock { state in
                if state.hasSynced { return true }
                state.syncWaiters.append(continuation)
                return false
            }
            if ready { continuation.resume() }
        }
    }

    /// The cached object at `key` (`namespace/name`).
    public func object(forKey key: String) -> KubernetesObject? {
        // Parsed outside the lock, so readers and the watch do not wait on each other's parsing.
        state.withLock { $0.store.text(forKey: key) }.flatMap(InformerStore.object(from:))
    }

    /// Every cached object, in key order.
    public func list() -> [KubernetesObject] { state.withLock { $0.store.allTexts }.compactMap(InformerStore.object(from:)) }

    /// The cached objects filed under `value` by the indexer `index` (``StandardIndex`` or a custom one).
    public func objects(index: String, value: String) -> [KubernetesObject] {
        state.withLock { $0.store.texts(index: index, value: value) }.compactMap(InformerStore.object(from:))
    }

    /// The key and resourceVersion of every cached object, in key order, without parsing any.
    public func versions() -> [(key: String, resourceVersion: String?)] { state.withLock { $0.store.versions } }

    /// The key and resourceVersion of the objects filed under `value` by `index`, without parsing any.
    public func versions(index: String, value: String) -> [(key: String, resourceVersion: String?)] {
        state.withLock { $0.store.versions(index: index, value: value) }
    }

    /// The resourceVersion the next watch starts from.
    public var lastResourceVersion: String? { state.withLock { $0.resourceVersion } }

    /// What the reflector did so far.
    public var statistics: InformerStatistics { state.withLock { $0.statistics } }

    /// A stream of every event from now on, in order; it ends when ``run()`` returns. Subscribe before
    /// ``run()`` to see the adds of the first list.
    public func events() -> AsyncStream<InformerEvent> {
        let (stream, continuation) = AsyncStream.makeStream(of: InformerEvent.self)
        let id = state.withLock { state in
            let id = state.nextSubscriber
            state.nextSubscriber += 1
            state.subscribers[id] = continuation
            return id
        }
        continuation.onTermination = { [weak self] _ in
            self?.state.withLock { _ = $0.subscribers.removeValue(forKey: id) }
        }
        return stream
    }

    // MARK: The reflector

    /// Lists and watches until the task is cancelled; then ends every event stream.
    public func run() async {
        var backoff = initialBackoff
        relist: while !Task.isCancelled {
            let list: ObjectList
            do {
                list = try await client.listAll(
                    resource, namespace: namespace, labelSelector: labelSelector, fieldSelector: fieldSelector,
                    pageSize: pageSize)
            } catch {
                if !(await pause(&backoff)) { break relist }
                continue relist
            }
            let waiters = state.withLock { state in
                state.statistics.lists += 1
                let events = state.store.replace(with: list.items.map(transform))
                for event in events { for subscriber in state.subscribers.values { subscriber.yield(event) } }
                state.resourceVersion = list.metadata.resourceVersion
                state.hasSynced = true
                defer { state.syncWaiters = [] }
                return state.syncWaiters
            }
            for waiter in waiters { waiter.resume() }

            while !Task.isCancelled {
                let from = lastResourceVersion
                do {
                    let stream = try await client.watch(
                        resource, namespace: namespace, resourceVersion: from, labelSelector: labelSelector,
                        fieldSelector: fieldSelector,
                        timeoutSeconds: Int.random(in: 300...600))
                    state.withLock { $0.statistics.watches += 1 }
                    backoff.reset()
                    for try await event in stream {
                        if event.type == .error {
                            if event.status?.code == 410 {
                                state.withLock { $0.statistics.goneRelists += 1 }
                                continue relist
                            }
                            // Any other ERROR event ends this watch; the cache is rebuilt by a relist.
                            if !(await pause(&backoff)) { break relist }
                            continue relist
                        }
                        apply(event)
                    }
                } catch let error as KubernetesError where error.isGone {
                    state.withLock { $0.statistics.goneRelists += 1 }
                    continue relist
                } catch {
                    if !(await pause(&backoff)) { break relist }
                }
            }
        }
        let subscribers = state.withLock { state in
            defer { state.subscribers = [:] }
            return Array(state.subscribers.values)
        }
        for subscriber in subscribers { subscriber.finish() }
    }

    /// Counts a failure and sleeps the backoff; false when cancelled.
    private func pause(_ backoff: inout Backoff) async -> Bool {
        state.withLock { $0.statistics.failures += 1 }
        do {
            try await Task.sleep(for: backoff.nextDelay())
            return true
        } catch {
            return false
        }
    }

    private func apply(_ event: WatchEvent) {
        state.withLock { state in
            if let version = event.resourceVersion { state.resourceVersion = version }
            guard event.type != .bookmark, let object = try? KubernetesObject(json: event.object),
                let delivered = state.store.apply(event.type, transform(object))
            else { return }
            for subscriber in state.subscribers.values { subscriber.yield(delivered) }
        }
    }
}
