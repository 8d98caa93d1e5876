import AviaryCore
import AviaryGoPlugin
import AviaryJSON
import AviaryModel
import Foundation

/// One of Argo Rollouts' metric plugins, running as its own process: the net/rpc client of its
/// `RpcMetricProviderPlugin` (Argo's `MetricsPluginRPC`). Arguments travel as Argo's Go types,
/// gob-encoded; only the fields a plugin can use are filled (gob matches fields by name, and the
/// plugin's decoder leaves the others zero).
struct ArgoMetricPlugin: Sendable {
    let rpc: NetRPCClient

    /// The run as the plugin sees it: `metadata` (name, namespace, uid) and the metric in `spec.metrics`.
    struct Run: Sendable, Equatable {
        var name: String
        var namespace: String
        var uid: String?
    }

    func run(_ run: Run, metric: Metric) async throws -> GoMeasurement {
        let args = GobValue.structure([
            "AnalysisRun": GoTypes.analysisRun(run, metric: metric), "Metric": GoTypes.metric(metric),
        ])
        let reply = try await rpc.call(
            "Plugin.Run", .interface(name: "RunArgs", type: GoTypes.runArgs, value: args), as: .interface)
        return try GoMeasurement(reply)
    }

    /// `Resume` (`terminate: false`) or `Terminate` of a measurement the plugin left Running.
    func resume(
        _ run: Run, metric: Metric, measurement: GoMeasurement, terminate: Bool = false
    ) async throws
        -> GoMeasurement
    {
        let args = GobValue.structure([
            "AnalysisRun": GoTypes.analysisRun(run, metric: metric), "Metric": GoTypes.metric(metric),
            "Measurement": measurement.gobValue,
        ])
        let reply = try await rpc.call(
            terminate ? "Plugin.Terminate" : "Plugin.Resume",
            .interface(name: "TerminateAndResumeArgs", type: GoTypes.terminateAndResumeArgs, value: args),
            as: .interface)
        return try GoMeasurement(reply)
    }

    /// `GetMetadata`: what the plugin says of the metric (Argo keeps it in the metric's result).
    func metadata(_ metric: Metric) async throws -> [String: String] {
        let reply = try await rpc.call(
            "Plugin.GetMetadata",
            .interface(
                name: "GetMetadataArgs", type: GoTypes.getMetadataArgs,
                value: .structure(["Metric": GoTypes.metric(metric)])),
            as: .interface)
        return reply.stringMapValue ?? [:]
    }

    /// `GarbageCollect`: lets the plugin drop what it keeps for all but the last `limit` measurements.
    func garbageCollect(_ run: Run, metric: Metric, limit: Int) async throws -> String? {
        let args = GobValue.structure([
            "AnalysisRun": GoTypes.analysisRun(run, metric: metric), "Metric": GoTypes.metric(metric),
            "Limit": .int(Int64(limit)),
        ])
        let reply = try await rpc.call(
            "Plugin.GarbageCollect",
            .interface(name: "GarbageCollectArgs", type: GoTypes.garbageCollectArgs, value: args), as: .interface)
        return GoTypes.rpcError(reply)
    }
}

/// Argo's `v1alpha1.Measurement` as a plugin returns it.
struct GoMeasurement: Sendable, Equatable {
    var phase: String
    var message: String
    var value: String
    var metadata: [String: String]
    var startedAt: Date?
    var finishedAt: Date?
    var resumeAt: Date?

    init(
        phase: String, message: String = "", value: String = "", metadata: [String: String] = [:],
        startedAt: Date? = nil, finishedAt: Date? = nil, resumeAt: Date? = nil
    ) {
        self.phase = phase
        self.message = message
        self.value = value
        self.metadata = metadata
        self.startedAt = startedAt
        self.finishedAt = finishedAt
        self.resumeAt = resumeAt
    }

    init(_ reply: GobValue) throws {
        guard case .structure(let fields) = reply else {
            throw GoPluginError.protocolViolation("the plugin answered \(reply), not a Measurement")
        }
        func text(_ name: String) -> String { if case .string(let value)? = fields[name] { value } else { "" } }
        func time(_ name: String) -> Date? { fields[name]?.dateValue }
        self.init(
            phase: text("Phase"), message: text("Message"), value: text("Value"),
            metadata: fields["Metadata"]?.stringMapValue ?? [:], startedAt: time("StartedAt"),
            finishedAt: time("FinishedAt"), resumeAt: time("ResumeAt"))
    }

    var gobValue: GobValue {
        var fields: [String: GobValue] = [
            "Phase": .string(phase), "Message": .string(message), "Value": .string(value),
            "Metadata": .stringMap(metadata),
        ]
        if let startedAt { fields["StartedAt"] = .time(startedAt) }
        if let finishedAt { fields["FinishedAt"] = .time(finishedAt) }
        if let resumeAt { fields["ResumeAt"] = .time(resumeAt) }
        return .structure(fields)
    }
}

