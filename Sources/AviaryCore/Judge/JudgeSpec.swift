import AviaryJSON
import AviaryModel
import Foundation

/// The key of Aviary's judge under a metric's `provider.plugin`. A metric plugin is a field
/// Argo's CRD keeps as is, so a template with the judge stays a valid Argo manifest.
public let judgePluginName = "aviary.dev/judge"

/// The judge's configuration: one metric of an AnalysisTemplate holds a whole Kayenta-style
/// canary config, and each measurement judges all of its metrics at once.
///
/// ```yaml
/// provider:
///   plugin:
///     aviary.dev/judge:
///       address: http://localhost:9090
///       lookback: 5m          # the window: the last 5 minutes
///       step: 10s             # one point per 10 s per side
///       thresholds: {pass: 90, marginal: 75}
///       metrics:
///       - name: latency
///         canary: histogram_quantile(0.9, ...{hash="{{args.canary-hash}}"}...)
///         baseline: histogram_quantile(0.9, ...{hash="{{args.stable-hash}}"}...)
///         direction: increase
/// ```
public struct JudgeSpec: Sendable, Equatable {
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    public struct Metric: Sendable, Equatable {
        public var name: String
        /// The PromQL range query of the canary's and of the baseline's series.
        public var canary: String
        public var baseline: String
        /// Kayenta's metric groups; a metric without one is in a group of its own name.
        public var groups: [String]
        public var rules: JudgeMetricRules
    }

    /// The Prometheus address; nil: the daemon's `--prometheus-address`.
    public var address: String?
    /// Headers sent with every query.
    public var headers: [Header]
    public var insecure: Bool
    public var timeoutSeconds: Int
    /// How far back the window reaches from the measurement, and its resolution.
    public var lookback: Double
    public var step: Double
    public var confidence: Double
    /// Fewer points than this on either side makes the measurement Inconclusive ("n < N").
    public var minSamples: Int
    public var pass: Double
    public var marginal: Double
    public var groupWeights: [String: Double]
    public var metrics: [Metric]

}

/// A judge configuration that cannot be used: the field (under the plugin) and what to write.
public struct JudgeSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(path): \(message)" }
}

extension JudgeSpec {
    /// Reads the plugin's value; `{{args.*}}` tags must already be substituted for durations
    /// and numbers, unless `allowTemplates` (lint, before a run has arguments).
    public init(plugin value: JSONValue, allowTemplates: Bool = false) throws(JudgeSpecError) {
        let reader = Reader(allowTemplates: allowTemplates)
        let root = try reader.object(value, at: "")
        try reader.known(
            root, at: "",
            [
                "address", "headers", "insecure", "timeout", "lookback", "step", "confidence", "minSamples",
                "thresholds",
                "groupWeights", "metrics",
            ])
        address = try reader.string(root["address"], at: "address")
        var headers: [Header] = []
        for (index, item) in try reader.optionalArray(root["headers"], at: "headers").enumerated() {
            let header = try reader.object(item, at: "headers[\(index)]")
            guard let name = try reader.string(header["key"], at: "headers[\(index)].key"), !name.isEmpty else {
                throw JudgeSpecError(path: "headers[\(index)].key", message: "is required")
            }
            headers.append(
                Header(name: name, value: try reader.string(header["value"], at: "headers[\(index)].value") ?? ""))
        }
        self.headers = headers
        insecure = try reader.bool(root["insecure"], at: "insecure") ?? false
        timeoutSeconds = Int(try reader.number(root["timeout"], at: "timeout", above: 0) ?? 30)
        lookback = try reader.duration(root["lookback"], at: "lookback") ?? 300
        step = try reader.duration(root["step"], at: "step") ?? 15
        confidence = try reader.number(root["confidence"], at: "confidence", above: 0) ?? 0.98
        guard confidence < 1 else {
            throw JudgeSpecError(path: "confidence", message: "must be below 1 (e.g. 0.98 for a 98% interval)")
        }
        minSamples = Int(try reader.number(root["minSamples"], at: "minSamples", above: 0) ?? 10)
        let thresholds = try reader.optionalObject(root["thresholds"], at: "thresholds")
        try reader.known(thresholds, at: "thresholds", ["pass", "marginal"])
        pass = try reader.number(thresholds["pass"], at: "thresholds.pass", above: -1) ?? 90
        marginal = try reader.number(thresholds["marginal"], at: "thresholds.marginal", above: -1) ?? 75
        guard marginal <= pass, pass <= 100 else {
            throw JudgeSpecError(
                path: "thresholds", message: "needs marginal ≤ pass ≤ 100 (got pass \(pass), marginal \(marginal))")
        }
        var weights: [String: Double] = [:]
        for (group, weight) in try reader.optionalObject(root["groupWeights"], at: "groupWeights") {
            weights[group] = try reader.number(weight, at: "groupWeights.\(group)", above: -1)
        }
        guard weights.values.reduce(0, +) <= 100 else {
            throw JudgeSpecError(path: "groupWeights", message: "the weights add up to more than 100")
        }
        groupWeights = weights
        let list = try reader.optionalArray(root["metrics"], at: "metrics")
        guard !list.isEmpty else {
            throw JudgeSpecError(
                path: "metrics", message: "is required: list each metric with its canary and baseline query")
        }
        var names = Set<String>()
        var metrics: [Metric] = []
        for (index, item) in list.enumerated() {
            let metric = try reader.metric(item, at: "metrics[\(index)]")
            guard names.insert(metric.name).inserted else {
                throw JudgeSpecError(path: "metrics[\(index)].name", message: "\"\(metric.name)\" is used twice")
            }
            metrics.append(metric)
        }
        self.metrics = metrics
    }
}

