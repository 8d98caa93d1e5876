import AviaryJSON
import AviaryPlatform

/// Argo's Ambassador routing: beside each Mapping the rollout names, a Mapping `NAME-canary` (the
/// name cut to 246 characters first), the same Mapping with its `service` pointed at the canary
/// Service and the canary's `weight`. Ambassador sends that share of the Mapping's traffic to the
/// canary. Once the weight is back to 0 the canary Mapping is deleted.
enum AmbassadorMappings {
    /// How long a canary Mapping at weight 0 stays before it is deleted, so that Ambassador has
    /// taken the weight before the Mapping goes (Argo waits 5 s too).
    static let propagation: Duration = .seconds(5)

    /// The canary Mapping's name.
    static func canaryName(_ base: String) -> String {
        String(decoding: Array(base.utf8.prefix(246)), as: UTF8.self) + "-canary"
    }

    /// The canary Mapping for `base` (as the API server has it): its `spec` with the first
    /// occurrence of the stable Service in `service` replaced by the canary Service, and `weight`;
    /// its metadata only the name and namespace. A base Mapping with a weight of its own is refused,
    /// as Argo refuses it: the two weights would not add up.
    static func canary(base: JSONValue, split: TrafficSplit) throws -> JSONValue {
        let name = base[path: "metadata", "name"]?.stringValue ?? ""
        if let weight = base[path: "spec", "weight"]?.integerValue, weight != 0 {
            throw TrafficObjectError("Ambassador mapping \"\(name)\" can not define weight")
        }
        var canary = base
        canary["metadata"] = [
            "name": .string(canaryName(name)),
            "namespace": base[path: "metadata", "namespace"] ?? .string(split.namespace),
        ]
        canary["status"] = nil
        let service = base[path: "spec", "service"]?.stringValue ?? ""
        let replaced =
            service.range(of: split.stableService).map {
                service.replacingCharacters(in: $0, with: split.canaryService)
            }
            ?? service
        canary[path: "spec", "service"] = .string(replaced)
        canary[path: "spec", "weight"] = .integer(Int64(split.canaryWeight))
        return canary
    }
}
