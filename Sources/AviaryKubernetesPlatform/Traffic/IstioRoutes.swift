import AviaryJSON
import AviaryKubernetes
import AviaryPlatform

import AviaryModel
import struct AviaryRoutes.StringMatch

/// Argo's Istio router: the weights of the canary and stable destinations of a VirtualService's
/// routes (by host, or by subset with a DestinationRule), `setHeaderRoute` and `setMirrorRoute`
/// as HTTP routes of their own above the others in `managedRoutes` order, and the subsets'
/// pod-template-hash labels.
enum IstioRoutes {
    /// The VirtualService `virtualService` carrying `split`: managed routes not active any more
    /// removed, the active ones written, the weighted routes at the split's weight.
    /// `destinationRule` is the subset-level configuration and `ruleHost` its `spec.host`.
    /// `previousExperiments` are the Services of experiment templates the rollout routed to
    /// before: their destinations go once they are no longer in the split.
    static func desired(
        virtualService: JSONValue, config: IstioVirtualService, split: TrafficSplit,
        destinationRule: IstioDestinationRule?, ruleHost: String?, managedRoutes: [String],
        previousExperiments: Set<String> = []
    ) throws -> JSONValue {
        var result = virtualService
        let managed = Set(managedRoutes)
        if var http = virtualService[path: "spec", "http"]?.arrayValue {
            http.removeAll { managed.contains($0["name"]?.stringValue ?? "") }
            let weightedIndexes = try weightedRouteIndexes(http, names: config.routes ?? [])
            for index in weightedIndexes {
                http[index]["route"] = try weighted(
                    destinations: http[index]["route"]?.elements ?? [], split: split, destinationRule: destinationRule,
                    previousExperiments: previousExperiments)
            }
            let firstWeighted = weightedIndexes.first.map { http[$0]["route"]?.elements ?? [] } ?? []
            let canaryHost = ruleHost ?? split.canaryService
            var canary: JSONValue = ["host": .string(canaryHost)]
            if let subset = destinationRule?.canarySubsetName { canary["subset"] = .string(subset) }
            if let port = firstWeighted.first?[path: "destination", "port"] { canary["port"] = port }
            for route in split.headerRoutes {
                let matches = (route.match ?? []).map { match -> JSONValue in
                    ["headers": .object([match.headerName: stringMatch(match.headerValue)])]
                }
                http.append([
                    "name": .string(route.name), "match": .array(matches),
                    "route": [["destination": canary, "weight": 100]],
                ])
            }
            for route in split.mirrorRoutes {
                var mirrored: JSONValue = [
                    "name": .string(route.name), "route": .array(firstWeighted), "mirror": canary,
                    "mirrorPercentage": ["value": .integer(Int64(route.percentageOrDefault))],
                ]
                let matches = (route.match ?? []).map(mirrorMatch)
                if !matches.isEmpty { mirrored["match"] = .array(matches) }
                http.insert(mirrored, at: 0)
            }
            result[path: "spec", "http"] = .array(ordered(http, managedRoutes: managedRoutes))
        } else if !(config.routes ?? []).isEmpty {
            throw TrafficObjectError(
                "spec.http[] should be set in VirtualService and it must have exactly one route when omitting "
                    + "spec.strategy.canary.trafficRouting.istio.virtualService.routes")
        }
        for (kind, wanted) in [("tls", config.tlsRoutes?.map { ($0.port, $0.sniHosts) }), ("tcp", config.tcpRoutes?.map { ($0.port, nil) })] {
            guard var routes = virtualService[path: "spec", kind]?.arrayValue, !routes.isEmpty else {
                if let wanted, !wanted.isEmpty {
                    throw TrafficObjectError(
                        "spec.\(kind)[] should be set in VirtualService when "
                            + "spec.strategy.canary.trafficRouting.istio.virtualService.\(kind)Routes is given")
                }
                continue
            }
            var indexes: [Int] = [0]
            if let wanted, !wanted.isEmpty {
                indexes = routes.indices.filter { index in
                    wanted.contains { port, hosts in matches(routes[index], port: port, sniHosts: hosts) }
                }
                guard !indexes.isEmpty else {
                    throw TrafficObjectError("No matching \(kind.uppercased()) routes found in the defined Virtual Service.")
                }
            }
            for index in indexes {
                routes[index]["route"] = try weighted(
                    destinations: routes[index]["route"]?.elements ?? [], split: split, destinationRule: destinationRule,
                    previousExperiments: previousExperiments)
            }
            result[path: "spec", kind] = .array(routes)
        }
        return result
    }

    /// The HTTP routes that carry the split: those named, or else the only route, or else the first unnamed one.
    static func weightedRouteIndexes(_ http: [JSONValue], names: [String]) throws -> [Int] {
        if !names.isEmpty {
            return try names.map { name in
                guard let index = http.firstIndex(where: { $0["name"]?.stringValue == name }) else {
                    throw TrafficObjectError("HTTP Route '\(name)' is not found in the defined Virtual Service.")
                }
                return index
            }
        }
        if http.count == 1 { return [0] }
        guard let index = http.firstIndex(where: { ($0["name"]?.stringValue ?? "").isEmpty }) else {
            throw TrafficObjectError(
                "spec.http[] should be set in VirtualService and it must have exactly one route when omitting "
                    + "spec.strategy.canary.trafficRouting.istio.virtualService.routes")
        }
        return [index]
    }

