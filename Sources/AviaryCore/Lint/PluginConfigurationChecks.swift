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
            if case .rollout(let rollout) = located.resource {
                for (index, step) in (rollout.spec.strategy.canary?.stepsOrEmpty ?? []).enumerated() {
                    guard let plugin = step.plugin, !plugin.name.isEmpty, listed[.step]?.contains(plugin.name) != true
                    else { continue }
                    diagnostics.append(
                        Diagnostic(
                            severity: .warning, file: located.file, resource: located.resource.reference,
                            path: "spec.strategy.canary.steps[\(index)].plugin.name",
                            message:
                                "the ConfigMap \(ArgoPluginConfiguration.configMapName) in these files does not list "
                                + "\(plugin.name) under stepPlugins; the step would wait, retried every 30 s, until "
                                + "it does"))
                }
            }
            if case .rollout(let rollout) = located.resource,
                case .plugin(let name, _)? = rollout.spec.strategy.canary?.trafficRouting?.provider,
                listed[.trafficRouter]?.contains(name) != true
            {
                diagnostics.append(
                    Diagnostic(
                        severity: .warning, file: located.file, resource: located.resource.reference,
                        path: "spec.strategy.canary.trafficRouting.plugins[\"\(name)\"]",
                        message:
                            "the ConfigMap \(ArgoPluginConfiguration.configMapName) in these files does not list "
                            + "\(name) under trafficRouterPlugins; on Kubernetes every reconcile would fail until it "
                            + "does (on one host Aviary's router makes the split)"))
            }
            let metrics: [Metric] =
                switch located.resource {
                case .analysisTemplate(let template): template.spec.metricsOrEmpty
                case .clusterAnalysisTemplate(let template): template.spec.metricsOrEmpty
                case .analysisRun(let run): run.spec.metrics
                default: []
                }
            for (index, metric) in metrics.enumerated() {
                for name in (metric.provider.plugin?.objectValue ?? [:]).keys.sorted()
                where name != judgePluginName && listed[.metricProvider]?.contains(name) != true {
                    diagnostics.append(
                        Diagnostic(
                            severity: .warning, file: located.file, resource: located.resource.reference,
                            path: "spec.metrics[\(index)].provider.plugin[\"\(name)\"]",
                            message:
                                "the ConfigMap \(ArgoPluginConfiguration.configMapName) in these files does not "
                                + "list \(name) under metricProviderPlugins; every measurement would be an Error "
                                + "until it does"))
                }
            }
        }
        return diagnostics
    }
}
