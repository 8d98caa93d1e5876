import AviaryJSON
import AviaryKubernetes
import AviaryModel
import AviaryPlatform

/// Argo's Gloo Platform plugin (`solo-io/glooplatform`): in the HTTP routes (`spec.http`) of the
/// selected RouteTables whose `forwardTo` has a destination ref named after the stable Service,
/// that destination keeps the stable share and the one named after the canary Service (a copy of
/// the stable one when there is none) takes the canary's. A header route is a copy of each such
/// route, named after the step's route and placed first, that forwards to the canary alone when
/// the headers match as well. Names compare without case, as in the plugin.
///
/// Where the plugin does something else, Aviary does what its README describes: a route selector's
/// labels must all be on the route (the plugin skips only a route whose label has another value),
/// a header route's headers join each of the route's matchers (the plugin adds a matcher of its
/// own, and Gloo ORs matchers, so every request of the route went to the canary), the copy keeps
/// the route's `forwardTo` settings (the plugin dropped a `pathRewrite`), and a header route is
/// written once however often the rollout is reconciled.
enum GlooPlatformRoutes {
    static let routeTables = GroupVersionResource(
        group: "networking.gloo.solo.io", version: "v2", resource: "routetables")

    /// The RouteTables with the split, each unchanged when none of its routes forwards to the
    /// stable Service; an error when no table has such a route.
    static func desired(
        tables: [JSONValue], config: GlooPlatformTrafficRouting, split: TrafficSplit, namespace: String
    ) throws -> [JSONValue] {
        var matched = 0
        let result = tables.map { table in
            let (desired, count) = Self.desired(table: table, config: config, split: split)
            matched += count
            return desired
        }
        guard matched == 0 else { return result }
        let selector = config.routeTableSelector ?? .init()
        let labels = GlooEdgeRoutes.labelSelector(selector.labels ?? [:])
        let withLabels = labels.isEmpty ? "" : " with the labels \(labels)"
        if tables.isEmpty {
            throw TrafficObjectError(
                "no RouteTable in namespace \(namespace)\(withLabels); give the RouteTable that routes to the stable "
                    + "Service those labels, or name it in routeTableSelector.name (and namespace)")
        }
        let chosen =
            if let name = selector.name, !name.isEmpty {
                "RouteTable \(namespace)/\(name) has"
            } else {
                "the RouteTables of namespace \(namespace)\(withLabels) have"
            }
        let routes = config.routeSelector == nil ? "" : " among the routes routeSelector selects"
        throw TrafficObjectError(
            "\(chosen) no HTTP route whose forwardTo names the stable Service \"\(split.stableService)\"\(routes); "
                + "add a destination with ref.name: \(split.stableService) to the route that carries the traffic")
    }

    /// One RouteTable with the split, and how many of its routes carry it. Routes named in
    /// `managedRoutes` are the header routes of earlier steps: they are taken out first and the
    /// active ones written anew.
    static func desired(
        table: JSONValue, config: GlooPlatformTrafficRouting, split: TrafficSplit
    ) -> (table: JSONValue, matched: Int) {
        guard let http = table[path: "spec", "http"]?.arrayValue else { return (table, 0) }
        let managed = Set((split.managedRoutes ?? []).map { $0.lowercased() })
        var routes = http.filter { !managed.contains(($0["name"]?.stringValue ?? "").lowercased()) }
        var carriers: [(route: JSONValue, canary: JSONValue)] = []
        for index in routes.indices where selects(config.routeSelector, routes[index]) {
            guard var destinations = routes[index][path: "forwardTo", "destinations"]?.arrayValue,
                let stable = destinations.firstIndex(where: { refers($0, to: split.stableService) })
            else { continue }
            let canary =
                destinations.firstIndex { refers($0, to: split.canaryService) }
                ?? {
                    var copy = destinations[stable]
                    copy[path: "ref", "name"] = .string(split.canaryService)
                    destinations.append(copy)
                    return destinations.count - 1
                }()
            destinations[stable]["weight"] = .integer(Int64(split.totalWeight - split.canaryWeight))
            destinations[canary]["weight"] = .integer(Int64(split.canaryWeight))
            routes[index][path: "forwardTo", "destinations"] = .array(destinations)
            carriers.append((routes[index], destinations[canary]))
        }
        // The plugin puts each step's header routes ahead of everything, so the last step's come first.
        for headerRoute in split.headerRoutes {
            let headers = (headerRoute.match ?? []).map(headerMatcher)
            guard !headers.isEmpty else { continue }
            let copies = carriers.map { carrier in
                var copy = carrier.route
                copy["name"] = .string(headerRoute.name)
                let matchers = (carrier.route["matchers"]?.arrayValue ?? []).map { matcher in
                    var matcher = matcher
                    matcher["headers"] = .array((matcher["headers"]?.arrayValue ?? []) + headers)
                    return matcher
                }
                let own: JSONValue = ["name": .string("\(headerRoute.name)-matcher"), "headers": .array(headers)]
                copy["matchers"] = matchers.isEmpty ? [own] : .array(matchers)
                var canary = carrier.canary
                canary["weight"] = nil
                copy[path: "forwardTo", "destinations"] = [canary]
                return copy
            }
            routes.insert(contentsOf: copies, at: 0)
        }
        var result = table
        result[path: "spec", "http"] = .array(routes)
        return (result, carriers.count)
    }

    /// Gloo's header matcher for a step's match: a prefix becomes an anchored regular expression,
    /// as the plugin writes it.
    static func headerMatcher(_ match: HeaderRoutingMatch) -> JSONValue {
        var matcher: JSONValue = ["name": .string(match.headerName)]
        if let exact = match.headerValue.exact, !exact.isEmpty {
            matcher["value"] = .string(exact)
        } else if let regex = match.headerValue.regex, !regex.isEmpty {
            matcher["value"] = .string(regex)
            matcher["regex"] = true
        } else if let prefix = match.headerValue.prefix, !prefix.isEmpty {
            matcher["value"] = .string("^" + quoteMeta(prefix))
            matcher["regex"] = true
        }
        return matcher
    }

    /// The text with every regular-expression metacharacter escaped (Go's `regexp.QuoteMeta`).
    static func quoteMeta(_ text: String) -> String {
        var quoted = ""
        for character in text {
            if #"\.+*?()|[]{}^$"#.contains(character) { quoted.append("\\") }
            quoted.append(character)
        }
        return quoted
    }

    private static func refers(_ destination: JSONValue, to service: String) -> Bool {
        destination[path: "ref", "name"]?.stringValue?.lowercased() == service.lowercased()
    }

    private static func selects(_ selector: GlooPlatformTrafficRouting.RouteSelector?, _ route: JSONValue) -> Bool {
        guard let selector else { return true }
        if let name = selector.name, !name.isEmpty, name.lowercased() != route["name"]?.stringValue?.lowercased() {
            return false
        }
        return (selector.labels ?? [:]).allSatisfy { key, value in
            route[path: "labels", key]?.stringValue?.lowercased() == value.lowercased()
        }
    }
}
