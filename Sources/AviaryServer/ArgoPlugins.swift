import AviaryCore
import AviaryGoPlugin
import AviaryKubernetes
import AviaryMetrics
import AviaryModel
import AviaryStore
import Foundation
import Logging

extension ArgoPluginHost {
    /// The host of one host's daemon for plugins of `kind`: `argo-rollouts-config` is the ConfigMap
    /// applied to it in `namespace`; downloads and the record of running plugins (`running`, and
    /// `running-KIND` for the other kinds) are kept in `binDirectory`.
    static func reading(
        _ kind: ArgoPluginConfiguration.Kind, store: any ResourceStore, namespace: String, binDirectory: String,
        logger: Logger
    ) -> ArgoPluginHost {
        ArgoPluginHost(
            kind: kind,
            configuration: {
                try store.configurationValues(
                    .configMap, namespace: namespace, name: ArgoPluginConfiguration.configMapName)
            },
            configurationPlace: "namespace \(namespace) (aviary apply -f)", binDirectory: binDirectory,
            processRecord: (binDirectory as NSString).appendingPathComponent(
                kind == .metricProvider ? "running" : "running-\(kind.rawValue)"),
            secret: { name in try? store.configurationValues(.secret, namespace: namespace, name: name) },
            log: pluginLog(logger))
    }

    /// The host of the controller on Kubernetes for plugins of `kind`: `argo-rollouts-config` is
    /// read from the cluster, in the controller's namespace, at each plugin start.
    static func reading(
        _ kind: ArgoPluginConfiguration.Kind, client: KubernetesClient, namespace: String, binDirectory: String,
        logger: Logger
    ) -> ArgoPluginHost {
        ArgoPluginHost(
            kind: kind,
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
            configurationPlace: "namespace \(namespace)", binDirectory: binDirectory,
            secret: { name in
                await KubernetesDaemon.readSecrets([name], namespace: namespace, client: client, logger: logger)
                    .secrets[name]
            },
            log: pluginLog(logger))
    }

    /// A plugin's stderr line in the daemon's log: hclog's JSON lines at their level, other lines at
    /// debug, as go-plugin's client logs them.
    private static func pluginLog(_ logger: Logger) -> @Sendable (String, String) -> Void {
        { plugin, text in
            let line = PluginLogLine(text)
            let level: Logger.Level =
                switch line.level {
                case "trace": .trace
                case "debug": .debug
                case "warn": .warning
                case "error": .error
                default: .info
                }
            logger.log(level: level, "plugin \(plugin): \(line.message)")
        }
    }
}
