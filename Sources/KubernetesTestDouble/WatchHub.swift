import AviaryJSON
import Foundation

/// Where a watch stream's events go: the HTTP layer writes each line as a chunk of the response.
public protocol WatchSink: Sendable {
    /// Sends one watch event line (`{"type":...,"object":...}` and a newline).
    func send(_ line: Data)
    /// Ends the stream: the response ends and the connection closes, without an error event.
    func end()
}

/// One open watch: what it selects and where its events go.
struct Watcher: Sendable {
    var type: ResourceType
    var namespace: String?
    var labelSelector: LabelSelector
    var fieldSelector: FieldSelector
    var sink: any WatchSink

    func selects(_ object: JSONValue) -> Bool {
        labelSelector.matches(object[path: ["metadata", "labels"]]?.objectValue ?? [:])
            && fieldSelector.matches(object)
    }

    /// The event this watcher sees for a change, if any: an object that stops matching a selector
    /// is DELETED for it, one that starts matching is ADDED, as on the real server.
    func event(for record: WatchRecord) -> (WatchEventType, JSONValue)? {
        guard record.groupResource == type.groupResource else { return nil }
        if let namespace, record.key.namespace != namespace { return nil }
        let matchesNow = selects(record.object)
        switch record.type {
        case .added: return matchesNow ? (.added, record.object) : nil
        case .deleted: return matchesNow ? (.deleted, record.object) : nil
        case .modified:
            let matchedBefore = record.previous.map(selects) ?? false
            switch (matchedBefore, matchesNow) {
            case (true, true): return (.modified, record.object)
            case (false, true): return (.added, record.object)
            case (true, false): return (.deleted, record.object)
            case (false, false): return nil
            }
        }
    }

    func send(_ type: String, _ object: JSONValue) {
        sink.send(WatchHub.line(type, object))
    }

    /// A BOOKMARK carries only the kind and the resourceVersion the client may resume from.
    func sendBookmark(resourceVersion: Int64, initialEventsEnd: Bool = false) {
        var metadata: JSONValue = .object(["resourceVersion": .string(String(resourceVersion))])
        if initialEventsEnd {
            metadata["annotations"] = .object(["k8s.io/initial-events-end": .string("true")])
        }
        send(
            "BOOKMARK",
            .object(["kind": .string(type.kind), "apiVersion": .string(type.apiVersion), "metadata": metadata]))
    }
}

/// The open watches and the fan-out of committed changes to them.
struct WatchHub: Sendable {
    private(set) var watchers: [Int: Watcher] = [:]
    private var nextID = 1

    mutating func add(_ watcher: Watcher) -> Int {
        let id = nextID
        nextID += 1
        watchers[id] = watcher
        return id
    }

    mutating func remove(_ id: Int) {
        watchers[id] = nil
    }

    func publish(_ record: WatchRecord) {
        for watcher in watchers.values {
            if let (type, object) = watcher.event(for: record) {
                watcher.send(type.rawValue, object)
            }
        }
    }

    /// Ends every open stream at once (the control API's `drop-watches`).
    mutating func endAll() {
        for watcher in watchers.values { watcher.sink.end() }
        watchers.removeAll()
    }

    /// Ends the watches of a resource that stopped being served (its CRD was deleted).
    mutating func endAll(of groupResource: GroupResource) {
        for (id, watcher) in watchers where watcher.type.groupResource == groupResource {
            watcher.sink.end()
            watchers[id] = nil
        }
    }

    static func line(_ type: String, _ object: JSONValue) -> Data {
        var data = JSONValue.object(["type": .string(type), "object": object]).serialized()
        data.append(UInt8(ascii: "\n"))
        return data
    }
}
