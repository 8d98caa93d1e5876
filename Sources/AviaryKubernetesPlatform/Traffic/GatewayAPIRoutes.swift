import AviaryJSON
import AviaryKubernetes
import AviaryPlatform

import AviaryModel
import struct AviaryRoutes.StringMatch

/// Argo's Gateway API plugin (`argoproj-labs/gatewayAPI`), as its current release drives an
/// HTTPRoute or GRPCRoute: the canary's and stable's backendRef weights in every rule it did not
/// add, a rule of its own per header route (named after it, appended, pointing at the canary
/// only), and the in-progress label while the canary takes traffic. Aviary also carries
/// `setMirrorRoute` as a rule with a `RequestMirror` filter, which the plugin does not yet do.
/// TCPRoutes get weights only.
enum GatewayAPIRoutes {
    /// The label the plugin puts on a route while the canary's weight is above 0.
    static let inProgressLabel = "rollouts.argoproj.io/gatewayapi-canary"

    /// The kinds of route the plugin drives.
    enum Kind: String {
        case http = "httpRoute"
        case grpc = "grpcRoute"
        case tcp = "tcpRoute"
    }

    /// The routes a configuration names, with whether header routes go on each: `httpRoute:`
    /// (and the other single forms) implies it, a list entry says so with `useHeaderRoutes`.
    static func routes(of config: GatewayAPITrafficRouting) -> [(kind: Kind, name: String, useHeaderRoutes: Bool)] {
        var routes: [(kind: Kind, name: String, useHeaderRoutes: Bool)] = []
        for (kind, single, list) in [
            (Kind.http, config.httpRoute, config.httpRoutes), (.grpc, config.grpcRoute, config.grpcRoutes),
            (.tcp, config.tcpRoute, config.tcpRoutes),
        ] {
            if let single { routes.append((kind, single, true)) }
            for route in list ?? [] { routes.append((kind, route.name, route.useHeaderRoutes ?? false)) }
        }
        return routes
    }

    /// The route `route` carrying `split`: rules named by a managed route (or `NAME-N`) replaced by
    /// the active header and mirror routes (when `useHeaderRoutes`), weights set on the others.
    /// An experiment template's Service gets its weight as a backendRef of the rule that holds the
    /// stable Service (added when missing, with `port` of that Service, as Argo's plugin adds it);
    /// one of `previousExperiments` no longer in the split is removed.
    static func desired(
        route: JSONValue, kind: Kind, split: TrafficSplit, useHeaderRoutes: Bool, managedRoutes: [String],
        previousExperiments: Set<String> = [], experimentPorts: [String: Int] = [:]
    ) throws -> JSONValue {
        var result = route
        var rules = route[path: "spec", "rules"]?.elements ?? []
        let managed = Set(managedRoutes)
        func isManaged(_ rule: JSONValue) -> Bool {
            guard let name = rule["name"]?.stringValue else { return false }
            if managed.contains(name) { return true }
            guard let dash = name.lastIndex(of: "-"), Int(name[name.index(after: dash)...]) != nil else { return false }
            return managed.contains(String(name[..<dash]))
        }
        if kind != .tcp { rules.removeAll(where: isManaged) }
        var foundCanary = false
        var foundStable = false
        var experimentWeights: [String: Int] = [:]
        for backend in split.additionalBackends ?? [] { experimentWeights[backend.service] = backend.weight }
        for index in rules.indices {
            var backends = rules[index]["backendRefs"]?.elements ?? []
            // The experiment Services this rule does not have yet.
            var experiments = experimentWeights
            let holdsStable = backends.contains { $0["name"]?.stringValue == split.stableService }
            for backend in backends.indices {
                switch backends[backend]["name"]?.stringValue {
                case split.canaryService:
                    backends[backend]["weight"] = .integer(Int64(split.canaryWeight))
                    foundCanary = true
                case split.stableService:
                    backends[backend]["weight"] = .integer(Int64(split.stableWeight))
                    foundStable = true
                case let name? where experiments[name] != nil:
                    backends[backend]["weight"] = .integer(Int64(experiments.removeValue(forKey: name)!))
                default: break
                }
            }
            backends.removeAll {
                let name = $0["name"]?.stringValue ?? ""
                return previousExperiments.contains(name) && experimentWeights[name] == nil
            }
            if holdsStable {
                for (service, weight) in experiments.sorted(by: { $0.key < $1.key }) {
                    var backend: JSONValue = ["name": .string(service), "weight": .integer(Int64(weight))]
                    if let port = experimentPorts[service] { backend["port"] = .integer(Int64(port)) }
                    backends.append(backend)
                }
            }
            rules[index]["backendRefs"] = .array(backends)
        }
        guard foundCanary, foundStable else {
            throw TrafficObjectError(
                kind == .tcp ? "backendRef list was not found in tcpRoute" : "backendRef was not found in \(kind.rawValue)")
        }
        if kind != .tcp, useHeaderRoutes {
            let sources = rules.filter { rule in
                let names = (rule["backendRefs"]?.elements ?? []).compactMap { $0["name"]?.stringValue }
                return names.contains(split.canaryService) && names.contains(split.stableService)
            }
            for route in split.headerRoutes {
                let headers: [JSONValue] = (route.match ?? []).map { match in
                    headerMatch(name: match.headerName, match.headerValue)
                }
                for (offset, source) in sources.enumerated() {
                    var matches = (source["matches"]?.elements ?? []).map { match -> JSONValue in
                        var copy: JSONValue = [:]
                        let keep = kind == .grpc ? ["method"] : ["path", "queryParams", "method"]
                        for key in keep { if let value = match[key] { copy[key] = value } }
                        copy["headers"] = .array((match["headers"]?.elements ?? []) + headers)
                        return copy
                    }
                    if matches.isEmpty { matches = [["headers": .array(headers)]] }
                    var rule: JSONValue = [
                        "name": .string(offset == 0 ? route.name : "\(route.name)-\(offset)"),
                        "matches": .array(matches), "backendRefs": [canaryBackend(of: source, split: split)],
                    ]
                    if let filters = source["filters"] { rule["filters"] = filters }
                    rules.append(rule)
                }
            }
            for route in split.mirrorRoutes {
                for (offset, source) in sources.enumerated() {
                    var rule = source
                    rule["name"] = .string(offset == 0 ? route.name : "\(route.name)-\(offset)")
                    let matches = (route.match ?? []).map { mirrorMatch($0, kind: kind) }
                    if !matches.isEmpty { rule["matches"] = .array(matches) }
                    var mirror: JSONValue = ["backendRef": canaryBackend(of: source, split: split)]
                    mirror[path: "backendRef", "weight"] = nil
                    if route.percentageOrDefault != 100 { mirror["percent"] = .integer(Int64(route.percentageOrDefault)) }
                    rule["filters"] = .array((source["filters"]?.elements ?? []) + [["type": "RequestMirror", "requestMirror": mirror]])
                    rules.append(rule)
                }
            }
        }
        result[path: "spec", "rules"] = .array(rules)
        var labels = route[path: "metadata", "labels"]?.members ?? [:]
        labels[inProgressLabel] = split.canaryWeight > 0 ? "in-progress" : nil
        // No labels left: none at all, as the user's route had before the canary took traffic.
        result[path: "metadata", "labels"] = labels.isEmpty ? nil : .object(labels)
        return result
    }

