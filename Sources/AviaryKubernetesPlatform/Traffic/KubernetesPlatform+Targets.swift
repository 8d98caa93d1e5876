import AviaryJSON
import AviaryKubernetes
import AviaryModel
import AviaryPlatform

extension KubernetesPlatform {
    /// Whether target registration is checked: with `--aws-verify-target-group`.
    public nonisolated var checksTargets: Bool { loadBalancers != nil }

    /// Argo's target-group registration check: for each IP-mode TargetGroupBinding of the
    /// Service, every endpoint address of the Service (at its numeric target port) must be a
    /// registered target of the bound target group. Not applicable (nil) without such a binding
    /// (an in-cluster Service, or no TargetGroupBinding CRD).
    public func verifyTargets(service key: NamespacedName) async -> TargetVerification {
        guard let loadBalancers,
            let service = resources.serviceInformer.object(forKey: key.cacheKey)?.json
        else { return TargetVerification(verified: nil) }
        let bindings: [JSONValue]
        do {
            bindings = ALBVerification.bindings(
                try await client.list(trafficVersions.targetGroupBindings, namespace: key.namespace).items.map(\.json),
                of: service)
        } catch {
            if (error as? KubernetesError)?.isNotFound == true { return TargetVerification(verified: nil) }
            return TargetVerification(verified: false, events: [Self.verifyError(key.name, "unknown", "\(error)")])
        }
        guard !bindings.isEmpty else { return TargetVerification(verified: nil) }
        let endpoints: JSONValue
        do {
            endpoints = try await readIfPresent(Self.endpoints, key.namespace, key.name) ?? [:]
        } catch {
            return TargetVerification(verified: false, events: [Self.verifyError(key.name, "unknown", "\(error)")])
        }
        var events: [VerificationEvent] = []
        var checked = false
        for binding in bindings {
            let arn = binding[path: "spec", "targetGroupARN"]?.stringValue ?? ""
            guard
                let expected = ALBVerification.expectedTargets(binding: binding, service: service, endpoints: endpoints)
            else { continue }
            checked = true
            let registered: Set<String>
            do {
                registered = Set(try await loadBalancers.registeredTargets(targetGroupARN: arn))
            } catch {
                events.append(Self.verifyError(key.name, arn, "\(error)"))
                return TargetVerification(verified: false, events: events)
            }
            let count = expected.intersection(registered).count
            guard count == expected.count else {
                events.append(
                    VerificationEvent(
                        warning: true, reason: "TargetGroupUnverified",
                        message: "Service \(key.name) (TargetGroup \(arn)) not verified: \(count)/\(expected.count) "
                            + "endpoints registered"))
                return TargetVerification(verified: false, events: events)
            }
            events.append(
                VerificationEvent(
                    warning: false, reason: "TargetGroupVerified",
                    message: "Service \(key.name) (TargetGroup \(arn)) verified: \(count) endpoints registered"))
        }
        return TargetVerification(verified: checked ? true : nil, events: events)
    }

    static let endpoints = GroupVersionResource(group: "", version: "v1", resource: "endpoints")

    private static func verifyError(_ service: String, _ arn: String, _ reason: String) -> VerificationEvent {
        VerificationEvent(
            warning: true, reason: "TargetGroupVerifyError",
            message: "Failed to verify Service \(service) (TargetGroup \(arn)): \(reason)")
    }
}
