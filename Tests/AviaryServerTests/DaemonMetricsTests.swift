import Foundation
import Testing

@testable import AviaryServer

/// The daemon's `/metrics` text: Argo's names, labels and help texts, the reconcile histogram's
/// buckets, and the series of deleted rollouts and runs gone.
@Suite("Daemon metrics")
struct DaemonMetricsTests {
    static let facts = DaemonMetrics.RolloutFacts(
        strategy: "canary", trafficRouter: "SMI", phase: "Progressing", desiredReplicas: 4, availableReplicas: 3)

    /// A registry that knows the rollout `default/web`.
    static func knowingWeb() async -> DaemonMetrics {
        let metrics = DaemonMetrics()
        await metrics.setRollout(namespace: "default", name: "web", facts: facts)
        return metrics
    }

    /// The exposition's lines, as a set (the registry does not promise an order).
    func lines(_ metrics: DaemonMetrics) async -> Set<Substring> {
        Set(await metrics.render().split(separator: "\n"))
    }

    @Test("a rollout's series, with Argo's names, labels and help texts")
    func rolloutSeries() async {
        let metrics = DaemonMetrics()
        await metrics.setRollout(namespace: "default", name: "web\"1", facts: Self.facts)
        let lines = await lines(metrics)
        #expect(lines.contains("# HELP rollout_info Information about a rollout."))
        #expect(lines.contains("# TYPE rollout_info gauge"))
        #expect(
            lines.contains(
                #"rollout_info{namespace="default",name="web\"1",strategy="canary",traffic_router="SMI",phase="Progressing"} 1.0"#
            ))
        #expect(lines.contains(#"rollout_phase{namespace="default",name="web\"1",phase="Progressing"} 1.0"#))
        #expect(lines.contains(#"rollout_phase{namespace="default",name="web\"1",phase="Healthy"} 0.0"#))
        #expect(lines.contains(#"rollout_info_replicas_desired{namespace="default",name="web\"1"} 4.0"#))
        #expect(lines.contains(#"rollout_info_replicas_available{namespace="default",name="web\"1"} 3.0"#))
        #expect(lines.contains(#"aviary_rollouts{phase="Progressing"} 1.0"#))
        #expect(lines.contains(#"aviary_rollouts{phase="Healthy"} 0.0"#))
    }

    /// The per-rollout families are written by the daemon, not the registry: each family's
    /// header once, then every rollout's series, label values escaped as the registry escapes them.
    @Test("the per-rollout families: one header each, every rollout's series, escaped labels")
    func perRolloutFamilies() async {
        let metrics = DaemonMetrics()
        await metrics.setRollout(namespace: "b", name: "web", facts: Self.facts)
        await metrics.setRollout(namespace: "a", name: "back\\slash\nline", facts: Self.facts)
        let text = await metrics.render()
        for family in ["rollout_info", "rollout_phase", "rollout_info_replicas_desired", "rollout_info_replicas_available"] {
            #expect(text.components(separatedBy: "# TYPE \(family) gauge\n").count == 2, "\(family): \(text)")
        }
        #expect(text.contains(#"rollout_info_replicas_desired{namespace="a",name="back\\slash\nline"} 4.0"#), "\(text)")
        // Rollouts in key order within a family.
        let desired = text.split(separator: "\n").filter { $0.hasPrefix("rollout_info_replicas_desired{") }
        #expect(desired.map { $0.contains(#"namespace="a""#) } == [true, false])
        #expect(text.split(separator: "\n").filter { $0.hasPrefix("rollout_phase{") }.count == 8)
        // The order kept from the last scrape takes in a rollout that came since, and drops one that went.
        func desiredNamespaces() async -> [String] {
            await metrics.render().split(separator: "\n").filter { $0.hasPrefix("rollout_info_replicas_desired{") }
                .map { String($0.dropFirst(41).prefix(1)) }
        }
        await metrics.setRollout(namespace: "0", name: "first", facts: Self.facts)
        #expect(await desiredNamespaces() == ["0", "a", "b"])
        await metrics.setRollout(namespace: "b", name: "web", facts: nil)
        #expect(await desiredNamespaces() == ["0", "a"])
        await metrics.setRollout(namespace: "0", name: "first", facts: nil)
        await metrics.setRollout(namespace: "a", name: "back\\slash\nline", facts: nil)
        await metrics.setRollout(namespace: "b", name: "web", facts: nil)
        #expect(!(await metrics.render()).contains("rollout_info"))
    }

    @Test("a phase change moves the rollout's info series and its count by phase")
    func phaseChange() async {
        let metrics = await Self.knowingWeb()
        var healthy = Self.facts
        healthy.phase = "Healthy"
        await metrics.setRollout(namespace: "default", name: "web", facts: healthy)
        let text = await metrics.render()
        #expect(!text.contains(#"phase="Progressing"} 1"#), "\(text)")
        #expect(text.contains(#"strategy="canary",traffic_router="SMI",phase="Healthy"} 1.0"#))
        #expect(text.contains(#"aviary_rollouts{phase="Healthy"} 1.0"#))
        #expect(text.contains(#"aviary_rollouts{phase="Progressing"} 0.0"#))
    }

    @Test("a deleted rollout's and a deleted run's series are unregistered")
    func deletedSeriesGo() async {
        let metrics = await Self.knowingWeb()
        await metrics.countReconcileError(namespace: "default", name: "web")
        await metrics.setMetricPhase(namespace: "default", run: "web-1", metric: "errors", phase: "Running")
        await metrics.setMetricPhase(namespace: "default", run: "web-2", metric: "errors", phase: "Successful")
        #expect(await metrics.render().contains(#"rollout_reconcile_error{namespace="default",name="web"} 1"#))
        await metrics.setRollout(namespace: "default", name: "web", facts: nil)
        await metrics.removeReconcileErrors(namespace: "default", name: "web")
        await metrics.removeAnalysisRun(namespace: "default", run: "web-1")
        let text = await metrics.render()
        #expect(!text.contains(#"name="web""#), "\(text)")
        #expect(!text.contains("web-1"), "\(text)")
        #expect(
            text.contains(
                #"analysis_run_metric_phase{namespace="default",name="web-2",metric="errors",phase="Successful"} 1.0"#))
        #expect(text.contains(#"aviary_rollouts{phase="Progressing"} 0.0"#))
        await metrics.retainAnalysisRuns([])
        #expect(!(await metrics.render()).contains("web-2"))
        #expect(
            await metrics.entryCounts() == [
                "metrics.rollouts": 0, "metrics.analysisRunMetricPhases": 0, "metrics.reconcileErrors": 0,
                "metrics.eventReasons": 0,
            ])
    }

    @Test("the reconcile histogram keeps its buckets; passes and events count up")
    func histogramAndCounters() async {
        let metrics = DaemonMetrics()
        await metrics.observeReconciles(seconds: [0.002, 0.3, 7])
        await metrics.countEvent(type: "Normal", reason: "RolloutUpdated")
        await metrics.countEvent(type: "Normal", reason: "RolloutUpdated")
        await metrics.observeResyncPass(seconds: 0.5, full: true, services: 3, rollouts: 1, skipped: 0)
        await metrics.observeResyncPass(seconds: 0.1, full: false, services: 3, rollouts: 1, skipped: 4)
        let lines = await lines(metrics)
        #expect(lines.contains("# TYPE rollout_reconcile histogram"))
        for (bound, count) in [("0.001", 0), ("0.005", 1), ("0.5", 2), ("1.0", 2), ("5.0", 2), ("+Inf", 3)] {
            #expect(lines.contains("rollout_reconcile_bucket{le=\"\(bound)\"} \(count)"), "le=\(bound)")
        }
        #expect(lines.contains("rollout_reconcile_count 3"))
        #expect(lines.contains(#"rollout_events_total{type="Normal",reason="RolloutUpdated"} 2"#))
        #expect(lines.contains("aviary_reconcile_passes_total 1"))
        #expect(lines.contains(#"aviary_reconcile_pass_keys{kind="Service"} 3.0"#))
        #expect(lines.contains("aviary_reconcile_steady_pass_skipped 4.0"))
        #expect(lines.contains("aviary_reconcile_steady_passes_total 1"))
    }
}
