import AviaryJSON
import AviaryRoutes
import Foundation

/// The canary strategy: steps that shift weight, pause and analyse.
public struct CanaryStrategy: Codable, Sendable, Hashable {
    /// The Service pointed at canary pods (required with traffic routing).
    public var canaryService: String?
    /// The Service pointed at stable pods (required with traffic routing).
    public var stableService: String?
    /// Ping-pong Services, an alternative to canary/stable Services.
    public var pingPong: PingPongSpec?
    /// Pods above `replicas` allowed during an update (default 25%, rounded up).
    public var maxSurge: IntOrString?
    /// Pods below `replicas` allowed during an update (default 25%, rounded down).
    public var maxUnavailable: IntOrString?
    /// Background analysis run for the whole update.
    public var analysis: RolloutAnalysisBackground?
    /// Anti-affinity between old and new pods, kept opaque.
    public var antiAffinity: AntiAffinity?
    /// Labels and annotations added to canary pods.
    public var canaryMetadata: PodMetadata?
    /// Labels and annotations added to stable pods.
    public var stableMetadata: PodMetadata?
    /// The steps; none means a plain rolling update.
    public var steps: [CanaryStep]?
    /// Traffic routing through a mesh or ingress.
    @Indirect public var trafficRouting: RolloutTrafficRouting? = nil
    /// Seconds before the old stable is scaled down with traffic routing (default 30).
    public var scaleDownDelaySeconds: Int?
    /// Old ReplicaSets left running during their scale-down delay.
    public var scaleDownDelayRevisionLimit: Int?
    /// Seconds before an aborted canary is scaled down (default 30; 0 = never).
    public var abortScaleDownDelaySeconds: Int?
    /// Scale the stable down as traffic leaves it.
    public var dynamicStableScale: Bool?
    /// The minimum pods of a canary or stable ReplicaSet with traffic routing.
    public var minPodsPerReplicaSet: Int?
    /// How much of the canary must be available for a step to complete (default 100%).
    public var replicaProgressThreshold: ReplicaProgressThreshold?

    /// A canary strategy with the given steps and Services.
    public init(
        canaryService: String? = nil, stableService: String? = nil, steps: [CanaryStep]? = nil,
        trafficRouting: RolloutTrafficRouting? = nil
    ) {
        self.canaryService = canaryService
        self.stableService = stableService
        self.steps = steps
        self.trafficRouting = trafficRouting
    }

    /// `maxSurge`, `25%` when absent.
    public var maxSurgeOrDefault: IntOrString { maxSurge ?? .string("25%") }
    /// `maxUnavailable`, `25%` when absent.
    public var maxUnavailableOrDefault: IntOrString { maxUnavailable ?? .string("25%") }
    /// Seconds before the old stable is scaled down, 30 when absent.
    public var scaleDownDelaySecondsOrDefault: Int { scaleDownDelaySeconds ?? 30 }
    /// Seconds before an aborted canary is scaled down, 30 when absent (0 means never).
    public var abortScaleDownDelaySecondsOrDefault: Int { abortScaleDownDelaySeconds ?? 30 }
    /// Whether the stable scales down as traffic leaves it, false when absent.
    public var dynamicStableScaleOrDefault: Bool { dynamicStableScale ?? false }
    /// The minimum pods per ReplicaSet, 1 when absent.
    public var minPodsPerReplicaSetOrDefault: Int { minPodsPerReplicaSet ?? 1 }
    /// The steps, empty when absent.
    public var stepsOrEmpty: [CanaryStep] { steps ?? [] }
    /// The Service whose traffic SMI splits: `trafficRouting.smi.rootService`, or `stableService`
    /// when that is empty (as Argo does); nil without SMI routing.
    public var smiRootServiceOrDefault: String? {
        guard let smi = trafficRouting?.smi else { return nil }
        if let root = smi.rootService, !root.isEmpty { return root }
        return stableService
    }

