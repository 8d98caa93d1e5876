import AviaryModel

/// How a rollout with `trafficRouting.smi` splits its root service, and its managed routes as the
/// rollout's steps set them.
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

    /// The key of its root service.
    public var key: NamespacedName { NamespacedName(namespace: namespace, name: rootService) }
}
