import AviaryModel
import Foundation

/// `aviary lint` of Argo's notification configuration: the ConfigMap parses (templates compile,
/// services are ones Aviary sends through, `$key`s are in the Secret when the Secret is among the
/// files), and a Rollout's `notifications.argoproj.io/subscriptions` is a valid list.
enum NotificationChecks {
    static func run(_ resources: [LocatedResource]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        for located in resources {
            switch located.resource {
            case .configMap(let map) where map.metadata.name == NotificationConfig.configMapName:
                let namespace = map.metadata.namespace ?? "default"
                let secret = resources.lazy.compactMap { other -> [String: String]? in
                    guard case .secret(let secret) = other.resource, secret.metadata.name == NotificationConfig.secretName,
                        (secret.metadata.namespace ?? "default") == namespace
                    else { return nil }
                    return secret.values
                }.first
                do {
                    _ = try NotificationConfig(data: map.values, secret: secret, partial: namespace != "default")
                } catch {
                    diagnostics.append(
                        Diagnostic(
                            severity: .error, file: located.file, resource: "ConfigMap/\(NotificationConfig.configMapName)",
                            path: "data.\(error.key)", message: error.reason))
                }
            case .rollout(let rollout):
                for problem in Subscriptions.problems(annotations: rollout.metadata.annotations ?? [:]) {
                    diagnostics.append(
                        Diagnostic(
                            severity: .error, file: located.file, resource: "Rollout/\(rollout.metadata.name ?? "")",
                            path: "metadata.annotations", message: problem))
                }
            default:
                continue
            }
        }
        return diagnostics
    }
}
