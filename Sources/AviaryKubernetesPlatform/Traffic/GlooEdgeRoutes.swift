import AviaryJSON
import AviaryKubernetes
import AviaryModel
import AviaryPlatform

/// Argo's Gloo Edge plugin (`solo-io/glooedge`): in the chosen routes of a VirtualService (its
/// `spec.virtualHost.routes`) or of RouteTables (`spec.routes`), the route action's destination
/// whose upstream is the stable Service keeps the stable share and a copy of it whose upstream is
/// the canary Service takes the canary's. A `single` action becomes a `multi` one; the canary
/// destination stays, at weight 0, once the rollout ends (as the plugin leaves it).
enum GlooEdgeRoutes {
    static let virtualServices = GroupVersionResource(
        group: "gateway.solo.io", version: "v1", resource: "virtualservices")
    static let routeTables = GroupVersionResource(group: "gateway.solo.io", version: "v1", resource: "routetables")

    /// The routes with the split's weights, and how many were split (those whose action sends to
    /// the stable upstream, among `names` when given). Upstream names compare without case.
    static func weighted(
        routes: [JSONValue], names: [String]?, split: TrafficSplit
    ) -> (routes: [JSONValue], split: Int) {
        let names = names ?? []
        func isUpstream(_ destination: JSONValue?, _ service: String) -> Bool {
            destination?[path: "upstream", "name"]?.stringValue?.lowercased() == service.lowercased()
        }
        var result = routes
        var count = 0
        for index in result.indices {
            var route = result[index]
            if !names.isEmpty, !names.contains(route["name"]?.stringValue ?? "") { continue }
            guard var action = route["routeAction"]?.objectValue else { continue }
            if let single = action["single"], isUpstream(single, split.stableService) {
                action["single"] = nil
                action["multi"] = ["destinations": [["destination": single]]]
            }
            guard var destinations = action["multi"]?["destinations"]?.arrayValue,
                let stable = destinations.firstIndex(where: { isUpstream($0["destination"], split.stableService) })
            else { continue }
            let canary =
                destinations.firstIndex { isUpstream($0["destination"], split.canaryService) }
                ?? {
                    var copy = destinations[stable]
                    copy[path: "destination", "upstream", "name"] = .string(split.canaryService)
                    destinations.append(copy)
                    return destinations.count - 1
                }()
            destinations[stable]["weight"] = .integer(Int64(split.totalWeight - split.canaryWeight))
            destinations[canary]["weight"] = .integer(Int64(split.canaryWeight))
            action["multi"] = ["destinations": .array(destinations)]
            route["routeAction"] = .object(action)
            result[index] = route
            count += 1
        }
        return (result, count)
    }

    /// The VirtualService with the split, or the plugin's error.
    static func weighted(
        virtualService: JSONValue, config: GlooEdgeTrafficRouting, split: TrafficSplit
    ) throws -> JSONValue {
        let namespace = virtualService[path: "metadata", "namespace"]?.stringValue ?? ""
        let name = virtualService[path: "metadata", "name"]?.stringValue ?? ""
        let names = config.routes ?? []
        guard let routes = virtualService[path: "spec", "virtualHost", "routes"]?.arrayValue, !routes.isEmpty else {
            throw failed("no virtual host or empty routes in VirtualSevice \(namespace):\(name)")
        }
        if routes.count > 1, names.isEmpty {
            throw failed("virtual host has multiple routes but canary config doesn't specify which routes to use")
        }
        let (weighted, count) = Self.weighted(routes: routes, names: names, split: split)
        if !names.isEmpty, count != names.count {
            throw failed("some/all routes specified in canary rollout configuration do not have stable upstreams")
        }
        if count == 0 {
            throw failed(
                "couldn't find stable upstreams in VirtualService \(namespace)/\(name), with route names in "
                    + goList(names))
        }
        var result = virtualService
        result[path: "spec", "virtualHost", "routes"] = .array(weighted)
        return result
    }

    /// Each RouteTable with the split (unchanged when none of its routes sends to the stable
    /// upstream), or the plugin's error.
    static func weighted(
        routeTables: [JSONValue], config: GlooEdgeTrafficRouting, split: TrafficSplit
    ) throws -> [JSONValue] {
        let names = config.routes ?? []
        var total = 0
        let result = try routeTables.map { table in
            guard let routes = table[path: "spec", "routes"]?.arrayValue else { return table }
            if routes.count > 1, names.isEmpty {
                let namespace = table[path: "metadata", "namespace"]?.stringValue ?? ""
                let name = table[path: "metadata", "name"]?.stringValue ?? ""
                throw failed(
                    "route table \(namespace)/\(name) has multiple routes but canary config doesn't specify which "
                        + "routes to use")
            }
            let (weighted, count) = Self.weighted(routes: routes, names: names, split: split)
            guard count > 0 else { return table }
            total += count
            var result = table
            result[path: "spec", "routes"] = .array(weighted)
            return result
        }
        if total == 0 {
            let selector = config.routeTable ?? .init()
            let labels = (selector.labels ?? [:]).sorted { $0.key < $1.key }.map { "\($0.key):\($0.value)" }
            throw failed(
                "couldn't find stable services in RouteTables selected with Name: '\(selector.name ?? "")', "
                    + "Namespace: '\(selector.namespace ?? "")', Labels: map[\(labels.joined(separator: " "))], "
                    + "with route names in \(goList(names))")
        }
        return result
    }

    /// A label selector for the RouteTables' labels: `a=b,c=d`.
    static func labelSelector(_ labels: [String: String]) -> String {
        labels.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ",")
    }

    private static func failed(_ reason: String) -> TrafficObjectError {
        TrafficObjectError("failed canary rollout: \(reason)")
    }

    private static func goList(_ items: [String]) -> String { "[" + items.joined(separator: " ") + "]" }
}
