import AviaryJSON
import AviaryModel
import Foundation

/// The subset of Kubernetes JSONPath that web metrics use: `{$}`, `{$.data.ok}`, `{.data.ok}`,
/// `{$.items[0].value}`, `{$.items[-1]}`, `{$['key with.dot']}` and `{$.items[*].value}`.
///
/// Like Argo Rollouts, the first value the path selects is the result.
public struct JSONPath: Sendable, Equatable {
    /// One step of a path.
    public enum Step: Sendable, Equatable {
        /// A member of an object.
        case key(String)
        /// An element of a list; negative counts from the end.
        case index(Int)
        /// Every member or element.
        case wildcard
    }

    /// The steps, in order.
    public let steps: [Step]

    /// Parses `text`, with or without the surrounding `{}` and the leading `$`.
    public init(_ text: String) throws(JSONPathError) {
        var body = Substring(text.trimmingCharacters(in: .whitespaces))
        if body.hasPrefix("{") {
            guard body.hasSuffix("}") else { throw JSONPathError(path: text, reason: "missing closing }") }
            body = body.dropFirst().dropLast()
        }
        body = Substring(body.trimmingCharacters(in: .whitespaces))
        if body.hasPrefix("$") { body = body.dropFirst() }
        var steps: [Step] = []
        var rest = body
        while let first = rest.first {
            if first == "." {
                rest = rest.dropFirst()
                let name = rest.prefix { $0 != "." && $0 != "[" }
                guard !name.isEmpty else { throw JSONPathError(path: text, reason: "empty name after '.'") }
                steps.append(name == "*" ? .wildcard : .key(String(name)))
                rest = rest.dropFirst(name.count)
            } else if first == "[" {
                guard let close = rest.firstIndex(of: "]") else {
                    throw JSONPathError(path: text, reason: "missing ']'")
                }
                let inside = rest[rest.index(after: rest.startIndex)..<close].trimmingCharacters(in: .whitespaces)
                rest = rest[rest.index(after: close)...]
                if inside == "*" {
                    steps.append(.wildcard)
                } else if let index = Int(inside) {
                    steps.append(.index(index))
                } else if inside.count >= 2, let quote = inside.first, quote == "'" || quote == "\"",
                    inside.last == quote
                {
                    steps.append(.key(String(inside.dropFirst().dropLast())))
                } else {
                    throw JSONPathError(path: text, reason: "'[\(inside)]' is not an index, '*' or a quoted name")
                }
            } else if steps.isEmpty {
                // `{data.ok}` without the leading dot, as kubectl also accepts.
                let name = rest.prefix { $0 != "." && $0 != "[" }
                steps.append(.key(String(name)))
                rest = rest.dropFirst(name.count)
            } else {
                throw JSONPathError(path: text, reason: "unexpected '\(first)'")
            }
        }
        self.steps = steps
    }

    /// The values the path selects in `root`, in document order (object members by sorted key).
    public func select(in root: JSONValue) -> [JSONValue] {
        var current = [root]
        for step in steps {
            var next: [JSONValue] = []
            for value in current {
                switch (step, value) {
                case (.key(let name), .object(let object)):
                    if let member = object[name] { next.append(member) }
                case (.index(let index), .array(let list)):
                    let position = index < 0 ? list.count + index : index
                    if list.indices.contains(position) { next.append(list[position]) }
                case (.wildcard, .array(let list)):
                    next.append(contentsOf: list)
                case (.wildcard, .object(let object)):
                    next.append(contentsOf: object.keys.sorted().compactMap { object[$0] })
                default:
                    continue
                }
            }
            current = next
        }
        return current
    }
}

/// A JSONPath that cannot be parsed.
public struct JSONPathError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The path as written.
    public var path: String
    /// What is wrong with it.
    public var reason: String

    /// `jsonPath "{$.a[}": missing ']'`.
    public var description: String { "jsonPath \"\(path)\": \(reason)" }
}
