import AviaryJSON
import Foundation

/// Unknown and mistyped fields, as the real server's decoding finds them: unknown fields are
/// dropped, and reported as an error (`fieldValidation=Strict`), a warning (`Warn`, the server's
/// default) or not at all (`Ignore`). Built-in kinds use `FieldSchema`; custom resources use the
/// CRD's structural `openAPIV3Schema` (honouring `x-kubernetes-preserve-unknown-fields`).
enum FieldValidation {
    static func check(
        _ object: JSONValue, type: ResourceType, registry: ResourceRegistry, mode: FieldValidationMode
    ) throws(StatusError) -> (JSONValue, [String]) {
        var unknown: [String] = []
        let pruned: JSONValue
        let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
        if type.isCustom {
            guard let schema = type.schema else { return (object, []) }
            var typeErrors: [FieldError] = []
            var root = object
            let metadata = object["metadata"]
            root["metadata"] = nil
            var checked = walkCustom(root, schema: schema, path: "", isRoot: true, unknown: &unknown, errors: &typeErrors)
            if let metadata {
                checked["metadata"] = try walkBuiltIn(metadata, schema: .objectMeta, path: "metadata", parent: nil,
                    type: type, unknown: &unknown)
            }
            if !typeErrors.isEmpty { throw .invalid(type, name: name, causes: typeErrors) }
            pruned = checked
        } else if let schema = FieldSchema.builtIn(type) {
            pruned = try walkBuiltIn(object, schema: schema, path: "", parent: nil, type: type, unknown: &unknown)
        } else {
            return (object, [])
        }
        let messages = unknown.map { "unknown field \"\($0)\"" }
        switch mode {
        case .ignore: return (pruned, [])
        case .warn: return (pruned, messages)
        case .strict:
            guard messages.isEmpty else {
                throw .badRequest(
                    "\(type.kind) in version \"\(type.version)\" cannot be handled as a \(type.kind): "
                        + "strict decoding error: " + messages.joined(separator: ", "))
            }
            return (pruned, [])
        }
    }

    private static func join(_ path: String, _ key: String) -> String {
        path.isEmpty ? key : "\(path).\(key)"
    }

    private static func walkBuiltIn(
        _ value: JSONValue, schema: FieldSchema, path: String, parent: String?, type: ResourceType,
        unknown: inout [String]
    ) throws(StatusError) -> JSONValue {
        if value == .null { return value }
        func mismatch(_ goType: String) -> StatusError {
            let field = parent.map { "\($0).\(path)" } ?? path
            return .badRequest(
                "\(type.kind) in version \"\(type.version)\" cannot be handled as a \(type.kind): json: cannot "
                    + "unmarshal \(value.typeName) into Go struct field \(field) of type \(goType)")
        }
        switch schema {
        case .any: return value
        case .string:
            guard value.stringValue != nil else { throw mismatch("string") }
            return value
        case .boolean:
            guard value.boolValue != nil else { throw mismatch("bool") }
            return value
        case .integer(let goType):
            guard case .integer = value else { throw mismatch(goType) }
            return value
        case .array(let element):
            guard let elements = value.arrayValue else { throw mismatch("[]") }
            var result: [JSONValue] = []
            for (index, item) in elements.enumerated() {
                result.append(
                    try walkBuiltIn(item, schema: element, path: "\(path)[\(index)]", parent: parent, type: type,
                        unknown: &unknown))
            }
            return .array(result)
        case .map(let element):
            guard let members = value.objectValue else { throw mismatch("map[string]") }
            var result: [String: JSONValue] = [:]
            for (key, member) in members {
                result[key] = try walkBuiltIn(member, schema: element, path: join(path, key), parent: parent,
                    type: type, unknown: &unknown)
            }
            return .object(result)
        case .object(let goType, let fields):
            guard let members = value.objectValue else { throw mismatch(goType) }
            var result: [String: JSONValue] = [:]
            for key in members.keys.sorted() {
                guard let fieldSchema = fields[key] else {
                    unknown.append(join(path, key))
                    continue
                }
                result[key] = try walkBuiltIn(members[key]!, schema: fieldSchema, path: join(path, key),
                    parent: goType, type: type, unknown: &unknown)
            }
            return .object(result)
        }
    }

    private static func walkCustom(
        _ value: JSONValue, schema: JSONValue, path: String, isRoot: Bool, unknown: inout [String],
        errors: inout [FieldError]
    ) -> JSONValue {
        if value == .null { return value }
        let declared = schema["type"]?.stringValue
        let isIntOrString = schema["x-kubernetes-int-or-string"]?.boolValue == true
        if let declared, !isIntOrString, !matches(value, declared) {
            errors.append(
                FieldError(
                    field: path, reason: "FieldValueTypeInvalid",
                    message: "Invalid value: \"\(value.typeName)\": \(path) in body must be of type \(declared): "
                        + "\"\(value.typeName)\""))
            return value
        }
        let preservesUnknown = schema["x-kubernetes-preserve-unknown-fields"]?.boolValue == true
        if let elements = value.arrayValue {
            guard let items = schema["items"] else { return value }
            return .array(
                elements.enumerated().map {
                    walkCustom($0.element, schema: items, path: "\(path)[\($0.offset)]", isRoot: false,
                        unknown: &unknown, errors: &errors)
                })
        }
        guard let members = value.objectValue else { return value }
        let properties = schema["properties"]?.objectValue
        let additional = schema["additionalProperties"]
        let isEmbedded = isRoot || schema["x-kubernetes-embedded-resource"]?.boolValue == true
        if properties == nil, additional == nil, declared != "object", !isRoot { return value }
        var result: [String: JSONValue] = [:]
        for key in members.keys.sorted() {
            let member = members[key]!
            if let propertySchema = properties?[key] {
                result[key] = walkCustom(member, schema: propertySchema, path: join(path, key), isRoot: false,
                    unknown: &unknown, errors: &errors)
            } else if isEmbedded, ["apiVersion", "kind", "metadata"].contains(key) {
                result[key] = member
            } else if let additional, additional.objectValue != nil {
                result[key] = walkCustom(member, schema: additional, path: join(path, key), isRoot: false,
                    unknown: &unknown, errors: &errors)
            } else if additional?.boolValue == true || preservesUnknown {
                result[key] = member
            } else {
                unknown.append(join(path, key))
            }
        }
        return .object(result)
    }

    private static func matches(_ value: JSONValue, _ declared: String) -> Bool {
        switch (declared, value) {
        case ("object", .object), ("array", .array), ("string", .string), ("boolean", .bool), ("integer", .integer),
            ("number", .integer), ("number", .double):
            return true
        case ("integer", .double(let number)): return number.rounded() == number
        default: return false
        }
    }
}
