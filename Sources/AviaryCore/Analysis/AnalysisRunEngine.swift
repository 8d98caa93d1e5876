import AviaryExpression
import AviaryModel
import Foundation

/// What one reconcile of an AnalysisRun decided.
public struct AnalysisRunReconciliation: Sendable, Equatable {
    /// The run with its new status (phase, message, metric results, summaries).
    public var run: AnalysisRun
    /// Measurements to start now; each is already recorded in `run` as a Running measurement.
    public var measurements: [MeasurementRequest]
    /// When to reconcile again if no measurement lands first; nil when nothing is scheduled
    /// (the run is complete, or it waits only for measurements in flight).
    public var nextReconcileAt: Date?
}

/// The AnalysisRun state machine of Argo Rollouts, pure: time is an argument, secrets come
/// from a `SecretStore` value, and measurements are taken by the caller.
///
/// The caller's loop (see `AnalysisRunner` in AviaryMetrics):
/// 1. `reconcile(run, secrets:, now:)` gives the run's new status and the measurements due now;
/// 2. each measurement is taken by a `MeasurementProvider`, bounded by its timeout;
/// 3. `record(outcome, for: request, in: run, now:)` stores it and re-assesses the phases;
/// 4. reconcile again when a measurement lands or at `nextReconcileAt`.
///
/// The rules (section 4 of the behaviour reference):
/// - Scheduling: the first measurement after `initialDelay` from the run's start; then every
///   `interval` after the previous one finished, or 10 s after an Error; neither `count` nor
///   `interval` means one measurement, `interval` alone means until the run is terminated.
/// - A metric is Failed when failed > failureLimit (-1 disables), Inconclusive when
///   inconclusive > inconclusiveLimit, Error when consecutiveError > consecutiveErrorLimit (4),
///   Successful when consecutiveSuccess reaches consecutiveSuccessLimit or count is reached.
/// - The run: Running while any metric is; then the worst phase wins
///   (Successful < Running < Pending < Inconclusive < Error < Failed). A Failed, Error or
///   Inconclusive metric terminates the others; `dryRun` metrics never decide the phase.
public enum AnalysisRunEngine {
    /// Measurements kept per metric unless `measurementRetention` says otherwise.
    public static let defaultMeasurementRetention = 10
    /// Time before a measurement is retried after an Error.
    public static let errorRetryInterval: TimeInterval = 10

