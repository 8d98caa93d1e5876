import AviaryExpression
import AviaryModel
import Foundation

/// One measurement the engine wants taken now.
///
/// `metric` has its `{{args.*}}` substituted, secrets included: hand it to the provider, never to
/// a log. The engine redacts `redactions` from whatever the provider says before storing it.
public struct MeasurementRequest: Sendable, Equatable {
    /// The run's name (for logs and the runner's bookkeeping).
    public var runName: String
    /// The metric's name.
    public var metricName: String
    /// The metric with arguments substituted.
    public var metric: Metric
    /// When the measurement started; identifies it when its outcome is recorded.
    public var startedAt: Date
    /// Secret values that must not appear in messages (replaced by `*****`).
    public var redactions: [String]
    /// Whether the metric is a dry run (measured and reported, not counted in the run's phase).
    public var isDryRun: Bool
    /// The run's namespace (where a job metric's Job is created).
    public var namespace: String
    /// The run's `metadata.uid` on a cluster (a job metric's Job is owned by the run), nil locally.
    public var runUID: String?
    /// The metric's measurements so far (`count` + `error`) plus one, as Argo numbers its jobs:
    /// a measurement taken again after a restart has the same number.
    public var measurementNumber: Int
    /// Set for a look of the metric's early-stop test rather than a measurement: the provider
    /// answers the policy's error and request counts as `{errors, total}`.
    public var earlyStop: EarlyStopPolicy?
    /// When the run started (`status.startedAt`): where a Kayenta scope with `lookback` begins.
    public var runStartedAt: Date?
    /// What tells this request from the other in flight for the same metric: the metric's name,
    /// or, for an early-stop look, the name followed by ` (early stop)`.
    public var key: String { earlyStop == nil ? metricName : metricName + " (early stop)" }

    /// A request as the engine makes it.
    public init(
        runName: String, metricName: String, metric: Metric, startedAt: Date, redactions: [String] = [],
        isDryRun: Bool = false, namespace: String = "default", runUID: String? = nil, measurementNumber: Int = 1,
        earlyStop: EarlyStopPolicy? = nil
    ) {
        self.earlyStop = earlyStop
        self.namespace = namespace
        self.runUID = runUID
        self.measurementNumber = measurementNumber
        self.runName = runName
        self.metricName = metricName
        self.metric = metric
        self.startedAt = startedAt
        self.redactions = redactions
        self.isDryRun = isDryRun
    }
}

/// What a provider reports for one measurement.
public enum ProviderOutcome: Sendable, Equatable {
    /// A value for the metric's conditions (`result`), and its text for the measurement (`[0.97]`).
    case value(ExprValue, display: String, metadata: [String: String] = [:])
    /// A phase the provider decided itself (a job: exit 0 is Successful), with an optional message.
    case phase(AnalysisPhase, display: String? = nil, message: String? = nil, metadata: [String: String] = [:])
    /// The measurement could not be taken (connection refused, bad query, timeout): an Error measurement.
    case error(String)
}

/// Takes measurements: the seam between the pure analysis engine and the metric back ends.
///
/// `AviaryMetrics` implements it for Prometheus, web and job metrics. An implementation must
/// return promptly when its task is cancelled; the runner also bounds every call by `timeout(for:)`.
public protocol MeasurementProvider: Sendable {
    /// Takes one measurement of `request.metric`.
    func measure(_ request: MeasurementRequest) async -> ProviderOutcome
    /// How long one measurement of `metric` may take before it is an Error (Prometheus `timeout`
    /// 30 s, web `timeoutSeconds` 10 s, job `activeDeadlineSeconds`).
    func timeout(for metric: Metric) -> Duration
}