    /// Whether the route's parents accepted its current generation: nil without parent status
    /// (no gateway controller has looked yet, or none reports), false while one has not.
    static func accepted(_ route: JSONValue) -> Bool? {
        let parents = route[path: "status", "parents"]?.elements ?? []
        guard !parents.isEmpty else { return nil }
        let generation = route[path: "metadata", "generation"]?.integerValue ?? 0
        return parents.allSatisfy { parent in
            (parent["conditions"]?.elements ?? []).contains {
                $0["type"]?.stringValue == "Accepted" && $0["status"]?.stringValue == "True"
                    && ($0["observedGeneration"]?.integerValue ?? 0) >= generation
            }
        }
    }

    /// The canary's backendRef of a source rule without its weight (the header rule sends it all).
    static func canaryBackend(of rule: JSONValue, split: TrafficSplit) -> JSONValue {
        let backends = rule["backendRefs"]?.elements ?? []
        let canary = backends.first { $0["name"]?.stringValue == split.canaryService }
        var backend: JSONValue = ["group": "", "kind": "Service", "name": .string(split.canaryService)]
        if let port = canary?["port"] ?? backends.first?["port"] { backend["port"] = port }
        return backend
    }

    /// A Gateway API header match: exact as `Exact`, a prefix or regex as `RegularExpression`.
    static func headerMatch(name: String, _ match: StringMatch) -> JSONValue {
        if let exact = match.exact { return ["name": .string(name), "type": "Exact", "value": .string(exact)] }
        let pattern = match.regex ?? ((match.prefix ?? "") + ".*")
        return ["name": .string(name), "type": "RegularExpression", "value": .string(pattern)]
    }

    /// A mirror route's match as a Gateway API match.
    static func mirrorMatch(_ match: RouteMatch, kind: Kind) -> JSONValue {
        var result: JSONValue = [:]
        if let headers = match.headers, !headers.isEmpty {
            result["headers"] = .array(headers.sorted { $0.key < $1.key }.map { headerMatch(name: $0.key, $0.value) })
        }
        if kind == .http {
            if let method = match.method?.exact { result["method"] = .string(method) }
            if let path = match.path {
                if let exact = path.exact {
                    result["path"] = ["type": "Exact", "value": .string(exact)]
                } else if let prefix = path.prefix {
                    result["path"] = ["type": "PathPrefix", "value": .string(prefix)]
                } else if let regex = path.regex {
                    result["path"] = ["type": "RegularExpression", "value": .string(regex)]
                }
            }
        }
        return result
    }
}

/// Argo's Traefik router: the weights of a TraefikService's `spec.weighted.services`.
enum TraefikWeights {
    /// The TraefikService at the split's weight.
    static func desired(service: JSONValue, split: TrafficSplit) throws -> JSONValue {
        guard var services = service[path: "spec", "weighted", "services"]?.arrayValue else {
            throw TrafficObjectError("spec.weighted.services was not found in traefik service manifest")
        }
        guard let canary = services.firstIndex(where: { $0["name"]?.stringValue == split.canaryService }) else {
            throw TrafficObjectError("traefik canary service was not found")
        }
        guard let stable = services.firstIndex(where: { $0["name"]?.stringValue == split.stableService }) else {
            throw TrafficObjectError("traefik stable service was not found")
        }
        services[canary]["weight"] = .integer(Int64(split.canaryWeight))
        services[stable]["weight"] = .integer(Int64(split.stableWeight))
        var result = service
        result[path: "spec", "weighted", "services"] = .array(services)
        return result
    }
}