    /// Advances the run to `now`: validates and resolves it on first sight, starts due
    /// measurements, assesses the phases. A completed run is returned unchanged.
    public static func reconcile(
        _ run: AnalysisRun, secrets: SecretStore = SecretStore(), now: Date
    )
        -> AnalysisRunReconciliation
    {
        var run = run
        var status = run.status ?? AnalysisRunStatus()
        if status.phase?.isCompleted == true {
            return AnalysisRunReconciliation(run: run, measurements: [], nextReconcileAt: nil)
        }
        if status.startedAt == nil { status.startedAt = RFC3339.format(now, milliseconds: true) }
        if status.metricResults == nil { status.metricResults = [] }
        run.status = status

        let context: RunContext
        switch RunContext.make(run, secrets: secrets) {
        case .success(let made): context = made
        case .failure(let error):
            run.status?.phase = .error
            run.status?.message = error.message
            run.status?.completedAt = RFC3339.format(now, milliseconds: true)
            return AnalysisRunReconciliation(run: run, measurements: [], nextReconcileAt: nil)
        }

        var measurements: [MeasurementRequest] = []
        let terminating = isTerminating(run)
        for metric in context.metrics {
            let index = resultIndex(run, metric.name)
            if let index, run.status!.metricResults![index].phase.isCompleted { continue }
            if let index, let last = run.status!.metricResults![index].measurements?.last, last.finishedAt == nil {
                if terminating {
                    // The caller cancels the measurement; it never completed, so it is not counted.
                    run.status!.metricResults![index].measurements!.removeLast()
                }
                continue
            }
            guard !terminating, isDue(metric, in: run, now: now) else { continue }
            let taken = index.map {
                (run.status!.metricResults![$0].count ?? 0) + (run.status!.metricResults![$0].error ?? 0)
            }
            var measurement = AviaryModel.Measurement(phase: .running)
            measurement.startedAt = RFC3339.format(now, milliseconds: true)
            if let index {
                run.status!.metricResults![index].measurements =
                    (run.status!.metricResults![index].measurements ?? [])
                    + [measurement]
            } else {
                var result = MetricResult(name: metric.name, phase: .running)
                result.measurements = [measurement]
                result.dryRun = context.dryRun.contains(metric.name) ? true : nil
                run.status!.metricResults!.append(result)
            }
            var request = MeasurementRequest(
                runName: run.metadata.name ?? "", metricName: metric.name, metric: metric,
                startedAt: RFC3339.parse(measurement.startedAt!) ?? now,
                redactions: context.redactions, isDryRun: context.dryRun.contains(metric.name),
                namespace: run.metadata.namespaceOrDefault, runUID: run.metadata.uid,
                measurementNumber: (taken ?? 0) + 1)
            request.runStartedAt = run.status?.startedAt.flatMap(RFC3339.parse)
            measurements.append(request)
        }
        if terminating {
            // As with measurements: the caller cancels a look in flight, and it is not kept.
            for index in run.status!.metricResults!.indices {
                run.status!.metricResults![index].metadata?[MetricResult.EarlyStopKey.inFlight] = nil
            }
        } else {
            measurements += startLooks(&run, context: context, now: now)
        }
        assess(&run, context: context, now: now)
        let next = run.status?.phase?.isCompleted == true ? nil : nextReconcileTime(run, context: context)
        return AnalysisRunReconciliation(run: run, measurements: measurements, nextReconcileAt: next)
    }

    /// Stores the outcome of `request` and re-assesses the run. An outcome whose measurement is
    /// no longer in flight (the run was terminated or completed meanwhile) changes nothing.
    public static func record(
        _ outcome: ProviderOutcome, for request: MeasurementRequest, in run: AnalysisRun, now: Date
    ) -> AnalysisRun {
        if request.earlyStop != nil { return recordLook(outcome, for: request, in: run, now: now) }
        var run = run
        guard run.status?.phase?.isCompleted != true, let index = resultIndex(run, request.metricName),
            var result = run.status?.metricResults?[index], var measurements = result.measurements,
            let last = measurements.last, last.finishedAt == nil,
            last.startedAt.flatMap(RFC3339.parse).map({ abs($0.timeIntervalSince(request.startedAt)) < 0.001 }
            )
                == true
        else { return run }

        var measurement = last
        switch outcome {
        case .value(let value, let display, let metadata):
            let (phase, message) = MeasurementAssessment.phase(of: value, metric: request.metric, now: now)
            measurement.phase = phase
            measurement.value = display
            measurement.message = message
            measurement.metadata = metadata.isEmpty ? nil : metadata
        case .phase(let phase, let display, let message, let metadata):
            measurement.phase = phase.isCompleted ? phase : .error
            measurement.value = display
            measurement.message = message
            measurement.metadata = metadata.isEmpty ? nil : metadata
        case .error(let message):
            measurement.phase = .error
            measurement.message = message
        }
        measurement.message = measurement.message.map { redact($0, request.redactions) }
        measurement.value = measurement.value.map { redact($0, request.redactions) }
        measurement.finishedAt = RFC3339.format(now, milliseconds: true)

        switch measurement.phase {
        case .successful:
            result.successful = (result.successful ?? 0) + 1
            result.count = (result.count ?? 0) + 1
            result.consecutiveError = 0
            result.consecutiveSuccess = (result.consecutiveSuccess ?? 0) + 1
        case .failed, .inconclusive:
            if measurement.phase == .failed {
                result.failed = (result.failed ?? 0) + 1
            } else {
                result.inconclusive = (result.inconclusive ?? 0) + 1
            }
            result.count = (result.count ?? 0) + 1
            result.consecutiveError = 0
            result.consecutiveSuccess = 0
        case .error, .pending, .running:
            result.error = (result.error ?? 0) + 1
            result.consecutiveError = (result.consecutiveError ?? 0) + 1
            result.consecutiveSuccess = 0
        }
        measurements[measurements.count - 1] = measurement
        result.measurements = measurements
        run.status!.metricResults![index] = result

        // The spec was valid when the measurement started; re-derive the context for assessment.
        if case .success(let context) = RunContext.make(run, secrets: nil) {
            assess(&run, context: context, now: now)
        }
        return run
    }