    /// The Service whose traffic the rollout's router splits, which keys the platform's split:
    /// SMI's root service, ALB's `rootService` when given; for the other routers Aviary runs,
    /// `stableService` (on one host Aviary's router splits that Service's listener, as the
    /// Ingress or mesh would). Nil without a router Aviary runs.
    public var trafficRootService: String? {
        guard let provider = trafficRouting?.provider else { return nil }
        if case .smi = provider { return smiRootServiceOrDefault }
        if case .alb(let alb) = provider, let root = alb.rootService, !root.isEmpty { return root }
        if let stableService, !stableService.isEmpty { return stableService }
        // Istio's subset-level split names no Services: its VirtualService keys the split.
        if case .istio(let istio) = provider { return istio.allVirtualServices.first?.name }
        // Consul splits one service's subsets: the service keys the split.
        if case .consul(let consul) = provider, let name = consul.serviceName, !name.isEmpty { return name }
        return nil
    }
}

/// Two Services that swap roles each update instead of canary/stable.
public struct PingPongSpec: Codable, Sendable, Hashable {
    /// The ping Service.
    public var pingService: String?
    /// The pong Service.
    public var pongService: String?

    /// A ping-pong pair.
    public init(pingService: String? = nil, pongService: String? = nil) {
        self.pingService = pingService
        self.pongService = pongService
    }

    /// Which of the two Services selects the stable pods and which the canary's, given the
    /// status's `canary.stablePingPong`: the pong Service when it says `pong`, otherwise (also
    /// before the first promotion) the ping Service, as Argo reads it.
    public func sides(stablePingPong: String?) -> (stable: String, canary: String) {
        let ping = pingService ?? ""
        let pong = pongService ?? ""
        return stablePingPong == PingPongSpec.pong ? (pong, ping) : (ping, pong)
    }

    /// The status value naming the ping Service as the stable one.
    public static let ping = "ping"
    /// The status value naming the pong Service as the stable one.
    public static let pong = "pong"
}

extension CanaryStrategy {
    /// Whether the traffic router splits between the ping and pong Services: with `pingPong`,
    /// unless ALB is named beside the router Aviary drives (Argo's ALB splits ping and pong while
    /// Istio splits `canaryService` and `stableService`; Aviary drives the Istio side). ALB alone
    /// splits ping and pong.
    public var splitsPingPong: Bool {
        guard pingPong != nil else { return false }
        if case .alb = trafficRouting?.provider { return true }
        return trafficRouting?.alb == nil
    }

    /// The Services the router splits between: the ping-pong sides `stablePingPong` gives (see
    /// `splitsPingPong`), else `canaryService` and `stableService`.
    public func splitServices(stablePingPong: String?) -> (canary: String?, stable: String?) {
        if splitsPingPong, let sides = pingPong?.sides(stablePingPong: stablePingPong) {
            return (sides.canary, sides.stable)
        }
        return (canaryService, stableService)
    }
}

/// When a canary step counts as available.
public struct ReplicaProgressThreshold: Codable, Sendable, Hashable {
    /// `Percent` or `Pods`.
    public var type: String
    /// The percentage or pod count.
    public var value: Int

    /// A threshold of the given type and value.
    public init(type: String, value: Int) {
        self.type = type
        self.value = value
    }
}

/// One canary step; exactly one member is set.
public struct CanaryStep: Codable, Sendable, Hashable {
    /// Send this percentage of traffic (or replicas) to the canary.
    public var setWeight: Int?
    /// Pause, for a duration or until promoted.
    public var pause: RolloutPause?
    /// Scale the canary independently of its weight.
    public var setCanaryScale: SetCanaryScale?
    /// Run an analysis and wait for its result.
    @Indirect public var analysis: RolloutAnalysis? = nil
    /// Run an experiment.
    @Indirect public var experiment: RolloutExperimentStep? = nil
    /// Route requests with matching headers to the canary.
    public var setHeaderRoute: SetHeaderRoute?
    /// Mirror matching requests to the canary.
    @Indirect public var setMirrorRoute: SetMirrorRoute? = nil
    /// Run one of Argo's step plugins (a go-plugin binary `stepPlugins` of `argo-rollouts-config` lists).
    @Indirect public var plugin: PluginStep? = nil

