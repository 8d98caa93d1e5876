import Foundation

/// The daemon's own Prometheus metrics, named as Argo Rollouts' controller names them
/// (`rollout_info`, `rollout_phase`, `rollout_reconcile`, `analysis_run_metric_phase`, ...),
/// rendered in the text exposition format for `GET /metrics`.
public actor DaemonMetrics {
    /// Upper bounds (seconds) of the `rollout_reconcile` histogram buckets.
    public static let reconcileBuckets: [Double] = [0.001, 0.005, 0.01, 0.05, 0.1, 0.5, 1, 5]

    /// What `rollout_info` and `rollout_phase` say about one rollout.
    public struct RolloutFacts: Sendable, Equatable {
        /// `canary` or `blueGreen`.
        public var strategy: String
        /// `SMI` or empty.
        public var trafficRouter: String
        /// `Healthy`, `Progressing`, `Paused` or `Degraded`.
        public var phase: String
        /// `spec.replicas`.
        public var desiredReplicas: Int
        /// `status.availableReplicas`.
        public var availableReplicas: Int

        /// Creates facts.
        public init(
            strategy: String, trafficRouter: String, phase: String, desiredReplicas: Int, availableReplicas: Int
        ) {
            self.strategy = strategy
            self.trafficRouter = trafficRouter
            self.phase = phase
            self.desiredReplicas = desiredReplicas
            self.availableReplicas = availableReplicas
        }
    }

    private var rollouts: [String: (namespace: String, name: String, facts: RolloutFacts)] = [:]
    private var metricPhases: [String: (namespace: String, run: String, metric: String, phase: String)] = [:]
    private var bucketCounts = [Int](repeating: 0, count: DaemonMetrics.reconcileBuckets.count)
    private var reconcileCount = 0
    private var reconcileSum = 0.0
    private var reconcileErrors: [String: Int] = [:]
    private var events: [String: Int] = [:]
    private var lastPass: (seconds: Double, services: Int, rollouts: Int)?
    private var passCount = 0
    private var lastSteadyPass: (seconds: Double, services: Int, rollouts: Int, skipped: Int)?
    private var steadyPassCount = 0

    /// Creates an empty registry.
    public init() {}

    /// Records one reconcile's duration.
    public func observeReconcile(seconds: Double) {
        reconcileCount += 1
        reconcileSum += seconds
        for (index, bound) in Self.reconcileBuckets.enumerated() where seconds <= bound {
            bucketCounts[index] += 1
        }
    }

    /// Records the durations of several reconciles (one call for a controller step's worth).
    public func observeReconciles(seconds: [Double]) {
        for value in seconds { observeReconcile(seconds: value) }
    }

    /// Records a resync pass and how many Services and Rollouts it covered: a forced full pass
    /// (`full`: every one reconciled) or a steady-state pass, which skipped `skipped` of them
    /// because nothing they read had changed.
    public func observeResyncPass(seconds: Double, full: Bool, services: Int, rollouts: Int, skipped: Int) {
        if full {
            lastPass = (seconds, services, rollouts)
            passCount += 1
        } else {
            lastSteadyPass = (seconds, services, rollouts, skipped)
            steadyPassCount += 1
        }
    }

    /// Counts a failed reconcile of a rollout.
    public func countReconcileError(namespace: String, name: String) {
        reconcileErrors["\(namespace)/\(name)", default: 0] += 1
    }

    /// Counts an event by type and reason.
    public func countEvent(type: String, reason: String) {
        events["\(type)\u{0}\(reason)", default: 0] += 1
    }

    /// Sets (or with nil removes) what is known of a rollout.
    public func setRollout(namespace: String, name: String, facts: RolloutFacts?) {
        let key = "\(namespace)/\(name)"
        if let facts { rollouts[key] = (namespace, name, facts) } else { rollouts.removeValue(forKey: key) }
    }

    /// Sets the phase of one metric of an AnalysisRun.
    public func setMetricPhase(namespace: String, run: String, metric: String, phase: String) {
        metricPhases["\(namespace)/\(run)/\(metric)"] = (namespace, run, metric, phase)
    }

    /// Forgets the metric phases of a deleted AnalysisRun. Every release creates runs with new
    /// names; without this each one kept its entries (and its lines of `/metrics`) for good.
    public func removeAnalysisRun(namespace: String, run: String) {
        metricPhases = metricPhases.filter { $0.value.namespace != namespace || $0.value.run != run }
    }

    /// Forgets the metric phases of every run not in `existing` (`namespace/name`): an update of a
    /// run still on its way when the run was deleted may have set them again.
    public func retainAnalysisRuns(_ existing: Set<String>) {
        metricPhases = metricPhases.filter { existing.contains("\($0.value.namespace)/\($0.value.run)") }
    }

    /// Forgets the failed reconciles of a deleted rollout.
    public func removeReconcileErrors(namespace: String, name: String) {
        reconcileErrors.removeValue(forKey: "\(namespace)/\(name)")
    }

    /// How many entries each of the registry's tables holds (for `GET /debug/memory`).
    public func entryCounts() -> [String: Int] {
        [
            "metrics.rollouts": rollouts.count, "metrics.analysisRunMetricPhases": metricPhases.count,
            "metrics.reconcileErrors": reconcileErrors.count, "metrics.eventReasons": events.count,
        ]
    }

    /// The exposition text.
    public func render() -> String {
        var lines: [String] = []
        func label(_ value: String) -> String {
            value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
                .replacingOccurrences(of: "\n", with: "\\n")
        }
        lines.append("# HELP rollout_info Information about a rollout.")
        lines.append("# TYPE rollout_info gauge")
        for (_, entry) in rollouts.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "rollout_info{namespace=\"\(label(entry.namespace))\",name=\"\(label(entry.name))\","
                    + "strategy=\"\(entry.facts.strategy)\",traffic_router=\"\(entry.facts.trafficRouter)\","
                    + "phase=\"\(entry.facts.phase)\"} 1")
        }
        lines.append("# HELP rollout_phase The phase of a rollout (1 for the current phase).")
        lines.append("# TYPE rollout_phase gauge")
        for (_, entry) in rollouts.sorted(by: { $0.key < $1.key }) {
            for phase in ["Healthy", "Progressing", "Paused", "Degraded"] {
                lines.append(
                    "rollout_phase{namespace=\"\(label(entry.namespace))\",name=\"\(label(entry.name))\","
                        + "phase=\"\(phase)\"} \(entry.facts.phase == phase ? 1 : 0)")
            }
        }
        lines.append("# HELP rollout_info_replicas_desired Desired replicas of a rollout.")
        lines.append("# TYPE rollout_info_replicas_desired gauge")
        for (_, entry) in rollouts.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "rollout_info_replicas_desired{namespace=\"\(label(entry.namespace))\",name=\"\(label(entry.name))\"} "
                    + "\(entry.facts.desiredReplicas)")
        }
        lines.append("# HELP rollout_info_replicas_available Available replicas of a rollout.")
        lines.append("# TYPE rollout_info_replicas_available gauge")
        for (_, entry) in rollouts.sorted(by: { $0.key < $1.key }) {
            lines.append(
                "rollout_info_replicas_available{namespace=\"\(label(entry.namespace))\",name=\"\(label(entry.name))\"} "
                    + "\(entry.facts.availableReplicas)")
        }
        lines.append("# HELP aviary_rollouts Rollouts known to the controller, by phase.")
        lines.append("# TYPE aviary_rollouts gauge")
        var byPhase: [String: Int] = [:]
        for entry in rollouts.values { byPhase[entry.facts.phase, default: 0] += 1 }
        for phase in ["Healthy", "Progressing", "Paused", "Degraded"] {
            lines.append("aviary_rollouts{phase=\"\(phase)\"} \(byPhase[phase] ?? 0)")
        }
        if let lastPass {
            lines.append("# HELP aviary_reconcile_pass_seconds How long the last forced full pass (resync) took.")
            lines.append("# TYPE aviary_reconcile_pass_seconds gauge")
            lines.append("aviary_reconcile_pass_seconds \(lastPass.seconds)")
            lines.append("# HELP aviary_reconcile_pass_keys What the last full pass reconciled, by kind.")
            lines.append("# TYPE aviary_reconcile_pass_keys gauge")
            lines.append("aviary_reconcile_pass_keys{kind=\"Service\"} \(lastPass.services)")
            lines.append("aviary_reconcile_pass_keys{kind=\"Rollout\"} \(lastPass.rollouts)")
            lines.append("# HELP aviary_reconcile_passes_total Forced full passes (resyncs) done.")
            lines.append("# TYPE aviary_reconcile_passes_total counter")
            lines.append("aviary_reconcile_passes_total \(passCount)")
        }
        if let lastSteadyPass {
            lines.append(
                "# HELP aviary_reconcile_steady_pass_seconds How long the last steady-state resync pass took.")
            lines.append("# TYPE aviary_reconcile_steady_pass_seconds gauge")
            lines.append("aviary_reconcile_steady_pass_seconds \(lastSteadyPass.seconds)")
            lines.append("# HELP aviary_reconcile_steady_pass_keys What the last steady-state pass covered, by kind.")
            lines.append("# TYPE aviary_reconcile_steady_pass_keys gauge")
            lines.append("aviary_reconcile_steady_pass_keys{kind=\"Service\"} \(lastSteadyPass.services)")
            lines.append("aviary_reconcile_steady_pass_keys{kind=\"Rollout\"} \(lastSteadyPass.rollouts)")
            lines.append(
                "# HELP aviary_reconcile_steady_pass_skipped Keys the last steady-state pass skipped (inputs unchanged)."
            )
            lines.append("# TYPE aviary_reconcile_steady_pass_skipped gauge")
            lines.append("aviary_reconcile_steady_pass_skipped \(lastSteadyPass.skipped)")
            lines.append("# HELP aviary_reconcile_steady_passes_total Steady-state passes (resyncs) done.")
            lines.append("# TYPE aviary_reconcile_steady_passes_total counter")
            lines.append("aviary_reconcile_steady_passes_total \(steadyPassCount)")
        }
        lines.append("# HELP rollout_reconcile Rollout reconciliation performance.")
        lines.append("# TYPE rollout_reconcile histogram")
        for (index, bound) in Self.reconcileBuckets.enumerated() {
            lines.append("rollout_reconcile_bucket{le=\"\(bound)\"} \(bucketCounts[index])")
        }
        lines.append("rollout_reconcile_bucket{le=\"+Inf\"} \(reconcileCount)")
        lines.append("rollout_reconcile_sum \(reconcileSum)")
        lines.append("rollout_reconcile_count \(reconcileCount)")
        lines.append("# HELP rollout_reconcile_error Failed reconciliations of a rollout.")
        lines.append("# TYPE rollout_reconcile_error counter")
        for (key, count) in reconcileErrors.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "/", maxSplits: 1)
            lines.append(
                "rollout_reconcile_error{namespace=\"\(label(String(parts[0])))\",name=\"\(label(String(parts[1])))\"} \(count)"
            )
        }
        lines.append("# HELP rollout_events_total Events recorded, by type and reason.")
        lines.append("# TYPE rollout_events_total counter")
        for (key, count) in events.sorted(by: { $0.key < $1.key }) {
            let parts = key.split(separator: "\u{0}", maxSplits: 1)
            lines.append(
                "rollout_events_total{type=\"\(label(String(parts[0])))\",reason=\"\(label(String(parts[1])))\"} \(count)"
            )
        }
        lines.append("# HELP analysis_run_metric_phase The phase of one metric of an AnalysisRun (1 for the current).")
        lines.append("# TYPE analysis_run_metric_phase gauge")
        for (_, entry) in metricPhases.sorted(by: { $0.key < $1.key }) {
            for phase in ["Pending", "Running", "Successful", "Failed", "Error", "Inconclusive"] {
                lines.append(
                    "analysis_run_metric_phase{namespace=\"\(label(entry.namespace))\",name=\"\(label(entry.run))\","
                        + "metric=\"\(label(entry.metric))\",phase=\"\(phase)\"} \(entry.phase == phase ? 1 : 0)")
            }
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
