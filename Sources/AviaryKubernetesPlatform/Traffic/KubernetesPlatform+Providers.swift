import AviaryJSON
import AviaryKubernetes
import AviaryPlatform

import AviaryModel

/// The API groups and versions of the traffic routers' objects (Argo's `--istio-api-version`,
/// `--traefik-api-group`, `--traefik-api-version`, `--ambassador-api-version`,
/// `--apisix-api-version`, `--appmesh-crd-version` and `--aws-target-group-binding-api-version`).
public struct TrafficResourceVersions: Sendable, Hashable {
    /// Istio's `networking.istio.io` version.
    public var istioVersion: String
    /// Traefik's API group.
    public var traefikGroup: String
    /// Traefik's version.
    public var traefikVersion: String
    /// Ambassador's Mapping `GROUP/VERSION`.
    public var ambassadorVersion: String
    /// APISIX's ApisixRoute `GROUP/VERSION`.
    public var apisixVersion: String
    /// App Mesh's `appmesh.k8s.aws` version.
    public var appMeshVersion: String
    /// The AWS Load Balancer Controller's TargetGroupBinding `GROUP/VERSION` (EKS Auto Mode's is
    /// `eks.amazonaws.com/v1`).
    public var targetGroupBindingVersion: String

    /// Argo's current defaults: Istio v1alpha3, Traefik `traefik.io/v1alpha1`, Ambassador
    /// `getambassador.io/v2`, APISIX `apisix.apache.org/v2`, App Mesh v1beta2, TargetGroupBinding
    /// `elbv2.k8s.aws/v1beta1`.
    public init(
        istioVersion: String = "v1alpha3", traefikGroup: String = "traefik.io", traefikVersion: String = "v1alpha1",
        ambassadorVersion: String = "getambassador.io/v2", apisixVersion: String = "apisix.apache.org/v2",
        appMeshVersion: String = "v1beta2", targetGroupBindingVersion: String = "elbv2.k8s.aws/v1beta1"
    ) {
        self.istioVersion = istioVersion
        self.traefikGroup = traefikGroup
        self.traefikVersion = traefikVersion
        self.ambassadorVersion = ambassadorVersion
        self.apisixVersion = apisixVersion
        self.appMeshVersion = appMeshVersion
        self.targetGroupBindingVersion = targetGroupBindingVersion
    }

    var targetGroupBindings: GroupVersionResource {
        let parts = targetGroupBindingVersion.split(separator: "/", maxSplits: 1).map(String.init)
        return GroupVersionResource(
            group: parts.count > 1 ? parts[0] : "elbv2.k8s.aws", version: parts.last ?? "v1beta1",
            resource: "targetgroupbindings")
    }

    static let ingresses = GroupVersionResource(group: "networking.k8s.io", version: "v1", resource: "ingresses")
    var virtualServices: GroupVersionResource {
        GroupVersionResource(group: "networking.istio.io", version: istioVersion, resource: "virtualservices")
    }
    var destinationRules: GroupVersionResource {
        GroupVersionResource(group: "networking.istio.io", version: istioVersion, resource: "destinationrules")
    }
    /// Mappings in `getambassador.io`, AmbassadorMappings in `x.getambassador.io`; an unknown
    /// group takes Mappings, and a bare version the default group, as Argo reads the flag.
    var ambassadorMappings: GroupVersionResource {
        let parts = ambassadorVersion.split(separator: "/").map(String.init)
        let group = parts.count > 1 ? parts[0] : "getambassador.io"
        let resource = group == "x.getambassador.io" ? "ambassadormappings" : "mappings"
        return GroupVersionResource(group: group, version: parts.last ?? "v2", resource: resource)
    }
    func appMesh(_ resource: String) -> GroupVersionResource {
        GroupVersionResource(group: "appmesh.k8s.aws", version: appMeshVersion, resource: resource)
    }
    var apisixRoutes: GroupVersionResource {
        let parts = apisixVersion.split(separator: "/").map(String.init)
        return GroupVersionResource(
            group: parts.count > 1 ? parts[0] : "apisix.apache.org", version: parts.last ?? "v2",
            resource: "apisixroutes")
    }
    var traefikServices: GroupVersionResource {
        GroupVersionResource(group: traefikGroup, version: traefikVersion, resource: "traefikservices")
    }
    static func gatewayRoutes(_ kind: GatewayAPIRoutes.Kind) -> GroupVersionResource {
        switch kind {
        case .http: GroupVersionResource(group: "gateway.networking.k8s.io", version: "v1", resource: "httproutes")
        case .grpc: GroupVersionResource(group: "gateway.networking.k8s.io", version: "v1", resource: "grpcroutes")
        case .tcp: GroupVersionResource(group: "gateway.networking.k8s.io", version: "v1alpha2", resource: "tcproutes")
        }
    }
}

