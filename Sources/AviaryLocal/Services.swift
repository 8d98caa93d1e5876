import AviaryPlatform
import AviaryRoutes
import Foundation

/// The pure computation of endpoints, the router's route table and Prometheus targets.
public enum ServiceRouting {
    /// The ready pods a service selects, sorted by name.
    public static func endpoints(of service: PlatformService, pods: [PodRecord]) -> [PodRecord] {
        pods.filter {
            $0.isReady && $0.process != nil && $0.namespace == service.namespace && service.selects($0.labels)
        }
        .sorted { $0.name < $1.name }
    }

    /// The route table. A service that is the root of a split sends `canaryWeight` percent to
    /// the canary service, each experiment template's weight to its Service, and the rest to the
    /// stable service; when one side has no ready pod the
    /// other side takes everything (rather than failing requests). Header routes send matches to
    /// the canary; mirror routes copy a percentage of matches to it. Any other service spreads
    /// evenly over its own endpoints, so without traffic routing the split follows replica counts.
    /// A Service with TLS files gets a listener that terminates TLS; a root Service with
    /// stickiness keeps each client on its side of the split (header routes need none).
    public static func table(services: [PlatformService], splits: [TrafficSplit], pods: [PodRecord]) -> RouteTable {
        var definitions: [String: ServiceDefinition] = [:]
        for service in services {
            definitions[service.name] = ServiceDefinition(
                endpoints: endpoints(of: service, pods: pods).map(\.address),
                protocol: service.http2 == true ? .h2c : nil)
        }
        let names = Set(services.map(\.name))
        // Two Services on one address and port would make the router refuse the whole table
        // (and so every later weight change): the first by namespace and name keeps the
        // listener. The API refuses such a Service; this guards state stored before that rule.
        var claimed: Set<String> = []
        let listening = services.sorted { ($0.port, $0.namespace, $0.name) < ($1.port, $1.namespace, $1.name) }
            .filter { claimed.insert("\($0.address):\($0.port)").inserted }
        let listeners = listening.map { service in
            let address = "\(service.address):\(service.port)"
            let tls = service.tls.map {
                ListenerTLS(certificates: [
                    TLSCertificateFiles(certificateFile: $0.certificateFile, keyFile: $0.keyFile)
                ])
            }
            let sticky = service.sticky.map { StickyDefinition(cookie: $0.cookie, header: $0.header) }
            let own = [BackendReference(service: service.name, weight: 100)]
            guard let split = splits.first(where: { $0.rootService == service.name }),
                names.contains(split.canaryService), names.contains(split.stableService)
            else {
                return ListenerDefinition(
                    address: address, routes: [RouteDefinition(name: "default", backends: own)], tls: tls)
            }
            let canaryReady = definitions[split.canaryService]?.endpoints.isEmpty == false
            let stableReady = definitions[split.stableService]?.endpoints.isEmpty == false
            // Out of `maxTrafficWeight` (100 unless the rollout says otherwise); backend weights are relative.
            let weight = max(0, min(split.totalWeight, split.canaryWeight))
            let canary = [BackendReference(service: split.canaryService, weight: 100)]
            // An experiment template's share comes out of the stable side's; one without a ready
            // pod leaves its share there. A side without a ready pod leaves its share to the other.
            let additional = (split.additionalBackends ?? []).filter {
                $0.weight > 0 && definitions[$0.service]?.endpoints.isEmpty == false
            }
            let rest = max(0, split.totalWeight - additional.reduce(0) { $0 + $1.weight })
            let canaryShare = canaryReady ? (stableReady ? min(weight, rest) : rest) : 0
            let stableShare = stableReady ? rest - canaryShare : 0
            var weighted =
                ([BackendReference(service: split.canaryService, weight: canaryShare)]
                + additional.map { BackendReference(service: $0.service, weight: $0.weight) }
                + [BackendReference(service: split.stableService, weight: stableShare)]).filter { $0.weight ?? 0 > 0 }
            if weighted.isEmpty { weighted = own }
            var routes: [RouteDefinition] = []
            if canaryReady {
                for route in split.headerRoutes {
                    let headers = (route.match ?? []).compactMap { header($0.headerName, $0.headerValue) }
                    guard !headers.isEmpty else { continue }
                    routes.append(
                        RouteDefinition(name: route.name, match: RouteMatch(headers: headers), backends: canary))
                }
                for route in split.mirrorRoutes where route.percentageOrDefault > 0 {
                    let blocks = (route.match ?? []).map { block in
                        let headers = (block.headers ?? [:]).sorted { $0.key < $1.key }.compactMap { header($0, $1) }
                        return RequestMatch(
                            method: match(block.method), path: match(block.path),
                            headers: headers.isEmpty ? nil : headers)
                    }
                    routes.append(
                        RouteDefinition(
                            name: route.name, match: blocks.isEmpty ? nil : RouteMatch(anyOf: blocks),
                            backends: weighted,
                            mirror: MirrorDefinition(
                                service: split.canaryService, percent: Double(min(route.percentageOrDefault, 100))),
                            sticky: sticky))
                }
            }
            routes.append(RouteDefinition(name: "default", backends: weighted, sticky: sticky))
            return ListenerDefinition(address: address, routes: routes, tls: tls)
        }
        return RouteTable(services: definitions, listeners: listeners)
    }

    /// A step's string condition as the router takes it: only its first of `exact`, `prefix`,
    /// `regex` (the router refuses a table with more than one).
    static func match(_ value: StringMatch?) -> StringMatch? {
        if let exact = value?.exact { return StringMatch(exact: exact) }
        if let prefix = value?.prefix { return StringMatch(prefix: prefix) }
        if let regex = value?.regex { return StringMatch(regex: regex) }
        return nil
    }

    /// A header condition of a step; nil when it sets no condition.
    static func header(_ name: String, _ value: StringMatch?) -> HeaderMatch? {
        match(value).map { HeaderMatch(name: name, exact: $0.exact, prefix: $0.prefix, regex: $0.regex) }
    }

    /// The Prometheus `http_sd_configs` payload: one target group per ready pod, labelled with
    /// its labels (names made valid for Prometheus: `rollouts-pod-template-hash` becomes
    /// `rollouts_pod_template_hash`) plus `pod`, `namespace` and `rollout`.
    public static func serviceDiscovery(pods: [PodRecord]) -> [[String: Any]] {
        pods.filter { $0.isReady && $0.process != nil }.sorted { $0.name < $1.name }.map { pod in
            var labels: [String: String] = [:]
            for (key, value) in pod.labels { labels[prometheusLabelName(key)] = value }
            labels["pod"] = pod.name
            labels["namespace"] = pod.namespace
            labels["rollout"] = pod.rollout
            return ["targets": [pod.address], "labels": labels]
        }
    }

    /// `serviceDiscovery(pods:)` as JSON.
    public static func serviceDiscoveryJSON(pods: [PodRecord]) -> Data {
        (try? JSONSerialization.data(withJSONObject: serviceDiscovery(pods: pods), options: [.sortedKeys]))
            ?? Data("[]".utf8)
    }

    /// A label name Prometheus accepts: `[a-zA-Z_][a-zA-Z0-9_]*`, other characters become `_`.
    public static func prometheusLabelName(_ name: String) -> String {
        var result = String(
            name.unicodeScalars.map { scalar in
                (scalar.isASCII && (CharacterSet.alphanumerics.contains(scalar) || scalar == "_"))
                    ? Character(scalar) : "_"
            })
        if let first = result.unicodeScalars.first, CharacterSet.decimalDigits.contains(first) {
            result = "_" + result
        }
        return result
    }
}
