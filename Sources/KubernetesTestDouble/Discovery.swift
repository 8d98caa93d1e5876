import AviaryJSON
import Foundation

/// The discovery documents kubectl and client-go read to map kinds to URLs: `/api`, `/apis`,
/// and an APIResourceList per group version (legacy discovery; clients fall back to it when the
/// server answers `/api` and `/apis` with plain JSON instead of aggregated discovery).
enum Discovery {
    static let serverVersion: JSONValue = .object([
        "major": .string("1"), "minor": .string("32"), "gitVersion": .string("v1.32.0-aviary-test"),
        "gitCommit": .string("0000000000000000000000000000000000000000"), "gitTreeState": .string("clean"),
        "buildDate": .string("2026-01-01T00:00:00Z"), "goVersion": .string("go1.23"), "compiler": .string("gc"),
        "platform": .string("linux/amd64"),
    ])

    static func coreVersions(serverAddress: String) -> JSONValue {
        .object([
            "kind": .string("APIVersions"), "versions": .array([.string("v1")]),
            "serverAddressByClientCIDRs": .array([
                .object(["clientCIDR": .string("0.0.0.0/0"), "serverAddress": .string(serverAddress)])
            ]),
        ])
    }

    static func groupList(_ registry: ResourceRegistry) -> JSONValue {
        var groups: [String: [String]] = [:]
        var order: [String] = []
        for (group, version) in registry.groupVersions where !group.isEmpty {
            if groups[group] == nil { order.append(group) }
            groups[group, default: []].append(version)
        }
        return .object([
            "kind": .string("APIGroupList"), "apiVersion": .string("v1"),
            "groups": .array(order.map { group(named: $0, versions: groups[$0]!) }),
        ])
    }

    static func group(named name: String, versions: [String]) -> JSONValue {
        let entries = versions.map { JSONValue.object(["groupVersion": .string("\(name)/\($0)"), "version": .string($0)]) }
        return .object([
            "kind": .string("APIGroup"), "apiVersion": .string("v1"), "name": .string(name),
            "versions": .array(entries), "preferredVersion": entries[0],
        ])
    }

    static func group(_ registry: ResourceRegistry, named name: String) -> JSONValue? {
        let versions = registry.groupVersions.filter { $0.group == name }.map(\.version)
        return versions.isEmpty ? nil : group(named: name, versions: versions)
    }

    static func resourceList(_ registry: ResourceRegistry, group: String, version: String) -> JSONValue? {
        let types = registry.types.filter { $0.group == group && $0.version == version }
        guard !types.isEmpty else { return nil }
        var resources: [JSONValue] = []
        for type in types {
            var entry: JSONValue = .object([
                "name": .string(type.resource), "singularName": .string(type.singular),
                "namespaced": .bool(type.isNamespaced), "kind": .string(type.kind),
                "verbs": .array(type.verbs.map(JSONValue.string)),
                "storageVersionHash": .string(String(type.qualifiedName.utf8.reduce(5381) { ($0 &* 33 &+ Int($1)) & 0xFFFFFF }, radix: 16)),
            ])
            if !type.shortNames.isEmpty { entry["shortNames"] = .array(type.shortNames.map(JSONValue.string)) }
            if !type.categories.isEmpty { entry["categories"] = .array(type.categories.map(JSONValue.string)) }
            resources.append(entry)
            if type.hasStatusSubresource {
                resources.append(
                    .object([
                        "name": .string("\(type.resource)/status"), "singularName": .string(""),
                        "namespaced": .bool(type.isNamespaced), "kind": .string(type.kind),
                        "verbs": .array(["get", "patch", "update"].map(JSONValue.string)),
                    ]))
            }
        }
        return .object([
            "kind": .string("APIResourceList"), "apiVersion": .string("v1"),
            "groupVersion": .string(group.isEmpty ? version : "\(group)/\(version)"),
            "resources": .array(resources),
        ])
    }
}