extension KubernetesPlatform {
    /// Writes a split through a router other than SMI: each object the rollout names is read,
    /// changed as Argo's controller changes it, and written back only when that changed it.
    func applyThroughProvider(_ provider: TrafficProvider, _ split: TrafficSplit) async throws {
        let namespace = split.namespace
        let previousExperiments = previousExperimentServices(of: split)
        switch provider {
        case .smi:
            return
        case .nginx(let nginx):
            guard let rolloutName = split.rollout,
                let uid = resources.rolloutObject(namespace: namespace, name: rolloutName)?.metadata.uid
            else { throw RolloutNotCached(rollout: NamespacedName(namespace: namespace, name: split.rollout ?? "")) }
            let owner = Self.rolloutOwnerReference(name: rolloutName, uid: uid)
            let prefix = nginx.annotationPrefix ?? NginxCanaryIngress.defaultPrefix
            for stableName in (nginx.stableIngress.map { [$0] } ?? []) + (nginx.stableIngresses ?? []) {
                let stable = try await read(TrafficResourceVersions.ingresses, namespace, stableName)
                let desired = try NginxCanaryIngress.desired(stable: stable, split: split, config: nginx, owner: owner)
                let canaryName = NginxCanaryIngress.name(rollout: rolloutName, stableIngress: stableName)
                guard let existing = try await readIfPresent(TrafficResourceVersions.ingresses, namespace, canaryName) else {
                    _ = try await client.create(TrafficResourceVersions.ingresses, namespace: namespace, KubernetesObject(json: desired))
                    continue
                }
                if let changed = try NginxCanaryIngress.updated(existing: existing, desired: desired, rolloutUID: uid, prefix: prefix) {
                    try await writeIfChanged(TrafficResourceVersions.ingresses, namespace, existing, changed)
                }
            }
        case .istio(let istio):
            var ruleHost: String?
            if let rule = istio.destinationRule {
                let current = try await read(trafficVersions.destinationRules, namespace, rule.name)
                ruleHost = current[path: "spec", "host"]?.stringValue
                let desired = IstioRoutes.destinationRule(current, config: rule, split: split, hashLabel: podTemplateHashLabel)
                try await writeIfChanged(trafficVersions.destinationRules, namespace, current, desired)
            }
            for service in istio.allVirtualServices {
                let parts = service.name.split(separator: ".", maxSplits: 1).map(String.init)
                let serviceNamespace = parts.count > 1 ? parts[1] : namespace
                let current = try await read(trafficVersions.virtualServices, serviceNamespace, parts.first ?? "")
                let desired = try IstioRoutes.desired(
                    virtualService: current, config: service, split: split, destinationRule: istio.destinationRule,
                    ruleHost: ruleHost, managedRoutes: split.managedRoutes ?? [], previousExperiments: previousExperiments)
                try await writeIfChanged(trafficVersions.virtualServices, serviceNamespace, current, desired)
            }
        case .alb(let alb):
            for name in alb.allIngresses {
                let current = try await read(TrafficResourceVersions.ingresses, namespace, name)
                let desired = try ALBIngress.desired(ingress: current, split: split, config: alb)
                try await writeIfChanged(TrafficResourceVersions.ingresses, namespace, current, desired)
            }
        case .ambassador(let ambassador):
            let resource = trafficVersions.ambassadorMappings
            for base in ambassador.mappings ?? [] {
                try await applyAmbassadorCanary(base: base, resource: resource, split: split)
            }
        case .apisix(let apisix):
            guard let route = apisix.route else { return }
            try await applyApisixRoutes(route, split: split)
        case .appMesh(let appMesh):
            try await applyAppMesh(appMesh, split: split)
        case .contour(let contour):
            for name in contour.httpProxies {
                let current = try await read(ContourProxies.resource, namespace, name)
                let weighted = try ContourProxies.weighted(proxy: current, split: split)
                try await writeIfChanged(ContourProxies.resource, namespace, current, weighted)
            }
        case .openshift(let openshift):
            for route in openshift.routes {
                let (routeNamespace, name) = OpenShiftRoutes.reference(route, namespace: namespace)
                let current = try await read(OpenShiftRoutes.resource, routeNamespace, name)
                let weighted = OpenShiftRoutes.weighted(route: current, split: split)
                try await writeIfChanged(OpenShiftRoutes.resource, routeNamespace, current, weighted)
            }
        case .glooEdge(let gloo):
            try await applyGlooEdge(gloo, split: split)
        case .glooPlatform(let gloo):
            try await applyGlooPlatform(gloo, split: split)
        case .consul(let consul):
            // The splitter first, then the resolver, as the plugin writes them; both are checked
            // before either is written.
            let name = consul.serviceName ?? ""
            let resolver = try await read(ConsulSubsets.resolvers, namespace, name)
            let newResolver = try ConsulSubsets.resolver(resolver, config: consul, split: split)
            let splitter = try await read(ConsulSubsets.splitters, namespace, name)
            let newSplitter = try ConsulSubsets.splitter(splitter, config: consul, split: split)
            try await writeIfChanged(ConsulSubsets.splitters, namespace, splitter, newSplitter)
            try await writeIfChanged(ConsulSubsets.resolvers, namespace, resolver, newResolver)
        case .traefik(let traefik):
            let current = try await read(trafficVersions.traefikServices, namespace, traefik.weightedTraefikServiceName)
            try await writeIfChanged(
                trafficVersions.traefikServices, namespace, current, TraefikWeights.desired(service: current, split: split))
        case .plugin(let name, _):
            let (plugins, rollout) = try pluginAndRollout(name, split)
            try await plugins.perform(
                TrafficRouterPluginCall.calls(for: split, previous: providerSplits[split.key]), plugin: name,
                rollout: rollout)
        case .gatewayAPI(let gateway):
            let routeNamespace = gateway.namespace ?? namespace
            for (kind, name, useHeaderRoutes) in GatewayAPIRoutes.routes(of: gateway) {
                let resource = TrafficResourceVersions.gatewayRoutes(kind)
                let current = try await read(resource, routeNamespace, name)
                let desired = try GatewayAPIRoutes.desired(
                    route: current, kind: kind, split: split, useHeaderRoutes: useHeaderRoutes,
                    managedRoutes: split.managedRoutes ?? [], previousExperiments: previousExperiments,
                    experimentPorts: experimentPorts(of: split))
                try await writeIfChanged(resource, routeNamespace, current, desired)
            }
        }
    }