    /// Drops measurements that were in flight when the process driving the run stopped (they
    /// will never land), so that the next reconcile takes them again. Call it once when a
    /// stored run is adopted, e.g. after a daemon restart.
    public static func abandonInFlightMeasurements(_ run: AnalysisRun) -> AnalysisRun {
        guard run.status?.phase?.isCompleted != true, var results = run.status?.metricResults else { return run }
        var run = run
        for index in results.indices {
            if let last = results[index].measurements?.last, last.finishedAt == nil {
                results[index].measurements!.removeLast()
            }
            results[index].metadata?[MetricResult.EarlyStopKey.inFlight] = nil
        }
        run.status?.metricResults = results
        return run
    }

    /// Asks the run to stop (`spec.terminate: true`); the next reconcile completes it.
    public static func terminate(_ run: AnalysisRun) -> AnalysisRun {
        var run = run
        run.spec.terminate = true
        return run
    }

    // MARK: - Scheduling

    /// How many measurements the metric takes: `count`, 1 with neither count nor interval,
    /// nil (until terminated) with an interval only.
    static func effectiveCount(_ metric: Metric) -> Int? {
        if let count = metric.countValue { return count }
        if metric.interval == nil { return 1 }
        return nil
    }

    static func isDue(_ metric: Metric, in run: AnalysisRun, now: Date) -> Bool {
        guard let index = resultIndex(run, metric.name), let result = run.status?.metricResults?[index],
            let last = result.measurements?.last
        else {
            guard let delay = metric.initialDelay else { return true }
            guard let started = run.status?.startedAt.flatMap(RFC3339.parse) else { return false }
            return now >= started.addingTimeInterval(delay.seconds)
        }
        if let count = effectiveCount(metric), (result.count ?? 0) >= count { return false }
        guard let finished = last.finishedAt.flatMap(RFC3339.parse) else { return false }
        return now >= finished.addingTimeInterval(interval(after: last, metric: metric))
    }

    private static func interval(after last: AviaryModel.Measurement, metric: Metric) -> TimeInterval {
        if last.phase == .error { return errorRetryInterval }
        return metric.interval?.seconds ?? errorRetryInterval
    }

    static func nextReconcileTime(_ run: AnalysisRun, context: RunContext) -> Date? {
        var earliest: Date?
        func consider(_ date: Date) { earliest = earliest.map { min($0, date) } ?? date }
        for metric in context.metrics {
            let result = resultIndex(run, metric.name).map { run.status!.metricResults![$0] }
            if let result, result.phase.isCompleted { continue }
            if let policy = context.earlyStop[metric.name],
                let due = nextLook(result ?? MetricResult(name: metric.name, phase: .pending), policy, run: run)
            {
                consider(due)
            }
            guard let last = result?.measurements?.last else {
                if let delay = metric.initialDelay, let started = run.status?.startedAt.flatMap(RFC3339.parse) {
                    consider(started.addingTimeInterval(delay.seconds))
                }
                continue
            }
            guard let finished = last.finishedAt.flatMap(RFC3339.parse) else { continue }
            if let count = effectiveCount(metric), (result?.count ?? 0) >= count { continue }
            consider(finished.addingTimeInterval(interval(after: last, metric: metric)))
        }
        return earliest
    }

    // MARK: - Early stop

