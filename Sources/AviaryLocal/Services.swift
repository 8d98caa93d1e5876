import Foundation

/// A Service of the local platform: a router listener on `address:port` whose endpoints are the
/// ready pods matching `selector`.
public struct LocalService: Codable, Sendable, Hashable {
    /// `metadata.name`.
    public var name: String
    /// `metadata.namespace`.
    public var namespace: String
    /// The listener's address (loopback unless configured otherwise).
    public var address: String
    /// `spec.ports[0].port`.
    public var port: Int
    /// `spec.selector`, with `rollouts-pod-template-hash` added when a rollout points it at a revision.
    public var selector: [String: String]

    /// Creates a service.
    public init(
        name: String, namespace: String = "default", address: String = "127.0.0.1", port: Int,
        selector: [String: String]
    ) {
        self.name = name
        self.namespace = namespace
        self.address = address
        self.port = port
        self.selector = selector
    }

    /// Whether a pod with `labels` is selected (every selector label present with the same value;
    /// an empty selector selects nothing, as on Kubernetes for Services).
    public func selects(_ labels: [String: String]) -> Bool {
        !selector.isEmpty && selector.allSatisfy { labels[$0.key] == $0.value }
    }
}

/// How a rollout with `trafficRouting.smi` splits its root service, and its managed routes.
public struct TrafficSplit: Codable, Sendable, Hashable {
    /// The service clients call (`smi.rootService`).
    public var rootService: String
    /// `canaryService`.
    public var canaryService: String
    /// `stableService`.
    public var stableService: String
    /// Percent of the root service's requests that go to the canary (0...100).
    public var canaryWeight: Int
    /// Active `setHeaderRoute` routes: a match sends the request to the canary.
    public var headerRoutes: [HeaderRoute]
    /// Active `setMirrorRoute` routes: a match is copied to the canary.
    public var mirrorRoutes: [MirrorRoute]
    /// The rollout that manages this split (removed with it).
    public var rollout: String?

    /// Creates a split.
    public init(
        rootService: String, canaryService: String, stableService: String, canaryWeight: Int,
        headerRoutes: [HeaderRoute] = [], mirrorRoutes: [MirrorRoute] = [], rollout: String? = nil
    ) {
        self.rollout = rollout
        self.rootService = rootService
        self.canaryService = canaryService
        self.stableService = stableService
        self.canaryWeight = canaryWeight
        self.headerRoutes = headerRoutes
        self.mirrorRoutes = mirrorRoutes
    }
}

/// How a header value matches (`exact`, `prefix` or `regex`, as `setHeaderRoute` has it).
public struct ValueMatch: Codable, Sendable, Hashable {
    /// `exact`, `prefix` or `regex`.
    public var kind: String
    /// The value or pattern.
    public var value: String

    /// Creates a match.
    public init(kind: String, value: String) {
        self.kind = kind
        self.value = value
    }
}

/// A `setHeaderRoute`: requests whose headers match any entry go to the canary.
public struct HeaderRoute: Codable, Sendable, Hashable {
    /// The route's name (from `managedRoutes`).
    public var name: String
    /// Header name → how its value must match; entries are ORed.
    public var matches: [HeaderMatch]
    /// The manifest's step this route came from, as JSON, kept so it can be given back unchanged.
    public var source: Data?

    /// Creates a route.
    public init(name: String, matches: [HeaderMatch], source: Data? = nil) {
        self.name = name
        self.matches = matches
        self.source = source
    }
}

/// One header condition.
public struct HeaderMatch: Codable, Sendable, Hashable {
    /// The header's name.
    public var header: String
    /// How its value matches.
    public var value: ValueMatch

    /// Creates a condition.
    public init(header: String, value: ValueMatch) {
        self.header = header
        self.value = value
    }
}

/// A `setMirrorRoute`: a percentage of the matching requests is copied to the canary.
public struct MirrorRoute: Codable, Sendable, Hashable {
    /// The route's name.
    public var name: String
    /// Percent of matching requests to copy.
    public var percentage: Int
    /// Match blocks: a request matches when any block matches (no block: every request).
    public var matches: [MirrorMatch]
    /// The manifest's step this route came from, as JSON, kept so it can be given back unchanged.
    public var source: Data?

    /// Creates a mirror route.
    public init(name: String, percentage: Int, matches: [MirrorMatch] = [], source: Data? = nil) {
        self.name = name
        self.percentage = percentage
        self.matches = matches
        self.source = source
    }
}

/// One match block of a mirror route: every condition given must hold.
public struct MirrorMatch: Codable, Sendable, Hashable {
    /// Request method to match, nil for any.
    public var method: ValueMatch?
    /// Request path to match, nil for any.
    public var path: ValueMatch?
    /// Header conditions, all of which must hold.
    public var headers: [HeaderMatch]

    /// Creates a block.
    public init(method: ValueMatch? = nil, path: ValueMatch? = nil, headers: [HeaderMatch] = []) {
        self.method = method
        self.path = path
        self.headers = headers
    }
}

/// A service a route sends requests to, with its relative weight.
public struct BackendShare: Codable, Sendable, Hashable {
    /// The service's name (its endpoints are in `RoutingPlan.endpoints`).
    public var service: String
    /// Relative weight among the route's backends.
    public var weight: Int