    /// A step; set exactly one member.
    public init(
        setWeight: Int? = nil, pause: RolloutPause? = nil, setCanaryScale: SetCanaryScale? = nil,
        analysis: RolloutAnalysis? = nil, experiment: RolloutExperimentStep? = nil,
        setHeaderRoute: SetHeaderRoute? = nil, setMirrorRoute: SetMirrorRoute? = nil, plugin: PluginStep? = nil
    ) {
        self.setWeight = setWeight
        self.pause = pause
        self.setCanaryScale = setCanaryScale
        self.analysis = analysis
        self.experiment = experiment
        self.setHeaderRoute = setHeaderRoute
        self.setMirrorRoute = setMirrorRoute
        self.plugin = plugin
    }

    /// The names of the members that are set, in field order (a valid step has exactly one).
    public var setKeys: [String] {
        var keys: [String] = []
        if setWeight != nil { keys.append("setWeight") }
        if pause != nil { keys.append("pause") }
        if setCanaryScale != nil { keys.append("setCanaryScale") }
        if analysis != nil { keys.append("analysis") }
        if experiment != nil { keys.append("experiment") }
        if setHeaderRoute != nil { keys.append("setHeaderRoute") }
        if setMirrorRoute != nil { keys.append("setMirrorRoute") }
        if plugin != nil { keys.append("plugin") }
        return keys
    }
}

/// A step plugin step: the plugin's name as `stepPlugins` of `argo-rollouts-config` lists it, and
/// the configuration it is given (any JSON; Argo passes it as `json.RawMessage`).
public struct PluginStep: Codable, Sendable, Hashable {
    /// The plugin's name (`NAMESPACE/NAME`).
    public var name: String
    /// The plugin's configuration for this step.
    public var config: JSONValue?

    /// A step running `name` with `config`.
    public init(name: String, config: JSONValue? = nil) {
        self.name = name
        self.config = config
    }
}

/// A pause step: `pause: {}` waits for a promote, `pause: {duration: 30s}` for the time.
public struct RolloutPause: Codable, Sendable, Hashable {
    /// How long to pause; absent means until promoted.
    public var duration: ArgoDuration?

    /// A pause of the given duration, or an indefinite one.
    public init(duration: ArgoDuration? = nil) { self.duration = duration }

    /// Whether the pause waits for a promote.
    public var isIndefinite: Bool { duration == nil }
}

/// Scales the canary apart from its traffic weight (needs traffic routing).
public struct SetCanaryScale: Codable, Sendable, Hashable {
    /// An absolute number of canary pods.
    public var replicas: Int?
    /// A percentage of `spec.replicas`.
    public var weight: Int?
    /// Go back to matching the traffic weight.
    public var matchTrafficWeight: Bool?

    /// A canary scale; set one member.
    public init(replicas: Int? = nil, weight: Int? = nil, matchTrafficWeight: Bool? = nil) {
        self.replicas = replicas
        self.weight = weight
        self.matchTrafficWeight = matchTrafficWeight
    }
}

/// An analysis run from one or more templates (a step, pre/post promotion).
public struct RolloutAnalysis: Codable, Sendable, Hashable {
    /// The templates whose metrics the run merges.
    public var templates: [RolloutAnalysisTemplate]?
    /// Arguments passed to the templates.
    public var args: [AnalysisRunArgument]?
    /// Metrics whose results do not count.
    public var dryRun: [DryRun]?
    /// How many measurements to keep per metric.
    public var measurementRetention: [MeasurementRetention]?
    /// Labels and annotations for the AnalysisRun.
    public var analysisRunMetadata: AnalysisRunMetadata?

    /// An analysis of the given templates and arguments.
    public init(templates: [RolloutAnalysisTemplate]? = nil, args: [AnalysisRunArgument]? = nil) {
        self.templates = templates
        self.args = args
    }
}

/// A background analysis: a `RolloutAnalysis` that starts at `startingStep`.
public struct RolloutAnalysisBackground: Codable, Sendable, Hashable {
    /// The templates whose metrics the run merges.
    public var templates: [RolloutAnalysisTemplate]?
    /// Arguments passed to the templates.
    public var args: [AnalysisRunArgument]?
    /// Metrics whose results do not count.
    public var dryRun: [DryRun]?
    /// How many measurements to keep per metric.
    public var measurementRetention: [MeasurementRetention]?
    /// Labels and annotations for the AnalysisRun.
    public var analysisRunMetadata: AnalysisRunMetadata?
    /// The step index at which the run starts (default 0).
    public var startingStep: Int?

