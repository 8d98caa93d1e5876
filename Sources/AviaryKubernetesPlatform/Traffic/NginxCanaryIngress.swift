import AviaryJSON
import AviaryKubernetes
import AviaryPlatform
import Foundation

import AviaryModel

/// Argo's NGINX Ingress canary: beside each stable Ingress, an Ingress named
/// `ROLLOUT-STABLEINGRESS-canary`, owned by the rollout, with the stable Ingress's rules that reach
/// the stable Service pointed at the canary Service, and the ingress-nginx canary annotations.
/// Aviary also carries a header route there (`canary-by-header`), which Argo leaves to
/// `additionalIngressAnnotations`.
enum NginxCanaryIngress {
    /// ingress-nginx's annotation prefix, when `annotationPrefix` is not given.
    static let defaultPrefix = "nginx.ingress.kubernetes.io"

    /// The canary Ingress's name: `ROLLOUT-STABLEINGRESS` cut to fit 253 characters with `-canary`.
    static func name(rollout: String, stableIngress: String) -> String {
        let prefix = "\(rollout)-\(stableIngress)"
        return String(decoding: Array(prefix.utf8.prefix(253 - "-canary".utf8.count)), as: UTF8.self) + "-canary"
    }

    /// The canary Ingress for `stable` (an Ingress as the API server has it) at the split's weight
    /// and header route, owned by `owner` (an owner reference to the rollout).
    static func desired(
        stable: JSONValue, split: TrafficSplit, config: NginxTrafficRouting, owner: JSONValue
    ) throws -> JSONValue {
        let stableName = stable[path: "metadata", "name"]?.stringValue ?? ""
        let prefix = config.annotationPrefix ?? defaultPrefix
        var annotations: [String: String] = [:]
        if let ingressClass = stringMap(stable[path: "metadata", "annotations"])["kubernetes.io/ingress.class"] {
            annotations["kubernetes.io/ingress.class"] = ingressClass
        }
        for (key, value) in config.additionalIngressAnnotations ?? [:] {
            annotations[key.hasPrefix(prefix) ? key : "\(prefix)/\(key)"] = value
        }
        for (key, value) in config.canaryIngressAnnotations ?? [:] { annotations[key] = value }
        for (key, value) in headerAnnotations(split.headerRoutes.last, prefix: prefix) { annotations[key] = value }
        annotations["\(prefix)/canary"] = "true"
        annotations["\(prefix)/canary-weight"] = String(split.canaryWeight)
        if let total = split.maxWeight { annotations["\(prefix)/canary-weight-total"] = String(total) }

        var rules: [JSONValue] = []
        for rule in stable[path: "spec", "rules"]?.elements ?? [] {
            var reachesStable = false
            var paths = rule[path: "http", "paths"]?.elements ?? []
            for index in paths.indices where paths[index][path: "backend", "service", "name"]?.stringValue == split.stableService {
                reachesStable = true
                paths[index][path: "backend", "service", "name"] = .string(split.canaryService)
            }
            guard reachesStable else { continue }
            var copy = rule
            copy[path: "http", "paths"] = .array(paths)
            rules.append(copy)
        }
        guard !rules.isEmpty else {
            throw TrafficObjectError("ingress `\(stableName)` has no rules using service \(split.stableService) backend")
        }
        var spec: JSONValue = ["rules": .array(rules)]
        if let tls = stable[path: "spec", "tls"] { spec["tls"] = tls }
        if let className = stable[path: "spec", "ingressClassName"] { spec["ingressClassName"] = className }
        return [
            "apiVersion": "networking.k8s.io/v1", "kind": "Ingress",
            "metadata": [
                "name": .string(name(rollout: split.rollout ?? "", stableIngress: stableName)),
                "namespace": .string(split.namespace), "annotations": jsonObject(annotations),
                "ownerReferences": [owner],
            ],
            "spec": spec,
        ]
    }

    /// ingress-nginx's header canary for the active header route: the first header match becomes
    /// `canary-by-header` with `-value` (exact) or `-pattern` (regex, or a prefix as `^prefix.*`).
    static func headerAnnotations(_ route: SetHeaderRoute?, prefix: String) -> [String: String] {
        guard let match = route?.match?.first else { return [:] }
        var annotations = ["\(prefix)/canary-by-header": match.headerName]
        if let exact = match.headerValue.exact {
            annotations["\(prefix)/canary-by-header-value"] = exact
        } else if let regex = match.headerValue.regex {
            annotations["\(prefix)/canary-by-header-pattern"] = regex
        } else if let start = match.headerValue.prefix {
            annotations["\(prefix)/canary-by-header-pattern"] = "^" + NSRegularExpression.escapedPattern(for: start) + ".*"
        }
        return annotations
    }

    /// The header-canary annotations Aviary may have written, removed when no header route is active.
    static func headerAnnotationKeys(prefix: String) -> [String] {
        ["canary-by-header", "canary-by-header-value", "canary-by-header-pattern"].map { "\(prefix)/\($0)" }
    }

    /// The canary Ingress `existing` changed to `desired`: its annotations (others' kept, header
    /// ones Aviary no longer sets removed unless the rollout's own annotations set them), rules,
    /// TLS and class; nil when nothing changes. Refuses a canary Ingress the rollout does not own.
    static func updated(existing: JSONValue, desired: JSONValue, rolloutUID: String, prefix: String) throws -> JSONValue? {
        let name = existing[path: "metadata", "name"]?.stringValue ?? ""
        let owned = (existing[path: "metadata", "ownerReferences"]?.elements ?? []).contains {
            $0["uid"]?.stringValue == rolloutUID && $0["controller"] == .bool(true)
        }
        guard owned else { throw TrafficObjectError("canary ingress `\(name)` controlled by different object") }
        let wanted = stringMap(desired[path: "metadata", "annotations"])
        var annotations = stringMap(existing[path: "metadata", "annotations"])
        for key in headerAnnotationKeys(prefix: prefix) where wanted[key] == nil { annotations.removeValue(forKey: key) }
        annotations.merge(wanted) { $1 }
        var result = existing
        result[path: "metadata", "annotations"] = jsonObject(annotations)
        result["spec"] = desired["spec"]
        return result == existing ? nil : result
    }
}
