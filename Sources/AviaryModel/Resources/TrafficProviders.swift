import AviaryJSON

/// A traffic router Aviary drives, with the configuration the Rollout gives it
/// (`RolloutTrafficRouting.provider`).
public enum TrafficProvider: Codable, Sendable, Hashable {
    /// An SMI TrafficSplit (on one host, Aviary's router).
    case smi(SMITrafficRouting)
    /// NGINX Ingress: a canary Ingress beside each stable Ingress.
    case nginx(NginxTrafficRouting)
    /// Istio VirtualServices, and a DestinationRule's subsets.
    case istio(IstioTrafficRouting)
    /// Traefik's weighted TraefikService.
    case traefik(TraefikTrafficRouting)
    /// Gateway API routes, as Argo's `argoproj-labs/gatewayAPI` plugin drives them.
    case gatewayAPI(GatewayAPITrafficRouting)
    /// The AWS Load Balancer Controller: a weighted forward action in an annotation of the Ingress.
    case alb(ALBTrafficRouting)
    /// Ambassador (Emissary-ingress): a weighted canary Mapping beside each Mapping named.
    case ambassador(AmbassadorTrafficRouting)
    /// Apache APISIX: the backends' weights of an ApisixRoute's rules, header routes as ApisixRoutes.
    case apisix(ApisixTrafficRouting)
    /// AWS App Mesh: the weighted targets of a VirtualRouter's routes, between two VirtualNodes.
    case appMesh(AppMeshTrafficRouting)
    /// Contour HTTPProxies, as Argo's `argoproj-labs/contour` plugin drives them.
    case contour(ContourTrafficRouting)
    /// OpenShift Routes, as Argo's `argoproj-labs/openshift` plugin drives them.
    case openshift(OpenShiftTrafficRouting)
    /// Gloo Edge VirtualServices or RouteTables, as Argo's `solo-io/glooedge` plugin drives them.
    case glooEdge(GlooEdgeTrafficRouting)
    /// Consul's ServiceSplitter and ServiceResolver subsets, as Argo's `hashicorp/consul` plugin
    /// drives them.
    case consul(ConsulTrafficRouting)
    /// Gloo Platform RouteTables (`networking.gloo.solo.io/v2`), as Argo's `solo-io/glooplatform`
    /// plugin drives them.
    case glooPlatform(GlooPlatformTrafficRouting)
    /// One of Argo's traffic router plugins that Aviary does not implement itself, with its
    /// configuration as the Rollout gives it: on Kubernetes the go-plugin binary that
    /// `trafficRouterPlugins` of the ConfigMap `argo-rollouts-config` lists is started and called as
    /// Argo's controller calls it; on one host Aviary's router makes the split.
    case plugin(name: String, configuration: JSONValue)

    /// The field of `trafficRouting` that configures it.
    public var field: String {
        switch self {
        case .smi: "smi"
        case .nginx: "nginx"
        case .istio: "istio"
        case .traefik: "traefik"
        case .gatewayAPI: "plugins"
        case .alb: "alb"
        case .ambassador: "ambassador"
        case .apisix: "apisix"
        case .appMesh: "appMesh"
        case .contour, .openshift, .glooEdge, .consul, .glooPlatform, .plugin: "plugins"
        }
    }

    /// Whether Argo holds a `setWeight` step while this router says the weights are not verified:
    /// ALB (checked against AWS with `--aws-verify-target-group`), the Contour plugin (whose
    /// proxy status tells) and a plugin binary whose `VerifyWeight` answers `NotVerified`. Aviary's
    /// own check of Gateway API routes only reports.
    public var waitsForVerifiedWeights: Bool {
        switch self {
        case .alb, .contour, .plugin: true
        default: false
        }
    }

