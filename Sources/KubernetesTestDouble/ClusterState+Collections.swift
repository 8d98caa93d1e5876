import AviaryJSON
import Foundation

/// What selects the objects of a list or a watch.
struct CollectionQuery: Sendable {
    var namespace: String?
    var labelSelector = LabelSelector()
    var fieldSelector = FieldSelector()
}

/// The continue token of a paged list: the list's resourceVersion and the key after which the
/// next page starts, in the real server's shape (base64 of `{"v":..,"rv":..,"start":..}`).
struct ContinueToken: Sendable, Equatable {
    var resourceVersion: Int64
    var start: String

    var encoded: String {
        let json: JSONValue = .object([
            "v": .string("meta.k8s.io/v1"), "rv": .integer(resourceVersion), "start": .string(start + "\u{0}"),
        ])
        return json.serialized().base64EncodedString()
            .replacingOccurrences(of: "+", with: "-").replacingOccurrences(of: "/", with: "_")
            .replacingOccurrences(of: "=", with: "")
    }

    init(resourceVersion: Int64, start: String) {
        self.resourceVersion = resourceVersion
        self.start = start
    }

    init(decoding text: String) throws(StatusError) {
        var base64 = text.replacingOccurrences(of: "-", with: "+").replacingOccurrences(of: "_", with: "/")
        while base64.count % 4 != 0 { base64 += "=" }
        guard let data = Data(base64Encoded: base64), let json = try? JSONValue(parsing: data),
            let resourceVersion = json["rv"]?.integerValue, let start = json["start"]?.stringValue
        else {
            throw .badRequest("continue key is not valid: incorrect encoded start resourceVersion (version meta.k8s.io/v1)")
        }
        self.resourceVersion = resourceVersion
        self.start = start.hasSuffix("\u{0}") ? String(start.dropLast()) : start
    }
}

extension ClusterState {
    static let expiredContinueMessage =
        "The provided continue parameter is too old to display a consistent list result. You can start a new "
        + "list without the continue parameter, or use the continue token in this response to retrieve the "
        + "remainder of the results. Continuing with the provided token results in an inconsistent list - "
        + "objects that were created, modified, or deleted between the time the first chunk was returned and "
        + "now may show up in the list."

    /// A list, paged by `limit` and `continue`: each page carries the list's resourceVersion (the
    /// first page's, as on the real server) and a token for the rest.
    func list(_ type: ResourceType, query: CollectionQuery, limit: Int?, continueToken: String?) throws(StatusError)
        -> JSONValue
    {
        var listResourceVersion = store.currentResourceVersion
        var start: String? = nil
        if let continueToken, !continueToken.isEmpty {
            let token = try ContinueToken(decoding: continueToken)
            if token.resourceVersion < store.oldestValidResourceVersion {
                throw .gone(Self.expiredContinueMessage)
            }
            listResourceVersion = token.resourceVersion
            start = token.start
        }
        var items = store.list(type.groupResource, namespace: query.namespace).filter { _, object in
            query.labelSelector.matches(object[path: ["metadata", "labels"]]?.objectValue ?? [:])
                && query.fieldSelector.matches(object)
        }
        if let start { items.removeAll { $0.0.path <= start } }
        var metadata: JSONValue = .object(["resourceVersion": .string(String(listResourceVersion))])
        if let limit, limit > 0, items.count > limit {
            let remaining = items.count - limit
            items = Array(items.prefix(limit))
            let token = ContinueToken(resourceVersion: listResourceVersion, start: items.last!.0.path)
            metadata["continue"] = .string(token.encoded)
            metadata["remainingItemCount"] = .integer(Int64(remaining))
        }
        return .object([
            "kind": .string(type.listKind), "apiVersion": .string(type.apiVersion), "metadata": metadata,
            "items": .array(items.map { present($0.1, as: type) }),
        ])
    }

    /// Opens a watch: replays the changes after `resourceVersion` (or sends every current object
    /// as ADDED when it is empty or "0"), then streams live changes. A resourceVersion older than
    /// the kept history ends the stream with an ERROR event carrying a 410 Expired Status.
    mutating func watch(
        _ type: ResourceType, query: CollectionQuery, resourceVersion: String?, sendInitialEvents: Bool?,
        allowBookmarks: Bool, sink: any WatchSink
    ) -> Int? {
        let watcher = Watcher(
            type: type, namespace: query.namespace, labelSelector: query.labelSelector,
            fieldSelector: query.fieldSelector, sink: sink)
        let requested = resourceVersion ?? ""
        let startsFromState = sendInitialEvents ?? (requested.isEmpty || requested == "0")
        if startsFromState {
            for (_, object) in store.list(type.groupResource, namespace: query.namespace) where watcher.selects(object) {
                watcher.send(WatchEventType.added.rawValue, present(object, as: type))
            }
            if sendInitialEvents == true, allowBookmarks {
                watcher.sendBookmark(resourceVersion: store.currentResourceVersion, initialEventsEnd: true)
            }
        } else {
            let from = Int64(requested) ?? 0
            guard let changes = store.changes(after: from) else {
                let status = StatusError.gone(
                    "too old resource version: \(requested) (\(store.oldestValidResourceVersion))")
                watcher.send("ERROR", status.statusObject)
                sink.end()
                return nil
            }
            for record in changes {
                if let (event, object) = watcher.event(for: record) {
                    watcher.send(event.rawValue, present(object, as: type))
                }
            }
        }
        return hub.add(watcher)
    }
}