    /// Ambassador: creates the canary Mapping of `base` once the canary has a weight, sets its
    /// weight, and deletes it `AmbassadorMappings.propagation` after the weight went back to 0
    /// (unless it changed meanwhile: the delete is conditional on the version written).
    func applyAmbassadorCanary(base: String, resource: GroupVersionResource, split: TrafficSplit) async throws {
        let namespace = split.namespace
        let canaryName = AmbassadorMappings.canaryName(base)
        guard let existing = try await readIfPresent(resource, namespace, canaryName) else {
            guard split.canaryWeight > 0 else { return }
            guard let baseMapping = try await readIfPresent(resource, namespace, base) else {
                throw TrafficObjectError("Ambassador mapping \"\(base)\" not found")
            }
            let canary = try AmbassadorMappings.canary(base: baseMapping, split: split)
            _ = try await client.create(resource, namespace: namespace, KubernetesObject(json: canary))
            return
        }
        var written = existing
        if existing[path: "spec", "weight"]?.integerValue != Int64(split.canaryWeight) {
            let patch: JSONValue = [
                "metadata": ["resourceVersion": existing[path: "metadata", "resourceVersion"] ?? .null],
                "spec": ["weight": .integer(Int64(split.canaryWeight))],
            ]
            written = try await client.patch(
                resource, namespace: namespace, name: canaryName, type: .merge, body: patch
            ).json
        }
        guard split.canaryWeight == 0, let version = written[path: "metadata", "resourceVersion"]?.stringValue else {
            return
        }
        let client = client
        Task {
            try? await Task.sleep(for: AmbassadorMappings.propagation)
            try? await client.delete(
                resource, namespace: namespace, name: canaryName, preconditionResourceVersion: version)
        }
    }