    /// A background analysis of the given templates.
    public init(
        templates: [RolloutAnalysisTemplate]? = nil, args: [AnalysisRunArgument]? = nil, startingStep: Int? = nil
    ) {
        self.templates = templates
        self.args = args
        self.startingStep = startingStep
    }

    /// The analysis without its starting step.
    public var analysis: RolloutAnalysis {
        var analysis = RolloutAnalysis(templates: templates, args: args)
        analysis.dryRun = dryRun
        analysis.measurementRetention = measurementRetention
        analysis.analysisRunMetadata = analysisRunMetadata
        return analysis
    }
}

/// A reference to an AnalysisTemplate (or a ClusterAnalysisTemplate with `clusterScope`).
public struct RolloutAnalysisTemplate: Codable, Sendable, Hashable {
    /// The template's name.
    public var templateName: String?
    /// Whether the name refers to a ClusterAnalysisTemplate.
    public var clusterScope: Bool?

    /// A reference to the named template.
    public init(templateName: String? = nil, clusterScope: Bool? = nil) {
        self.templateName = templateName
        self.clusterScope = clusterScope
    }

    /// Whether the reference is to a ClusterAnalysisTemplate, false when absent.
    public var isClusterScope: Bool { clusterScope ?? false }
}

/// An argument a Rollout passes to an analysis: a literal or a value taken from the Rollout.
public struct AnalysisRunArgument: Codable, Sendable, Hashable {
    /// The argument's name, as the template declares it.
    public var name: String
    /// A literal value.
    public var value: String?
    /// A value taken from the Rollout.
    public var valueFrom: ArgumentValueFrom?

    /// A literal argument.
    public init(name: String, value: String? = nil, valueFrom: ArgumentValueFrom? = nil) {
        self.name = name
        self.value = value
        self.valueFrom = valueFrom
    }
}

/// Where a Rollout's analysis argument comes from.
public struct ArgumentValueFrom: Codable, Sendable, Hashable {
    /// `Stable` or `Latest`: the pod-template hash of that ReplicaSet.
    public var podTemplateHashValue: String?
    /// A field of the Rollout, `metadata.labels['app']`.
    public var fieldRef: FieldRef?

    /// A source; set one member.
    public init(podTemplateHashValue: String? = nil, fieldRef: FieldRef? = nil) {
        self.podTemplateHashValue = podTemplateHashValue
        self.fieldRef = fieldRef
    }
}

/// A path to a field of the owning object.
public struct FieldRef: Codable, Sendable, Hashable {
    /// The path, `metadata.name`.
    public var fieldPath: String

    /// A reference to the field at `fieldPath`.
    public init(fieldPath: String) { self.fieldPath = fieldPath }
}

/// An experiment step: run template ReplicaSets (and analyses) for a while.
public struct RolloutExperimentStep: Codable, Sendable, Hashable {
    /// The ReplicaSets the experiment runs.
    public var templates: [RolloutExperimentTemplate]
    /// How long the experiment runs; absent means until its analyses complete.
    public var duration: ArgoDuration?
    /// Analyses run during the experiment.
    public var analyses: [RolloutExperimentStepAnalysisTemplateRef]?
    /// Metrics whose results do not count.
    public var dryRun: [DryRun]?
    /// How many measurements to keep per metric.
    public var measurementRetention: [MeasurementRetention]?
    /// Labels and annotations for the AnalysisRuns.
    public var analysisRunMetadata: AnalysisRunMetadata?

    /// An experiment of the given templates.
    public init(templates: [RolloutExperimentTemplate], duration: ArgoDuration? = nil) {
        self.templates = templates
        self.duration = duration
    }
}

/// One ReplicaSet of an experiment step, cloned from the stable or canary template.
public struct RolloutExperimentTemplate: Codable, Sendable, Hashable {
    /// The template's name in the experiment.
    public var name: String
    /// `stable` or `canary`: which pod template to clone.
    public var specRef: String
    /// Pods (default 1).
    public var replicas: Int?
    /// Extra labels and annotations for the pods.
    public var metadata: PodMetadata?
    /// A selector for the pods.
    public var selector: LabelSelector?
    /// Traffic weight sent to the experiment's pods.
    public var weight: Int?
    /// A Service created for the pods.
    public var service: TemplateService?