    /// Starts the early-stop looks that are due: one per metric with a policy, `interval` after
    /// the run starts (not after `initialDelay`: counts before the canary's first scrape are 0,
    /// which is no evidence, so the test needs no delay), then `interval` after each look landed.
    static func startLooks(_ run: inout AnalysisRun, context: RunContext, now: Date) -> [MeasurementRequest] {
        var looks: [MeasurementRequest] = []
        for metric in context.metrics {
            guard let policy = context.earlyStop[metric.name] else { continue }
            var index = resultIndex(run, metric.name)
            let result =
                index.map { run.status!.metricResults![$0] } ?? MetricResult(name: metric.name, phase: .pending)
            guard !result.phase.isCompleted, let due = nextLook(result, policy, run: run), now >= due else { continue }
            if index == nil {
                var created = result
                created.dryRun = context.dryRun.contains(metric.name) ? true : nil
                run.status!.metricResults!.append(created)
                index = run.status!.metricResults!.count - 1
            }
            let started = RFC3339.format(now, milliseconds: true)
            run.status!.metricResults![index!].metadata =
                (result.metadata ?? [:]).merging([MetricResult.EarlyStopKey.inFlight: started]) { $1 }
            looks.append(
                MeasurementRequest(
                    runName: run.metadata.name ?? "", metricName: metric.name, metric: metric,
                    startedAt: RFC3339.parse(started) ?? now, redactions: context.redactions,
                    isDryRun: context.dryRun.contains(metric.name), namespace: run.metadata.namespaceOrDefault,
                    runUID: run.metadata.uid, earlyStop: policy))
        }
        return looks
    }

    /// Whether a look of the metric's early-stop test is in flight.
    public static func hasLookInFlight(_ result: MetricResult) -> Bool {
        result.metadata?[MetricResult.EarlyStopKey.inFlight] != nil
    }

    /// When the next look is due: `interval` after the last look landed, or after the run
    /// started; nil while a look is in flight.
    static func nextLook(_ result: MetricResult, _ policy: EarlyStopPolicy, run: AnalysisRun) -> Date? {
        guard !result.phase.isCompleted, result.metadata?[MetricResult.EarlyStopKey.inFlight] == nil else { return nil }
        if let looked = result.metadata?[MetricResult.EarlyStopKey.lookedAt].flatMap(RFC3339.parse) {
            return looked.addingTimeInterval(policy.interval)
        }
        return run.status?.startedAt.flatMap(RFC3339.parse)?.addingTimeInterval(policy.interval)
    }

    /// Stores a look's counts and the test's verdict on the metric result; a stop fails the metric.
    static func recordLook(
        _ outcome: ProviderOutcome, for request: MeasurementRequest, in run: AnalysisRun, now: Date
    ) -> AnalysisRun {
        var run = run
        guard let policy = request.earlyStop, run.status?.phase?.isCompleted != true,
            let index = resultIndex(run, request.metricName), var result = run.status?.metricResults?[index],
            !result.phase.isCompleted,
            let inFlight = result.metadata?[MetricResult.EarlyStopKey.inFlight].flatMap(RFC3339.parse),
            abs(inFlight.timeIntervalSince(request.startedAt)) < 0.001
        else { return run }
        var metadata = result.metadata ?? [:]
        metadata[MetricResult.EarlyStopKey.inFlight] = nil
        metadata[MetricResult.EarlyStopKey.lookedAt] = RFC3339.format(now, milliseconds: true)
        metadata[MetricResult.EarlyStopKey.looks] = String(
            (Int(metadata[MetricResult.EarlyStopKey.looks] ?? "") ?? 0) + 1)
        switch outcome {
        case .value(.map(let counts), _, _):
            guard let errors = number(counts["errors"]), let total = number(counts["total"]) else {
                metadata[MetricResult.EarlyStopKey.summary] = "look failed: no error and request counts"
                break
            }
            let (stop, summary) = EarlyStop.assess(errors: errors, total: total, policy: policy)
            metadata[MetricResult.EarlyStopKey.summary] = summary
            if stop { metadata[MetricResult.EarlyStopKey.stopped] = summary }
        case .error(let message):
            metadata[MetricResult.EarlyStopKey.summary] = "look failed: " + redact(message, request.redactions)
        default:
            metadata[MetricResult.EarlyStopKey.summary] = "look failed: no error and request counts"
        }
        result.metadata = metadata
        run.status!.metricResults![index] = result
        if case .success(let context) = RunContext.make(run, secrets: nil) {
            assess(&run, context: context, now: now)
        }
        return run
    }