    /// The name Argo's documentation and the Rollout's status use (`status.canary.weights`'
    /// router, the `trafficRouter` of Argo's metrics).
    public var name: String {
        switch self {
        case .smi: "SMI"
        case .nginx: "Nginx"
        case .istio: "Istio"
        case .traefik: "Traefik"
        case .gatewayAPI: RolloutTrafficRouting.gatewayAPIPlugin
        case .alb: "ALB"
        case .ambassador: "Ambassador"
        case .apisix: "Apisix"
        case .appMesh: "AppMesh"
        case .contour: RolloutTrafficRouting.contourPlugin
        case .openshift: RolloutTrafficRouting.openshiftPlugin
        case .glooEdge: RolloutTrafficRouting.glooEdgePlugin
        case .consul: RolloutTrafficRouting.consulPlugin
        case .glooPlatform: RolloutTrafficRouting.glooPlatformPlugin
        case .plugin(let name, _): name
        }
    }
}

/// Istio traffic routing: host-level (weights between the canary and stable Services'
/// destinations of VirtualService routes) or subset-level (with `destinationRule`, weights between
/// two subsets of one host whose labels follow the pod-template hashes).
public struct IstioTrafficRouting: Codable, Sendable, Hashable {
    /// One VirtualService.
    public var virtualService: IstioVirtualService?
    /// Several VirtualServices.
    public var virtualServices: [IstioVirtualService]?
    /// The DestinationRule whose subsets split the traffic (subset-level).
    public var destinationRule: IstioDestinationRule?

    /// Istio routing through one VirtualService.
    public init(
        virtualService: IstioVirtualService? = nil, virtualServices: [IstioVirtualService]? = nil,
        destinationRule: IstioDestinationRule? = nil
    ) {
        self.virtualService = virtualService
        self.virtualServices = virtualServices
        self.destinationRule = destinationRule
    }

    /// `virtualService` then `virtualServices`.
    public var allVirtualServices: [IstioVirtualService] {
        (virtualService.map { [$0] } ?? []) + (virtualServices ?? [])
    }
}

/// A VirtualService and the routes of it that carry the split.
public struct IstioVirtualService: Codable, Sendable, Hashable {
    /// Its name, optionally `name.namespace`.
    public var name: String
    /// Names of HTTP routes; may be left out when the VirtualService has one HTTP route.
    public var routes: [String]?
    /// TLS routes, matched by port and SNI hosts.
    public var tlsRoutes: [IstioTLSRoute]?
    /// TCP routes, matched by port.
    public var tcpRoutes: [IstioTCPRoute]?

    /// A VirtualService by name with the named HTTP routes.
    public init(name: String, routes: [String]? = nil, tlsRoutes: [IstioTLSRoute]? = nil, tcpRoutes: [IstioTCPRoute]? = nil) {
        self.name = name
        self.routes = routes
        self.tlsRoutes = tlsRoutes
        self.tcpRoutes = tcpRoutes
    }
}

/// A TLS route of a VirtualService, found by its match's port and SNI hosts.
public struct IstioTLSRoute: Codable, Sendable, Hashable {
    /// The match's port.
    public var port: Int?
    /// The match's SNI hosts.
    public var sniHosts: [String]?

    /// A TLS route by port and SNI hosts.
    public init(port: Int? = nil, sniHosts: [String]? = nil) {
        self.port = port
        self.sniHosts = sniHosts
    }
}

/// A TCP route of a VirtualService, found by its match's port.
public struct IstioTCPRoute: Codable, Sendable, Hashable {
    /// The match's port.
    public var port: Int?

    /// A TCP route by port.
    public init(port: Int? = nil) { self.port = port }
}

/// The DestinationRule of a subset-level split.
public struct IstioDestinationRule: Codable, Sendable, Hashable {
    /// Its name.
    public var name: String
    /// The subset that selects the canary pods.
    public var canarySubsetName: String
    /// The subset that selects the stable pods.
    public var stableSubsetName: String
    /// Other subsets of the rule, left as they are.
    public var additionalSubsetNames: [String]?

    /// A DestinationRule with its two subsets.
    public init(name: String, canarySubsetName: String, stableSubsetName: String) {
        self.name = name
        self.canarySubsetName = canarySubsetName
        self.stableSubsetName = stableSubsetName
    }
}

/// Traefik traffic routing: the weights of a TraefikService's `weighted` services.
public struct TraefikTrafficRouting: Codable, Sendable, Hashable {
    /// The TraefikService whose `spec.weighted.services` list the canary and stable Services.
    public var weightedTraefikServiceName: String

