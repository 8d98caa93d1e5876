import AviaryModel

/// `aviary lint` (and so `apply`) of Argo's plugin lists: the ConfigMap `argo-rollouts-config`'s
/// `metricProviderPlugins`, `trafficRouterPlugins` and `stepPlugins` must read as Argo reads them.
/// When that ConfigMap is among the files, a metric naming a plugin it does not list is warned
/// about (its measurements would all be Errors), and so is a Rollout whose traffic router is a
/// plugin binary it does not list (its reconciles would fail on Kubernetes).
enum PluginConfigurationChecks {
    static func run(_ resources: [LocatedResource]) -> [Diagnostic] {
        var diagnostics: [Diagnostic] = []
        var listed: [ArgoPluginConfiguration.Kind: Set<String>]?
        for located in resources {
            guard case .configMap(let map) = located.resource,
                map.metadata.name == ArgoPluginConfiguration.configMapName
            else { continue }
            var names = listed ?? [:]
            for kind in ArgoPluginConfiguration.Kind.allCases {
                do {
                    let items = try ArgoPluginConfiguration.plugins(kind, in: map.values)
                    names[kind, default: []].formUnion(items.map(\.name))
                } catch {
                    diagnostics.append(
                        Diagnostic(
                            severity: .error, file: located.file, resource: located.resource.reference,
                            path: "data.\(error.key ?? kind.rawValue)", message: error.reason))
                }
            }
            listed = names
        }
        guard let listed else { return diagnostics }
        for located in resources {
            /// A plugin of `kind` named at `path` that the ConfigMap does not list, with what follows.
            func unlisted(
                _ name: String, _ kind: ArgoPluginConfiguration.Kind, at path: String, _ consequence: String
            ) {
                guard listed[kind]?.contains(name) != true else { return }
                diagnostics.append(
                    Diagnostic(
                        severity: .warning, file: located.file, resource: located.resource.reference, path: path,
                        message:
                            "the ConfigMap \(ArgoPluginConfiguration.configMapName) in these files does not list "
                            + "\(name) under \(kind.rawValue); \(consequence)"))
            }
            let metrics: [Metric]
            switch located.resource {
            case .rollout(let rollout):
                let canary = rollout.spec.strategy.canary
                for (index, step) in (canary?.stepsOrEmpty ?? []).enumerated() {
                    guard let plugin = step.plugin, !plugin.name.isEmpty else { continue }
                    unlisted(
                        plugin.name, .step, at: "spec.strategy.canary.steps[\(index)].plugin.name",
                        "the step would wait, retried every 30 s, until it does")
                }
                for case .plugin(let name, _) in canary?.trafficRouting?.providers ?? [] {
                    unlisted(
                        name, .trafficRouter, at: "spec.strategy.canary.trafficRouting.plugins[\"\(name)\"]",
                        "on Kubernetes every reconcile would fail until it does (on one host Aviary's router makes "
                            + "the split)")
                }
                metrics = []
            case .analysisTemplate(let template): metrics = template.spec.metricsOrEmpty
            case .clusterAnalysisTemplate(let template): metrics = template.spec.metricsOrEmpty
            case .analysisRun(let run): metrics = run.spec.metrics
            default: metrics = []
            }
            for (index, metric) in metrics.enumerated() {
                for name in (metric.provider.plugin?.objectValue ?? [:]).keys.sorted() where name != judgePluginName {
                    unlisted(
                        name, .metricProvider, at: "spec.metrics[\(index)].provider.plugin[\"\(name)\"]",
                        "every measurement would be an Error until it does")
                }
            }
        }
        return diagnostics
    }
}
