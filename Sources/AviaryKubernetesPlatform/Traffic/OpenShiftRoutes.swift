import AviaryJSON
import AviaryKubernetes
import AviaryPlatform

/// Argo's OpenShift Route plugin (`argoproj-labs/openshift`): each Route's default backend
/// (`spec.to`, the stable Service) keeps what the canary leaves of 100, and the canary Service is the
/// one alternate backend while it has a weight.
enum OpenShiftRoutes {
    static let resource = GroupVersionResource(group: "route.openshift.io", version: "v1", resource: "routes")

    /// A Route named `NAME` (in `namespace`) or `NAMESPACE/NAME`, as the plugin reads it.
    static func reference(_ route: String, namespace: String) -> (namespace: String, name: String) {
        guard let slash = route.firstIndex(of: "/") else { return (namespace, route) }
        return (String(route[..<slash]), String(route[route.index(after: slash)...]))
    }

    /// `route` with the split's weights: `spec.to.weight` the stable share and, while the canary has
    /// one, `spec.alternateBackends` the canary Service alone with its share; none at 0. The shares
    /// are percentages (Route weights run 0 to 256), so a `maxTrafficWeight` of 1000 still gives
    /// weights out of 100.
    static func weighted(route: JSONValue, split: TrafficSplit) -> JSONValue {
        let canary = Int64(split.canaryWeight) * 100 / Int64(max(split.totalWeight, 1))
        var result = route
        result[path: "spec", "to", "weight"] = .integer(100 - canary)
        if canary == 0 {
            result[path: "spec", "alternateBackends"] = nil
        } else {
            result[path: "spec", "alternateBackends"] = .array([
                .object(["kind": "Service", "name": .string(split.canaryService), "weight": .integer(canary)])
            ])
        }
        return result
    }
}
