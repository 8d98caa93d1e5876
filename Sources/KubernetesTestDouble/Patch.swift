import AviaryJSON
import Foundation

/// The patch formats of PATCH requests: JSON merge patch (RFC 7386), JSON patch (RFC 6902),
/// strategic merge patch (built-in kinds only) and the merge of server-side apply.
enum Patch {
    // MARK: JSON merge patch

    static func merge(_ target: JSONValue, _ patch: JSONValue) -> JSONValue {
        guard let patchMembers = patch.objectValue else { return patch }
        var result = target.objectValue ?? [:]
        for (key, value) in patchMembers {
            if value == .null {
                result[key] = nil
            } else {
                result[key] = merge(result[key] ?? .null, value)
            }
        }
        return .object(result)
    }

    // MARK: JSON patch

    static func json(_ target: JSONValue, _ operations: JSONValue) throws(StatusError) -> JSONValue {
        guard let list = operations.arrayValue else {
            throw .badRequest("json: cannot unmarshal object into Go value of type jsonpatch.Patch")
        }
        var document = target
        for operation in list {
            let op = operation["op"]?.stringValue ?? ""
            let path = try pointer(operation["path"]?.stringValue)
            switch op {
            case "add": document = try set(document, path, operation["value"] ?? .null, inserting: true)
            case "replace":
                _ = try value(document, at: path)
                document = try set(document, path, operation["value"] ?? .null, inserting: false)
            case "remove": document = try remove(document, path)
            case "move", "copy":
                let from = try pointer(operation["from"]?.stringValue)
                let moved = try value(document, at: from)
                if op == "move" { document = try remove(document, from) }
                document = try set(document, path, moved, inserting: true)
            case "test":
                guard try value(document, at: path) == operation["value"] ?? .null else {
                    throw invalidPatch("testing value /\(path.joined(separator: "/")) failed: test failed")
                }
            default:
                throw invalidPatch("Unexpected kind: \(op)")
            }
        }
        return document
    }

    private static func invalidPatch(_ message: String) -> StatusError {
        StatusError(code: 422, reason: "Invalid", message: message)
    }

    private static func pointer(_ text: String?) throws(StatusError) -> [String] {
        guard let text, text.isEmpty || text.hasPrefix("/") else {
            throw invalidPatch("JSON pointer must be empty or start with a \"/\": \(text ?? "missing path")")
        }
        if text.isEmpty { return [] }
        return text.dropFirst().split(separator: "/", omittingEmptySubsequences: false).map {
            $0.replacingOccurrences(of: "~1", with: "/").replacingOccurrences(of: "~0", with: "~")
        }
    }

    private static func value(_ document: JSONValue, at path: [String]) throws(StatusError) -> JSONValue {
        var current = document
        for token in path {
            if let members = current.objectValue, let next = members[token] {
                current = next
            } else if let elements = current.arrayValue, let index = Int(token), elements.indices.contains(index) {
                current = elements[index]
            } else {
                throw invalidPatch("doc is missing path: \"/\(path.joined(separator: "/"))\": missing value")
            }
        }
        return current
    }

    private static func set(_ document: JSONValue, _ path: [String], _ newValue: JSONValue, inserting: Bool)
        throws(StatusError) -> JSONValue
    {
        guard let token = path.first else { return newValue }
        let rest = Array(path.dropFirst())
        if var members = document.objectValue {
            if rest.isEmpty {
                members[token] = newValue
            } else {
                guard let child = members[token] else {
                    throw invalidPatch("doc is missing path: \"/\(path.joined(separator: "/"))\": missing value")
                }
                members[token] = try set(child, rest, newValue, inserting: inserting)
            }
            return .object(members)
        }
        if var elements = document.arrayValue {
            let index = token == "-" ? elements.count : Int(token) ?? -1
            if rest.isEmpty {
                if inserting, index >= 0, index <= elements.count {
                    elements.insert(newValue, at: index)
                } else if !inserting, elements.indices.contains(index) {
                    elements[index] = newValue
                } else {
                    throw invalidPatch("add operation does not apply: doc is missing path: \"/\(token)\"")
                }
            } else {
                guard elements.indices.contains(index) else {
                    throw invalidPatch("doc is missing path: \"/\(path.joined(separator: "/"))\": missing value")
                }
                elements[index] = try set(elements[index], rest, newValue, inserting: inserting)
            }
            return .array(elements)
        }
        throw invalidPatch("doc is missing path: \"/\(path.joined(separator: "/"))\": missing value")
    }

    private static func remove(_ document: JSONValue, _ path: [String]) throws(StatusError) -> JSONValue {
        guard let token = path.first else { return .null }
        let rest = Array(path.dropFirst())
        if var members = document.objectValue, let child = members[token] {
            members[token] = rest.isEmpty ? nil : try remove(child, rest)
            return .object(members)
        }
        if var elements = document.arrayValue, let index = Int(token), elements.indices.contains(index) {
            if rest.isEmpty {
                elements.remove(at: index)
            } else {
                elements[index] = try remove(elements[index], rest)
            }
            return .array(elements)
        }
        throw invalidPatch("remove operation does not apply: doc is missing path: \"/\(path.joined(separator: "/"))\"")
    }

    // MARK: Strategic merge patch

    /// The merge key of a list of a built-in kind (`patchMergeKey` in the Go types), by the
    /// list's field name and where it sits; nil means the list is replaced whole.
    static func mergeKey(_ path: [String]) -> String? {
        guard let field = path.last else { return nil }
        let inContainer = path.dropLast().contains { ["containers", "initContainers", "ephemeralContainers"].contains($0) }
        switch field {
        case "containers", "initContainers", "ephemeralContainers", "env", "volumes", "imagePullSecrets",
            "resourceClaims", "schedulingGates":
            return "name"
        case "ports": return inContainer ? "containerPort" : "port"
        case "volumeMounts": return "mountPath"
        case "volumeDevices": return "devicePath"
        case "hostAliases": return "ip"
        case "ownerReferences": return "uid"
        case "conditions": return "type"
        case "topologySpreadConstraints": return "topologyKey"
        default: return nil
        }
    }

