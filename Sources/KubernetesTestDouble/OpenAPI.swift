import AviaryJSON
import Foundation

/// The OpenAPI v3 documents kubectl reads to learn that the server validates fields itself
/// (`fieldValidation` on the PATCH operation of a kind); with that, kubectl sends
/// `fieldValidation=Strict` instead of validating on the client. Paths only, no schemas.
enum OpenAPI {
    static func root(_ registry: ResourceRegistry) -> JSONValue {
        var paths: [String: JSONValue] = [:]
        for (group, version) in registry.groupVersions {
            let path = prefix(group: group, version: version)
            paths[path] = .object(["serverRelativeURL": .string("/openapi/v3/\(path)?hash=\(hash(registry, group, version))")])
        }
        return .object(["paths": .object(paths)])
    }

    static func prefix(group: String, version: String) -> String {
        group.isEmpty ? "api/\(version)" : "apis/\(group)/\(version)"
    }

    /// Changes when the group version's resources change, so kubectl's cache notices new CRDs.
    static func hash(_ registry: ResourceRegistry, _ group: String, _ version: String) -> String {
        let names = registry.types.filter { $0.group == group && $0.version == version }.map(\.resource).joined(separator: ",")
        return String(names.utf8.reduce(UInt64(14_695_981_039_346_656_037)) { ($0 ^ UInt64($1)) &* 1_099_511_628_211 }, radix: 16)
            .uppercased()
    }

    static func groupVersion(_ registry: ResourceRegistry, group: String, version: String) -> JSONValue? {
        let types = registry.types.filter { $0.group == group && $0.version == version }
        guard !types.isEmpty else { return nil }
        let query = { (name: String) -> JSONValue in
            .object([
                "name": .string(name), "in": .string("query"), "schema": .object(["type": .string("string")]),
                "uniqueItems": .bool(true),
            ])
        }
        var paths: [String: JSONValue] = [:]
        for type in types {
            let gvk: JSONValue = .object([
                "group": .string(type.group), "version": .string(type.version), "kind": .string(type.kind),
            ])
            let base = "/" + prefix(group: group, version: version)
                + (type.isNamespaced ? "/namespaces/{namespace}" : "") + "/\(type.resource)"
            let operation = { (action: String, parameters: [String]) -> JSONValue in
                .object([
                    "operationId": .string("\(action)\(type.kind)"),
                    "x-kubernetes-action": .string(action),
                    "x-kubernetes-group-version-kind": gvk,
                    "parameters": .array(parameters.map(query)),
                    "responses": .object(["200": .object(["description": .string("OK")])]),
                ])
            }
            let writeParameters = ["dryRun", "fieldManager", "fieldValidation"]
            paths[base] = .object([
                "get": operation("list", ["labelSelector", "fieldSelector", "limit", "continue", "watch"]),
                "post": operation("post", writeParameters),
            ])
            paths[base + "/{name}"] = .object([
                "get": operation("get", []),
                "put": operation("put", writeParameters),
                "patch": operation("patch", writeParameters + ["force"]),
                "delete": operation("delete", ["dryRun", "propagationPolicy"]),
            ])
            if type.hasStatusSubresource {
                paths[base + "/{name}/status"] = .object([
                    "get": operation("get", []), "put": operation("put", writeParameters),
                    "patch": operation("patch", writeParameters + ["force"]),
                ])
            }
        }
        return .object([
            "openapi": .string("3.0.0"),
            "info": .object(["title": .string("Kubernetes"), "version": .string("v1.32.0")]),
            "paths": .object(paths),
            "components": .object(["schemas": .object([:])]),
        ])
    }
}
