import AviaryGoPlugin
import AviaryJSON
import AviaryModel
import AviaryPlatform
import AviaryRoutes
import Foundation

/// Argo Rollouts' traffic router plugins, run as Argo's controller runs them: the binaries that
/// `trafficRouterPlugins` of `argo-rollouts-config` lists, started by an `ArgoPluginHost` of kind
/// `.trafficRouter` and called through their `RpcTrafficRouterPlugin` (Argo's
/// `TrafficRouterPluginRPC`). Each call carries the Rollout as Argo's Go type, gob-encoded, with
/// the fields a router plugin reads (see `RolloutGoTypes`).
public struct ArgoTrafficRouterPlugins: TrafficRouterPlugins {
    let host: ArgoPluginHost

    /// Plugins started by `host`, which must be of kind `.trafficRouter`.
    public init(host: ArgoPluginHost) { self.host = host }

    public func perform(_ calls: [TrafficRouterPluginCall], plugin name: String, rollout: Rollout) async throws {
        try await connect(name)
        let goRollout = RolloutGoTypes.rollout(rollout)
        for call in calls {
            let (method, typeName, type, fields): (String, String, GobType, [String: GobValue]) =
                switch call {
                case .removeManagedRoutes:
                    ("RemoveManagedRoutes", "RemoveManagedRoutesArgs", RolloutGoTypes.removeManagedRoutesArgs, [:])
                case .setHeaderRoute(let route):
                    (
                        "SetHeaderRoute", "SetHeaderArgs", RolloutGoTypes.setHeaderArgs,
                        ["SetHeaderRoute": RolloutGoTypes.headerRoute(route)]
                    )
                case .setMirrorRoute(let route):
                    (
                        "SetMirrorRoute", "SetMirrorArgs", RolloutGoTypes.setMirrorArgs,
                        ["SetMirrorRoute": RolloutGoTypes.mirrorRoute(route)]
                    )
                case .updateHash(let canary, let stable, let additional):
                    (
                        "UpdateHash", "UpdateHashArgs", RolloutGoTypes.updateHashArgs,
                        [
                            "CanaryHash": .string(canary), "StableHash": .string(stable),
                            "AdditionalDestinations": .list(additional.map(RolloutGoTypes.destination)),
                        ]
                    )
                case .setWeight(let weight, let additional):
                    (
                        "SetWeight", "SetWeightAndVerifyWeightArgs", RolloutGoTypes.weightArgs,
                        [
                            "DesiredWeight": .int(Int64(weight)),
                            "AdditionalDestinations": .list(additional.map(RolloutGoTypes.destination)),
                        ]
                    )
                }
            var arguments = fields
            arguments["Rollout"] = goRollout
            let reply: GobValue
            do {
                reply = try await host.call(
                    name, "Plugin." + method, .interface(name: typeName, type: type, value: .structure(arguments)))
            } catch {
                throw TrafficRouterPluginError("\(call.failure): \(method) rpc call error: \(error)")
            }
            if let message = GoTypes.rpcError(reply) {
                throw TrafficRouterPluginError("\(call.failure): \(message)")
            }
        }
    }

    public func verifyWeight(
        _ weight: Int, additional: [WeightDestination], plugin name: String, rollout: Rollout
    ) async throws -> Bool? {
        try await connect(name)
        let arguments = GobValue.structure([
            "Rollout": RolloutGoTypes.rollout(rollout), "DesiredWeight": .int(Int64(weight)),
            "AdditionalDestinations": .list(additional.map(RolloutGoTypes.destination)),
        ])
        let reply = try await host.call(
            name, "Plugin.VerifyWeight",
            .interface(name: "SetWeightAndVerifyWeightArgs", type: RolloutGoTypes.weightArgs, value: arguments))
        guard case .structure(let fields) = reply else {
            throw TrafficRouterPluginError("the plugin \(name) answered VerifyWeight with \(reply)")
        }
        if let error = fields["Err"].flatMap(GoTypes.rpcError) { throw TrafficRouterPluginError(error) }
        // Argo's `RpcVerified`: NotVerified (0, so absent on the wire), Verified, NotImplemented;
        // another value counts as not verified.
        switch fields["Verified"]?.intValue ?? 0 {
        case 1: return true
        case 2: return nil
        default: return false
        }
    }

    /// Starts the plugin if it is not running, so that a plugin that cannot start is Argo's message.
    private func connect(_ name: String) async throws {
        do {
            _ = try await host.plugin(named: name)
        } catch {
            throw TrafficRouterPluginError("failed to get traffic router plugin \(name): \(error)")
        }
    }
}

