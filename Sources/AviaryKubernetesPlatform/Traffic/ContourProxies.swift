import AviaryJSON
import AviaryKubernetes
import AviaryPlatform

/// Argo's Contour plugin (`argoproj-labs/contour`): in every route of each HTTPProxy that names
/// the canary Service, the canary and stable Services share what the route's other (not mirror)
/// Services leave of 100, the canary taking its percentage of it.
enum ContourProxies {
    static let resource = GroupVersionResource(group: "projectcontour.io", version: "v1", resource: "httpproxies")

    /// `proxy` with the split's weights, or the plugin's error for a route it cannot split.
    static func weighted(proxy: JSONValue, split: TrafficSplit) throws -> JSONValue {
        guard var routes = proxy[path: "spec", "routes"]?.arrayValue else { return proxy }
        // The plugin takes a percentage; out of `maxTrafficWeight` it is the canary's share of it.
        let percent = Float(split.canaryWeight) * 100 / Float(max(split.totalWeight, 1))
        for index in routes.indices {
            guard var services = routes[index]["services"]?.arrayValue,
                services.contains(where: { $0["name"]?.stringValue == split.canaryService })
            else { continue }
            guard let canary = services.firstIndex(where: { $0["name"]?.stringValue == split.canaryService }),
                let stable = services.firstIndex(where: { $0["name"]?.stringValue == split.stableService })
            else { throw TrafficObjectError("the service: \(split.stableService) is not found in httpproxy") }
            func weight(_ service: JSONValue) -> Int64 { service["weight"]?.integerValue ?? 0 }
            let others = services.indices.filter {
                $0 != canary && $0 != stable && services[$0]["mirror"] != .bool(true)
            }.reduce(Int64(0)) { $0 + weight(services[$1]) }
            guard others + weight(services[canary]) + weight(services[stable]) == 100 else {
                throw TrafficObjectError("the total weight must equals to 100")
            }
            let total = 100 - others
            // float32, as the plugin computes it.
            let canaryWeight = Int64(Float(total) * percent / 100)
            services[canary]["weight"] = .integer(canaryWeight)
            services[stable]["weight"] = .integer(total - canaryWeight)
            routes[index]["services"] = .array(services)
        }
        var result = proxy
        result[path: "spec", "routes"] = .array(routes)
        return result
    }

    /// Whether Contour took the weights: its `Valid` condition is `True` for the proxy's
    /// generation and the routes hold the split's weights; nil while Contour has written no
    /// `Valid` condition (no Contour is watching).
    static func verified(proxy: JSONValue, split: TrafficSplit) -> Bool? {
        let conditions = proxy[path: "status", "conditions"]?.arrayValue ?? []
        guard let valid = conditions.first(where: { $0["type"]?.stringValue == "Valid" }) else { return nil }
        guard valid["status"]?.stringValue == "True",
            valid["observedGeneration"]?.integerValue == proxy[path: "metadata", "generation"]?.integerValue
        else { return false }
        guard let desired = try? weighted(proxy: proxy, split: split) else { return false }
        return desired == proxy
    }
}
