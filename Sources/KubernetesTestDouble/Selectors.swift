import AviaryJSON
import Foundation

/// A `labelSelector` query parameter: `a=b`, `a==b`, `a!=b`, `a in (x,y)`, `a notin (x)`, `a`, `!a`.
struct LabelSelector: Sendable {
    enum Requirement: Sendable {
        case equals(String, String)
        case notEquals(String, String)
        case isIn(String, Set<String>)
        case notIn(String, Set<String>)
        case exists(String)
        case doesNotExist(String)
    }

    var requirements: [Requirement] = []

    /// Parses the selector; the error names the part that does not parse.
    init(_ text: String) throws(StatusError) {
        for part in Self.splitTopLevel(text) {
            let term = part.trimmingCharacters(in: .whitespaces)
            if term.isEmpty { continue }
            requirements.append(try Self.parseRequirement(term))
        }
    }

    init() {}

    func matches(_ labels: [String: JSONValue]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): return labels[key]?.stringValue == value
            case .notEquals(let key, let value): return labels[key]?.stringValue != value
            case .isIn(let key, let values): return labels[key]?.stringValue.map(values.contains) ?? false
            case .notIn(let key, let values): return !(labels[key]?.stringValue.map(values.contains) ?? false)
            case .exists(let key): return labels[key] != nil
            case .doesNotExist(let key): return labels[key] == nil
            }
        }
    }

    /// Splits on commas that are not inside `( )`.
    private static func splitTopLevel(_ text: String) -> [String] {
        var parts: [String] = []
        var current = ""
        var depth = 0
        for character in text {
            if character == "(" { depth += 1 }
            if character == ")" { depth -= 1 }
            if character == ",", depth == 0 {
                parts.append(current)
                current = ""
            } else {
                current.append(character)
            }
        }
        parts.append(current)
        return parts
    }

    private static func parseRequirement(_ term: String) throws(StatusError) -> Requirement {
        if term.hasPrefix("!") {
            return .doesNotExist(String(term.dropFirst()).trimmingCharacters(in: .whitespaces))
        }
        if let range = term.range(of: "!=") {
            return .notEquals(trim(term[..<range.lowerBound]), trim(term[range.upperBound...]))
        }
        if let range = term.range(of: "==") {
            return .equals(trim(term[..<range.lowerBound]), trim(term[range.upperBound...]))
        }
        if let range = term.range(of: "=") {
            return .equals(trim(term[..<range.lowerBound]), trim(term[range.upperBound...]))
        }
        let words = term.split(separator: " ", maxSplits: 1).map(String.init)
        if words.count == 2 {
            let rest = words[1].trimmingCharacters(in: .whitespaces)
            for (keyword, isIn) in [("in", true), ("notin", false)] where rest.hasPrefix(keyword) {
                let list = rest.dropFirst(keyword.count).trimmingCharacters(in: .whitespaces)
                guard list.hasPrefix("("), list.hasSuffix(")") else {
                    throw .badRequest("unable to parse requirement: found '\(list)', expected: '('")
                }
                let values = Set(list.dropFirst().dropLast().split(separator: ",").map { trim($0) })
                return isIn ? .isIn(words[0], values) : .notIn(words[0], values)
            }
            throw .badRequest("unable to parse requirement: found '\(rest)', expected: in, notin, =, ==, !=")
        }
        guard Self.isValidKey(term) else {
            throw .badRequest("unable to parse requirement: invalid label key \"\(term)\"")
        }
        return .exists(term)
    }

    private static func isValidKey(_ key: String) -> Bool {
        !key.isEmpty && key.allSatisfy { $0.isLetter || $0.isNumber || "-_./".contains($0) }
    }

    private static func trim(_ text: Substring) -> String {
        text.trimmingCharacters(in: .whitespaces)
    }
}

/// A `fieldSelector` query parameter; like the real server it accepts only the field labels the
/// resource supports (`metadata.name`, `metadata.namespace`, and a few per kind).
struct FieldSelector: Sendable {
    struct Requirement: Sendable {
        var field: String
        var value: String
        var isNegated: Bool
    }

    var requirements: [Requirement] = []

    init() {}

    init(_ text: String, resource: ResourceType) throws(StatusError) {
        for part in text.split(separator: ",") {
            let term = String(part).trimmingCharacters(in: .whitespaces)
            let requirement: Requirement
            if let range = term.range(of: "!=") {
                requirement = Requirement(
                    field: String(term[..<range.lowerBound]), value: String(term[range.upperBound...]), isNegated: true)
            } else if let range = term.range(of: "==") ?? term.range(of: "=") {
                requirement = Requirement(
                    field: String(term[..<range.lowerBound]), value: String(term[range.upperBound...]), isNegated: false)
            } else {
                throw .badRequest("invalid selector: '\(text)'; can't understand '\(term)'")
            }
            guard Self.supportedFields(resource).contains(requirement.field) else {
                throw .badRequest(
                    "field label not supported: \(requirement.field)")
            }
            requirements.append(requirement)
        }
    }

    func matches(_ object: JSONValue) -> Bool {
        requirements.allSatisfy { requirement in
            let path = requirement.field.split(separator: ".").map(String.init)
            let actual: String
            switch object[path: path] {
            case .string(let text): actual = text
            case .integer(let number): actual = String(number)
            case .bool(let flag): actual = String(flag)
            default: actual = ""
            }
            return (actual == requirement.value) != requirement.isNegated
        }
    }

    private static func supportedFields(_ resource: ResourceType) -> Set<String> {
        var fields: Set<String> = ["metadata.name", "metadata.namespace"]
        switch (resource.group, resource.resource) {
        case ("", "pods"): fields.formUnion(["spec.nodeName", "spec.restartPolicy", "status.phase", "status.podIP"])
        case ("", "secrets"): fields.insert("type")
        case ("", "events"):
            fields.formUnion([
                "involvedObject.kind", "involvedObject.namespace", "involvedObject.name", "involvedObject.uid",
                "involvedObject.apiVersion", "reason", "type", "source",
            ])
        case ("", "namespaces"): fields.insert("status.phase")
        case ("apps", "replicasets"): fields.insert("status.replicas")
        default: break
        }
        return fields
    }
}
