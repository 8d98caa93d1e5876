import AviaryJSON
import AviaryModel
import Foundation
import Yams

/// A manifest as a plain tree read straight from its YAML (or JSON) text, apart from the typed
/// decoding, so a test can compare what a resource encodes back to with what its file said.
/// Scalars resolve by their YAML tags; nulls are left out, as an encoded resource leaves out
/// absent optionals.
enum ManifestTree {
    /// The tree of the single document in `text`.
    static func of(_ text: String) throws -> JSONValue {
        guard let node = try Yams.compose(yaml: text) else { return .null }
        return value(of: node) ?? .null
    }

    /// The tree of encoded JSON.
    static func of(json: Data) throws -> JSONValue {
        withoutNulls(try JSONDecoder().decode(JSONValue.self, from: json)) ?? .null
    }

    private static func value(of node: Node) -> JSONValue? {
        switch node {
        case .scalar(let scalar):
            switch Tag.Name(rawValue: node.tag.rawValue) {
            case .null: return nil
            case .bool: return node.bool.map(JSONValue.bool) ?? .string(scalar.string)
            case .int: return node.int.map { JSONValue.integer(Int64($0)) } ?? .string(scalar.string)
            case .float: return node.float.map(JSONValue.double) ?? .string(scalar.string)
            default: return .string(scalar.string)
            }
        case .sequence(let sequence):
            return .array(sequence.map { value(of: $0) ?? .null })
        case .mapping(let mapping):
            var members: [String: JSONValue] = [:]
            for (key, member) in mapping {
                if let member = value(of: member) { members[key.string ?? "\(key)"] = member }
            }
            return .object(members)
        case .alias:
            return nil
        }
    }

    private static func withoutNulls(_ value: JSONValue) -> JSONValue? {
        switch value {
        case .null: return nil
        case .array(let elements): return .array(elements.map { withoutNulls($0) ?? .null })
        case .object(let members): return .object(members.compactMapValues(withoutNulls))
        default: return value
        }
    }

    /// The paths where `left` and `right` differ, for a readable failure.
    static func differences(_ left: JSONValue, _ right: JSONValue, at path: String = "") -> [String] {
        switch (left, right) {
        case (.object(let a), .object(let b)):
            return Set(a.keys).union(b.keys).sorted().flatMap { key in
                differences(a[key] ?? .null, b[key] ?? .null, at: path + "." + key)
            }
        case (.array(let a), .array(let b)) where a.count == b.count:
            return zip(a, b).enumerated().flatMap { differences($1.0, $1.1, at: path + "[\($0)]") }
        case (.integer(let a), .double(let b)), (.double(let b), .integer(let a)):
            return Double(a) == b ? [] : ["\(path): \(left) vs \(right)"]
        default:
            return left == right ? [] : ["\(path): \(left) vs \(right)"]
        }
    }
}
