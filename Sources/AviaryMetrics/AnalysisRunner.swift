import AviaryCore
import AviaryModel
import Foundation

/// What changed in a run the runner drives; the run in it is the complete new state.
public struct AnalysisRunUpdate: Sendable {
    /// What happened.
    public enum Event: Sendable, Equatable {
        /// The first reconcile: the run is Running (or already ended with an invalid spec).
        case started
        /// A measurement landed for `metric` (its last measurement in `run`).
        case measured(metric: String, measurement: AviaryModel.Measurement)
        /// A look of `metric`'s early-stop test landed (its verdict is in the metric result's metadata).
        case looked(metric: String)
        /// The run completed with `phase`.
        case completed(AnalysisPhase)
    }

    /// What happened.
    public var event: Event
    /// The run after it happened, to persist or show.
    public var run: AnalysisRun
}

/// A run in progress: stop it, or wait for its end.
public final class AnalysisRunHandle: Sendable {
    private let task: Task<AnalysisRun, Never>
    private let control: AsyncStream<AnalysisRunner.Signal>.Continuation

    init(task: Task<AnalysisRun, Never>, control: AsyncStream<AnalysisRunner.Signal>.Continuation) {
        self.task = task
        self.control = control
    }

    /// Asks the run to stop (`spec.terminate`): measurements in flight are cancelled, indefinite
    /// metrics complete as Successful, and the run completes with the worst metric phase.
    public func terminate() { control.yield(.terminate) }

    /// The run once it completed.
    public var result: AnalysisRun { get async { await task.value } }

    /// Stops driving the run at once, leaving it as it is (for shutdown); `result` then returns it.
    public func cancel() { task.cancel() }
}

/// Drives AnalysisRuns in real time with `AnalysisRunEngine` and a `MeasurementProvider`.
///
/// Every measurement runs in a task of its own and is bounded by the provider's timeout for
/// the metric (plus one second of grace), so a provider that hangs delays neither the other
/// metrics of the run nor other runs: at the bound its task is cancelled and the measurement
/// is an Error. Runs are independent: start as many as needed.
public struct AnalysisRunner: Sendable {
    enum Signal: Sendable {
        case landed(MeasurementRequest, ProviderOutcome)
        case wake
        case terminate
    }

    /// Takes the measurements.
    public var provider: any MeasurementProvider
    /// Secrets for `secretKeyRef` arguments.
    public var secrets: SecretStore
    /// The clock the engine reads.
    public var now: @Sendable () -> Date
    /// Added to the provider's timeout before the runner gives up on a measurement itself.
    public var timeoutGrace: Duration

    /// A runner over `provider`.
    public init(
        provider: any MeasurementProvider, secrets: SecretStore = SecretStore(),
        now: @escaping @Sendable () -> Date = { Date() }, timeoutGrace: Duration = .seconds(1)
    ) {
        self.provider = provider
        self.secrets = secrets
        self.now = now
        self.timeoutGrace = timeoutGrace
    }

    /// Starts driving `run`; `onUpdate` is called, in order, after every change.
    public func start(
        _ run: AnalysisRun, onUpdate: @escaping @Sendable (AnalysisRunUpdate) async -> Void = { _ in }
    ) -> AnalysisRunHandle {
        let (signals, control) = AsyncStream.makeStream(of: Signal.self)
        let task = Task { await drive(run, signals: signals, control: control, onUpdate: onUpdate) }
        return AnalysisRunHandle(task: task, control: control)
    }

    /// Drives `run` to completion and returns it.
    public func run(
        _ run: AnalysisRun, onUpdate: @escaping @Sendable (AnalysisRunUpdate) async -> Void = { _ in }
    ) async -> AnalysisRun {
        let handle = start(run, onUpdate: onUpdate)
        return await withTaskCancellationHandler {
            await handle.result
        } onCancel: {
            handle.cancel()
        }
    }

