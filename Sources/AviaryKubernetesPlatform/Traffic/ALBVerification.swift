import AviaryJSON
import AviaryKubernetes
import AviaryModel
import AviaryPlatform

/// Argo's check of ALB weights against AWS (`--aws-verify-target-group`): the AWS Load Balancer
/// Controller tags each target group it makes for an Ingress's Service with
/// `ingress.k8s.aws/resource: NAMESPACE/INGRESS-SERVICE:PORT`; the weights are in place once the
/// listener rules of the Ingress's load balancer give the canary's target group (and each
/// experiment template's) the weight the rollout set.
public enum ALBVerification {
    /// The AWS Load Balancer Controller's tag naming a target group's Service (Argo's
    /// `--alb-tag-key-resource-id` default).
    public static let defaultResourceIDTag = "ingress.k8s.aws/resource"

    /// A target group's resource id as the AWS Load Balancer Controller tags it.
    static func resourceID(namespace: String, ingress: String, service: String, port: Int) -> String {
        "\(namespace)/\(ingress)-\(service):\(port)"
    }

    /// The load balancer hostnames an Ingress's status gives (`status.loadBalancer.ingress[].hostname`).
    static func hostnames(_ ingress: JSONValue) -> [String] {
        (ingress[path: "status", "loadBalancer", "ingress"]?.arrayValue ?? []).compactMap {
            $0["hostname"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        }
    }

    /// What one load balancer's target groups say of the split: the status Argo records (the load
    /// balancer, the canary's and the stable's target groups), how many of the weights the rollout
    /// set are in place (the canary's, each experiment template's), and the events Argo sends.
    struct Reading: Equatable {
        var status: ALBStatus
        var verified: Int
        var events: [VerificationEvent]
    }

    static func read(
        loadBalancer: ElasticLoadBalancer, targetGroups: [ElasticTargetGroup], ingress: String, split: TrafficSplit,
        port: Int, tagKey: String
    ) -> Reading {
        func id(_ service: String) -> String {
            resourceID(namespace: split.namespace, ingress: ingress, service: service, port: port)
        }
        let canaryID = id(split.canaryService)
        let stableID = id(split.stableService)
        var additional: [String: AdditionalBackend] = [:]
        for backend in split.additionalBackends ?? [] { additional[id(backend.service)] = backend }
        var reading = Reading(
            status: ALBStatus(
                loadBalancer: .init(
                    name: loadBalancer.name, arn: loadBalancer.arn,
                    fullName: fullName(loadBalancer.arn, dropping: 2)),
                ingress: ingress),
            verified: 0, events: [])
        for group in targetGroups {
            let tag = group.tags[tagKey]
            let reference = ALBStatus.ResourceReference(
                name: group.name, arn: group.arn, fullName: fullName(group.arn, dropping: 1))
            if tag == canaryID { reading.status.canaryTargetGroup = reference }
            if tag == stableID, tag != canaryID { reading.status.stableTargetGroup = reference }
            guard let current = group.weight else { continue }
            let expected: (service: String, weight: Int)? =
                if tag == canaryID {
                    (split.canaryService, split.canaryWeight)
                } else if let tag, let backend = additional[tag] {
                    (backend.service, backend.weight)
                } else {
                    nil
                }
            guard let expected else { continue }
            if current == expected.weight {
                reading.verified += 1
                reading.events.append(
                    VerificationEvent(
                        warning: false, reason: "TargetGroupVerified",
                        message: "Service \(expected.service) (TargetGroup \(group.arn)) verified: canary weight "
                            + "\(expected.weight) set"))
            } else {
                reading.events.append(
                    VerificationEvent(
                        warning: true, reason: "TargetGroupUnverified",
                        message: "Service \(expected.service) (TargetGroup \(group.arn)) not verified: canary weight "
                            + "\(expected.weight) not yet set (current: \(current))"))
            }
        }
        return reading
    }

    /// The ARN's path after `dropping` segments, as Argo records it: `NAME/ID` of a load balancer's
    /// `arn:...:loadbalancer/app/NAME/ID` (dropping 2) and of a target group's
    /// `arn:...:targetgroup/NAME/ID` (dropping 1); empty when the ARN is shorter.
    static func fullName(_ arn: String, dropping: Int) -> String {
        let parts = arn.split(separator: "/", omittingEmptySubsequences: false)
        return parts.count > dropping ? parts.dropFirst(dropping).joined(separator: "/") : ""
    }
}

extension ALBVerification {
    /// The bindings of `service`: those whose `spec.serviceRef` names it and one of its ports (by
    /// number, or by name).
    static func bindings(_ bindings: [JSONValue], of service: JSONValue) -> [JSONValue] {
        let name = service[path: "metadata", "name"]?.stringValue
        let ports = service[path: "spec", "ports"]?.arrayValue ?? []
        return bindings.filter { binding in
            guard binding[path: "spec", "serviceRef", "name"]?.stringValue == name else { return false }
            let port = binding[path: "spec", "serviceRef", "port"]
            return ports.contains { servicePort in
                if let number = port?.integerValue { return servicePort["port"]?.integerValue == number }
                if let portName = port?.stringValue, !portName.isEmpty {
                    return servicePort["name"]?.stringValue == portName
                }
                return false
            }
        }
    }

    /// The targets an IP-mode binding must have registered (`IP:PORT` of each endpoint address,
    /// the port being the Service port's numeric target port, or the endpoints' port of its name);
    /// nil for an instance-mode binding or a port that cannot be matched, as Argo skips them.
    static func expectedTargets(binding: JSONValue, service: JSONValue, endpoints: JSONValue) -> Set<String>? {
        guard binding[path: "spec", "targetType"]?.stringValue == "ip" else { return nil }
        let reference = binding[path: "spec", "serviceRef", "port"]
        let subsets = endpoints["subsets"]?.arrayValue ?? []
        var port: Int64?
        for servicePort in service[path: "spec", "ports"]?.arrayValue ?? [] {
            let matches =
                reference?.integerValue.map { servicePort["port"]?.integerValue == $0 }
                ?? (reference?.stringValue.map { servicePort["name"]?.stringValue == $0 } ?? false)
            guard matches else { continue }
            let target = servicePort["targetPort"]
            if let number = target?.integerValue, number > 0 {
                port = number
            } else {
                let name = target?.stringValue ?? ""
                port =
                    subsets.lazy.flatMap { $0["ports"]?.arrayValue ?? [] }
                    .first { $0["name"]?.stringValue == name }?["port"]?.integerValue
            }
            break
        }
        guard let port, port > 0 else { return nil }
        return Set(
            subsets.flatMap { $0["addresses"]?.arrayValue ?? [] }.compactMap { $0["ip"]?.stringValue }.map {
                "\($0):\(port)"
            })
    }
}
