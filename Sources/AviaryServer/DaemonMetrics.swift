import Prometheus

/// The daemon's own Prometheus metrics, named as Argo Rollouts' controller names them
/// (`rollout_info`, `rollout_phase`, `rollout_reconcile`, `analysis_run_metric_phase`, ...),
/// kept in a swift-prometheus registry and rendered in its text exposition format for
/// `GET /metrics`. The series of a deleted rollout or AnalysisRun are unregistered.
///
/// The four per-rollout families (`rollout_info`, `rollout_phase`, `rollout_info_replicas_*`:
/// eight series a rollout) are the exception: they are written at each scrape from one small
/// entry per rollout. As registry gauges (an object, its labels and its pre-rendered line each)
/// they took about 2.5 kB a rollout, 25 MB of the heap at 10,000 rollouts.
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

    private static let rolloutPhases = ["Healthy", "Progressing", "Paused", "Degraded"]
    private static let metricPhaseNames = ["Pending", "Running", "Successful", "Failed", "Error", "Inconclusive"]

    /// What the per-rollout families say of one rollout.
    private struct RolloutEntry {
        /// `namespace="…",name="…"`, escaped once when the rollout is first seen: every series
        /// of the rollout starts with it.
        let labels: String
        var facts: RolloutFacts
    }

    /// The series of one metric of an AnalysisRun, one per phase.
    private struct MetricPhaseSeries {
        let namespace: String
        let run: String
        let gauges: [Gauge]
    }

    private let registry: PrometheusCollectorRegistry
    private let reconcile: ValueHistogram
    private let rolloutsByPhase: [String: Gauge]
    private var rollouts: [String: RolloutEntry] = [:]
    /// The keys of `rollouts` in order, kept between scrapes until a rollout comes or goes.
    private var sortedRolloutKeys: [String]?
    private var metricPhases: [String: MetricPhaseSeries] = [:]
    private var reconcileErrors: [String: Counter] = [:]
    private var events: [String: Counter] = [:]
    private var notifications: [String: Counter] = [:]
    private var leader: Gauge?

    /// The `# HELP` text of each family.
    private static let help = [
        "rollout_info": "Information about a rollout.",
        "rollout_phase": "The phase of a rollout (1 for the current phase).",
        "rollout_info_replicas_desired": "Desired replicas of a rollout.",
        "rollout_info_replicas_available": "Available replicas of a rollout.",
        "aviary_rollouts": "Rollouts known to the controller, by phase.",
        "aviary_reconcile_pass_seconds": "How long the last forced full pass (resync) took.",
        "aviary_reconcile_pass_keys": "What the last full pass reconciled, by kind.",
        "aviary_reconcile_passes_total": "Forced full passes (resyncs) done.",
        "aviary_reconcile_steady_pass_seconds": "How long the last steady-state resync pass took.",
        "aviary_reconcile_steady_pass_keys": "What the last steady-state pass covered, by kind.",
        "aviary_reconcile_steady_pass_skipped": "Keys the last steady-state pass skipped (inputs unchanged).",
        "aviary_reconcile_steady_passes_total": "Steady-state passes (resyncs) done.",
        "rollout_reconcile": "Rollout reconciliation performance.",
        "rollout_reconcile_error": "Failed reconciliations of a rollout.",
        "rollout_events_total": "Events recorded, by type and reason.",
        "notification_send_success": "Notifications delivered, by service.",
        "notification_send_error": "Failed notification attempts (retried or not), by service.",
        "analysis_run_metric_phase": "The phase of one metric of an AnalysisRun (1 for the current).",
        "aviary_controller_leader": "1 while this replica holds the leader-election Lease and reconciles, else 0.",
    ]

    /// On a cluster: whether this replica leads (`aviary_controller_leader`).
    public func setLeader(_ leading: Bool) {
        if leader == nil { leader = gauge("aviary_controller_leader") }
        leader?.set(to: leading ? 1.0 : 0.0)
    }

    /// Creates an empty registry.
    public init() {
        let registry = PrometheusCollectorRegistry()
        self.registry = registry
        reconcile = registry.makeValueHistogram(
            descriptor: Self.descriptor("rollout_reconcile"), buckets: Self.reconcileBuckets)
        rolloutsByPhase = Dictionary(
            uniqueKeysWithValues: Self.rolloutPhases.map { phase in
                (
                    phase,
                    registry.makeGauge(descriptor: Self.descriptor("aviary_rollouts"), labels: [("phase", phase)])
                )
            })
    }

    /// The family `name` with its `# HELP` text; the name is whole (Argo's names carry no unit suffix).
    private static func descriptor(_ name: String) -> MetricNameDescriptor {
        MetricNameDescriptor(metricName: name, unitName: "", helpText: help[name]!)
    }

    /// The gauge `name` with `labels`, registered on first use.
    private func gauge(_ name: String, _ labels: [(String, String)] = []) -> Gauge {
        registry.makeGauge(descriptor: Self.descriptor(name), labels: labels)
    }

    /// The counter `name` with `labels`, registered on first use.
    private func counter(_ name: String, _ labels: [(String, String)] = []) -> Counter {
        registry.makeCounter(descriptor: Self.descriptor(name), labels: labels)
    }

    /// Records one reconcile's duration.
    public func observeReconcile(seconds: Double) {
        reconcile.record(seconds)
    }

    /// Records the durations of several reconciles (one call for a controller step's worth).
    public func observeReconciles(seconds: [Double]) {
        for value in seconds { observeReconcile(seconds: value) }
    }

    /// Records a resync pass and how many Services and Rollouts it covered: a forced full pass
    /// (`full`: every one reconciled) or a steady-state pass, which skipped `skipped` of them
    /// because nothing they read had changed. Each kind's series appear with its first pass.
    public func observeResyncPass(seconds: Double, full: Bool, services: Int, rollouts: Int, skipped: Int) {
        let prefix = full ? "aviary_reconcile_pass" : "aviary_reconcile_steady_pass"
        gauge(prefix + "_seconds").set(to: seconds)
        gauge(prefix + "_keys", [("kind", "Service")]).set(to: Double(services))
        gauge(prefix + "_keys", [("kind", "Rollout")]).set(to: Double(rollouts))
        if !full { gauge("aviary_reconcile_steady_pass_skipped").set(to: Double(skipped)) }
        counter(full ? "aviary_reconcile_passes_total" : "aviary_reconcile_steady_passes_total").increment()
    }

    /// Counts a failed reconcile of a rollout.
    public func countReconcileError(namespace: String, name: String) {
        let key = "\(namespace)/\(name)"
        let counter =
            reconcileErrors[key] ?? self.counter("rollout_reconcile_error", [("namespace", namespace), ("name", name)])
        reconcileErrors[key] = counter
        counter.increment()
    }

    /// Counts an event by type and reason.
    public func countEvent(type: String, reason: String) {
        let key = "\(type)\u{0}\(reason)"
        let counter = events[key] ?? self.counter("rollout_events_total", [("type", type), ("reason", reason)])
        events[key] = counter
        counter.increment()
    }

    /// Counts one attempt at a notification through `service`.
    public func countNotification(service: String, delivered: Bool) {
        let name = delivered ? "notification_send_success" : "notification_send_error"
        let key = "\(name)\u{0}\(service)"
        let counter = notifications[key] ?? self.counter(name, [("service", service)])
        notifications[key] = counter
        counter.increment()
    }

    /// Sets (or with nil removes, and its series with it) what is known of a rollout.
    public func setRollout(namespace: String, name: String, facts: RolloutFacts?) {
        let key = "\(namespace)/\(name)"
        let old = rollouts[key]
        if let old { rolloutsByPhase[old.facts.phase]?.decrement() }
        guard let facts else {
            if rollouts.removeValue(forKey: key) != nil { sortedRolloutKeys = nil }
            return
        }
        if old == nil { sortedRolloutKeys = nil }
        let labels =
            old?.labels ?? "namespace=\"\(Self.escapedLabelValue(namespace))\",name=\"\(Self.escapedLabelValue(name))\""
        rollouts[key] = RolloutEntry(labels: labels, facts: facts)
        rolloutsByPhase[facts.phase]?.increment()
    }

    /// The per-rollout families in the registry's text format, rollouts in key order. At 10,000
    /// rollouts this is 70,000 lines a scrape, so each is written straight into `text`.
    private func renderRollouts(into text: inout String) {
        guard !rollouts.isEmpty else { return }
        let keys = sortedRolloutKeys ?? rollouts.keys.sorted()
        sortedRolloutKeys = keys
        let entries = keys.map { rollouts[$0]! }
        func family(_ family: String, _ lines: (RolloutEntry) -> Void) {
            text += "# HELP \(family) \(Self.help[family]!)\n# TYPE \(family) gauge\n"
            for entry in entries { lines(entry) }
        }
        func series(_ family: String, _ entry: RolloutEntry, _ more: String, _ value: Double) {
            text += family
            text += "{"
            text += entry.labels
            text += more
            text += "} "
            text += value == 1 ? "1.0" : value == 0 ? "0.0" : String(value)
            text += "\n"
        }
        family("rollout_info") { entry in
            let facts = entry.facts
            let more = [("strategy", facts.strategy), ("traffic_router", facts.trafficRouter), ("phase", facts.phase)]
                .map { ",\($0.0)=\"\(Self.escapedLabelValue($0.1))\"" }.joined()
            series("rollout_info", entry, more, 1)
        }
        family("rollout_phase") { entry in
            for phase in Self.rolloutPhases {
                series("rollout_phase", entry, ",phase=\"\(phase)\"", entry.facts.phase == phase ? 1 : 0)
            }
        }
        family("rollout_info_replicas_desired") { entry in
            series("rollout_info_replicas_desired", entry, "", Double(entry.facts.desiredReplicas))
        }
        family("rollout_info_replicas_available") { entry in
            series("rollout_info_replicas_available", entry, "", Double(entry.facts.availableReplicas))
        }
    }

    /// A label value as the exposition format writes it: backslash, quote and newline escaped.
    static func escapedLabelValue(_ value: String) -> String {
        guard value.unicodeScalars.contains(where: { $0 == "\\" || $0 == "\"" || $0 == "\n" }) else { return value }
        var escaped = String.UnicodeScalarView()
        for scalar in value.unicodeScalars {
            switch scalar {
            case "\\": escaped.append(contentsOf: #"\\"#.unicodeScalars)
            case "\"": escaped.append(contentsOf: #"\""#.unicodeScalars)
            case "\n": escaped.append(contentsOf: #"\n"#.unicodeScalars)
            default: escaped.append(scalar)
            }
        }
        return String(escaped)
    }

    /// Sets the phase of one metric of an AnalysisRun.
    public func setMetricPhase(namespace: String, run: String, metric: String, phase: String) {
        let key = "\(namespace)/\(run)/\(metric)"
        let series =
            metricPhases[key]
            ?? MetricPhaseSeries(
                namespace: namespace, run: run,
                gauges: Self.metricPhaseNames.map {
                    gauge(
                        "analysis_run_metric_phase",
                        [("namespace", namespace), ("name", run), ("metric", metric), ("phase", $0)])
                })
        metricPhases[key] = series
        for (name, gauge) in zip(Self.metricPhaseNames, series.gauges) { gauge.set(to: name == phase ? 1 : 0) }
    }

    /// Forgets the metric phases of a deleted AnalysisRun. Every release creates runs with new
    /// names; without this each one kept its entries (and its lines of `/metrics`) for good.
    public func removeAnalysisRun(namespace: String, run: String) {
        removeMetricPhases { $0.namespace == namespace && $0.run == run }
    }

    /// Forgets the metric phases of every run not in `existing` (`namespace/name`): an update of a
    /// run still on its way when the run was deleted may have set them again.
    public func retainAnalysisRuns(_ existing: Set<String>) {
        removeMetricPhases { !existing.contains("\($0.namespace)/\($0.run)") }
    }

    private func removeMetricPhases(where isRemoved: (MetricPhaseSeries) -> Bool) {
        for (key, series) in metricPhases where isRemoved(series) {
            series.gauges.forEach(registry.unregisterGauge)
            metricPhases.removeValue(forKey: key)
        }
    }

    /// Forgets the failed reconciles of a deleted rollout.
    public func removeReconcileErrors(namespace: String, name: String) {
        if let counter = reconcileErrors.removeValue(forKey: "\(namespace)/\(name)") {
            registry.unregisterCounter(counter)
        }
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
        var text = registry.emitToString()
        renderRollouts(into: &text)
        return text
    }
}
