import AviaryJSON
import AviaryModel
import AviaryPlatform

/// Argo's AWS ALB routing: the user's Ingress names the root Service with the port
/// `use-annotation`, and the AWS Load Balancer Controller reads what to do from the annotation
/// `PREFIX/actions.ROOT`. Argo writes there a forward action with one weighted target group per
/// Service: the canary, an experiment's templates, then the stable Service.
///
/// A header route (`setHeaderRoute`) is an action of its own, `PREFIX/actions.ROUTE`, forwarding
/// everything to the canary, with its match in `PREFIX/conditions.ROUTE`, and a path `/*` for
/// the route at the head of each rule. The keys Argo wrote are listed, per rollout, in the
/// annotation `rollouts.argoproj.io/managed-alb-annotations`.
enum ALBIngress {
    /// The AWS Load Balancer Controller's annotation prefix, when `annotationPrefix` is not given.
    static let defaultPrefix = "alb.ingress.kubernetes.io"
    /// Where Argo lists the annotations it manages, by rollout.
    static let managedAnnotations = "rollouts.argoproj.io/managed-alb-annotations"

    /// `ingress` (as the API server has it) with the split's action, the header routes' actions,
    /// conditions and paths, and the managed-annotations list as Argo's controller leaves them.
    /// Header routes not active (among `split.managedRoutes`) are taken out.
    static func desired(ingress: JSONValue, split: TrafficSplit, config: ALBTrafficRouting) throws -> JSONValue {
        let name = ingress[path: "metadata", "name"]?.stringValue ?? ""
        let rules = ingress[path: "spec", "rules"]?.elements ?? []
        func hasPath(to service: String) -> Bool {
            rules.contains { rule in
                (rule[path: "http", "paths"]?.elements ?? []).contains {
                    $0[path: "backend", "service", "name"]?.stringValue == service
                }
            }
        }
        guard hasPath(to: split.rootService) else {
            throw TrafficObjectError("ingress `\(name)` has no rules using service \(split.rootService) backend")
        }
        let prefix = config.annotationPrefix ?? defaultPrefix
        let port = String(config.servicePort ?? 0)
        var annotations = stringMap(ingress[path: "metadata", "annotations"])
        var managed = try managedKeys(annotations[managedAnnotations] ?? "", ingress: name)
        var mine = managed[split.rollout ?? ""] ?? []

        let actionKey = "\(prefix)/actions.\(split.rootService)"
        var groups = [targetGroup(split.canaryService, port: port, weight: split.canaryWeight)]
        for backend in split.additionalBackends ?? [] {
            groups.append(targetGroup(backend.service, port: port, weight: backend.weight))
        }
        groups.append(targetGroup(split.stableService, port: port, weight: split.stableWeight))
        annotations[actionKey] = forwardAction(groups, stickiness: config.stickinessConfig)
        if !mine.contains(actionKey) { mine.append(actionKey) }

        var paths = rules.map { $0[path: "http", "paths"]?.elements }
        let managedRoutes = split.managedRoutes ?? []
        for route in managedRoutes {
            let keys = ["\(prefix)/actions.\(route)", "\(prefix)/conditions.\(route)"]
            let active = split.headerRoutes.last { $0.name == route && !($0.match ?? []).isEmpty }
            if let active {
                let everything = [targetGroup(split.canaryService, port: port, weight: 100)]
                annotations[keys[0]] = forwardAction(everything, stickiness: config.stickinessConfig)
                annotations[keys[1]] = conditions(active.match ?? [])
                for key in keys where !mine.contains(key) { mine.append(key) }
                if !hasPath(to: route) {
                    for index in paths.indices where paths[index] != nil {
                        paths[index]!.insert(routePath(route), at: 0)
                    }
                }
            } else {
                for key in keys { annotations.removeValue(forKey: key) }
                mine.removeAll { keys.contains($0) }
                for index in paths.indices {
                    paths[index]?.removeAll { $0[path: "backend", "service", "name"]?.stringValue == route }
                }
            }
        }
        managed[split.rollout ?? ""] = mine
        annotations[managedAnnotations] = managedText(managed)

        var result = ingress
        result[path: "metadata", "annotations"] = jsonObject(annotations)
        if !managedRoutes.isEmpty {
            // The routes' paths first, in managedRoutes order; the user's paths keep theirs after them.
            let rank = Dictionary(managedRoutes.enumerated().map { ($1, $0) }) { first, _ in first }
            var updated = rules
            for index in updated.indices {
                guard let list = paths[index] else { continue }
                let ranked = list.enumerated().sorted { a, b in
                    let rankA = rank[a.element[path: "backend", "service", "name"]?.stringValue ?? ""] ?? rank.count
                    let rankB = rank[b.element[path: "backend", "service", "name"]?.stringValue ?? ""] ?? rank.count
                    return (rankA, a.offset) < (rankB, b.offset)
                }
                updated[index][path: "http", "paths"] = .array(ranked.map(\.element))
            }
            result[path: "spec", "rules"] = .array(updated)
        }
        return result
    }