    /// Creates a share.
    public init(service: String, weight: Int) {
        self.service = service
        self.weight = weight
    }
}

/// One route of a listener: requests that match go to the weighted backends (round robin over
/// each service's endpoints), and a share of them is copied to the mirror.
public struct RoutePlan: Codable, Sendable, Hashable {
    /// The route's name (a managed route's name, or `default`).
    public var name: String
    /// Header conditions, any of which must hold (a `setHeaderRoute`); nil for no condition.
    public var headerMatches: [HeaderMatch]?
    /// Request match blocks, any of which must hold (a `setMirrorRoute`); nil for no condition.
    public var requestMatches: [MirrorMatch]?
    /// Where matching requests go.
    public var backends: [BackendShare]
    /// The service that gets copies, and the percent of matching requests copied.
    public var mirror: BackendShare?
}

/// What one listener of the router does.
public struct ListenerPlan: Codable, Sendable, Hashable {
    /// The service's name.
    public var service: String
    /// Listen address.
    public var address: String
    /// Listen port.
    public var port: Int
    /// Routes in order: the first that matches serves the request; the last has no condition.
    public var routes: [RoutePlan]
}

/// Everything the router needs: the endpoints of every service and the listeners.
public struct RoutingPlan: Codable, Sendable, Hashable {
    /// Service name → `127.0.0.1:<port>` of its ready pods, sorted.
    public var endpoints: [String: [String]]
    /// One listener per service, sorted by port.
    public var listeners: [ListenerPlan]

    /// Creates a plan.
    public init(endpoints: [String: [String]] = [:], listeners: [ListenerPlan] = []) {
        self.endpoints = endpoints
        self.listeners = listeners
    }
}

/// The pure computation of endpoints, the router's listeners and Prometheus targets.
public enum ServiceRouting {
    /// The ready pods a service selects, sorted by name.
    public static func endpoints(of service: LocalService, pods: [PodRecord]) -> [PodRecord] {
        pods.filter {
            $0.isReady && $0.process != nil && $0.namespace == service.namespace && service.selects($0.labels)
        }
        .sorted { $0.name < $1.name }
    }

    /// The routing plan. A service that is the root of a split sends `canaryWeight` percent to
    /// the canary service and the rest to the stable service; when one side has no ready pod the
    /// other side takes everything (rather than failing requests). Header routes send matches to
    /// the canary; mirror routes copy a percentage of matches to it. Any other service spreads
    /// evenly over its own endpoints, so without traffic routing the split follows replica counts.
    public static func plan(services: [LocalService], splits: [TrafficSplit], pods: [PodRecord]) -> RoutingPlan {
        var endpoints: [String: [String]] = [:]
        for service in services { endpoints[service.name] = self.endpoints(of: service, pods: pods).map(\.address) }
        let names = Set(services.map(\.name))
        // Two Services on one address and port would make the router refuse the whole table
        // (and so every later weight change): the first by namespace and name keeps the
        // listener. The API refuses such a Service; this guards state stored before that rule.
        var claimed: Set<String> = []
        let listening = services.sorted { ($0.port, $0.namespace, $0.name) < ($1.port, $1.namespace, $1.name) }
            .filter { claimed.insert("\($0.address):\($0.port)").inserted }
        let listeners = listening.map { service in
            let own = [BackendShare(service: service.name, weight: 100)]
            guard let split = splits.first(where: { $0.rootService == service.name }),
                names.contains(split.canaryService), names.contains(split.stableService)
            else {
                return ListenerPlan(
                    service: service.name, address: service.address, port: service.port,
                    routes: [RoutePlan(name: "default", backends: own)])
            }
            let canaryReady = !(endpoints[split.canaryService] ?? []).isEmpty
            let stableReady = !(endpoints[split.stableService] ?? []).isEmpty
            let weight = max(0, min(100, split.canaryWeight))
            var weighted: [BackendShare]
            switch (canaryReady, stableReady) {
            case (false, true): weighted = [BackendShare(service: split.stableService, weight: 100)]
            case (true, false): weighted = [BackendShare(service: split.canaryService, weight: 100)]
            case (false, false): weighted = own
            case (true, true):
                weighted = [
                    BackendShare(service: split.canaryService, weight: weight),
                    BackendShare(service: split.stableService, weight: 100 - weight),
                ].filter { $0.weight > 0 }
            }
            var routes: [RoutePlan] = []
            if canaryReady {
                for route in split.headerRoutes where !route.matches.isEmpty {
                    routes.append(
                        RoutePlan(
                            name: route.name, headerMatches: route.matches,
                            backends: [BackendShare(service: split.canaryService, weight: 100)]))
                }
                for route in split.mirrorRoutes where route.percentage > 0 {
                    routes.append(
                        RoutePlan(
                            name: route.name, requestMatches: route.matches.isEmpty ? nil : route.matches,
                            backends: weighted,
                            mirror: BackendShare(service: split.canaryService, weight: min(route.percentage, 100))))
                }
            }
            routes.append(RoutePlan(name: "default", backends: weighted))
            return ListenerPlan(service: service.name, address: service.address, port: service.port, routes: routes)
        }
        return RoutingPlan(endpoints: endpoints, listeners: listeners)
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