    /// APISIX: the weights of the user's ApisixRoute, then each managed route's ApisixRoute made,
    /// updated, or deleted (only one the rollout owns) as its header route is set or not.
    func applyApisixRoutes(_ config: ApisixRoute, split: TrafficSplit) async throws {
        let (namespace, resource) = (split.namespace, trafficVersions.apisixRoutes)
        let base = try await read(resource, namespace, config.name ?? "")
        try await writeIfChanged(
            resource, namespace, base, try ApisixRoutes.weighted(route: base, split: split, config: config))
        guard let managed = split.managedRoutes, !managed.isEmpty else { return }
        guard let rolloutName = split.rollout,
            let uid = resources.rolloutObject(namespace: namespace, name: rolloutName)?.metadata.uid
        else { throw RolloutNotCached(rollout: NamespacedName(namespace: namespace, name: split.rollout ?? "")) }
        let owner = Self.rolloutOwnerReference(name: rolloutName, uid: uid)
        for name in managed {
            let existing = try await readIfPresent(resource, namespace, name)
            let owned = (existing?[path: "metadata", "ownerReferences"]?.elements ?? []).contains {
                $0["uid"]?.stringValue == uid && $0["controller"] == .bool(true)
            }
            guard let route = split.headerRoutes.last(where: { $0.name == name && !($0.match ?? []).isEmpty }) else {
                if let existing, owned {
                    let version = existing[path: "metadata", "resourceVersion"]?.stringValue
                    try await client.delete(
                        resource, namespace: namespace, name: name, preconditionResourceVersion: version)
                }
                continue
            }
            if existing != nil, !owned { throw TrafficObjectError("duplicate ApisixRoute [\(name)] already exists") }
            let desired = try ApisixRoutes.headerRoute(
                route, base: base, existing: existing, split: split, config: config, owner: owner)
            if let existing {
                try await writeIfChanged(resource, namespace, existing, desired)
            } else {
                _ = try await client.create(resource, namespace: namespace, KubernetesObject(json: desired))
            }
        }
    }

    /// App Mesh: the two VirtualNodes' pod selectors follow the stable and canary hashes, then the
    /// VirtualService's VirtualRouter gets the weights. A missing object is named as Argo names it.
    func applyAppMesh(_ config: AppMeshTrafficRouting, split: TrafficSplit) async throws {
        let namespace = split.namespace
        let nodes = trafficVersions.appMesh("virtualnodes")
        let hashes = AppMeshRoutes.hashes(of: split)
        for (reference, hash) in [
            (config.virtualNodeGroup?.stableVirtualNodeRef, hashes.stable),
            (config.virtualNodeGroup?.canaryVirtualNodeRef, hashes.canary),
        ] {
            guard let name = reference?.name, let node = try await readIfPresent(nodes, namespace, name) else {
                throw TrafficObjectError("Virtual-node is missing")
            }
            let desired = AppMeshRoutes.node(
                node, hash: hash, hashLabel: podTemplateHashLabel, rollout: split.rollout ?? "")
            try await writeIfChanged(nodes, namespace, node, desired)
        }
        guard let serviceName = config.virtualService?.name,
            let service = try await readIfPresent(trafficVersions.appMesh("virtualservices"), namespace, serviceName)
        else { throw TrafficObjectError("Virtual-service is missing") }
        let reference = try AppMeshRoutes.routerReference(of: service)
        let routers = trafficVersions.appMesh("virtualrouters")
        guard let router = try await readIfPresent(routers, reference.namespace, reference.name) else {
            throw TrafficObjectError("Virtual-router is missing")
        }
        let weighted = try AppMeshRoutes.weighted(router: router, split: split, config: config)
        try await writeIfChanged(routers, reference.namespace, router, weighted)
    }