/// Argo's Go types that cross to a metric plugin, as gob describes them (the fields a plugin can
/// use, in Go's order; the names are Go's, which is what gob matches).
enum GoTypes {
    static let stringMapType = GobType.map(key: .string, value: .string)
    static let intOrString = GobType.structure(
        name: "IntOrString", fields: [GobField("Type", .int), GobField("IntVal", .int), GobField("StrVal", .string)])
    static let time = GobType.pointer(.kubernetesTime)
    static let limit = GobType.pointer(intOrString)
    static let metricProvider = GobType.structure(
        name: "MetricProvider",
        fields: [GobField("Plugin", .map(key: .string, value: .named("json.RawMessage", .bytes)))])
    static let metric = GobType.structure(
        name: "Metric",
        fields: [
            GobField("Name", .string), GobField("Interval", .string), GobField("InitialDelay", .string),
            GobField("Count", limit), GobField("SuccessCondition", .string), GobField("FailureCondition", .string),
            GobField("FailureLimit", limit), GobField("InconclusiveLimit", limit),
            GobField("ConsecutiveErrorLimit", limit), GobField("Provider", metricProvider),
            GobField("ConsecutiveSuccessLimit", limit),
        ])
    static let objectMeta = GobType.structure(
        name: "ObjectMeta",
        fields: [
            GobField("Name", .string), GobField("Namespace", .string), GobField("UID", .string),
        ])
    static let analysisRunSpec = GobType.structure(
        name: "AnalysisRunSpec", fields: [GobField("Metrics", .slice(metric))])
    static let analysisRun = GobType.structure(
        name: "AnalysisRun", fields: [GobField("ObjectMeta", objectMeta), GobField("Spec", analysisRunSpec)])
    static let measurement = GobType.structure(
        name: "Measurement",
        fields: [
            GobField("Phase", .string), GobField("Message", .string), GobField("StartedAt", time),
            GobField("FinishedAt", time), GobField("Value", .string), GobField("Metadata", stringMapType),
            GobField("ResumeAt", time),
        ])
    static let runArgs = GobType.structure(
        name: "RunArgs", fields: [GobField("AnalysisRun", .pointer(analysisRun)), GobField("Metric", metric)])
    static let terminateAndResumeArgs = GobType.structure(
        name: "TerminateAndResumeArgs",
        fields: [
            GobField("AnalysisRun", .pointer(analysisRun)), GobField("Metric", metric),
            GobField("Measurement", measurement),
        ])
    static let getMetadataArgs = GobType.structure(name: "GetMetadataArgs", fields: [GobField("Metric", metric)])
    static let garbageCollectArgs = GobType.structure(
        name: "GarbageCollectArgs",
        fields: [GobField("AnalysisRun", .pointer(analysisRun)), GobField("Metric", metric), GobField("Limit", .int)])

    static func analysisRun(_ run: ArgoMetricPlugin.Run, metric: Metric) -> GobValue {
        var meta: [String: GobValue] = ["Name": .string(run.name), "Namespace": .string(run.namespace)]
        if let uid = run.uid { meta["UID"] = .string(uid) }
        return .structure([
            "ObjectMeta": .structure(meta), "Spec": .structure(["Metrics": .list([self.metric(metric)])]),
        ])
    }

    /// The metric with its plugin's configuration as JSON text (Go's `json.RawMessage`).
    static func metric(_ metric: Metric) -> GobValue {
        var fields: [String: GobValue] = ["Name": .string(metric.name)]
        if let interval = metric.interval { fields["Interval"] = .string(interval.description) }
        if let initialDelay = metric.initialDelay { fields["InitialDelay"] = .string(initialDelay.description) }
        if let success = metric.successCondition { fields["SuccessCondition"] = .string(success) }
        if let failure = metric.failureCondition { fields["FailureCondition"] = .string(failure) }
        let limits: [(String, IntOrString?)] = [
            ("Count", metric.count), ("FailureLimit", metric.failureLimit),
            ("InconclusiveLimit", metric.inconclusiveLimit), ("ConsecutiveErrorLimit", metric.consecutiveErrorLimit),
            ("ConsecutiveSuccessLimit", metric.consecutiveSuccessLimit),
        ]
        for case (let name, let value?) in limits { fields[name] = intOrString(value) }
        var plugins: [(GobValue, GobValue)] = []
        for (name, configuration) in (metric.provider.plugin?.objectValue ?? [:]).sorted(by: { $0.key < $1.key }) {
            plugins.append((.string(name), .bytes(Array(configuration.serialized()))))
        }
        fields["Provider"] = .structure(["Plugin": .map(plugins)])
        return .structure(fields)
    }

    static func intOrString(_ value: IntOrString) -> GobValue {
        switch value {
        case .int(let number): .structure(["Type": .int(0), "IntVal": .int(Int64(number))])
        case .string(let text): .structure(["Type": .int(1), "StrVal": .string(text)])
        }
    }

    /// `types.RpcError`'s text, or nil when it is empty.
    static func rpcError(_ reply: GobValue) -> String? {
        guard case .structure(let fields) = reply, case .string(let message)? = fields["ErrorString"], !message.isEmpty
        else { return nil }
        return message
    }
}