/// Reads typed fields from JSON, accepting numbers and booleans written as strings (what a
/// substituted `{{args.x}}` leaves).
private struct Reader {
    var allowTemplates: Bool

    func isTemplate(_ value: JSONValue?) -> Bool {
        allowTemplates && (value?.stringValue?.contains("{{") ?? false)
    }

    func object(_ value: JSONValue, at path: String) throws(JudgeSpecError) -> [String: JSONValue] {
        guard let object = value.objectValue else {
            throw JudgeSpecError(
                path: path.isEmpty ? judgePluginName : path, message: "must be a mapping, not \(value.kindDescription)")
        }
        return object
    }

    func array(_ value: JSONValue, at path: String) throws(JudgeSpecError) -> [JSONValue] {
        guard let array = value.arrayValue else {
            throw JudgeSpecError(path: path, message: "must be a list, not \(value.kindDescription)")
        }
        return array
    }

    func optionalObject(_ value: JSONValue?, at path: String) throws(JudgeSpecError) -> [String: JSONValue] {
        guard let value, value != .null else { return [:] }
        return try object(value, at: path)
    }

    func optionalArray(_ value: JSONValue?, at path: String) throws(JudgeSpecError) -> [JSONValue] {
        guard let value, value != .null else { return [] }
        return try array(value, at: path)
    }

    func known(_ object: [String: JSONValue], at path: String, _ keys: Set<String>) throws(JudgeSpecError) {
        if let unknown = object.keys.sorted().first(where: { !keys.contains($0) }) {
            let prefix = path.isEmpty ? "" : path + "."
            throw JudgeSpecError(
                path: prefix + unknown,
                message: "is not a judge field: use one of \(keys.sorted().joined(separator: ", "))")
        }
    }

    func string(_ value: JSONValue?, at path: String) throws(JudgeSpecError) -> String? {
        guard let value, value != .null else { return nil }
        switch value {
        case .string(let text): return text
        case .integer(let number): return String(number)
        case .double(let number): return String(number)
        default: throw JudgeSpecError(path: path, message: "must be a string, not \(value.kindDescription)")
        }
    }

    func bool(_ value: JSONValue?, at path: String) throws(JudgeSpecError) -> Bool? {
        guard let value, value != .null, !isTemplate(value) else { return nil }
        if case .bool(let flag) = value { return flag }
        if let text = value.stringValue, let flag = Bool(text) { return flag }
        throw JudgeSpecError(path: path, message: "must be true or false")
    }

    func number(_ value: JSONValue?, at path: String, above minimum: Double) throws(JudgeSpecError) -> Double? {
        guard let value, value != .null, !isTemplate(value) else { return nil }
        let number: Double?
        switch value {
        case .integer(let whole): number = Double(whole)
        case .double(let real): number = real
        case .string(let text): number = Double(text)
        default: number = nil
        }
        guard let number, number.isFinite else {
            throw JudgeSpecError(path: path, message: "must be a number, not \(value.kindDescription)")
        }
        guard number > minimum else {
            throw JudgeSpecError(
                path: path, message: "must be above \(minimum == -1 ? "or equal to 0" : String(minimum))")
        }
        return number
    }

