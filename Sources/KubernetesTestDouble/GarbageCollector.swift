import AviaryJSON
import Foundation

/// Owner-reference garbage collection: when an object goes, the objects that name it in
/// `metadata.ownerReferences` go too (background and foreground cascade), or lose that
/// reference (`propagationPolicy=Orphan`).
enum GarbageCollector {
    static func collect(owner: JSONValue, policy: String?, state: inout ClusterState) {
        guard let uid = owner[path: ["metadata", "uid"]]?.stringValue else { return }
        var dependents: [(GroupResource, ObjectKey, JSONValue)] = []
        for (groupResource, objects) in state.store.objects {
            for (key, object) in objects {
                let references = object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []
                if references.contains(where: { $0["uid"]?.stringValue == uid }) {
                    dependents.append((groupResource, key, object))
                }
            }
        }
        for (groupResource, key, object) in dependents.sorted(by: { $0.1 < $1.1 }) {
            if policy == "Orphan" {
                var orphaned = object
                let references = object[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []
                let remaining = references.filter { $0["uid"]?.stringValue != uid }
                orphaned[path: ["metadata", "ownerReferences"]] = remaining.isEmpty ? nil : .array(remaining)
                state.writeStored(groupResource, key, object: orphaned)
            } else {
                state.deleteStored(groupResource, key, propagationPolicy: "Background")
            }
        }
    }
}