    /// The Services of experiment templates the rollout routed to before this split: those the
    /// platform last wrote, and those its status reports (`canary.weights.additional`), which
    /// outlive a restart of the controller.
    func previousExperimentServices(of split: TrafficSplit) -> Set<String> {
        var services = Set((providerSplits[split.key]?.additionalBackends ?? []).map(\.service))
        if let rollout = split.rollout, let object = resources.rolloutObject(namespace: split.namespace, name: rollout) {
            for entry in object.json[path: "status", "canary", "weights", "additional"]?.elements ?? [] {
                if let service = entry["serviceName"]?.stringValue { services.insert(service) }
            }
        }
        return services
    }

    /// The port of each experiment Service in the split: the one named `http`, else the first.
    func experimentPorts(of split: TrafficSplit) -> [String: Int] {
        var ports: [String: Int] = [:]
        for backend in split.additionalBackends ?? [] {
            let key = NamespacedName(namespace: split.namespace, name: backend.service)
            if let service = resources.serviceInformer.object(forKey: key.cacheKey) {
                let declared = service.json[path: "spec", "ports"]?.elements ?? []
                let port = declared.first { $0["name"]?.stringValue == "http" } ?? declared.first
                if let number = port?["port"]?.integerValue { ports[backend.service] = Int(number) }
            }
        }
        return ports
    }

    /// Gloo Edge: the VirtualService named, or the RouteTables named or selected by labels (in the
    /// selector's namespace, else the rollout's).
    private func applyGlooEdge(_ gloo: GlooEdgeTrafficRouting, split: TrafficSplit) async throws {
        if let selector = gloo.virtualService {
            let namespace = selector.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? split.namespace
            let current = try await read(GlooEdgeRoutes.virtualServices, namespace, selector.name ?? "")
            let weighted = try GlooEdgeRoutes.weighted(virtualService: current, config: gloo, split: split)
            try await writeIfChanged(GlooEdgeRoutes.virtualServices, namespace, current, weighted)
            return
        }
        guard let selector = gloo.routeTable else { return }
        let namespace = selector.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? split.namespace
        let tables: [JSONValue]
        if let name = selector.name, !name.isEmpty {
            tables = [try await read(GlooEdgeRoutes.routeTables, namespace, name)]
        } else {
            let selectorText = GlooEdgeRoutes.labelSelector(selector.labels ?? [:])
            tables = try await client.list(GlooEdgeRoutes.routeTables, namespace: namespace, labelSelector: selectorText)
                .items.map(\.json)
        }
        let weighted = try GlooEdgeRoutes.weighted(routeTables: tables, config: gloo, split: split)
        for (current, desired) in zip(tables, weighted) {
            try await writeIfChanged(GlooEdgeRoutes.routeTables, namespace, current, desired)
        }
    }

    /// Gloo Platform: the RouteTable named, or those with the selector's labels (every one without
    /// labels), in the selector's namespace or the rollout's.
    private func applyGlooPlatform(_ gloo: GlooPlatformTrafficRouting, split: TrafficSplit) async throws {
        let selector = gloo.routeTableSelector ?? .init()
        let namespace = selector.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? split.namespace
        let resource = GlooPlatformRoutes.routeTables
        let tables: [JSONValue]
        if let name = selector.name, !name.isEmpty {
            tables = [try await read(resource, namespace, name)]
        } else {
            let labels = GlooEdgeRoutes.labelSelector(selector.labels ?? [:])
            tables = try await client.list(resource, namespace: namespace, labelSelector: labels).items.map(\.json)
        }
        let desired = try GlooPlatformRoutes.desired(tables: tables, config: gloo, split: split, namespace: namespace)
        for (current, desired) in zip(tables, desired) {
            try await writeIfChanged(resource, namespace, current, desired)
        }
    }