    private static func number(_ value: ExprValue?) -> Double? {
        switch value {
        case .int(let whole): Double(whole)
        case .float(let real): real.isNaN ? nil : real
        default: nil
        }
    }

    // MARK: - Assessment

    /// Argo's order of badness: a later phase wins.
    static let phaseOrder: [AnalysisPhase] = [.successful, .running, .pending, .inconclusive, .error, .failed]

    static func isWorse(_ candidate: AnalysisPhase, than current: AnalysisPhase) -> Bool {
        (phaseOrder.firstIndex(of: candidate) ?? 0) > (phaseOrder.firstIndex(of: current) ?? 0)
    }

    /// Whether the run is stopping: terminated by request, or a counted metric ended badly.
    public static func isTerminating(_ run: AnalysisRun) -> Bool {
        if run.spec.isTerminated { return true }
        return (run.status?.metricResults ?? []).contains { result in
            result.dryRun != true && [.failed, .error, .inconclusive].contains(result.phase)
        }
    }

    /// Failed / Inconclusive / Error from the counters, with Argo's reason text.
    static func limitBreach(_ metric: Metric, _ result: MetricResult) -> (phase: AnalysisPhase, reason: String)? {
        var breach: (AnalysisPhase, String)?
        let failureLimit = metric.failureLimitOrDefault
        if failureLimit >= 0, (result.failed ?? 0) > failureLimit {
            breach = (.failed, "failed (\(result.failed ?? 0)) > failureLimit (\(failureLimit))")
        }
        let inconclusiveLimit = metric.inconclusiveLimitOrDefault
        if (result.inconclusive ?? 0) > inconclusiveLimit {
            breach = (
                .inconclusive, "inconclusive (\(result.inconclusive ?? 0)) > inconclusiveLimit (\(inconclusiveLimit))"
            )
        }
        let errorLimit = metric.consecutiveErrorLimitOrDefault
        if (result.consecutiveError ?? 0) > errorLimit {
            breach = (
                .error, "consecutiveErrors (\(result.consecutiveError ?? 0)) > consecutiveErrorLimit (\(errorLimit))"
            )
        }
        if let reason = result.metadata?[MetricResult.EarlyStopKey.stopped] {
            breach = (.failed, "earlyStop: \(reason)")
        }
        return breach
    }

    /// The phase of one metric from its counters (Argo's `assessMetricStatus`).
    static func metricPhase(_ metric: Metric, _ result: MetricResult, terminating: Bool) -> AnalysisPhase {
        if result.phase.isCompleted { return result.phase }
        if result.metadata?[MetricResult.EarlyStopKey.stopped] != nil { return .failed }
        guard let last = result.measurements?.last else { return terminating ? .successful : .pending }
        if !last.phase.isCompleted || last.finishedAt == nil { return .running }
        if let breach = limitBreach(metric, result) { return breach.phase }
        let successLimit = metric.consecutiveSuccessLimitOrDefault
        if successLimit > 0, (result.consecutiveSuccess ?? 0) >= successLimit { return .successful }
        if let count = effectiveCount(metric), (result.count ?? 0) >= count {
            // failureLimit and consecutiveSuccessLimit both in play: the streak was not reached
            // and the failures stayed under the limit, so the metric cannot say.
            if successLimit > 0 { return metric.failureLimitOrDefault >= 0 ? .inconclusive : .failed }
            return .successful
        }
        return terminating ? .successful : .running
    }

