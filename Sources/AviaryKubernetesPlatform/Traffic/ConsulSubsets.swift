import AviaryJSON
import AviaryKubernetes
import AviaryModel
import AviaryPlatform
import Foundation

/// Argo's Consul plugin (`hashicorp/consul`): the ServiceSplitter named after the service gives its
/// canary subset the canary's weight and its stable subset the rest, and the ServiceResolver of the
/// same name points the subsets at versions by their filters (`Service.Meta.version == 2`): the
/// canary subset at the rollout's version while it runs, at nothing once aborted, and, once the
/// rollout is complete, the stable subset at the new version and the canary at nothing.
enum ConsulSubsets {
    static let resolvers = GroupVersionResource(
        group: "consul.hashicorp.com", version: "v1alpha1", resource: "serviceresolvers")
    static let splitters = GroupVersionResource(
        group: "consul.hashicorp.com", version: "v1alpha1", resource: "servicesplitters")

    /// The resolver with the subsets' filters for the split's state, or the plugin's error.
    static func resolver(_ resolver: JSONValue, config: ConsulTrafficRouting, split: TrafficSplit) throws -> JSONValue {
        try synced(resolver, kind: "resolver")
        let filter = "Service.Meta.\(config.metaKey) == \(split.canaryServiceMeta ?? "")"
        let canary = config.canarySubsetName ?? ""
        let filters: [(subset: String, filter: String)]
        if split.aborted == true {
            filters = [(canary, "")]
        } else if let stable = split.stableHash, stable == split.canaryHash {
            filters = [(canary, ""), (config.stableSubsetName ?? "", filter)]
        } else {
            filters = [(canary, filter)]
        }
        var result = resolver
        for (subset, value) in filters {
            guard result[path: "spec", "subsets", subset] != nil else {
                let name = resolver[path: "metadata", "name"]?.stringValue ?? ""
                throw TrafficObjectError(
                    "spec.subsets.\(subset).filter was not found in consul service resolver: \(name)")
            }
            result[path: "spec", "subsets", subset, "filter"] = .string(value)
        }
        return result
    }

    /// The splitter with the split's weights (percentages, as Consul's are), or the plugin's error.
    static func splitter(_ splitter: JSONValue, config: ConsulTrafficRouting, split: TrafficSplit) throws -> JSONValue {
        try synced(splitter, kind: "splitter")
        guard var splits = splitter[path: "spec", "splits"]?.arrayValue, !splits.isEmpty else {
            throw TrafficObjectError("spec.splits was not found in consul service splitter")
        }
        guard splits.count == 2 else {
            throw TrafficObjectError("unexpected number of service splits. Expected 2, found \(splits.count)")
        }
        let percent = Double(split.canaryWeight) * 100 / Double(max(split.totalWeight, 1))
        func weight(_ value: Double) -> JSONValue {
            value == value.rounded() ? .integer(Int64(value)) : .double(Double(Float(value)))
        }
        for index in splits.indices {
            switch splits[index]["serviceSubset"]?.stringValue {
            case config.canarySubsetName: splits[index]["weight"] = weight(percent)
            case config.stableSubsetName: splits[index]["weight"] = weight(100 - percent)
            default: throw TrafficObjectError("unexpected service split")
            }
        }
        var result = splitter
        result[path: "spec", "splits"] = .array(splits)
        return result
    }

    /// The plugin waits for Consul to take the last change: a `Synced` condition that is not
    /// `True`, or that changed more than 2 s from the last sync, is an error until it is.
    static func synced(_ object: JSONValue, kind: String) throws {
        let conditions = object[path: "status", "conditions"]?.arrayValue ?? []
        guard let condition = conditions.first(where: { $0["type"]?.stringValue == "Synced" }) else { return }
        let formatter = ISO8601DateFormatter()
        let changed = condition["lastTransitionTime"]?.stringValue.flatMap(formatter.date(from:))
        let synced = object[path: "status", "lastSyncedTime"]?.stringValue.flatMap(formatter.date(from:))
        let apart = abs((changed ?? .distantPast).timeIntervalSince(synced ?? .distantPast))
        if condition["status"]?.stringValue != "True" || apart > 2 {
            throw TrafficObjectError(
                "service \(kind) has not synced with Consul. The service \(kind) needs to be up to date before "
                    + "rollout can continue")
        }
    }
}
