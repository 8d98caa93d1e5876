import AviaryExpression
import AviaryModel
import Foundation

@testable import AviaryCore

/// A run decoded from the `spec:` YAML of an AnalysisRun.
func makeRun(_ specYAML: String) -> AnalysisRun {
    let text = """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisRun
        metadata:
          name: run
        spec:
        \(specYAML.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }.joined(separator: "\n"))
        """
    var decoder = ManifestDecoder()
    decoder.validates = false
    let decoded = decoder.decode(text, file: "test.yaml")
    guard case .analysisRun(let run)? = decoded.resources.first else {
        fatalError("not an AnalysisRun: \(decoded.diagnostics)\n\(text)")
    }
    return run
}

let epoch = Date(timeIntervalSince1970: 1_800_000_000)

/// A vector result, as Prometheus gives it.
func vector(_ values: Double...) -> ProviderOutcome {
    .value(.array(values.map(ExprValue.float)), display: "[\(values.map { "\($0)" }.joined(separator: ","))]")
}

/// Steps a run through time with scripted provider outcomes: every due measurement finishes
/// at once with the next outcome scripted for its metric (the last one repeats).
struct Simulation {
    var run: AnalysisRun
    var now = epoch
    var script: [String: [ProviderOutcome]]
    var secrets = SecretStore()
    /// (seconds since start, metric) of every measurement taken.
    var taken: [(Double, String)] = []
    var terminateAt: Double?

    init(_ run: AnalysisRun, _ script: [String: [ProviderOutcome]], secrets: SecretStore = SecretStore()) {
        self.run = run
        self.script = script
        self.secrets = secrets
    }

    /// Runs until the run completes, nothing is scheduled, or `limit` seconds pass.
    mutating func runToEnd(limit: Double = 3600) -> AnalysisRun {
        for _ in 0..<1000 {
            if let terminateAt, now.timeIntervalSince(epoch) >= terminateAt, run.spec.terminate != true {
                run = AnalysisRunEngine.terminate(run)
            }
            let step = AnalysisRunEngine.reconcile(run, secrets: secrets, now: now)
            run = step.run
            for request in step.measurements {
                taken.append((now.timeIntervalSince(epoch), request.metricName))
                var outcomes = script[request.metricName] ?? [vector(1)]
                let outcome = outcomes.count > 1 ? outcomes.removeFirst() : outcomes[0]
                script[request.metricName] = outcomes
                run = AnalysisRunEngine.record(outcome, for: request, in: run, now: now)
            }
            if !step.measurements.isEmpty { continue }
            if run.status?.phase?.isCompleted == true { return run }
            var next = step.nextReconcileAt
            if let terminateAt {
                let at = epoch.addingTimeInterval(terminateAt)
                if run.spec.terminate != true, next.map({ at < $0 }) ?? true { next = at }
            }
            guard let next, next.timeIntervalSince(epoch) <= limit else { return run }
            now = max(now, next)
        }
        return run
    }

    func times(of metric: String) -> [Double] { taken.filter { $0.1 == metric }.map(\.0) }
}

extension AnalysisRun {
    var phase: AnalysisPhase? { status?.phase }
    func result(_ name: String) -> MetricResult? { status?.metricResults?.first { $0.name == name } }
}