    /// A template cloning `specRef`.
    public init(name: String, specRef: String, replicas: Int? = nil) {
        self.name = name
        self.specRef = specRef
        self.replicas = replicas
    }

    /// Pods, 1 when absent.
    public var replicasOrDefault: Int { replicas ?? 1 }
}

/// A Service created for an experiment template.
public struct TemplateService: Codable, Sendable, Hashable {
    /// The Service's name (default: derived from the experiment).
    public var name: String?

    /// A Service with the given name.
    public init(name: String? = nil) { self.name = name }
}

/// An analysis run during an experiment step.
public struct RolloutExperimentStepAnalysisTemplateRef: Codable, Sendable, Hashable {
    /// The analysis's name in the experiment.
    public var name: String
    /// The AnalysisTemplate to run.
    public var templateName: String
    /// Whether `templateName` refers to a ClusterAnalysisTemplate.
    public var clusterScope: Bool?
    /// Arguments for the template.
    public var args: [AnalysisRunArgument]?
    /// Whether the experiment waits for this analysis to complete.
    public var requiredForCompletion: Bool?

    /// An analysis of the named template.
    public init(name: String, templateName: String, args: [AnalysisRunArgument]? = nil) {
        self.name = name
        self.templateName = templateName
        self.args = args
    }
}

/// A header route: requests whose headers match go to the canary whatever the weight.
public struct SetHeaderRoute: Codable, Sendable, Hashable {
    /// The route's name; must be listed in `trafficRouting.managedRoutes`.
    public var name: String
    /// The matches, ORed; none removes the route.
    public var match: [HeaderRoutingMatch]?

    /// A header route with the given matches.
    public init(name: String, match: [HeaderRoutingMatch]? = nil) {
        self.name = name
        self.match = match
    }
}

/// One header condition of a header route.
public struct HeaderRoutingMatch: Codable, Sendable, Hashable {
    /// The header's name.
    public var headerName: String
    /// How its value must match.
    public var headerValue: StringMatch

    /// A match of `headerName` against `headerValue`.
    public init(headerName: String, headerValue: StringMatch) {
        self.headerName = headerName
        self.headerValue = headerValue
    }
}

/// A mirror route: a copy of matching requests goes to the canary.
public struct SetMirrorRoute: Codable, Sendable, Hashable {
    /// The route's name; must be listed in `trafficRouting.managedRoutes`.
    public var name: String
    /// The matches: fields within one block ANDed, blocks ORed; none removes the route.
    public var match: [RouteMatch]?
    /// The percentage of matching requests mirrored (default 100).
    public var percentage: Int?

    /// A mirror route with the given matches.
    public init(name: String, match: [RouteMatch]? = nil, percentage: Int? = nil) {
        self.name = name
        self.match = match
        self.percentage = percentage
    }

    /// The percentage mirrored, 100 when absent.
    public var percentageOrDefault: Int { percentage ?? 100 }
}

/// One block of conditions of a mirror route.
public struct RouteMatch: Codable, Sendable, Hashable {
    /// The HTTP method.
    public var method: StringMatch?
    /// The request path.
    public var path: StringMatch?
    /// Request headers by name.
    public var headers: [String: StringMatch]?

    /// A block of conditions.
    public init(method: StringMatch? = nil, path: StringMatch? = nil, headers: [String: StringMatch]? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
    }
}

/// How traffic is split between canary and stable.
public struct RolloutTrafficRouting: Codable, Sendable, Hashable {
    /// The total weight (default 100).
    public var maxTrafficWeight: Int?
    /// Routes the Rollout manages, in precedence order; header and mirror routes must be listed.
    public var managedRoutes: [MangedRoutes]?
    /// Istio VirtualServices (and a DestinationRule for subset-level splitting).
    public var istio: IstioTrafficRouting?
    /// NGINX ingress.
    public var nginx: NginxTrafficRouting?
    /// AWS ALB (the AWS Load Balancer Controller's Ingress annotations).
    public var alb: ALBTrafficRouting?
    /// SMI TrafficSplit; Aviary's router implements it locally.
    public var smi: SMITrafficRouting?
    /// Ambassador (Emissary-ingress) Mappings.
    public var ambassador: AmbassadorTrafficRouting?
    /// AWS App Mesh.
    public var appMesh: AppMeshTrafficRouting?
    /// Traefik's weighted TraefikService.
    public var traefik: TraefikTrafficRouting?
    /// Apache APISIX routes.
    public var apisix: ApisixTrafficRouting?
    /// Traffic router plugins by name; Aviary runs the Gateway API, Contour, OpenShift, Gloo Edge,
    /// Gloo Platform and Consul plugins itself (`gatewayAPI`, `contour`, `openshift`, `glooEdge`,
    /// `glooPlatform`, `consul`); another is a plugin binary (`TrafficProvider.plugin`).
    public var plugins: [String: JSONValue]?

