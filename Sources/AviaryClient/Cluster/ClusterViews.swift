import AviaryAPI
import AviaryJSON
import AviaryKubernetes
import Foundation

/// The views `get rollout` draws (``ReplicaSetView``, ``PodView``), built from `apps/v1` ReplicaSets and
/// `v1` Pods as the API server sends them, so the cluster mode reuses the daemon's renderers.
enum ClusterViews {
    /// A ReplicaSet of `rollout`: its hash label, Argo's revision and scale-down annotations, its counts.
    static func replicaSet(_ object: KubernetesObject, rollout: String) -> ReplicaSetView {
        let json = object.json
        let annotations = object.metadata.annotations ?? [:]
        let hash =
            object.metadata.labels?["rollouts-pod-template-hash"]
            ?? json["spec"]?["template"]?["metadata"]?["labels"]?["rollouts-pod-template-hash"]?.stringValue ?? ""
        return ReplicaSetView(
            name: object.metadata.name ?? "", namespace: object.metadata.namespace ?? "", rollout: rollout,
            podTemplateHash: hash, revision: object.revision,
            replicas: int(json["spec"]?["replicas"]) ?? 1,
            readyReplicas: int(json["status"]?["readyReplicas"]) ?? 0,
            availableReplicas: int(json["status"]?["availableReplicas"]) ?? 0,
            images: (json["spec"]?["template"]?["spec"]?["containers"]?.arrayValue ?? []).compactMap {
                $0["image"]?.stringValue
            },
            createdAt: Style.date(object.metadata.creationTimestamp) ?? .distantPast,
            scaleDownDeadline: Style.date(annotations["scale-down-deadline"]))
    }

    /// A pod of `replicaSet`: ready from its `Ready` condition, restarts summed over its containers, and
    /// while its first container waits to start again, why and how it last ended.
    static func pod(_ object: KubernetesObject, replicaSet: KubernetesObject, rollout: String) -> PodView {
        let json = object.json
        let container = json["spec"]?["containers"]?.arrayValue?.first
        let port = int(container?["ports"]?.arrayValue?.first?["containerPort"]) ?? 0
        let statuses = json["status"]?["containerStatuses"]?.arrayValue ?? []
        let ready =
            json["status"]?["conditions"]?.arrayValue?.contains {
                $0["type"] == "Ready" && $0["status"] == "True"
            } ?? false
        let podIP = json["status"]?["podIP"]?.stringValue ?? ""
        return PodView(
            name: object.metadata.name ?? "", namespace: object.metadata.namespace ?? "",
            replicaSet: replicaSet.metadata.name ?? "", rollout: rollout, labels: object.metadata.labels ?? [:],
            port: port, image: container?["image"]?.stringValue ?? "", ready: ready,
            restarts: statuses.reduce(0) { $0 + (int($1["restartCount"]) ?? 0) },
            createdAt: Style.date(object.metadata.creationTimestamp) ?? .distantPast,
            address: podIP.isEmpty ? "" : (port == 0 ? podIP : "\(podIP):\(port)"),
            node: json["spec"]?["nodeName"]?.stringValue ?? "",
            lastTermination: ready ? nil : lastTermination(statuses.first),
            phase: json["status"]?["phase"]?.stringValue)
    }

    /// While a container waits to start again: why (`CrashLoopBackOff`) and how it last ended (`exit 1`).
    static func lastTermination(_ status: JSONValue?) -> String? {
        guard let reason = status?["state"]?["waiting"]?["reason"]?.stringValue, reason != "ContainerCreating" else {
            return nil
        }
        var parts = [reason]
        if let code = int(status?["lastState"]?["terminated"]?["exitCode"]) { parts.append("exit \(code)") }
        return parts.isEmpty ? nil : parts.joined(separator: ", ")
    }

    static func int(_ value: JSONValue?) -> Int? {
        value?.integerValue.map { Int($0) }
    }

    /// `status.phase: cannot decode "Sideways"` style text for a decoding error.
    static func describe(_ error: DecodingError) -> String {
        func path(_ context: DecodingError.Context) -> String {
            context.codingPath.map { $0.intValue.map { "[\($0)]" } ?? ".\($0.stringValue)" }.joined()
                .trimmingCharacters(in: CharacterSet(charactersIn: "."))
        }
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .dataCorrupted(let context):
            return "\(path(context)): \(context.debugDescription)"
        case .keyNotFound(let key, let context):
            let parent = path(context)
            return "\(parent.isEmpty ? "" : parent + ".")\(key.stringValue) is missing"
        @unknown default:
            return "\(error)"
        }
    }
}
