import AviaryCore
import AviaryModel
import AviaryStore
import Foundation
import Logging
import Synchronization

/// The notification configuration a rollout's namespace sees, read from the store: Argo's
/// ConfigMap and Secret in the daemon's namespace (`default` on one host), with the same two in
/// the rollout's own namespace laid over them key by key (Argo's self-service mode). Parsed
/// once per change of any of the four.
public final class NotificationSettings: Sendable {
    /// The namespace of the global configuration.
    let globalNamespace: String
    private let store: any ResourceStore
    private let cache = Mutex<[String: (stamp: [Int], config: NotificationConfig?)]>([:])
    /// Where a configuration that does not parse is reported (once per change). On one host apply
    /// refuses such a ConfigMap; on Kubernetes `kubectl apply` takes it, so this is how it is told.
    private let logger: Logger?

    public init(store: any ResourceStore, globalNamespace: String = "default", logger: Logger? = nil) {
        self.store = store
        self.globalNamespace = globalNamespace
        self.logger = logger
    }

    /// The configuration for rollouts of `namespace`; nil when neither namespace has the
    /// ConfigMap, or when what is stored does not parse (apply refuses that, so only a
    /// hand-edited store gets there).
    func config(namespace: String) -> NotificationConfig? {
        // The global namespace's pair first, the rollout's own laid over it.
        let namespaces = namespace == globalNamespace ? [globalNamespace] : [globalNamespace, namespace]
        let keys = namespaces.flatMap(Self.keys)
        guard let stored = try? store.resources(keys) else { return nil }
        let stamp = keys.map { stored[$0]?.resourceVersion ?? -1 }
        if let cached = cache.withLock({ $0[namespace] }), cached.stamp == stamp { return cached.config }
        let layers = namespaces.map { layerNamespace -> NotificationConfig.Layer in
            let pair = Self.keys(layerNamespace)
            let map = stored[pair[0]].flatMap { try? JSONDecoder().decode(ConfigMap.self, from: $0.objectJSON()) }
            let secret = stored[pair[1]].flatMap { try? JSONDecoder().decode(Secret.self, from: $0.objectJSON()) }
            return (map?.values, secret?.values)
        }
        let (data, secret) = NotificationConfig.layered(layers)
        var config: NotificationConfig?
        if let data {
            do {
                config = try NotificationConfig(data: data, secret: secret)
            } catch {
                logger?.error(
                    "notifications of namespace \(namespace) are not sent until this is fixed: \(error) (namespace \(namespace) over \(globalNamespace))"
                )
            }
        }
        cache.withLock { $0[namespace] = (stamp, config) }
        return config
    }

    private static func keys(_ namespace: String) -> [ResourceKey] {
        [
            ResourceKey(kind: .configMap, namespace: namespace, name: NotificationConfig.configMapName),
            ResourceKey(kind: .secret, namespace: namespace, name: NotificationConfig.secretName),
        ]
    }

    /// What is wrong with a notification ConfigMap among `incoming`, checked as the rollouts of
    /// its namespace will see it (laid over the global one, with the Secrets applied beside it or
    /// stored): the reason it is refused at apply, nil when it is fine or absent.
    func problem(incoming: [AnyResource]) -> String? {
        func values(_ kind: ResourceKind, _ namespace: String) -> [String: String]? {
            for resource in incoming {
                switch resource {
                case .configMap(let map)
                where kind == .configMap && map.metadata.name == NotificationConfig.configMapName
                    && (map.metadata.namespace ?? "default") == namespace:
                    return map.values
                case .secret(let secret)
                where kind == .secret && secret.metadata.name == NotificationConfig.secretName
                    && (secret.metadata.namespace ?? "default") == namespace:
                    return secret.values
                default: continue
                }
            }
            let name = kind == .secret ? NotificationConfig.secretName : NotificationConfig.configMapName
            return (try? store.configurationValues(kind, namespace: namespace, name: name)) ?? nil
        }
        for resource in incoming {
            guard case .configMap(let map) = resource, map.metadata.name == NotificationConfig.configMapName else {
                continue
            }
            let namespace = map.metadata.namespace ?? "default"
            let global: [NotificationConfig.Layer] =
                namespace == globalNamespace
                ? [] : [(values(.configMap, globalNamespace), values(.secret, globalNamespace))]
            let (data, secret) = NotificationConfig.layered(global + [(map.values, values(.secret, namespace))])
            do {
                _ = try NotificationConfig(data: data ?? [:], secret: secret)
            } catch {
                return namespace == globalNamespace
                    ? "\(error)" : "\(error) (in namespace \(namespace), over \(globalNamespace)'s)"
            }
        }
        return nil
    }
}
