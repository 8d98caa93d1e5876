import AviaryModel

/// One call Argo's controller makes to a traffic router plugin (`RpcTrafficRouterPlugin`),
/// without the Rollout that goes with each.
public enum TrafficRouterPluginCall: Sendable, Hashable {
    /// `RemoveManagedRoutes`: drop every route the rollout's `managedRoutes` names.
    case removeManagedRoutes
    /// `SetHeaderRoute`: route a header match to the canary; without a match, remove the route.
    case setHeaderRoute(SetHeaderRoute)
    /// `SetMirrorRoute`: copy matching requests to the canary; without a match, remove the route.
    case setMirrorRoute(SetMirrorRoute)
    /// `UpdateHash`: the pod-template hashes of the canary, the stable and the experiment templates.
    case updateHash(canary: String, stable: String, additional: [WeightDestination])
    /// `SetWeight`: the canary's weight (out of `maxTrafficWeight`) and the experiment templates'.
    case setWeight(Int, additional: [WeightDestination])

    /// The calls that bring a plugin's router from `previous` (the split last applied through it;
    /// nil when this controller applied none yet) to `split`, in the order of Argo's reconcile:
    /// `RemoveManagedRoutes` once the last route is gone (and on a first apply that has none, as
    /// Argo calls it on every reconcile without routes), a removal (the route's name without a
    /// match) for a route gone while others stay, `SetHeaderRoute` and `SetMirrorRoute` for each new
    /// or changed route, then `UpdateHash` and `SetWeight`.
    public static func calls(for split: TrafficSplit, previous: TrafficSplit?) -> [TrafficRouterPluginCall] {
        var calls: [TrafficRouterPluginCall] = []
        let hasRoutes = !split.headerRoutes.isEmpty || !split.mirrorRoutes.isEmpty
        if !hasRoutes {
            let hadRoutes = previous.map { !$0.headerRoutes.isEmpty || !$0.mirrorRoutes.isEmpty }
            if hadRoutes ?? !(split.managedRoutes ?? []).isEmpty { calls.append(.removeManagedRoutes) }
        } else {
            let headerNames = Set(split.headerRoutes.map(\.name))
            let mirrorNames = Set(split.mirrorRoutes.map(\.name))
            for route in previous?.headerRoutes ?? [] where !headerNames.contains(route.name) {
                calls.append(.setHeaderRoute(SetHeaderRoute(name: route.name)))
            }
            for route in previous?.mirrorRoutes ?? [] where !mirrorNames.contains(route.name) {
                calls.append(.setMirrorRoute(SetMirrorRoute(name: route.name)))
            }
            for route in split.headerRoutes where previous?.headerRoutes.contains(route) != true {
                calls.append(.setHeaderRoute(route))
            }
            for route in split.mirrorRoutes where previous?.mirrorRoutes.contains(route) != true {
                calls.append(.setMirrorRoute(route))
            }
        }
        let additional = additionalDestinations(of: split)
        calls.append(
            .updateHash(canary: split.canaryHash ?? "", stable: split.stableHash ?? "", additional: additional))
        calls.append(.setWeight(split.canaryWeight, additional: additional))
        return calls
    }

    /// The experiment templates' Services of a split as Argo's `WeightDestination`s.
    public static func additionalDestinations(of split: TrafficSplit) -> [WeightDestination] {
        (split.additionalBackends ?? []).map {
            WeightDestination(weight: $0.weight, serviceName: $0.service, podTemplateHash: $0.podTemplateHash)
        }
    }

    /// How Argo's plugin reconciler words a failure of this call (`failed to set weight via plugin`).
    public var failure: String {
        switch self {
        case .removeManagedRoutes: "failed to remove managed routes via plugin"
        case .setHeaderRoute: "failed to set header route via plugin"
        case .setMirrorRoute: "failed to set mirror route via plugin"
        case .updateHash: "failed to update hash via plugin"
        case .setWeight: "failed to set weight via plugin"
        }
    }
}

/// A traffic router plugin that could not be called or answered an error: shown on the rollout
/// as `TrafficRoutingError: …` in Argo's words, and the reconcile is retried.
public struct TrafficRouterPluginError: BlockedAction, Equatable {
    public var description: String
    public var reason: String { "TrafficRoutingError" }

    public init(_ description: String) { self.description = description }
}

/// Argo's traffic router plugins (go-plugin binaries listed under `trafficRouterPlugins` of the
/// ConfigMap `argo-rollouts-config`), as the Kubernetes platform calls them for a split whose
/// router is `TrafficProvider.plugin`. Each call carries the Rollout as the cluster has it.
public protocol TrafficRouterPlugins: Sendable {
    /// Makes `calls` to the plugin `name`, in order; the first that fails throws, naming the call
    /// and the plugin's error.
    func perform(_ calls: [TrafficRouterPluginCall], plugin name: String, rollout: Rollout) async throws
    /// `VerifyWeight`: whether the plugin's router serves `weight` and the experiment templates'
    /// weights (nil when the plugin does not implement the check).
    func verifyWeight(
        _ weight: Int, additional: [WeightDestination], plugin name: String, rollout: Rollout
    ) async throws -> Bool?
}
