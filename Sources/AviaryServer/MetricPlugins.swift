import AviaryCore
import AviaryKubernetes
import AviaryMetrics
import AviaryModel
import AviaryStore
import Foundation
import Logging

extension MetricPluginHost {
    /// The host of one host's daemon: `argo-rollouts-config` is the ConfigMap applied to it in
    /// `namespace`; downloads and the record of running plugins are kept in `binDirectory`.
    static func reading(
        store: any ResourceStore, namespace: String, binDirectory: String, logger: Logger
    ) -> MetricPluginHost {
        MetricPluginHost(
            configuration: {
                try store.configurationValues(
                    .configMap, namespace: namespace, name: ArgoPluginConfiguration.configMapName)
            },
            configurationPlace: "namespace \(namespace) (aviary apply -f)", binDirectory: binDirectory,
            processRecord: (binDirectory as NSString).appendingPathComponent("running"), log: pluginLog(logger))
    }

    /// The host of the controller on Kubernetes: `argo-rollouts-config` is read from the cluster, in
    /// the controller's namespace, at each plugin start.
    static func reading(
        client: KubernetesClient, namespace: String, binDirectory: String, logger: Logger
    ) -> MetricPluginHost {
        MetricPluginHost(
            configuration: {
                do {
                    let object = try await client.get(
                        .configMaps, namespace: namespace, name: ArgoPluginConfiguration.configMapName)
                    var data: [String: String] = [:]
                    for (key, value) in object.json["data"]?.objectValue ?? [:] { data[key] = value.stringValue }
                    return data
                } catch let error as KubernetesError where error.isNotFound {
                    return nil
                }
            },
            configurationPlace: "namespace \(namespace)", binDirectory: binDirectory, log: pluginLog(logger))
    }

    /// A plugin's stderr line in the daemon's log: hclog's JSON lines by their level and message,
    /// other lines as they are.
    private static func pluginLog(_ logger: Logger) -> @Sendable (String, String) -> Void {
        { plugin, line in
            let fields = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any]
            let message = (fields?["@message"] as? String) ?? line
            let level = (fields?["@level"] as? String).flatMap(Logger.Level.init(rawValue:)) ?? .info
            logger.log(level: level, "plugin \(plugin): \(message)")
        }
    }
}
