import AviaryJSON
import Foundation

/// Where an object lives inside its resource: cluster-scoped objects have an empty namespace.
struct ObjectKey: Hashable, Comparable, Sendable {
    var namespace: String
    var name: String

    static func < (lhs: ObjectKey, rhs: ObjectKey) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }

    /// The key as a continue token's `start` names it (`namespace/name`).
    var path: String { namespace.isEmpty ? name : "\(namespace)/\(name)" }
}

/// What a watch reports about one change.
enum WatchEventType: String, Sendable {
    case added = "ADDED"
    case modified = "MODIFIED"
    case deleted = "DELETED"
}

/// One committed change, kept in the bounded history that watches replay from.
struct WatchRecord: Sendable {
    var resourceVersion: Int64
    var type: WatchEventType
    var groupResource: GroupResource
    var key: ObjectKey
    /// The object after the change (for DELETED: the object as it was deleted).
    var object: JSONValue
    /// The object before the change, so a watch with a selector can tell an object that stopped matching.
    var previous: JSONValue?
}

/// The objects in memory and etcd's one increasing revision counter.
///
/// Every write takes the next revision; it becomes the object's `metadata.resourceVersion` and a
/// history entry. Watches replay from the history; a resourceVersion older than what the history
/// still holds is "too old" (410 Gone), as after an etcd compaction.
struct ObjectStore: Sendable {
    private(set) var objects: [GroupResource: [ObjectKey: JSONValue]] = [:]
    /// The revision of the last write (the resourceVersion of a list taken now).
    private(set) var currentResourceVersion: Int64 = 1
    private(set) var history: [WatchRecord] = []
    /// Watches and continue tokens from a resourceVersion below this get 410 Gone.
    private(set) var oldestValidResourceVersion: Int64 = 1
    let historyLimit: Int

    init(historyLimit: Int = 10_000) {
        self.historyLimit = historyLimit
    }

    func object(_ groupResource: GroupResource, _ key: ObjectKey) -> JSONValue? {
        objects[groupResource]?[key]
    }

    /// The objects of a resource in key order, optionally in one namespace.
    func list(_ groupResource: GroupResource, namespace: String?) -> [(ObjectKey, JSONValue)] {
        let all = objects[groupResource] ?? [:]
        return all.filter { namespace == nil || $0.key.namespace == namespace }
            .sorted { $0.key < $1.key }
            .map { ($0.key, $0.value) }
    }

    /// Stores the object (or removes it for `.deleted`) under the next revision and records the
    /// change; returns the record with the object as stored.
    mutating func commit(
        _ type: WatchEventType, _ groupResource: GroupResource, _ key: ObjectKey, object: JSONValue,
        previous: JSONValue?
    ) -> WatchRecord {
        currentResourceVersion += 1
        var stored = object
        stored[path: ["metadata", "resourceVersion"]] = .string(String(currentResourceVersion))
        if type == .deleted {
            objects[groupResource]?[key] = nil
        } else {
            objects[groupResource, default: [:]][key] = stored
        }
        let record = WatchRecord(
            resourceVersion: currentResourceVersion, type: type, groupResource: groupResource, key: key,
            object: stored, previous: previous)
        history.append(record)
        if history.count > historyLimit {
            let dropped = history.count - historyLimit
            oldestValidResourceVersion = history[dropped - 1].resourceVersion
            history.removeFirst(dropped)
        }
        return record
    }

    /// The recorded changes after `resourceVersion`, or nil when some of them are no longer kept.
    func changes(after resourceVersion: Int64) -> [WatchRecord]? {
        guard resourceVersion >= oldestValidResourceVersion else { return nil }
        let start = history.firstIndex { $0.resourceVersion > resourceVersion } ?? history.endIndex
        return Array(history[start...])
    }

    /// Forgets the whole history: every resourceVersion handed out so far becomes too old. The
    /// counter moves on by one so that a client that lists again gets a resourceVersion it can
    /// watch from, as after a real compaction.
    mutating func compact() {
        history.removeAll()
        currentResourceVersion += 1
        oldestValidResourceVersion = currentResourceVersion
    }
}
