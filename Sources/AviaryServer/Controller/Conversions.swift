import AviaryLocal
import AviaryModel
import Foundation

/// Turns a pod template into how the local platform starts its process.
enum PodLaunchConversion {
    /// The first container's `command` + `args`, `env` (plain values), `image` and
    /// `readinessProbe.httpGet` (its port, by number or name, is the pod's one allocated port).
    static func launch(from template: PodTemplateSpec, minReadySeconds: Int) -> PodLaunch {
        let container = template.spec.containers.first
        let environment = (container?.env ?? []).compactMap { entry in
            entry.value.map { EnvironmentEntry(name: entry.name, value: $0) }
        }
        var readiness: ReadinessProbe?
        if let probe = container?.readinessProbe, let httpGet = probe.httpGet {
            readiness = ReadinessProbe(
                path: httpGet.pathOrDefault, initialDelaySeconds: Double(probe.initialDelaySecondsOrDefault),
                periodSeconds: Double(probe.periodSecondsOrDefault), failureThreshold: probe.failureThresholdOrDefault,
                timeoutSeconds: Double(probe.timeoutSecondsOrDefault))
        }
        return PodLaunch(
            arguments: (container?.command ?? []) + (container?.args ?? []), environment: environment,
            image: container?.image ?? "", readiness: readiness, minReadySeconds: Double(minReadySeconds))
    }
}

/// Between the manifest's route steps and the router's routes. The manifest's value is kept
/// beside the router's, so the observed state gives back exactly what the reconciler set.
enum RouteConversion {
    static func match(_ value: StringMatch?) -> ValueMatch? {
        guard let value else { return nil }
        if let exact = value.exact { return ValueMatch(kind: "exact", value: exact) }
        if let prefix = value.prefix { return ValueMatch(kind: "prefix", value: prefix) }
        if let regex = value.regex { return ValueMatch(kind: "regex", value: regex) }
        return nil
    }

    static func local(_ route: SetHeaderRoute) -> HeaderRoute {
        let matches = (route.match ?? []).compactMap { entry in
            match(entry.headerValue).map { HeaderMatch(header: entry.headerName, value: $0) }
        }
        return HeaderRoute(name: route.name, matches: matches, source: try? JSONEncoder().encode(route))
    }

    static func local(_ route: SetMirrorRoute) -> MirrorRoute {
        let blocks = (route.match ?? []).map { block in
            MirrorMatch(
                method: match(block.method), path: match(block.path),
                headers: (block.headers ?? [:]).sorted { $0.key < $1.key }.compactMap { name, value in
                    match(value).map { HeaderMatch(header: name, value: $0) }
                })
        }
        return MirrorRoute(
            name: route.name, percentage: route.percentage ?? 100, matches: blocks,
            source: try? JSONEncoder().encode(route))
    }

    static func model(_ route: HeaderRoute) -> SetHeaderRoute {
        if let source = route.source, let decoded = try? JSONDecoder().decode(SetHeaderRoute.self, from: source) {
            return decoded
        }
        return SetHeaderRoute(name: route.name)
    }

    static func model(_ route: MirrorRoute) -> SetMirrorRoute {
        if let source = route.source, let decoded = try? JSONDecoder().decode(SetMirrorRoute.self, from: source) {
            return decoded
        }
        return SetMirrorRoute(name: route.name, percentage: route.percentage)
    }
}
