import AviaryJSON
import Foundation

/// What creating a CustomResourceDefinition does on a real cluster: its resource is served (and
/// listed by discovery) under its names, scope and versions, and the CRD's status says so.
enum CustomResources {
    /// The resource types a CRD object serves, one per served version.
    static func types(of crd: JSONValue) -> [ResourceType] {
        guard let spec = crd["spec"], let group = spec["group"]?.stringValue,
            let names = spec["names"], let plural = names["plural"]?.stringValue,
            let kind = names["kind"]?.stringValue
        else { return [] }
        let versions = spec["versions"]?.arrayValue ?? []
        return versions.compactMap { version in
            guard let name = version["name"]?.stringValue, version["served"]?.boolValue != false else { return nil }
            return ResourceType(
                group: group, version: name, resource: plural,
                singular: names["singular"]?.stringValue ?? kind.lowercased(), kind: kind,
                listKind: names["listKind"]?.stringValue ?? kind + "List",
                isNamespaced: spec["scope"]?.stringValue != "Cluster",
                shortNames: names["shortNames"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                categories: names["categories"]?.arrayValue?.compactMap(\.stringValue) ?? [],
                hasStatusSubresource: version[path: ["subresources", "status"]] != nil,
                isCustom: true, schema: version[path: ["schema", "openAPIV3Schema"]])
        }
    }

    static func afterWrite(_ record: WatchRecord, state: inout ClusterState) {
        let crd = record.object
        guard let group = crd[path: ["spec", "group"]]?.stringValue,
            let plural = crd[path: ["spec", "names", "plural"]]?.stringValue
        else { return }
        let groupResource = GroupResource(group: group, resource: plural)
        if record.type == .deleted {
            state.registry.unregister(groupResource)
            state.hub.endAll(of: groupResource)
            for (key, _) in state.store.list(groupResource, namespace: nil) {
                _ = state.store.commit(.deleted, groupResource, key, object: state.store.object(groupResource, key)!,
                    previous: nil)
            }
            return
        }
        state.registry.register(types(of: crd), forGroupResource: groupResource)
        let status = established(crd)
        if crd["status"] != status { state.setStatus(record.groupResource, record.key, status) }
    }

    private static func established(_ crd: JSONValue) -> JSONValue {
        let condition = { (type: String, reason: String, message: String) -> JSONValue in
            .object([
                "type": .string(type), "status": .string("True"), "reason": .string(reason),
                "message": .string(message),
                "lastTransitionTime": crd[path: ["metadata", "creationTimestamp"]] ?? .string(Timestamp.now()),
            ])
        }
        let storage = (crd[path: ["spec", "versions"]]?.arrayValue ?? []).filter { $0["storage"]?.boolValue == true }
        return .object([
            "acceptedNames": crd[path: ["spec", "names"]] ?? .object([:]),
            "conditions": .array([
                condition("NamesAccepted", "NoConflicts", "no conflicts found"),
                condition("Established", "InitialNamesAccepted", "the initial names have been accepted"),
            ]),
            "storedVersions": .array(storage.compactMap { $0["name"] }),
        ])
    }
}
