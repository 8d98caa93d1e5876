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

    /// Creates a split.
    public init(
        rootService: String, canaryService: String, stableService: String, canaryWeight: Int,
        headerRoutes: [HeaderRoute] = [], mirrorRoutes: [MirrorRoute] = []
    ) {
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

/// One backend of a listener with its share of requests.
public struct WeightedEndpoint: Codable, Sendable, Hashable {
    /// `127.0.0.1:<port>` of a pod.
    public var address: String
    /// The pod's name.
    public var pod: String
    /// Relative weight: a backend gets weight / (sum of weights) of the requests.
    public var weight: Int

    /// Creates an endpoint.
    public init(address: String, pod: String, weight: Int) {
        self.address = address
        self.pod = pod
        self.weight = weight
    }
}

/// What one listener of the router does.
public struct ListenerPlan: Codable, Sendable, Hashable {
    /// The service's name.
    public var service: String
    /// Listen address.
    public var address: String
    /// Listen port.
    public var port: Int
    /// Weighted backends for ordinary requests.
    public var endpoints: [WeightedEndpoint]
    /// Header routes and the backends their matches go to.
    public var headerRoutes: [HeaderRoute]
    /// Backends for header-route matches and mirrors (the canary's ready pods).
    public var canaryEndpoints: [WeightedEndpoint]
    /// Mirror routes (copies go to `canaryEndpoints`).
    public var mirrorRoutes: [MirrorRoute]
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

    /// Every pod of `pods` gets an equal part of `share` percent, as weights out of 10 000 per
    /// percent (so 25 % over one pod and 75 % over three give 250 000 and 3 × 250 000).
    static func spread(_ pods: [PodRecord], share: Int) -> [WeightedEndpoint] {
        guard !pods.isEmpty, share > 0 else { return [] }
        let total = share * 10_000
        return pods.enumerated().map { index, pod in
            // The remainder goes to the first pods so the weights sum exactly to `total`.
            let weight = total / pods.count + (index < total % pods.count ? 1 : 0)
            return WeightedEndpoint(address: pod.address, pod: pod.name, weight: weight)
        }
    }

    /// One listener per service. A service that is the root of a split sends `canaryWeight`
    /// percent to the canary service's endpoints and the rest to the stable service's; when one
    /// side has no ready pod the other side takes everything (rather than failing requests).
    /// Any other service spreads evenly over its own endpoints, so without traffic routing the
    /// split follows the replica counts.
    public static func listeners(
        services: [LocalService], splits: [TrafficSplit], pods: [PodRecord]
    )
        -> [ListenerPlan]
    {
        let byName = Dictionary(services.map { ($0.name, $0) }, uniquingKeysWith: { first, _ in first })
        return services.sorted { $0.port < $1.port }.map { service in
            let own = endpoints(of: service, pods: pods)
            guard let split = splits.first(where: { $0.rootService == service.name }),
                let canaryService = byName[split.canaryService], let stableService = byName[split.stableService]
            else {
                return ListenerPlan(
                    service: service.name, address: service.address, port: service.port,
                    endpoints: spread(own, share: 100), headerRoutes: [], canaryEndpoints: [], mirrorRoutes: [])
            }
            let canaryPods = endpoints(of: canaryService, pods: pods)
            let stablePods = endpoints(of: stableService, pods: pods)
            let weight = max(0, min(100, split.canaryWeight))
            var weighted: [WeightedEndpoint]
            if canaryPods.isEmpty {
                weighted = spread(stablePods, share: 100)
            } else if stablePods.isEmpty {
                weighted = spread(canaryPods, share: 100)
            } else {
                weighted = spread(canaryPods, share: weight) + spread(stablePods, share: 100 - weight)
            }
            if weighted.isEmpty { weighted = spread(own, share: 100) }
            return ListenerPlan(
                service: service.name, address: service.address, port: service.port, endpoints: weighted,
                headerRoutes: split.headerRoutes, canaryEndpoints: spread(canaryPods, share: 100),
                mirrorRoutes: split.mirrorRoutes)
        }
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