/// Argo's `v1alpha1.Rollout` and the arguments of a traffic router plugin's calls, as gob
/// describes them. The Rollout carries what a router plugin reads: `TypeMeta`, the metadata
/// (name, namespace, uid, resourceVersion, generation, labels, annotations), the canary's
/// Services, `trafficRouting` (`plugins` as raw JSON, `managedRoutes`, `maxTrafficWeight`), the
/// replicas, and the status's hashes, step, abort, phase and weights. Gob matches fields by name;
/// the plugin's decoder leaves the others zero.
enum RolloutGoTypes {
    static let stringMatch = GobType.structure(
        name: "StringMatch",
        fields: [GobField("Exact", .string), GobField("Prefix", .string), GobField("Regex", .string)])
    static let headerRoutingMatch = GobType.structure(
        name: "HeaderRoutingMatch",
        fields: [GobField("HeaderName", .string), GobField("HeaderValue", .pointer(stringMatch))])
    static let setHeaderRoute = GobType.structure(
        name: "SetHeaderRoute", fields: [GobField("Name", .string), GobField("Match", .slice(headerRoutingMatch))])
    static let routeMatch = GobType.structure(
        name: "RouteMatch",
        fields: [
            GobField("Method", .pointer(stringMatch)), GobField("Path", .pointer(stringMatch)),
            GobField("Headers", .map(key: .string, value: stringMatch)),
        ])
    static let setMirrorRoute = GobType.structure(
        name: "SetMirrorRoute",
        fields: [
            GobField("Name", .string), GobField("Match", .slice(routeMatch)), GobField("Percentage", .pointer(.int)),
        ])
    static let weightDestination = GobType.structure(
        name: "WeightDestination",
        fields: [GobField("Weight", .int), GobField("ServiceName", .string), GobField("PodTemplateHash", .string)])
    static let typeMeta = GobType.structure(
        name: "TypeMeta", fields: [GobField("Kind", .string), GobField("APIVersion", .string)])
    static let objectMeta = GobType.structure(
        name: "ObjectMeta",
        fields: [
            GobField("Name", .string), GobField("Namespace", .string), GobField("UID", .string),
            GobField("ResourceVersion", .string), GobField("Generation", .int),
            GobField("Labels", GoTypes.stringMapType), GobField("Annotations", GoTypes.stringMapType),
        ])
    static let trafficRouting = GobType.structure(
        name: "RolloutTrafficRouting",
        fields: [
            GobField(
                "ManagedRoutes", .slice(.structure(name: "MangedRoutes", fields: [GobField("Name", .string)]))),
            GobField("Plugins", .map(key: .string, value: .named("json.RawMessage", .bytes))),
            GobField("MaxTrafficWeight", .pointer(.int)),
        ])
    static let canaryStrategy = GobType.structure(
        name: "CanaryStrategy",
        fields: [
            GobField("CanaryService", .string), GobField("StableService", .string),
            GobField("TrafficRouting", .pointer(trafficRouting)),
        ])
    static let rolloutSpec = GobType.structure(
        name: "RolloutSpec",
        fields: [
            GobField("Replicas", .pointer(.int)),
            GobField(
                "Strategy", .structure(name: "RolloutStrategy", fields: [GobField("Canary", .pointer(canaryStrategy))])),
        ])
    static let trafficWeights = GobType.structure(
        name: "TrafficWeights",
        fields: [
            GobField("Canary", weightDestination), GobField("Stable", weightDestination),
            GobField("Additional", .slice(weightDestination)), GobField("Verified", .pointer(.bool)),
        ])
    static let rolloutStatus = GobType.structure(
        name: "RolloutStatus",
        fields: [
            GobField("Abort", .bool), GobField("CurrentPodHash", .string), GobField("CurrentStepIndex", .pointer(.int)),
            GobField("StableRS", .string),
            GobField(
                "Canary", .structure(name: "CanaryStatus", fields: [GobField("Weights", .pointer(trafficWeights))])),
            GobField("Phase", .string), GobField("Message", .string),
        ])
    static let rollout = GobType.structure(
        name: "Rollout",
        fields: [
            GobField("TypeMeta", typeMeta), GobField("ObjectMeta", objectMeta), GobField("Spec", rolloutSpec),
            GobField("Status", rolloutStatus),
        ])
    static let updateHashArgs = GobType.structure(
        name: "UpdateHashArgs",
        fields: [
            GobField("Rollout", rollout), GobField("CanaryHash", .string), GobField("StableHash", .string),
            GobField("AdditionalDestinations", .slice(weightDestination)),
        ])
    static let weightArgs = GobType.structure(
        name: "SetWeightAndVerifyWeightArgs",
        fields: [
            GobField("Rollout", rollout), GobField("DesiredWeight", .int),
            GobField("AdditionalDestinations", .slice(weightDestination)),
        ])
    static let setHeaderArgs = GobType.structure(
        name: "SetHeaderArgs", fields: [GobField("Rollout", rollout), GobField("SetHeaderRoute", setHeaderRoute)])
    static let setMirrorArgs = GobType.structure(
        name: "SetMirrorArgs", fields: [GobField("Rollout", rollout), GobField("SetMirrorRoute", setMirrorRoute)])
    static let removeManagedRoutesArgs = GobType.structure(
        name: "RemoveManagedRoutesArgs", fields: [GobField("Rollout", rollout)])