    /// Traefik routing through the named TraefikService.
    public init(weightedTraefikServiceName: String) { self.weightedTraefikServiceName = weightedTraefikServiceName }
}

/// AWS ALB traffic routing: the AWS Load Balancer Controller reads a forward action, with a weight
/// per target group, from the annotation `PREFIX/actions.SERVICE` of the Ingress, where the
/// Ingress's rule names SERVICE with the port `use-annotation`. Argo writes that annotation.
public struct ALBTrafficRouting: Codable, Sendable, Hashable {
    /// The Ingress whose rule routes to the root Service.
    public var ingress: String?
    /// Several such Ingresses (instead of `ingress`).
    public var ingresses: [String]?
    /// The Services' port the action forwards to (required).
    public var servicePort: Int?
    /// The Service the Ingress's rule names, whose action carries the split (default: the
    /// canary's `stableService`; required with ping-pong).
    public var rootService: String?
    /// The ALB controller's annotation prefix (default `alb.ingress.kubernetes.io`).
    public var annotationPrefix: String?
    /// Duration-based stickiness of the target groups.
    public var stickinessConfig: ALBStickinessConfig?

    /// ALB routing through one Ingress.
    public init(ingress: String? = nil, servicePort: Int? = nil, rootService: String? = nil) {
        self.ingress = ingress
        self.servicePort = servicePort
        self.rootService = rootService
    }

    /// `ingress` and `ingresses`, in that order.
    public var allIngresses: [String] { (ingress.map { [$0] } ?? []) + (ingresses ?? []) }
}

/// Ambassador traffic routing: beside each Mapping named, Argo creates `MAPPING-canary`, the same
/// Mapping pointed at the canary Service with the canary's `weight`, and deletes it once the
/// weight is back to 0.
public struct AmbassadorTrafficRouting: Codable, Sendable, Hashable {
    /// The Mappings that route to the stable Service (required: the validator names it).
    public var mappings: [String]?

    /// Ambassador routing through `mappings`.
    public init(mappings: [String]) { self.mappings = mappings }
}

/// Apache APISIX traffic routing: the weights of the canary and stable backends of the named
/// rules of an ApisixRoute.
public struct ApisixTrafficRouting: Codable, Sendable, Hashable {
    /// The ApisixRoute and its rules.
    public var route: ApisixRoute?

    /// APISIX routing through `route`.
    public init(route: ApisixRoute?) { self.route = route }
}

/// An ApisixRoute and the rules (`spec.http[].name`) that carry the split.
public struct ApisixRoute: Codable, Sendable, Hashable {
    /// The ApisixRoute's name (required: the validator names it).
    public var name: String?
    /// Its HTTP rules that carry the split (default: the rule named like the route).
    public var rules: [String]?

    /// The route `name` with `rules`.
    public init(name: String, rules: [String]? = nil) {
        self.name = name
        self.rules = rules
    }

    /// `rules`, else the route's name, as Argo reads them.
    public var rulesOrDefault: [String] { rules ?? [name ?? ""] }
}

/// AWS App Mesh traffic routing: the VirtualService's VirtualRouter splits its routes' weighted
/// targets between the canary and stable VirtualNodes, whose pod selectors follow the canary and
/// stable pod-template hashes.
public struct AppMeshTrafficRouting: Codable, Sendable, Hashable {
    /// The VirtualService, provided by a VirtualRouter, and the routes to split.
    public var virtualService: AppMeshVirtualService?
    /// The canary and stable VirtualNodes.
    public var virtualNodeGroup: AppMeshVirtualNodeGroup?

    /// App Mesh routing through `virtualService` between `virtualNodeGroup`'s nodes.
    public init(virtualService: AppMeshVirtualService?, virtualNodeGroup: AppMeshVirtualNodeGroup?) {
        self.virtualService = virtualService
        self.virtualNodeGroup = virtualNodeGroup
    }
}

/// An App Mesh VirtualService and the routes of its VirtualRouter to split (all when none).
public struct AppMeshVirtualService: Codable, Sendable, Hashable {
    /// The VirtualService's name (required: the validator names it).
    public var name: String?
    /// The VirtualRouter's routes to split (`spec.routes[].name`); all of them when absent.
    public var routes: [String]?