    static func assess(_ run: inout AnalysisRun, context: RunContext, now: Date) {
        var status = run.status ?? AnalysisRunStatus()
        var results = status.metricResults ?? []
        let terminating = isTerminating(run)
        var worst: AnalysisPhase?
        var worstMessage = run.spec.isTerminated ? "Run Terminated" : ""
        var everythingCompleted = true
        var summary = RunSummary(count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0)
        var drySummary = RunSummary(count: 0, successful: 0, failed: 0, inconclusive: 0, error: 0)

        for metric in context.metrics {
            let isDryRun = context.dryRun.contains(metric.name)
            if isDryRun {
                drySummary.count! += 1
            } else {
                summary.count! += 1
            }
            guard let index = results.firstIndex(where: { $0.name == metric.name }) else {
                everythingCompleted = false
                continue
            }
            var result = results[index]
            let phase = metricPhase(metric, result, terminating: terminating)
            if result.phase != phase {
                if let message = result.measurements?.last?.message { result.message = message }
                result.phase = phase
            }
            guard phase.isCompleted else {
                everythingCompleted = false
                results[index] = result
                continue
            }
            let breach = limitBreach(metric, result)
            if !isDryRun {
                if worst == nil || isWorse(phase, than: worst!) {
                    worst = phase
                    if let breach {
                        worstMessage = "Metric \"\(metric.name)\" assessed \(phase.rawValue) due to \(breach.reason)"
                        if let message = result.message, !message.isEmpty {
                            worstMessage += ": \"Error Message: \(message)\""
                        }
                    }
                }
                count(breach?.phase, into: &summary)
            } else {
                if worst == nil { worst = .successful }
                if let breach {
                    result.message = "Metric assessed \(phase.rawValue) due to \(breach.reason)"
                }
                count(breach?.phase, into: &drySummary)
            }
            results[index] = result
        }
        status.metricResults = results
        status.runSummary = summary
        status.dryRunSummary = context.dryRun.isEmpty ? nil : drySummary

        let newPhase: AnalysisPhase
        var message = worstMessage.trimmingCharacters(in: .whitespaces)
        if terminating {
            newPhase = worst ?? .successful
        } else if !everythingCompleted || worst == nil {
            newPhase = .running
            message = ""
        } else {
            newPhase = worst!
        }
        if status.phase != newPhase {
            status.phase = newPhase
            status.message = message.isEmpty ? nil : message
            if newPhase.isCompleted, status.completedAt == nil {
                status.completedAt = RFC3339.format(now, milliseconds: true)
            }
        }
        run.status = status
        collectGarbage(&run, context: context)
    }

    private static func count(_ phase: AnalysisPhase?, into summary: inout RunSummary) {
        switch phase {
        case .error: summary.error! += 1
        case .failed: summary.failed! += 1
        case .inconclusive: summary.inconclusive! += 1
        default: summary.successful! += 1
        }
    }

    /// Keeps the last `measurementRetention` (default 10) measurements of each metric.
    static func collectGarbage(_ run: inout AnalysisRun, context: RunContext) {
        guard var results = run.status?.metricResults else { return }
        for index in results.indices {
            let limit = context.retention[results[index].name] ?? defaultMeasurementRetention
            if let measurements = results[index].measurements, measurements.count > limit, limit > 0 {
                results[index].measurements = Array(measurements.suffix(limit))
            }
        }
        run.status?.metricResults = results
    }

    static func resultIndex(_ run: AnalysisRun, _ name: String) -> Int? {
        run.status?.metricResults?.firstIndex { $0.name == name }
    }

    /// Replaces every secret value in `text` with `*****`.
    public static func redact(_ text: String, _ secrets: [String]) -> String {
        secrets.filter { !$0.isEmpty }.sorted { $0.count > $1.count }.reduce(text) {
            $0.replacingOccurrences(of: $1, with: "*****")
        }
    }
}