    static func rollout(_ rollout: Rollout) -> GobValue {
        let meta = rollout.metadata
        var metadata: [String: GobValue] = [:]
        for (field, value) in [
            ("Name", meta.name), ("Namespace", meta.namespace), ("UID", meta.uid),
            ("ResourceVersion", meta.resourceVersion),
        ] {
            if let value { metadata[field] = .string(value) }
        }
        if let generation = meta.generation { metadata["Generation"] = .int(Int64(generation)) }
        if let labels = meta.labels { metadata["Labels"] = .stringMap(labels) }
        if let annotations = meta.annotations { metadata["Annotations"] = .stringMap(annotations) }
        var spec: [String: GobValue] = [:]
        if let replicas = rollout.spec.replicas { spec["Replicas"] = .int(Int64(replicas)) }
        if let canary = rollout.spec.strategy.canary {
            var strategy: [String: GobValue] = [:]
            if let service = canary.canaryService { strategy["CanaryService"] = .string(service) }
            if let service = canary.stableService { strategy["StableService"] = .string(service) }
            if let routing = canary.trafficRouting {
                var fields: [String: GobValue] = [:]
                if let routes = routing.managedRoutes {
                    fields["ManagedRoutes"] = .list(routes.map { .structure(["Name": .string($0.name)]) })
                }
                if let plugins = routing.plugins {
                    fields["Plugins"] = .map(
                        plugins.sorted { $0.key < $1.key }.map {
                            (.string($0.key), .bytes(Array($0.value.serialized())))
                        })
                }
                if let weight = routing.maxTrafficWeight { fields["MaxTrafficWeight"] = .int(Int64(weight)) }
                strategy["TrafficRouting"] = .structure(fields)
            }
            spec["Strategy"] = .structure(["Canary": .structure(strategy)])
        }
        var status: [String: GobValue] = [:]
        if let state = rollout.status {
            if state.abort == true { status["Abort"] = .bool(true) }
            if let hash = state.currentPodHash { status["CurrentPodHash"] = .string(hash) }
            if let index = state.currentStepIndex { status["CurrentStepIndex"] = .int(Int64(index)) }
            if let hash = state.stableRS { status["StableRS"] = .string(hash) }
            if let phase = state.phase { status["Phase"] = .string(phase.rawValue) }
            if let message = state.message { status["Message"] = .string(message) }
            if let weights = state.canary?.weights {
                var fields: [String: GobValue] = [
                    "Canary": destination(weights.canary), "Stable": destination(weights.stable),
                    "Additional": .list((weights.additional ?? []).map(destination)),
                ]
                if let verified = weights.verified { fields["Verified"] = .bool(verified) }
                status["Canary"] = .structure(["Weights": .structure(fields)])
            }
        }
        return .structure([
            "TypeMeta": .structure(["Kind": .string(rollout.kind), "APIVersion": .string(rollout.apiVersion)]),
            "ObjectMeta": .structure(metadata), "Spec": .structure(spec), "Status": .structure(status),
        ])
    }

    static func destination(_ destination: WeightDestination) -> GobValue {
        var fields: [String: GobValue] = ["Weight": .int(Int64(destination.weight))]
        if let service = destination.serviceName { fields["ServiceName"] = .string(service) }
        if let hash = destination.podTemplateHash { fields["PodTemplateHash"] = .string(hash) }
        return .structure(fields)
    }

    static func stringMatch(_ match: StringMatch) -> GobValue {
        var fields: [String: GobValue] = [:]
        if let exact = match.exact { fields["Exact"] = .string(exact) }
        if let prefix = match.prefix { fields["Prefix"] = .string(prefix) }
        if let regex = match.regex { fields["Regex"] = .string(regex) }
        return .structure(fields)
    }

    static func headerRoute(_ route: SetHeaderRoute) -> GobValue {
        let matches = (route.match ?? []).map { match -> GobValue in
            .structure(["HeaderName": .string(match.headerName), "HeaderValue": stringMatch(match.headerValue)])
        }
        return .structure(["Name": .string(route.name), "Match": .list(matches)])
    }

    static func mirrorRoute(_ route: SetMirrorRoute) -> GobValue {
        let matches = (route.match ?? []).map { match -> GobValue in
            var fields: [String: GobValue] = [:]
            if let method = match.method { fields["Method"] = stringMatch(method) }
            if let path = match.path { fields["Path"] = stringMatch(path) }
            if let headers = match.headers {
                fields["Headers"] = .map(
                    headers.sorted { $0.key < $1.key }.map { (.string($0.key), stringMatch($0.value)) })
            }
            return .structure(fields)
        }
        var fields: [String: GobValue] = ["Name": .string(route.name), "Match": .list(matches)]
        if let percentage = route.percentage { fields["Percentage"] = .int(Int64(percentage)) }
        return .structure(fields)
    }
}
