import AviaryMeta
/// An `AnalysisRun`: one execution of metrics, created from templates or applied directly.
public struct AnalysisRun: Codable, Sendable, Hashable {
    /// `argoproj.io/v1alpha1`.
    public var apiVersion: String
    /// `AnalysisRun`.
    public var kind: String
    /// Name, namespace, labels (`rollout-type`, `step-index`).
    public var metadata: ObjectMeta
    /// The metrics and resolved arguments.
    public var spec: AnalysisRunSpec
    /// Measurements and phases.
    public var status: AnalysisRunStatus?

    /// A run with the given spec.
    public init(metadata: ObjectMeta, spec: AnalysisRunSpec, status: AnalysisRunStatus? = nil) {
        apiVersion = argoAPIVersion
        kind = ResourceKind.analysisRun.rawValue
        self.metadata = metadata
        self.spec = spec
        self.status = status
    }
}

/// What an AnalysisRun measures.
public struct AnalysisRunSpec: Codable, Sendable, Hashable {
    /// The metrics.
    public var metrics: [Metric]
    /// The arguments, resolved.
    public var args: [Argument]?
    /// Stop measuring; indefinite metrics then complete as Successful.
    public var terminate: Bool?
    /// Metrics whose results do not count.
    public var dryRun: [DryRun]?
    /// How many measurements to keep per metric.
    public var measurementRetention: [MeasurementRetention]?
    /// When a finished run is deleted.
    public var ttlStrategy: TTLStrategy?

    /// A spec with the given metrics and arguments.
    public init(metrics: [Metric], args: [Argument]? = nil, terminate: Bool? = nil) {
        self.metrics = metrics
        self.args = args
        self.terminate = terminate
    }

    /// Whether the run was asked to stop.
    public var isTerminated: Bool { terminate ?? false }
}

/// When a finished AnalysisRun is deleted.
public struct TTLStrategy: Codable, Sendable, Hashable {
    /// Seconds after it completed.
    public var secondsAfterCompletion: Int?
    /// Seconds after it failed.
    public var secondsAfterFailure: Int?
    /// Seconds after it succeeded.
    public var secondsAfterSuccess: Int?

    /// A TTL strategy.
    public init(secondsAfterCompletion: Int? = nil, secondsAfterFailure: Int? = nil, secondsAfterSuccess: Int? = nil) {
        self.secondsAfterCompletion = secondsAfterCompletion
        self.secondsAfterFailure = secondsAfterFailure
        self.secondsAfterSuccess = secondsAfterSuccess
    }
}

/// The phase of an AnalysisRun, a metric or a measurement.
public enum AnalysisPhase: String, ClosedSet, Sendable, Hashable {
    /// Not started.
    case pending = "Pending"
    /// Measuring.
    case running = "Running"
    /// Passed.
    case successful = "Successful"
    /// Failed its conditions.
    case failed = "Failed"
    /// Could not measure.
    case error = "Error"
    /// Neither passed nor failed.
    case inconclusive = "Inconclusive"

    /// Whether the phase is final.
    public var isCompleted: Bool {
        switch self {
        case .pending, .running: false
        case .successful, .failed, .error, .inconclusive: true
        }
    }
}

/// The observed state of an AnalysisRun.
public struct AnalysisRunStatus: Codable, Sendable, Hashable {
    /// The run's phase.
    public var phase: AnalysisPhase?
    /// Why the run ended as it did.
    public var message: String?
    /// When the run started (RFC 3339).
    public var startedAt: String?
    /// When the run completed (RFC 3339).
    public var completedAt: String?
    /// Counts of metrics by phase.
    public var runSummary: RunSummary?
    /// Counts of dry-run metrics by phase.
    public var dryRunSummary: RunSummary?
    /// One result per metric.
    public var metricResults: [MetricResult]?

    /// An empty status.
    public init(phase: AnalysisPhase? = nil) { self.phase = phase }
}

/// Counts of metrics by phase.
public struct RunSummary: Codable, Sendable, Hashable {
    /// Metrics in the run.
    public var count: Int?
    /// Successful metrics.
    public var successful: Int?
    /// Failed metrics.
    public var failed: Int?
    /// Inconclusive metrics.
    public var inconclusive: Int?
    /// Errored metrics.
    public var error: Int?

    /// A summary with the given counts.
    public init(
        count: Int? = nil, successful: Int? = nil, failed: Int? = nil, inconclusive: Int? = nil, error: Int? = nil
    ) {
        self.count = count
        self.successful = successful
        self.failed = failed
        self.inconclusive = inconclusive
        self.error = error
    }
}

/// The measurements and phase of one metric in a run.
public struct MetricResult: Codable, Sendable, Hashable {
    /// The metric's name.
    public var name: String
    /// The metric's phase.
    public var phase: AnalysisPhase
    /// The measurements kept (the last 10 unless `measurementRetention` says otherwise).
    public var measurements: [Measurement]?
    /// Why the metric ended as it did.
    public var message: String?
    /// Measurements taken.
    public var count: Int?
    /// Successful measurements.
    public var successful: Int?
    /// Failed measurements.
    public var failed: Int?
    /// Inconclusive measurements.
    public var inconclusive: Int?
    /// Errored measurements.
    public var error: Int?
    /// Errors in a row.
    public var consecutiveError: Int?
    /// Successes in a row.
    public var consecutiveSuccess: Int?
    /// Whether the metric is a dry run.
    public var dryRun: Bool?
    /// Provider metadata (e.g. the resolved query).
    public var metadata: [String: String]?

    /// A result for the named metric.
    public init(name: String, phase: AnalysisPhase) {
        self.name = name
        self.phase = phase
    }
}

/// One measurement of a metric.
public struct Measurement: Codable, Sendable, Hashable {
    /// Its phase.
    public var phase: AnalysisPhase
    /// The error or a note.
    public var message: String?
    /// When it started (RFC 3339).
    public var startedAt: String?
    /// When it finished (RFC 3339).
    public var finishedAt: String?
    /// The value the provider returned, as text (`[0.97]`).
    public var value: String?
    /// Provider metadata.
    public var metadata: [String: String]?
    /// When a running measurement is to be checked again (RFC 3339).
    public var resumeAt: String?

    /// A measurement in `phase`.
    public init(phase: AnalysisPhase, value: String? = nil, message: String? = nil) {
        self.phase = phase
        self.value = value
        self.message = message
    }
}

extension MetricResult {
    /// The keys of `metadata` where a metric's early-stop test (the `aviary.dev/early-stop`
    /// annotation) keeps its state: written by the analysis engine, read by the CLI.
    public enum EarlyStopKey {
        /// The last look's counts and likelihood ratio, or why it failed.
        public static let summary = "aviary.dev/early-stop"
        /// Why the test stopped the metric; set once, and the metric is Failed.
        public static let stopped = "aviary.dev/early-stop-stopped"
        /// How many looks landed.
        public static let looks = "aviary.dev/early-stop-looks"
        public static let lookedAt = "aviary.dev/early-stop-looked-at"
        public static let inFlight = "aviary.dev/early-stop-in-flight"
    }
}
