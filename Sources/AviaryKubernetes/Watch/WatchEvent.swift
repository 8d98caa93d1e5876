import AviaryJSON
import Foundation

/// One event of a watch stream.
public struct WatchEvent: Sendable, Hashable, Decodable {
    /// The kind of event.
    public enum EventType: String, Sendable, Hashable, Decodable {
        /// An object was created (or is new to this watch).
        case added = "ADDED"
        /// An object changed.
        case modified = "MODIFIED"
        /// An object was deleted; `object` is its last state.
        case deleted = "DELETED"
        /// Only `object.metadata.resourceVersion` is meaningful: the watch has seen everything up to it.
        case bookmark = "BOOKMARK"
        /// The watch failed; `object` is a ``Status`` (code 410 means the resourceVersion is too old).
        case error = "ERROR"
    }

    /// The kind of event.
    public var type: EventType
    /// The object, or a Status for ``EventType/error``.
    public var object: JSONValue

    /// An event.
    public init(type: EventType, object: JSONValue) {
        self.type = type
        self.object = object
    }

    /// An event from one line of a watch stream.
    init(parsing line: some Collection<UInt8>) throws {
        let value = try JSONValue(parsing: line)
        guard let typeName = value["type"]?.stringValue else {
            throw UnexpectedShape("a watch event needs a string member type")
        }
        guard let type = EventType(rawValue: typeName) else {
            throw UnexpectedShape("unknown watch event type \(typeName)")
        }
        guard let object = value["object"] else {
            throw UnexpectedShape("a watch event needs a member object")
        }
        self.init(type: type, object: object)
    }

    /// `object.metadata.resourceVersion`.
    public var resourceVersion: String? { object["metadata"]?["resourceVersion"]?.stringValue }

    /// The Status of an ERROR event.
    public var status: Status? {
        guard type == .error else { return nil }
        return try? object.decoded(as: Status.self)
    }
}

/// Splits a watch response body into events as bytes arrive: one JSON object per line (newline-delimited
/// JSON), lines possibly split across and joined within network reads.
public struct WatchLineParser: Sendable {
    /// A line that is not a watch event.
    public struct Malformed: Error, Sendable, CustomStringConvertible {
        /// The line, cut to 200 bytes.
        public var line: String
        /// The decoder's reason.
        public var reason: String
        /// `watch line "...": reason`.
        public var description: String { "watch line \"\(line)\" is not an event: \(reason)" }
    }

    private var pending: [UInt8] = []

    /// An empty parser.
    public init() {}

    /// Bytes of a line not yet ended by a newline.
    public var bufferedByteCount: Int { pending.count }

    /// Feeds received bytes; returns the events of every line they complete, in order.
    public mutating func append<Bytes: Collection>(_ bytes: Bytes) throws(Malformed) -> [WatchEvent]
    where Bytes.Element == UInt8 {
        pending.append(contentsOf: bytes)
        guard pending.contains(UInt8(ascii: "\n")) else { return [] }
        var events: [WatchEvent] = []
        var lineStart = 0
        for index in pending.indices where pending[index] == UInt8(ascii: "\n") {
            var line = pending[lineStart..<index]
            lineStart = index + 1
            if line.last == UInt8(ascii: "\r") { line = line.dropLast() }
            if line.allSatisfy({ $0 == UInt8(ascii: " ") || $0 == UInt8(ascii: "\t") }) { continue }
            do {
                events.append(try WatchEvent(parsing: line))
            } catch {
                throw Malformed(line: String(decoding: line.prefix(200), as: UTF8.self), reason: oneLine(error))
            }
        }
        pending.removeFirst(lineStart)
        return events
    }
}