    /// The object, or Argo's "not found" message for it.
    private func read(_ resource: GroupVersionResource, _ namespace: String, _ name: String) async throws -> JSONValue {
        guard let object = try await readIfPresent(resource, namespace, name) else {
            let group = resource.group.isEmpty ? "" : ".\(resource.group)"
            // Argo reads Ingresses through a lister, whose message names the resource in the singular.
            let noun = resource == TrafficResourceVersions.ingresses ? "ingress" : resource.resource
            throw TrafficObjectError("\(noun)\(group) \"\(name)\" not found")
        }
        return object
    }

    func readIfPresent(_ resource: GroupVersionResource, _ namespace: String, _ name: String) async throws -> JSONValue? {
        do {
            return try await client.get(resource, namespace: namespace, name: name).json
        } catch {
            if error.isNotFound { return nil }
            throw error
        }
    }

    /// Sends the change as a merge patch of the fields that differ, never the whole object, with
    /// the version read as a precondition: a write by someone else meanwhile is a conflict (the
    /// reconcile retries from a fresh read), not lost.
    func writeIfChanged(
        _ resource: GroupVersionResource, _ namespace: String, _ current: JSONValue, _ desired: JSONValue
    ) async throws {
        guard var patch = MergePatch.diff(from: current, to: desired),
            let name = current[path: "metadata", "name"]?.stringValue
        else { return }
        patch[path: "metadata", "resourceVersion"] = current[path: "metadata", "resourceVersion"]
        _ = try await client.patch(resource, namespace: namespace, name: name, type: .merge, body: patch)
    }

    /// Whether the router serves the split last applied: for the Gateway API, whether every
    /// route's parents have accepted the generation Aviary last wrote (`status.parents[].conditions`
    /// `Accepted: True` at an `observedGeneration` at least the route's); for Contour, the proxies'
    /// `Valid` condition; for ALB (when AWS is read), the weights of the load balancer's target
    /// groups. Unknown (nil) for the other routers and while no gateway has written a status.
    /// With several routers, each is asked: not verified when one says not, unknown when one
    /// cannot say, and the events of all.
    public func verifyWeights(rootService: NamespacedName) async -> WeightVerification {
        guard let split = providerSplits[rootService] else { return WeightVerification(verified: nil) }
        var answers: [WeightVerification] = []
        for (provider, routerSplit) in split.routers {
            guard let provider else { continue }  // SMI says nothing of its weights
            answers.append(await verifyWeights(through: provider, routerSplit))
        }
        return WeightVerification(
            verified: answers.isEmpty ? nil : Self.combined(answers.map(\.verified)),
            loadBalancers: answers.compactMap(\.loadBalancers).first, events: answers.flatMap(\.events))
    }

    private func verifyWeights(through provider: TrafficProvider, _ split: TrafficSplit) async -> WeightVerification {
        switch provider {
        case .contour(let contour):
            var verdicts: [Bool?] = []
            for name in contour.httpProxies {
                guard let proxy = try? await readIfPresent(ContourProxies.resource, split.namespace, name) else {
                    return WeightVerification(verified: false)
                }
                verdicts.append(ContourProxies.verified(proxy: proxy, split: split))
            }
            return WeightVerification(verified: Self.combined(verdicts))
        case .gatewayAPI(let gateway):
            var verdicts: [Bool?] = []
            for (kind, name, _) in GatewayAPIRoutes.routes(of: gateway) {
                guard
                    let route = try? await readIfPresent(
                        TrafficResourceVersions.gatewayRoutes(kind), gateway.namespace ?? split.namespace, name)
                else { return WeightVerification(verified: false) }
                verdicts.append(GatewayAPIRoutes.accepted(route))
            }
            return WeightVerification(verified: Self.combined(verdicts))
        case .alb(let alb):
            guard let loadBalancers else { return WeightVerification(verified: nil) }
            return await verifyALB(alb, split: split, loadBalancers: loadBalancers)
        case .plugin(let name, _):
            // Argo's words when the plugin's check fails; the weights count as not verified.
            do {
                let (plugins, rollout) = try pluginAndRollout(name, split)
                let additional = TrafficRouterPluginCall.additionalDestinations(of: split)
                let verified = try await plugins.verifyWeight(
                    split.canaryWeight, additional: additional, plugin: name, rollout: rollout)
                return WeightVerification(verified: verified)
            } catch {
                return WeightVerification(
                    verified: false,
                    events: [
                        VerificationEvent(
                            warning: true, reason: "WeightVerifyError",
                            message: "Failed to verify weight: failed to verify weight via plugin: \(error)")
                    ])
            }
        default:
            return WeightVerification(verified: nil)
        }
    }

