import AviaryModel

/// How a rollout's traffic router splits its root service (`CanaryStrategy.trafficRootService`),
/// and its managed routes as the rollout's steps set them. On one host Aviary's router serves every
/// provider's split on the root Service's listener; on a cluster the platform writes the provider's
/// objects (TrafficSplit, canary Ingress, VirtualService, HTTPRoute, TraefikService).
public struct TrafficSplit: Codable, Sendable, Hashable {
    /// The namespace of the rollout and its services.
    public var namespace: String
    /// The service clients call (`smi.rootService`).
    public var rootService: String
    /// `canaryService`.
    public var canaryService: String
    /// `stableService`.
    public var stableService: String
    /// Percent of the root service's requests that go to the canary (0...100).
    public var canaryWeight: Int
    /// Active `setHeaderRoute` steps: a match sends the request to the canary.
    public var headerRoutes: [SetHeaderRoute]
    /// Active `setMirrorRoute` steps: a match is copied to the canary.
    public var mirrorRoutes: [SetMirrorRoute]
    /// The rollout that manages this split (removed with it).
    public var rollout: String?
    /// On a cluster, the TrafficSplit object's name (`smi.trafficSplitName`); nil: the rollout's
    /// name, Argo's default.
    public var name: String?
    /// The router and its configuration from the rollout; nil: SMI (splits stored before routers
    /// other than SMI were driven have none).
    public var provider: TrafficProvider?
    /// `trafficRouting.managedRoutes`, in order: the routes a router may remove and reorders first.
    public var managedRoutes: [String]?
    /// `trafficRouting.maxTrafficWeight`: the stable side gets `maxWeight - canaryWeight`; nil: 100.
    public var maxWeight: Int?
    /// The pod-template hash of the canary ReplicaSet (an Istio DestinationRule's canary subset
    /// selects it); nil when not known.
    public var canaryHash: String?
    /// The pod-template hash of the stable ReplicaSet (the stable subset's label).
    public var stableHash: String?
    /// The Services of a running experiment step's templates with a `weight`
    /// (`status.canary.weights.additional`): each takes its share out of the stable side's.
    public var additionalBackends: [AdditionalBackend]?
    /// Consul: the rollout's template's service meta value (its `consul.hashicorp.com/service-meta-KEY`
    /// annotation), which the canary subset's filter selects; nil for the other routers.
    public var canaryServiceMeta: String?
    /// Whether the rollout is aborted (`status.abort`); Consul's canary subset then selects nothing.
    public var aborted: Bool?
    /// The routers the rollout names beside `provider` (`RolloutTrafficRouting.additionalProviders`):
    /// on a cluster each is given the same split after it, as Argo drives every router named. Nil
    /// or empty: one router.
    public var additionalRouters: [AdditionalRouter]?

    /// Creates a split.
    public init(
        namespace: String = "default", rootService: String, canaryService: String, stableService: String,
        canaryWeight: Int, headerRoutes: [SetHeaderRoute] = [], mirrorRoutes: [SetMirrorRoute] = [],
        rollout: String? = nil, name: String? = nil
    ) {
        self.namespace = namespace
        self.rootService = rootService
        self.canaryService = canaryService
        self.stableService = stableService
        self.canaryWeight = canaryWeight
        self.headerRoutes = headerRoutes
        self.mirrorRoutes = mirrorRoutes
        self.rollout = rollout
        self.name = name
    }

    /// The total weight, `maxWeight` or 100.
    public var totalWeight: Int { maxWeight ?? 100 }

    /// The stable side's weight: what the canary and the experiment's templates leave.
    public var stableWeight: Int { totalWeight - canaryWeight - (additionalBackends ?? []).reduce(0) { $0 + $1.weight } }

    /// The key of its root service.
    public var key: NamespacedName { NamespacedName(namespace: namespace, name: rootService) }

    /// Every router of the split with the split it is given: `provider` (nil: SMI) with this
    /// split, then each additional router with this split through its own Services.
    public var routers: [(provider: TrafficProvider?, split: TrafficSplit)] {
        var primary = self
        primary.additionalRouters = nil
        return [(provider, primary)]
            + (additionalRouters ?? []).map { router in
                var split = primary
                split.provider = router.provider
                split.canaryService = router.canaryService ?? canaryService
                split.stableService = router.stableService ?? stableService
                split.rootService = router.rootService ?? rootService
                return (router.provider, split)
            }
    }
}

/// A router named beside a split's `provider`, and the Services it splits when they are not the
/// split's (ALB's action on its `rootService`, between ping and pong, beside another router that
/// splits `canaryService` and `stableService`).
public struct AdditionalRouter: Codable, Sendable, Hashable {
    /// The router and its configuration.
    public var provider: TrafficProvider
    /// The canary side, nil: the split's.
    public var canaryService: String?
    /// The stable side, nil: the split's.
    public var stableService: String?
    /// The Service whose traffic it splits, nil: the split's root service.
    public var rootService: String?

    /// Creates a router entry.
    public init(
        provider: TrafficProvider, canaryService: String? = nil, stableService: String? = nil,
        rootService: String? = nil
    ) {
        self.provider = provider
        self.canaryService = canaryService
        self.stableService = stableService
        self.rootService = rootService
    }
}

/// A Service that takes a share of a root service's traffic beside the canary and the stable:
/// an experiment template's (Argo's `weights.additional`).
public struct AdditionalBackend: Codable, Sendable, Hashable {
    /// The template's Service.
    public var service: String
    /// Its share, out of the split's total weight.
    public var weight: Int
    /// The pod-template hash of the template's ReplicaSet.
    public var podTemplateHash: String?

    /// Creates a backend.
    public init(service: String, weight: Int, podTemplateHash: String? = nil) {
        self.service = service
        self.weight = weight
        self.podTemplateHash = podTemplateHash
    }
}

/// An action that waits for something the rollout names and that is not there yet (a router's
/// Ingress or route, an AnalysisTemplate): the rollout shows `REASON: message`, one Warning event
/// with `reason` is recorded, and the reconcile is retried, instead of failing over and over in the
/// log only or aborting the update.
public protocol BlockedAction: Error, CustomStringConvertible {
    /// The event's reason, Argo's where it has one (`TrafficRoutingError`).
    var reason: String { get }
}
