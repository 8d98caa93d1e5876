import AviaryCore
import AviaryModel
import Foundation

extension MetricProviders {
    /// Argo's default `measurementRetention` per metric, the limit passed to `GarbageCollect`.
    static let pluginMeasurementLimit = 10

    /// One measurement by an Argo metric plugin, as Argo's `MetricsPluginRPC` takes it: `Run`; while
    /// the plugin says Running, `Resume` at its `resumeAt`; `Terminate` when the measurement is
    /// stopped first. The plugin judges the metric's conditions itself, so its phase is the outcome.
    func measure(plugin name: String, request: MeasurementRequest) async -> ProviderOutcome {
        guard let host = metricPlugins else {
            return .error(
                "metric plugin \(name): this command runs no metric plugins of Argo's; "
                    + "run the analysis in the daemon (aviary serve), which reads \(ArgoPluginConfiguration.configMapName)"
            )
        }
        let run = ArgoMetricPlugin.Run(name: request.runName, namespace: request.namespace, uid: request.runUID)
        let metric = request.metric
        do {
            let plugin = ArgoMetricPlugin(rpc: try await host.plugin(named: name))
            var measurement = try await plugin.run(run, metric: metric)
            while measurement.phase == AnalysisPhase.running.rawValue {
                let wait = measurement.resumeAt.map { Duration.seconds(max(0.1, $0.timeIntervalSince(now()))) }
                do {
                    try await Task.sleep(for: wait ?? pluginResumeInterval)
                } catch {
                    // Stopped (the run ended or the measurement timed out): the plugin may cancel its work.
                    let running = measurement
                    Task.detached {
                        _ = try? await plugin.resume(run, metric: metric, measurement: running, terminate: true)
                    }
                    return .error(
                        "metric plugin \(name): the measurement was stopped while Running; Terminate was sent")
                }
                measurement = try await plugin.resume(run, metric: metric, measurement: measurement)
            }
            var metadata = (try? await plugin.metadata(metric)) ?? [:]
            metadata.merge(measurement.metadata) { _, own in own }
            _ = try? await plugin.garbageCollect(run, metric: metric, limit: Self.pluginMeasurementLimit)
            return outcome(of: measurement, plugin: name, metadata: metadata)
        } catch {
            return .error("metric plugin \(name): \(error)")
        }
    }

    func outcome(of measurement: GoMeasurement, plugin name: String, metadata: [String: String]) -> ProviderOutcome {
        let message = measurement.message.isEmpty ? nil : measurement.message
        switch AnalysisPhase(rawValue: measurement.phase) {
        case .error?:
            // Argo's words for a plugin's Error measurement.
            return .error("failed to run via plugin: \(measurement.message)")
        case let phase? where phase == .successful || phase == .failed || phase == .inconclusive:
            return .phase(phase, display: measurement.value, message: message, metadata: metadata)
        default:
            return .error(
                "metric plugin \(name) ended a measurement in phase \"\(measurement.phase)\"; a plugin answers "
                    + "Successful, Failed, Inconclusive, Error, or Running until it is done")
        }
    }
}