    /// The VirtualService `name`.
    public init(name: String, routes: [String]? = nil) {
        self.name = name
        self.routes = routes
    }
}

/// The two VirtualNodes an App Mesh split is between.
public struct AppMeshVirtualNodeGroup: Codable, Sendable, Hashable {
    /// The canary's VirtualNode.
    public var canaryVirtualNodeRef: AppMeshVirtualNodeReference?
    /// The stable VirtualNode.
    public var stableVirtualNodeRef: AppMeshVirtualNodeReference?

    /// The canary and stable nodes.
    public init(canary: String, stable: String) {
        canaryVirtualNodeRef = AppMeshVirtualNodeReference(name: canary)
        stableVirtualNodeRef = AppMeshVirtualNodeReference(name: stable)
    }
}

/// A VirtualNode, by name, in the rollout's namespace.
public struct AppMeshVirtualNodeReference: Codable, Sendable, Hashable {
    /// The VirtualNode's name (required: the validator names it).
    public var name: String?

    /// The node `name`.
    public init(name: String) { self.name = name }
}

/// The configuration of Argo's Contour traffic router plugin (`plugins["argoproj-labs/contour"]`):
/// the HTTPProxies whose routes carry the canary and stable Services.
public struct ContourTrafficRouting: Codable, Sendable, Hashable {
    /// The HTTPProxies, in the rollout's namespace.
    public var httpProxies: [String]

    /// Contour routing through `httpProxies`.
    public init(httpProxies: [String]) { self.httpProxies = httpProxies }
}

/// The configuration of Argo's OpenShift traffic router plugin (`plugins["argoproj-labs/openshift"]`):
/// the Routes whose default backend is the stable Service.
public struct OpenShiftTrafficRouting: Codable, Sendable, Hashable {
    /// The Routes, `NAME` in the rollout's namespace or `NAMESPACE/NAME`.
    public var routes: [String]

    /// OpenShift routing through `routes`.
    public init(routes: [String]) { self.routes = routes }
}

/// The configuration of Argo's Gloo Edge traffic router plugin (`plugins["solo-io/glooedge"]`):
/// one VirtualService, or the RouteTables a name or labels select, and the routes in them to split.
public struct GlooEdgeTrafficRouting: Codable, Sendable, Hashable {
    /// A Gloo object by name, or RouteTables by labels; the namespace is the rollout's when not set.
    public struct Selector: Codable, Sendable, Hashable {
        public var name: String?
        public var namespace: String?
        public var labels: [String: String]?

        public init(name: String? = nil, namespace: String? = nil, labels: [String: String]? = nil) {
            self.name = name
            self.namespace = namespace
            self.labels = labels
        }
    }

    public var virtualService: Selector?
    public var routeTable: Selector?
    /// The route names to split (`routes[].name`); every route that sends to the stable upstream
    /// when not set, which the plugin allows only when there is one route.
    public var routes: [String]?

    /// Gloo Edge routing through a VirtualService or RouteTables.
    public init(virtualService: Selector? = nil, routeTable: Selector? = nil, routes: [String]? = nil) {
        self.virtualService = virtualService
        self.routeTable = routeTable
        self.routes = routes
    }
}

/// The configuration of Argo's Gloo Platform traffic router plugin (`plugins["solo-io/glooplatform"]`):
/// the RouteTables a name or labels select, and optionally which of their HTTP routes to split.
public struct GlooPlatformTrafficRouting: Codable, Sendable, Hashable {
    /// HTTP routes of the tables by name or labels (all of the given labels, values compared
    /// without case).
    public struct RouteSelector: Codable, Sendable, Hashable {
        public var name: String?
        public var labels: [String: String]?

        public init(name: String? = nil, labels: [String: String]? = nil) {
            self.name = name
            self.labels = labels
        }
    }

    /// The RouteTables: one by name, else those with the labels (every table of the namespace
    /// without either), in the selector's namespace or the rollout's.
    public var routeTableSelector: GlooEdgeTrafficRouting.Selector?
    /// Which HTTP routes to split; every route that forwards to the stable Service when not set.
    public var routeSelector: RouteSelector?