    /// A route's destinations with the canary's and stable's weights set (found by the host's
    /// first label, or by subset); both must be there. An experiment template's Service gets its
    /// weight, as a destination of its own (by host, added after the others in name order when
    /// missing, as Argo adds it); one of `previousExperiments` no longer in the split is removed.
    static func weighted(
        destinations: [JSONValue], split: TrafficSplit, destinationRule: IstioDestinationRule?,
        previousExperiments: Set<String> = []
    ) throws -> JSONValue {
        var destinations = destinations
        var foundCanary = false
        var foundStable = false
        var experiments: [String: Int] = [:]
        for backend in split.additionalBackends ?? [] { experiments[backend.service] = backend.weight }
        var stale: [Int] = []
        for index in destinations.indices {
            let destination = destinations[index]["destination"] ?? [:]
            let isCanary: Bool
            let isStable: Bool
            let host = destination["host"]?.stringValue?.split(separator: ".", omittingEmptySubsequences: false).first
                .map(String.init) ?? ""
            if let rule = destinationRule {
                isCanary = destination["subset"]?.stringValue == rule.canarySubsetName
                isStable = destination["subset"]?.stringValue == rule.stableSubsetName
            } else {
                isCanary = !host.isEmpty && host == split.canaryService
                isStable = !host.isEmpty && host == split.stableService
            }
            if isCanary {
                destinations[index]["weight"] = .integer(Int64(split.canaryWeight))
                foundCanary = true
            } else if isStable {
                destinations[index]["weight"] = .integer(Int64(split.stableWeight))
                foundStable = true
            } else if let weight = experiments.removeValue(forKey: host) {
                destinations[index]["weight"] = .integer(Int64(weight))
            } else if previousExperiments.contains(host) {
                stale.append(index)
            }
        }
        for index in stale.reversed() { destinations.remove(at: index) }
        for (service, weight) in experiments.sorted(by: { $0.key < $1.key }) {
            destinations.append(["destination": ["host": .string(service)], "weight": .integer(Int64(weight))])
        }
        if let rule = destinationRule {
            if !foundCanary { throw TrafficObjectError("Canary DestinationRule subset '\(rule.canarySubsetName)' not found in route") }
            if !foundStable { throw TrafficObjectError("Stable DestinationRule subset '\(rule.stableSubsetName)' not found in route") }
        } else {
            if !foundCanary { throw TrafficObjectError("Canary Service '\(split.canaryService)' not found in route") }
            if !foundStable { throw TrafficObjectError("Stable Service '\(split.stableService)' not found in route") }
        }
        return .array(destinations)
    }

    /// Managed routes first, in `managedRoutes` order; the others after them as they were.
    static func ordered(_ http: [JSONValue], managedRoutes: [String]) -> [JSONValue] {
        guard !managedRoutes.isEmpty else { return http }
        let managed = managedRoutes.flatMap { name in http.filter { $0["name"]?.stringValue == name } }
        return managed + http.filter { !managedRoutes.contains($0["name"]?.stringValue ?? "") }
    }

    /// Whether a TLS or TCP route matches on `port` (and `sniHosts`, as a set).
    static func matches(_ route: JSONValue, port: Int?, sniHosts: [String]?) -> Bool {
        let entries = route["match"]?.elements ?? []
        let ports = Set(entries.compactMap { $0["port"]?.integerValue })
        guard ports.count <= 1, Int(ports.first ?? 0) == (port ?? 0) else { return false }
        guard let sniHosts else { return true }
        let hosts = Set(entries.flatMap { ($0["sniHosts"]?.elements ?? []).compactMap(\.stringValue) })
        return hosts == Set(sniHosts) && hosts.count == sniHosts.count
    }

    /// Istio's `StringMatch` for a header value.
    static func stringMatch(_ match: StringMatch) -> JSONValue {
        if let exact = match.exact { return ["exact": .string(exact)] }
        if let regex = match.regex { return ["regex": .string(regex)] }
        return ["prefix": .string(match.prefix ?? "")]
    }

    /// Istio's `HTTPMatchRequest` for a mirror route's match.
    static func mirrorMatch(_ match: RouteMatch) -> JSONValue {
        var result: JSONValue = [:]
        if let method = match.method { result["method"] = stringMatch(method) }
        if let path = match.path { result["uri"] = stringMatch(path) }
        if let headers = match.headers, !headers.isEmpty { result["headers"] = .object(headers.mapValues(stringMatch)) }
        return result
    }

    /// The DestinationRule with the canary and stable subsets labelled with their pod-template
    /// hashes and Argo's managed-by annotation; other subsets kept.
    static func destinationRule(
        _ rule: JSONValue, config: IstioDestinationRule, split: TrafficSplit, hashLabel: String
    ) -> JSONValue {
        var result = rule
        var subsets = rule[path: "spec", "subsets"]?.elements ?? []
        for index in subsets.indices {
            let name = subsets[index]["name"]?.stringValue
            let hash = name == config.canarySubsetName ? split.canaryHash : name == config.stableSubsetName ? split.stableHash : nil
            guard name == config.canarySubsetName || name == config.stableSubsetName else { continue }
            var labels = subsets[index]["labels"]?.members ?? [:]
            labels[hashLabel] = hash.flatMap { $0.isEmpty ? nil : JSONValue.string($0) }
            subsets[index]["labels"] = .object(labels)
        }
        result[path: "spec", "subsets"] = .array(subsets)
        var annotations = rule[path: "metadata", "annotations"]?.members ?? [:]
        annotations["argo-rollouts.argoproj.io/managed-by-rollouts"] = .string(split.rollout ?? "")
        result[path: "metadata", "annotations"] = .object(annotations)
        return result
    }
}
