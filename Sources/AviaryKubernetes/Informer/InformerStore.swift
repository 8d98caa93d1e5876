/// What an informer tells its handlers.
public enum InformerEvent: Sendable, Hashable {
    /// An object appeared.
    case added(KubernetesObject)
    /// An object changed from `old` to `new`.
    case updated(old: KubernetesObject, new: KubernetesObject)
    /// An object disappeared; the object is its last known state.
    case deleted(KubernetesObject)

    /// The object the event is about (the new state for an update).
    public var object: KubernetesObject {
        switch self {
        case .added(let object), .deleted(let object), .updated(_, let object): object
        }
    }
}

/// A function from an object to the index values it is filed under.
public typealias Indexer = @Sendable (KubernetesObject) -> [String]

/// The indexers every informer has.
public enum StandardIndex {
    /// Objects by `metadata.namespace` (cluster-scoped objects under "").
    public static let namespace = "namespace"
    /// Objects by the uid of each of their owners (`metadata.ownerReferences[].uid`).
    public static let ownerUID = "ownerUID"

    /// Both standard indexers.
    public static let indexers: [String: Indexer] = [
        namespace: { [$0.metadata.namespace ?? ""] },
        ownerUID: { ($0.metadata.ownerReferences ?? []).map(\.uid) },
    ]
}

/// The informer's cache: objects by key, with indexes, and the rules that turn a watch event or a relist into
/// the events handlers see. A value type without I/O, so every rule is a table test.
public struct InformerStore: Sendable {
    private var objects: [String: KubernetesObject] = [:]
    private let indexers: [String: Indexer]
    /// index name -> index value -> keys.
    private var indexes: [String: [String: Set<String>]] = [:]

    /// An empty store with the standard indexers and `indexers`.
    public init(indexers: [String: Indexer] = [:]) {
        self.indexers = StandardIndex.indexers.merging(indexers) { _, custom in custom }
    }

    /// The number of objects.
    public var count: Int { objects.count }

    /// Every object, in key order.
    public var all: [KubernetesObject] { objects.keys.sorted().map { objects[$0]! } }

    /// The object at `key` (`namespace/name`).
    public func object(forKey key: String) -> KubernetesObject? { objects[key] }

    /// The objects whose indexer `index` returned `value`, in key order; empty for an unknown index.
    public func objects(index: String, value: String) -> [KubernetesObject] {
        (indexes[index]?[value] ?? []).sorted().compactMap { objects[$0] }
    }

    /// Applies an ADDED, MODIFIED or DELETED watch event and returns the event handlers see: an add for an
    /// object not cached, an update for one that is, a delete for one that was; nothing for a delete of an
    /// object never seen.
    public mutating func apply(_ type: WatchEvent.EventType, _ object: KubernetesObject) -> InformerEvent? {
        let key = object.key
        switch type {
        case .added, .modified:
            let old = objects[key]
            put(object)
            if let old { return .updated(old: old, new: object) }
            return .added(object)
        case .deleted:
            guard objects[key] != nil else { return nil }
            remove(key)
            return .deleted(object)
        case .bookmark, .error:
            return nil
        }
    }

    /// Replaces the whole content with a fresh list and returns the difference as events: deletes for objects
    /// gone (their last known state), updates for objects whose resourceVersion or content changed, adds for
    /// new ones, nothing for objects that did not change. Events come in key order, deletes first.
    public mutating func replace(with list: [KubernetesObject]) -> [InformerEvent] {
        var fresh: [String: KubernetesObject] = [:]
        for object in list { fresh[object.key] = object }
        var events: [InformerEvent] = []
        for key in objects.keys.sorted() where fresh[key] == nil {
            events.append(.deleted(objects[key]!))
            remove(key)
        }
        for key in fresh.keys.sorted() {
            let object = fresh[key]!
            if let old = objects[key] {
                if old.metadata.resourceVersion == object.metadata.resourceVersion && old == object { continue }
                events.append(.updated(old: old, new: object))
            } else {
                events.append(.added(object))
            }
            put(object)
        }
        return events
    }

    private mutating func put(_ object: KubernetesObject) {
        let key = object.key
        if objects[key] != nil { removeFromIndexes(key) }
        objects[key] = object
        for (name, indexer) in indexers {
            for value in indexer(object) { indexes[name, default: [:]][value, default: []].insert(key) }
        }
    }

    private mutating func remove(_ key: String) {
        removeFromIndexes(key)
        objects[key] = nil
    }

    private mutating func removeFromIndexes(_ key: String) {
        guard let object = objects[key] else { return }
        for (name, indexer) in indexers {
            for value in indexer(object) {
                indexes[name]?[value]?.remove(key)
                if indexes[name]?[value]?.isEmpty == true { indexes[name]?[value] = nil }
            }
        }
    }
}