    /// The plugin host and the split's Rollout as the cluster has it, for a call to a traffic router plugin.
    private func pluginAndRollout(_ name: String, _ split: TrafficSplit) throws -> (any TrafficRouterPlugins, Rollout) {
        guard let plugins = trafficRouterPlugins else {
            throw TrafficRouterPluginError(
                "traffic router plugin \(name): this controller runs no plugin binaries; run it with aviary serve "
                    + "--kubernetes, which reads trafficRouterPlugins of argo-rollouts-config")
        }
        let key = NamespacedName(namespace: split.namespace, name: split.rollout ?? "")
        guard let object = resources.rolloutObject(namespace: key.namespace, name: key.name) else {
            throw RolloutNotCached(rollout: key)
        }
        return (plugins, try object.json.decoded(as: Rollout.self))
    }

    /// False when one says false, else nil when one cannot say, else true.
    private static func combined(_ verdicts: [Bool?]) -> Bool? {
        if verdicts.contains(false) { return false }
        return verdicts.contains(nil) ? nil : true
    }

    /// Argo's ALB check: for each Ingress, the load balancer its status names, and the weights of
    /// the target groups tagged for the canary and the experiment templates. Verified once every
    /// Ingress's canary weight and every template's weight is in place; an Ingress without a load
    /// balancer yet counts as not verified.
    private func verifyALB(
        _ alb: ALBTrafficRouting, split: TrafficSplit, loadBalancers: any ElasticLoadBalancing
    ) async -> WeightVerification {
        let ingresses = alb.allIngresses
        var statuses: [ALBStatus] = []
        var events: [VerificationEvent] = []
        var verified = 0
        for name in ingresses {
            var status = ALBStatus()
            defer { statuses.append(status) }
            guard let ingress = try? await readIfPresent(TrafficResourceVersions.ingresses, split.namespace, name)
            else { continue }
            for hostname in ALBVerification.hostnames(ingress) {
                do {
                    guard let balancer = try await loadBalancers.loadBalancer(dnsName: hostname) else {
                        events.append(
                            VerificationEvent(
                                warning: true, reason: "LoadBalancerNotFound",
                                message: "Failed to find load balancer: \(hostname)"))
                        return WeightVerification(verified: false, loadBalancers: statuses + [status], events: events)
                    }
                    let groups = try await loadBalancers.targetGroups(loadBalancerARN: balancer.arn)
                    let reading = ALBVerification.read(
                        loadBalancer: balancer, targetGroups: groups, ingress: name, split: split,
                        port: alb.servicePort ?? 0, tagKey: albResourceIDTag)
                    status = reading.status
                    verified += reading.verified
                    events += reading.events
                } catch {
                    events.append(
                        VerificationEvent(
                            warning: true, reason: "TargetGroupVerifyError",
                            message: "Failed to verify Service \(split.canaryService) (TargetGroup unknown): \(error)"))
                    return WeightVerification(verified: false, loadBalancers: statuses + [status], events: events)
                }
            }
        }
        let expected = ingresses.count + (split.additionalBackends ?? []).count
        return WeightVerification(verified: verified == expected, loadBalancers: statuses, events: events)
    }
}