    /// Traffic routing through SMI.
    public init(smi: SMITrafficRouting? = nil, managedRoutes: [MangedRoutes]? = nil, maxTrafficWeight: Int? = nil) {
        self.smi = smi
        self.managedRoutes = managedRoutes
        self.maxTrafficWeight = maxTrafficWeight
    }

    /// The total weight, 100 when absent.
    public var maxTrafficWeightOrDefault: Int { maxTrafficWeight ?? 100 }
    /// The names of the managed routes.
    public var managedRouteNames: [String] { (managedRoutes ?? []).map(\.name) }

    /// The name under which Argo's Gateway API plugin is configured.
    public static let gatewayAPIPlugin = "argoproj-labs/gatewayAPI"
    /// The name under which Argo's Contour plugin is configured.
    public static let contourPlugin = "argoproj-labs/contour"
    /// The name under which Argo's OpenShift Route plugin is configured.
    public static let openshiftPlugin = "argoproj-labs/openshift"
    /// The name under which Argo's Gloo Edge plugin is configured.
    public static let glooEdgePlugin = "solo-io/glooedge"
    /// The name under which Argo's Consul plugin is configured.
    public static let consulPlugin = "hashicorp/consul"
    /// The name under which Argo's Gloo Platform plugin is configured.
    public static let glooPlatformPlugin = "solo-io/glooplatform"
    /// The traffic router plugins Aviary runs itself.
    public static let pluginsRun = [
        gatewayAPIPlugin, contourPlugin, openshiftPlugin, glooEdgePlugin, glooPlatformPlugin, consulPlugin,
    ]

    /// The Gloo Edge plugin's configuration (nil when it is absent or does not decode; the
    /// validator says which).
    public var glooEdge: GlooEdgeTrafficRouting? { plugin(Self.glooEdgePlugin) }
    /// The Consul plugin's configuration, likewise.
    public var consul: ConsulTrafficRouting? { plugin(Self.consulPlugin) }
    /// The Gloo Platform plugin's configuration, likewise.
    public var glooPlatform: GlooPlatformTrafficRouting? { plugin(Self.glooPlatformPlugin) }
    /// The OpenShift plugin's configuration, likewise.
    public var openshift: OpenShiftTrafficRouting? { plugin(Self.openshiftPlugin) }
    /// The Contour plugin's configuration, likewise.
    public var contour: ContourTrafficRouting? { plugin(Self.contourPlugin) }
    /// The Gateway API plugin's configuration, likewise.
    public var gatewayAPI: GatewayAPITrafficRouting? { plugin(Self.gatewayAPIPlugin) }

    /// The configuration under a plugin's name, decoded; nil when the plugin is not named or its
    /// configuration does not decode.
    private func plugin<Configuration: Decodable>(_ name: String) -> Configuration? {
        guard let config = plugins?[name] else { return nil }
        return try? JSONDecoder().decode(Configuration.self, from: JSONEncoder().encode(config))
    }