    private func drive(
        _ initial: AnalysisRun, signals: AsyncStream<Signal>, control: AsyncStream<Signal>.Continuation,
        onUpdate: @Sendable (AnalysisRunUpdate) async -> Void
    ) async -> AnalysisRun {
        // Measurements in flight in `initial` belonged to an earlier process and will never land.
        var run = AnalysisRunEngine.abandonInFlightMeasurements(initial)
        var inFlight: [String: Task<Void, Never>] = [:]
        var timer: Task<Void, Never>?
        var iterator = signals.makeAsyncIterator()
        var first = true
        defer {
            timer?.cancel()
            for task in inFlight.values { task.cancel() }
            control.finish()
        }
        while true {
            let reconciliation = AnalysisRunEngine.reconcile(run, secrets: secrets, now: now())
            run = reconciliation.run
            if first {
                first = false
                await onUpdate(AnalysisRunUpdate(event: .started, run: run))
            }
            // Measurements the engine dropped (the run is terminating) are cancelled.
            for (key, task) in inFlight where !hasInFlight(run, key) {
                task.cancel()
                inFlight[key] = nil
            }
            if let phase = run.status?.phase, phase.isCompleted {
                await onUpdate(AnalysisRunUpdate(event: .completed(phase), run: run))
                return run
            }
            for request in reconciliation.measurements {
                let bound = provider.timeout(for: request.metric) + timeoutGrace
                inFlight[request.key] = Task { [provider] in
                    let outcome = await Self.measure(request, with: provider, within: bound)
                    control.yield(.landed(request, outcome))
                }
            }
            timer?.cancel()
            timer = nil
            if let next = reconciliation.nextReconcileAt {
                let delay = max(0, next.timeIntervalSince(now()))
                timer = Task {
                    try? await Task.sleep(for: .milliseconds(Int64((delay * 1000).rounded(.up)) + 5))
                    if !Task.isCancelled { control.yield(.wake) }
                }
            }
            guard let signal = await iterator.next() else { return run }
            switch signal {
            case .landed(let request, let outcome):
                inFlight[request.key] = nil
                let before = run
                run = AnalysisRunEngine.record(outcome, for: request, in: run, now: now())
                if request.earlyStop != nil {
                    if run != before {
                        await onUpdate(AnalysisRunUpdate(event: .looked(metric: request.metricName), run: run))
                    }
                } else if run != before, let measurement = lastMeasurement(run, request.metricName) {
                    await onUpdate(
                        AnalysisRunUpdate(
                            event: .measured(metric: request.metricName, measurement: measurement), run: run))
                }
            case .wake:
                continue
            case .terminate:
                run = AnalysisRunEngine.terminate(run)
            }
        }
    }

    /// Runs one measurement, giving up after `bound` even if the provider ignores cancellation.
    static func measure(
        _ request: MeasurementRequest, with provider: any MeasurementProvider, within bound: Duration
    )
        async -> ProviderOutcome
    {
        let (outcomes, sink) = AsyncStream.makeStream(of: ProviderOutcome.self)
        let work = Task { sink.yield(await provider.measure(request)) }
        let deadline = Task {
            try? await Task.sleep(for: bound)
            let seconds = Double(bound.components.seconds) + Double(bound.components.attoseconds) / 1e18
            sink.yield(.error("measurement timed out after \(PrometheusResult.format(seconds.rounded()))s"))
        }
        return await withTaskCancellationHandler {
            var iterator = outcomes.makeAsyncIterator()
            let outcome = await iterator.next() ?? .error("measurement cancelled")
            work.cancel()
            deadline.cancel()
            sink.finish()
            return outcome
        } onCancel: {
            work.cancel()
            deadline.cancel()
            sink.finish()
        }
    }

    /// Whether the run still waits for the request of `key` (a metric's name, or an early-stop look's key).
    private func hasInFlight(_ run: AnalysisRun, _ key: String) -> Bool {
        for result in run.status?.metricResults ?? [] {
            if key == result.name { return result.measurements?.last.map { $0.finishedAt == nil } ?? false }
            if key == result.name + " (early stop)" { return AnalysisRunEngine.hasLookInFlight(result) }
        }
        return false
    }

    private func lastMeasurement(_ run: AnalysisRun, _ metric: String) -> AviaryModel.Measurement? {
        run.status?.metricResults?.first { $0.name == metric }?.measurements?.last
    }
}