    /// One target group of a forward action, as Argo's Go types write it (fields in their order).
    static func targetGroup(_ service: String, port: String, weight: Int) -> String {
        orderedObject([("ServiceName", quoted(service)), ("ServicePort", quoted(port)), ("Weight", String(weight))])
    }

    /// A forward action over `groups`, with stickiness when it is enabled.
    static func forwardAction(_ groups: [String], stickiness: ALBStickinessConfig?) -> String {
        var forward = [("TargetGroups", "[" + groups.joined(separator: ",") + "]")]
        if let stickiness, stickiness.enabled {
            let config = orderedObject([("Enabled", "true"), ("DurationSeconds", String(stickiness.durationSeconds))])
            forward.append(("TargetGroupStickinessConfig", config))
        }
        return orderedObject([("Type", quoted("forward")), ("ForwardConfig", orderedObject(forward))])
    }

    /// The route's match as ALB conditions: one `http-header` condition per header name, with
    /// every exact value given for it.
    static func conditions(_ matches: [HeaderRoutingMatch]) -> String {
        var names: [String] = []
        var values: [String: [String]] = [:]
        for match in matches {
            if values[match.headerName] == nil { names.append(match.headerName) }
            values[match.headerName, default: []].append(match.headerValue.exact ?? "")
        }
        let items = names.map { name in
            let header = orderedObject([
                ("httpHeaderName", quoted(name)),
                ("values", "[" + values[name, default: []].map(quoted).joined(separator: ",") + "]"),
            ])
            return orderedObject([("field", quoted("http-header")), ("httpHeaderConfig", header)])
        }
        return "[" + items.joined(separator: ",") + "]"
    }

    /// The path a header route adds at the head of each rule: everything, to the route's action.
    static func routePath(_ route: String) -> JSONValue {
        [
            "path": "/*", "pathType": "ImplementationSpecific",
            "backend": ["service": ["name": .string(route), "port": ["name": "use-annotation"]]],
        ]
    }

    /// The managed-annotations list: rollout name to annotation keys. Text that is not that
    /// (written by hand, say) is named with the Ingress rather than overwritten.
    static func managedKeys(_ text: String, ingress: String) throws -> [String: [String]] {
        guard !text.isEmpty else { return [:] }
        guard let value = try? JSONValue(parsing: Array(text.utf8)), let members = value.objectValue else {
            throw TrafficObjectError(
                "ingress `\(ingress)`: annotation \(managedAnnotations) is not a JSON object of rollout names to "
                    + "annotation lists; fix or remove it")
        }
        var keys: [String: [String]] = [:]
        for (rollout, list) in members {
            keys[rollout] = list.elements.compactMap(\.stringValue)
        }
        return keys
    }

    /// The list as Go's encoder writes a map: keys sorted, no spaces.
    static func managedText(_ keys: [String: [String]]) -> String {
        orderedObject(keys.keys.sorted().map { ($0, "[" + keys[$0]!.map(quoted).joined(separator: ",") + "]") })
    }

    static func quoted(_ text: String) -> String {
        var bytes: [UInt8] = []
        JSONValue.appendQuoted(text, to: &bytes)
        return String(decoding: bytes, as: UTF8.self)
    }

    /// A JSON object whose members keep the order given; the values are JSON text already.
    static func orderedObject(_ members: [(String, String)]) -> String {
        "{" + members.map { quoted($0.0) + ":" + $0.1 }.joined(separator: ",") + "}"
    }
}
