import AviaryJSON
import AviaryModel
import AviaryPlatform

/// Argo's AWS App Mesh routing. The VirtualService names its VirtualRouter
/// (`spec.provider.virtualRouter.virtualRouterRef`); in that router's routes (the ones named, or
/// all), the weighted targets whose `virtualNodeRef` is the canary or the stable VirtualNode get
/// the split's weights. Each VirtualNode's pod selector follows its side's pod-template hash, so the
/// two nodes select the canary and the stable pods.
enum AppMeshRoutes {
    /// The route kinds whose `action.weightedTargets` carry the split, in Argo's order.
    static let routeKinds = ["httpRoute", "tcpRoute", "http2Route", "grpcRoute"]
    /// The hashes a node gets when its side has none: the stable one before the first, the canary
    /// one while no canary differs from stable.
    static let noStableHash = "stable-hash"
    static let noCanaryHash = "canary-hash"

    /// The VirtualRouter that provides `virtualService`: its namespace (the service's when not
    /// given) and name.
    static func routerReference(of virtualService: JSONValue) throws -> (namespace: String, name: String) {
        guard let reference = virtualService[path: "spec", "provider", "virtualRouter", "virtualRouterRef"],
            reference.objectValue != nil
        else { throw TrafficObjectError("Virtual-service is not associated with virtual-router") }
        let namespace = reference["namespace"]?.stringValue ?? ""
        return (
            namespace.isEmpty ? virtualService[path: "metadata", "namespace"]?.stringValue ?? "" : namespace,
            reference["name"]?.stringValue ?? ""
        )
    }

    /// `router` with the canary and stable nodes' weights set in the routes named (all when
    /// none are). A route or target that is not what App Mesh's CRD says is named as Argo names it.
    static func weighted(router: JSONValue, split: TrafficSplit, config: AppMeshTrafficRouting) throws -> JSONValue {
        let name = router[path: "metadata", "name"]?.stringValue ?? ""
        func invalid(_ field: String, _ detail: String) -> TrafficObjectError {
            TrafficObjectError("\(field): Invalid value: \"\(name)\": \(detail)")
        }
        guard var routes = router[path: "spec", "routes"]?.arrayValue else {
            throw invalid("spec.routes", "No routes found")
        }
        let only = Set(config.virtualService?.routes ?? [])
        let canary = config.virtualNodeGroup?.canaryVirtualNodeRef?.name
        let stable = config.virtualNodeGroup?.stableVirtualNodeRef?.name
        for index in routes.indices {
            let path = "spec.routes[\(index)]"
            guard routes[index].objectValue != nil else { throw invalid(path, "not well-formed") }
            guard let routeName = routes[index]["name"]?.stringValue else {
                throw invalid("\(path).name", "not well-formed")
            }
            if !only.isEmpty, !only.contains(routeName) { continue }
            guard let kind = routeKinds.first(where: { routes[index][$0]?.objectValue != nil }) else {
                throw invalid(path, "not well-formed")
            }
            let targetsPath = "\(path).\(kind).action.weightedTargets"
            guard var targets = routes[index][path: [kind, "action", "weightedTargets"]]?.arrayValue else {
                throw invalid(targetsPath, "not well-formed")
            }
            for target in targets.indices {
                guard let reference = targets[target]["virtualNodeRef"], reference.objectValue != nil else {
                    throw invalid("\(targetsPath)[\(target)].virtualNodeRef", "not well-formed")
                }
                let namespace = reference["namespace"]?.stringValue ?? ""
                guard namespace.isEmpty || namespace == split.namespace else { continue }
                let node = reference["name"]?.stringValue
                if node == stable {
                    targets[target]["weight"] = .integer(Int64(split.stableWeight))
                } else if node == canary {
                    targets[target]["weight"] = .integer(Int64(split.canaryWeight))
                }
            }
            routes[index][path: [kind, "action", "weightedTargets"]] = .array(targets)
        }
        var result = router
        result[path: "spec", "routes"] = .array(routes)
        return result
    }

    /// `node` selecting the pods of `hash`, marked as managed by `rollout`.
    static func node(_ node: JSONValue, hash: String, hashLabel: String, rollout: String) -> JSONValue {
        var result = node
        result[path: "spec", "podSelector", "matchLabels", hashLabel] = .string(hash)
        result[path: "metadata", "annotations", "argo-rollouts.argoproj.io/managed-by-rollouts"] = .string(rollout)
        return result
    }

    /// The hashes the stable and canary nodes select, as Argo picks them.
    static func hashes(of split: TrafficSplit) -> (stable: String, canary: String) {
        let stable = split.stableHash.flatMap { $0.isEmpty ? nil : $0 } ?? noStableHash
        let canary = split.canaryHash.flatMap { $0.isEmpty || $0 == stable ? nil : $0 } ?? noCanaryHash
        return (stable, canary)
    }
}