    /// Lists of strings merged as sets (`patchStrategy:"merge"` on a primitive list).
    static func isMergedPrimitiveList(_ path: [String]) -> Bool {
        path == ["metadata", "finalizers"]
    }

    static func strategic(_ target: JSONValue, _ patch: JSONValue, path: [String]) throws(StatusError) -> JSONValue {
        guard let patchMembers = patch.objectValue else { return patch }
        if patchMembers["$patch"]?.stringValue == "replace" {
            var replaced = patchMembers
            replaced["$patch"] = nil
            return .object(replaced)
        }
        var result = target.objectValue ?? [:]
        var orders: [String: [JSONValue]] = [:]
        for (key, value) in patchMembers {
            if key == "$patch" || key == "$retainKeys" { continue }
            if key.hasPrefix("$setElementOrder/") {
                orders[String(key.dropFirst("$setElementOrder/".count))] = value.arrayValue ?? []
                continue
            }
            if key.hasPrefix("$deleteFromPrimitiveList/") {
                let field = String(key.dropFirst("$deleteFromPrimitiveList/".count))
                let removed = value.arrayValue ?? []
                if let elements = result[field]?.arrayValue {
                    result[field] = .array(elements.filter { !removed.contains($0) })
                }
                continue
            }
            if value == .null {
                result[key] = nil
                continue
            }
            if value.objectValue?["$patch"]?.stringValue == "delete" {
                result[key] = nil
                continue
            }
            let childPath = path + [key]
            if let patchElements = value.arrayValue {
                result[key] = try mergeList(result[key]?.arrayValue ?? [], patchElements, path: childPath)
            } else if value.objectValue != nil {
                result[key] = try strategic(result[key] ?? .object([:]), value, path: childPath)
            } else {
                result[key] = value
            }
        }
        if let retained = patchMembers["$retainKeys"]?.arrayValue?.compactMap(\.stringValue) {
            result = result.filter { retained.contains($0.key) }
        }
        for (field, order) in orders {
            if let elements = result[field]?.arrayValue {
                result[field] = .array(reorder(elements, by: order, key: mergeKey(path + [field])))
            }
        }
        return .object(result)
    }

    private static func mergeList(_ current: [JSONValue], _ patch: [JSONValue], path: [String]) throws(StatusError)
        -> JSONValue
    {
        if patch.contains(where: { $0.objectValue?["$patch"]?.stringValue == "replace" }) {
            return .array(patch.filter { $0.objectValue?["$patch"] == nil })
        }
        if isMergedPrimitiveList(path) {
            var merged = current
            for element in patch where !merged.contains(element) { merged.append(element) }
            return .array(merged)
        }
        guard let key = mergeKey(path), patch.allSatisfy({ $0.objectValue != nil }) else { return .array(patch) }
        var merged = current
        for element in patch {
            let keyValue = element[key]
            let index = merged.firstIndex { $0[key] == keyValue }
            if element["$patch"]?.stringValue == "delete" {
                if let index { merged.remove(at: index) }
            } else if let index {
                merged[index] = try strategic(merged[index], element, path: path)
            } else {
                var added = element
                added["$patch"] = nil
                merged.append(try strategic(.object([:]), added, path: path))
            }
        }
        return .array(merged)
    }

    private static func reorder(_ elements: [JSONValue], by order: [JSONValue], key: String?) -> [JSONValue] {
        let identity = { (element: JSONValue) -> JSONValue? in key.map { element[$0] ?? .null } ?? element }
        let position = { (element: JSONValue) -> Int in
            order.firstIndex { identity($0) == identity(element) || $0 == element } ?? Int.max
        }
        return elements.enumerated().sorted { (position($0.element), $0.offset) < (position($1.element), $1.offset) }
            .map(\.element)
    }

    // MARK: Server-side apply

    /// Merges an applied configuration into the live object: fields it sets win, keyed lists merge
    /// by their keys, and fields the same manager applied last time but no longer does are removed.
    static func applyConfiguration(_ live: JSONValue, _ applied: JSONValue, previous: JSONValue?, path: [String])
        -> JSONValue
    {
        if let appliedMembers = applied.objectValue, var result = live.objectValue {
            for (key, value) in appliedMembers {
                result[key] = applyConfiguration(result[key] ?? .null, value, previous: previous?[key], path: path + [key])
            }
            for key in previous?.objectValue?.keys ?? [String: JSONValue]().keys where appliedMembers[key] == nil {
                result[key] = nil
            }
            return .object(result)
        }
        if let appliedElements = applied.arrayValue, let liveElements = live.arrayValue, let key = mergeKey(path),
            appliedElements.allSatisfy({ $0.objectValue != nil })
        {
            let previousElements = previous?.arrayValue ?? []
            var merged = liveElements.filter { element in
                let wasApplied = previousElements.contains { $0[key] == element[key] }
                return !wasApplied || appliedElements.contains { $0[key] == element[key] }
            }
            for element in appliedElements {
                let earlier = previousElements.first { $0[key] == element[key] }
                if let index = merged.firstIndex(where: { $0[key] == element[key] }) {
                    merged[index] = applyConfiguration(merged[index], element, previous: earlier, path: path)
                } else {
                    merged.append(element)
                }
            }
            return .array(merged)
        }
        return applied
    }
}
