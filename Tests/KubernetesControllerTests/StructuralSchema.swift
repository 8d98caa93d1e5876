import AviaryJSON
import AviaryKubernetes
import Foundation
import Yams

/// The package root, from this file's path (Tests/KubernetesControllerTests/StructuralSchema.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The shared folder beside the package (in a worktree, a symlink; in CI, a copy), with Argo's published CRDs.
let argoCRDFolder =
    URL(fileURLWithPath: packageRoot).deletingLastPathComponent().appendingPathComponent("shared/upstream/argo-rollouts/crds")
    .path

/// Checks JSON values against a CRD's OpenAPI v3 structural schema the way the API server does for
/// a custom resource: every field must be declared (the server would prune an unknown one, losing
/// it silently), types must match (`integer` is a whole number, not a boolean), `required` members
/// must be present and `enum` values listed.
struct StructuralSchema {
    let root: [String: Any]

    /// The schema of `field` (`status`, `spec`) of the first served version of the CRD in `file`.
    static func argo(_ file: String, field: String) throws -> StructuralSchema {
        let text = try String(contentsOfFile: argoCRDFolder + "/" + file, encoding: .utf8)
        let crd = try Yams.load(yaml: text) as? [String: Any] ?? [:]
        let spec = crd["spec"] as? [String: Any] ?? [:]
        let version = (spec["versions"] as? [[String: Any]])?.first ?? [:]
        let schema = (version["schema"] as? [String: Any])?["openAPIV3Schema"] as? [String: Any] ?? [:]
        let properties = schema["properties"] as? [String: Any] ?? [:]
        guard let fieldSchema = properties[field] as? [String: Any] else {
            throw SchemaMissing(description: "\(file) has no schema for \(field)")
        }
        return StructuralSchema(root: fieldSchema)
    }

    struct SchemaMissing: Error, CustomStringConvertible {
        var description: String
    }

    /// The problems of `value` against the schema, each naming its field path; empty when it validates.
    func problems(of value: JSONValue, path: String = "status") -> [String] {
        problems(of: value, schema: root, path: path)
    }

    private func problems(of value: JSONValue, schema: [String: Any], path: String) -> [String] {
        if value == .null { return schema["nullable"] as? Bool == true ? [] : ["\(path): null is not allowed"] }
        if schema["x-kubernetes-int-or-string"] as? Bool == true {
            switch value {
            case .integer, .string: return []
            default: return ["\(path): must be an integer or a string"]
            }
        }
        if schema["x-kubernetes-preserve-unknown-fields"] as? Bool == true, schema["type"] == nil { return [] }
        var found: [String] = []
        if let allowed = schema["enum"] as? [Any], let text = value.stringValue,
            !allowed.contains(where: { "\($0)" == text })
        {
            found.append("\(path): \(text) is not one of \(allowed)")
        }
        switch (schema["type"] as? String, value) {
        case ("object", .object(let object)):
            for name in schema["required"] as? [String] ?? [] where object[name] == nil {
                found.append("\(path).\(name): is required")
            }
            let properties = schema["properties"] as? [String: Any]
            let additional = schema["additionalProperties"] as? [String: Any]
            for (name, member) in object.sorted(by: { $0.key < $1.key }) {
                if let memberSchema = properties?[name] as? [String: Any] {
                    found += problems(of: member, schema: memberSchema, path: "\(path).\(name)")
                } else if let additional {
                    found += problems(of: member, schema: additional, path: "\(path).\(name)")
                } else if schema["x-kubernetes-preserve-unknown-fields"] as? Bool != true {
                    found.append("\(path).\(name): unknown field (a real API server prunes it)")
                }
            }
        case ("array", .array(let array)):
            if let items = schema["items"] as? [String: Any] {
                for (index, item) in array.enumerated() {
                    found += problems(of: item, schema: items, path: "\(path)[\(index)]")
                }
            }
        case ("string", .string), ("integer", .integer), ("number", .integer), ("number", .double),
            ("boolean", .bool), (nil, _):
            break
        case (let type?, _):
            found.append("\(path): must be of type \(type), is \(value)")
        }
        return found
    }
}