    /// Gloo Platform routing through the RouteTables `routeTableSelector` selects.
    public init(routeTableSelector: GlooEdgeTrafficRouting.Selector? = nil, routeSelector: RouteSelector? = nil) {
        self.routeTableSelector = routeTableSelector
        self.routeSelector = routeSelector
    }
}

/// The configuration of Argo's Consul traffic router plugin (`plugins["hashicorp/consul"]`): the
/// Consul service whose ServiceSplitter and ServiceResolver (both named after it) split its
/// traffic between two subsets, told apart by the pods' service meta.
public struct ConsulTrafficRouting: Codable, Sendable, Hashable {
    public var serviceName: String?
    public var canarySubsetName: String?
    public var stableSubsetName: String?
    /// The meta key the subsets' filters compare (`version` when not set): the pod template's
    /// annotation `consul.hashicorp.com/service-meta-KEY` gives each version's value.
    public var serviceMetaAnnotationSuffix: String?

    /// Consul routing for `serviceName`'s subsets.
    public init(
        serviceName: String? = nil, canarySubsetName: String? = nil, stableSubsetName: String? = nil,
        serviceMetaAnnotationSuffix: String? = nil
    ) {
        self.serviceName = serviceName
        self.canarySubsetName = canarySubsetName
        self.stableSubsetName = stableSubsetName
        self.serviceMetaAnnotationSuffix = serviceMetaAnnotationSuffix
    }

    /// The meta key, `version` by default.
    public var metaKey: String {
        guard let suffix = serviceMetaAnnotationSuffix, !suffix.isEmpty else { return "version" }
        return suffix
    }

    /// The pod template annotation that carries a version's meta value.
    public var annotation: String { "consul.hashicorp.com/service-meta-\(metaKey)" }
}

/// Target-group stickiness of an ALB forward action: a client keeps its target group for
/// `durationSeconds` (1 to 604,800, AWS's range).
public struct ALBStickinessConfig: Codable, Sendable, Hashable {
    /// Whether stickiness is on.
    public var enabled: Bool
    /// How long a client stays, in seconds.
    public var durationSeconds: Int

    /// Stickiness for `durationSeconds` when `enabled`.
    public init(enabled: Bool, durationSeconds: Int) {
        self.enabled = enabled
        self.durationSeconds = durationSeconds
    }
}

/// The configuration of Argo's Gateway API traffic router plugin
/// (`plugins["argoproj-labs/gatewayAPI"]`).
public struct GatewayAPITrafficRouting: Codable, Sendable, Hashable {
    /// One HTTPRoute.
    public var httpRoute: String?
    /// Several HTTPRoutes.
    public var httpRoutes: [GatewayAPIRoute]?
    /// One GRPCRoute.
    public var grpcRoute: String?
    /// Several GRPCRoutes.
    public var grpcRoutes: [GatewayAPIRoute]?
    /// One TCPRoute.
    public var tcpRoute: String?
    /// Several TCPRoutes.
    public var tcpRoutes: [GatewayAPIRoute]?
    /// The routes' namespace (default: the rollout's).
    public var namespace: String?
    /// The ConfigMap in which Argo's plugin records its managed routes; Aviary accepts it and
    /// keeps the record on the routes' rules instead.
    public var configMap: String?

    /// Gateway API routing through one HTTPRoute.
    public init(httpRoute: String? = nil, httpRoutes: [GatewayAPIRoute]? = nil, namespace: String? = nil) {
        self.httpRoute = httpRoute
        self.httpRoutes = httpRoutes
        self.namespace = namespace
    }
}

/// A route of the Gateway API plugin's lists.
public struct GatewayAPIRoute: Codable, Sendable, Hashable {
    /// The route's name.
    public var name: String
    /// Whether header routes are added to this route (Argo's plugin: the first route when none says so).
    public var useHeaderRoutes: Bool?

    /// A route by name.
    public init(name: String, useHeaderRoutes: Bool? = nil) {
        self.name = name
        self.useHeaderRoutes = useHeaderRoutes
    }
}