    /// The router that keys the split (`CanaryStrategy.trafficRootService`) and, on one host, the
    /// one whose split Aviary's router makes; nil when the routing names none. On Kubernetes every
    /// router named is driven (`providers`). ALB, Ambassador, APISIX and App Mesh come last: beside
    /// another router (Istio's ping-pong, say) that one keys the split. A plugin binary (the first by
    /// name of those not in `pluginsRun`) comes after the plugins Aviary runs itself.
    public var provider: TrafficProvider? {
        if let smi { return .smi(smi) }
        if let nginx { return .nginx(nginx) }
        if let istio { return .istio(istio) }
        if let traefik { return .traefik(traefik) }
        if let gatewayAPI { return .gatewayAPI(gatewayAPI) }
        if let contour { return .contour(contour) }
        if let openshift { return .openshift(openshift) }
        if let glooEdge { return .glooEdge(glooEdge) }
        if let glooPlatform { return .glooPlatform(glooPlatform) }
        if let consul { return .consul(consul) }
        if let name = (plugins ?? [:]).keys.sorted().first(where: { !Self.pluginsRun.contains($0) }) {
            return .plugin(name: name, configuration: plugins?[name] ?? .null)
        }
        if let alb { return .alb(alb) }
        if let ambassador { return .ambassador(ambassador) }
        if let apisix { return .apisix(apisix) }
        if let appMesh { return .appMesh(appMesh) }
        return nil
    }

    /// Every router the routing names, in the order Argo's controller drives them: Istio, NGINX,
    /// ALB, SMI, Ambassador, App Mesh, Traefik, APISIX, then the plugins (by name). A plugin
    /// Aviary runs itself whose configuration does not decode is left out (the validator says why).
    public var providers: [TrafficProvider] {
        var all: [TrafficProvider?] = [
            istio.map { .istio($0) }, nginx.map { .nginx($0) }, alb.map { .alb($0) }, smi.map { .smi($0) },
            ambassador.map { .ambassador($0) }, appMesh.map { .appMesh($0) }, traefik.map { .traefik($0) },
            apisix.map { .apisix($0) },
        ]
        for name in (plugins ?? [:]).keys.sorted() {
            switch name {
            case Self.gatewayAPIPlugin: all.append(gatewayAPI.map { .gatewayAPI($0) })
            case Self.contourPlugin: all.append(contour.map { .contour($0) })
            case Self.openshiftPlugin: all.append(openshift.map { .openshift($0) })
            case Self.glooEdgePlugin: all.append(glooEdge.map { .glooEdge($0) })
            case Self.glooPlatformPlugin: all.append(glooPlatform.map { .glooPlatform($0) })
            case Self.consulPlugin: all.append(consul.map { .consul($0) })
            default: all.append(.plugin(name: name, configuration: plugins?[name] ?? .null))
            }
        }
        return all.compactMap { $0 }
    }

    /// The routers named beside `provider`, in Argo's order. On Kubernetes each is driven after
    /// the same weights and routes, as Argo drives every router named; on one host Aviary's router
    /// makes the one split.
    public var additionalProviders: [TrafficProvider] {
        let primary = provider
        return providers.filter { $0 != primary }
    }
}

/// One managed route (the spelling follows Argo's Go type, `MangedRoutes`).
public struct MangedRoutes: Codable, Sendable, Hashable {
    /// The route's name.
    public var name: String

    /// A route with the given name.
    public init(name: String) { self.name = name }
}

/// SMI traffic routing: a TrafficSplit on `rootService` between canary and stable Services.
public struct SMITrafficRouting: Codable, Sendable, Hashable {
    /// The Service clients call; its traffic is split (default: the canary's `stableService`,
    /// see `CanaryStrategy.smiRootServiceOrDefault`).
    public var rootService: String?
    /// The TrafficSplit's name (default: the Rollout's name).
    public var trafficSplitName: String?

    /// SMI routing for `rootService`.
    public init(rootService: String? = nil, trafficSplitName: String? = nil) {
        self.rootService = rootService
        self.trafficSplitName = trafficSplitName
    }
}

/// NGINX ingress traffic routing.
public struct NginxTrafficRouting: Codable, Sendable, Hashable {
    /// The annotation prefix (default `nginx.ingress.kubernetes.io`).
    public var annotationPrefix: String?
    /// The stable Ingress.
    public var stableIngress: String?
    /// Several stable Ingresses.
    public var stableIngresses: [String]?
    /// Annotations added to the canary Ingress.
    public var additionalIngressAnnotations: [String: String]?
    /// Annotations set on the canary Ingress only.
    public var canaryIngressAnnotations: [String: String]?

    /// NGINX routing for the stable Ingress.
    public init(stableIngress: String? = nil) { self.stableIngress = stableIngress }
}