    func duration(_ value: JSONValue?, at path: String) throws(JudgeSpecError) -> Double? {
        guard let text = try string(value, at: path), !isTemplate(value) else { return nil }
        guard let duration = try? ArgoDuration(text), duration.seconds > 0 else {
            throw JudgeSpecError(path: path, message: "\"\(text)\" is not a duration: use e.g. 30s, 5m or 1h")
        }
        return duration.seconds
    }

    func choice<T: RawRepresentable & CaseIterable>(
        _ value: JSONValue?, at path: String, _: T.Type
    ) throws(JudgeSpecError) -> T?
    where T.RawValue == String {
        guard let text = try string(value, at: path), !isTemplate(value) else { return nil }
        guard let choice = T(rawValue: text) else {
            throw JudgeSpecError(
                path: path, message: "\"\(text)\" is not one of \(T.allCases.map(\.rawValue).joined(separator: ", "))")
        }
        return choice
    }

    func metric(_ value: JSONValue, at path: String) throws(JudgeSpecError) -> JudgeSpec.Metric {
        let object = try self.object(value, at: path)
        try known(
            object, at: path,
            [
                "name", "canary", "baseline", "groups", "direction", "nanStrategy", "outliers", "critical",
                "mustHaveData",
                "muted", "effectSize",
            ])
        guard let name = try string(object["name"], at: "\(path).name"), !name.isEmpty else {
            throw JudgeSpecError(path: "\(path).name", message: "is required")
        }
        var queries: [String] = []
        for side in ["canary", "baseline"] {
            guard let query = try string(object[side], at: "\(path).\(side)"), !query.isEmpty else {
                throw JudgeSpecError(
                    path: "\(path).\(side)", message: "is required: the PromQL query of the \(side)'s series")
            }
            queries.append(query)
        }
        var groups: [String] = []
        for (index, item) in try optionalArray(object["groups"], at: "\(path).groups").enumerated() {
            if let group = try string(item, at: "\(path).groups[\(index)]"), !group.isEmpty { groups.append(group) }
        }
        var outlierFactor: Double?
        if let outliers = object["outliers"] {
            let fields = try self.object(outliers, at: "\(path).outliers")
            try known(fields, at: "\(path).outliers", ["strategy", "outlierFactor"])
            let strategy = try string(fields["strategy"], at: "\(path).outliers.strategy") ?? "keep"
            guard ["keep", "remove"].contains(strategy) else {
                throw JudgeSpecError(
                    path: "\(path).outliers.strategy", message: "\"\(strategy)\" is not one of keep, remove")
            }
            if strategy == "remove" {
                outlierFactor = try number(fields["outlierFactor"], at: "\(path).outliers.outlierFactor", above: 0) ?? 3
            }
        }
        let effect = try optionalObject(object["effectSize"], at: "\(path).effectSize")
        try known(
            effect, at: "\(path).effectSize",
            [
                "measure", "allowedIncrease", "allowedDecrease", "criticalIncrease", "criticalDecrease",
            ])
        let rules = JudgeMetricRules(
            direction: try choice(object["direction"], at: "\(path).direction", JudgeDirection.self) ?? .either,
            nanStrategy: try choice(object["nanStrategy"], at: "\(path).nanStrategy", NaNStrategy.self) ?? .remove,
            outlierFactor: outlierFactor,
            critical: try bool(object["critical"], at: "\(path).critical") ?? false,
            mustHaveData: try bool(object["mustHaveData"], at: "\(path).mustHaveData") ?? false,
            muted: try bool(object["muted"], at: "\(path).muted") ?? false,
            effectMeasure: try choice(effect["measure"], at: "\(path).effectSize.measure", EffectMeasure.self)
                ?? .meanRatio,
            allowedIncrease: try number(effect["allowedIncrease"], at: "\(path).effectSize.allowedIncrease", above: -1),
            allowedDecrease: try number(effect["allowedDecrease"], at: "\(path).effectSize.allowedDecrease", above: -1),
            criticalIncrease: try number(
                effect["criticalIncrease"], at: "\(path).effectSize.criticalIncrease", above: -1),
            criticalDecrease: try number(
                effect["criticalDecrease"], at: "\(path).effectSize.criticalDecrease", above: -1))
        return JudgeSpec.Metric(
            name: name, canary: queries[0], baseline: queries[1], groups: groups.isEmpty ? [name] : groups,
            rules: rules)
    }
}
