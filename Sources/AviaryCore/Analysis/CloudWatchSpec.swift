import AviaryJSON
import AviaryModel
import Foundation

/// Argo's `provider.cloudWatch`: the `metricDataQueries` of one CloudWatch `GetMetricData` call over
/// the last `interval` (a Go duration, 5m when not set). Each query is Argo's
/// CloudWatchMetricDataQuery: an `id` and either a metric-math `expression` or a `metricStat`.
public struct CloudWatchSpec: Sendable, Equatable {
    public struct Dimension: Sendable, Equatable {
        public var name: String
        public var value: String
        public init(name: String, value: String) {
            self.name = name
            self.value = value
        }
    }

    /// A `metricStat`: the metric (namespace, name, dimensions), its period in seconds, the
    /// statistic and, when set, the unit.
    public struct MetricStat: Sendable, Equatable {
        public var namespace: String?
        public var metricName: String
        public var dimensions: [Dimension]
        public var period: Int
        public var stat: String
        public var unit: String?
    }

    public struct Query: Sendable, Equatable {
        public var id: String
        public var expression: String?
        public var label: String?
        public var metricStat: MetricStat?
        public var period: Int?
        public var returnData: Bool?
    }

    /// The window, in seconds, that ends at the measurement.
    public var intervalSeconds: Double
    public var queries: [Query]

    /// The fields Argo's CloudWatchMetric has.
    public static let fields = ["interval", "metricDataQueries"]
    /// CloudWatch's StandardUnit values, the only units GetMetricData takes.
    public static let units = [
        "Seconds", "Microseconds", "Milliseconds", "Bytes", "Kilobytes", "Megabytes", "Gigabytes", "Terabytes",
        "Bits", "Kilobits", "Megabits", "Gigabits", "Terabits", "Percent", "Count", "Bytes/Second",
        "Kilobytes/Second", "Megabytes/Second", "Gigabytes/Second", "Terabytes/Second", "Bits/Second",
        "Kilobits/Second", "Megabits/Second", "Gigabits/Second", "Terabits/Second", "Count/Second", "None",
    ]

    /// Reads `provider.cloudWatch`; the error names the field and the fix. CloudWatch's own rules
    /// (an id starting with a lowercase letter, one of `expression` and `metricStat`, a period of
    /// 1, 5, 10, 20, 30 or a multiple of 60 seconds, a standard unit) are checked here, where Argo
    /// leaves them to the API's refusal at the first measurement. With `allowTemplates`, a value
    /// still holding `{{args.x}}` is accepted (lint, before the run resolves it).
    public init(provider value: JSONValue?, allowTemplates: Bool = false) throws(ProviderSpecError) {
        let fields = value?.objectValue ?? [:]
        func isTemplate(_ text: String) -> Bool { allowTemplates && text.contains("{{") }
        switch fields["interval"] {
        case nil, .null?: intervalSeconds = 300
        case .string(let text)? where isTemplate(text): intervalSeconds = .nan
        case .string(let text)?:
            guard let duration = try? ArgoDuration(text), duration.seconds > 0 else {
                throw ProviderSpecError(
                    "cloudWatch", "interval", "\"\(text)\" is not a positive duration; give e.g. 5m or 30m")
            }
            intervalSeconds = duration.seconds
        default:
            throw ProviderSpecError("cloudWatch", "interval", "must be a duration string, e.g. 5m or 30m")
        }
        guard let items = fields["metricDataQueries"]?.arrayValue, !items.isEmpty else {
            throw ProviderSpecError(
                "cloudWatch", "metricDataQueries",
                "required; give at least one query, e.g. {id: errors, metricStat: {metric: {namespace: app, "
                    + "metricName: errors}, period: 300, stat: Sum}}")
        }
        guard items.count <= 500 else {
            throw ProviderSpecError(
                "cloudWatch", "metricDataQueries", "has \(items.count) queries; GetMetricData takes at most 500")
        }
        var queries: [Query] = []
        var ids: Set<String> = []
        for (index, item) in items.enumerated() {
            let query = try Self.query(item, at: "metricDataQueries[\(index)]", isTemplate: isTemplate)
            guard ids.insert(query.id).inserted else {
                throw ProviderSpecError(
                    "cloudWatch", "metricDataQueries[\(index)].id",
                    "\"\(query.id)\" is the id of an earlier query; each query needs its own")
            }
            queries.append(query)
        }
        guard queries.contains(where: { $0.returnData ?? true }) else {
            throw ProviderSpecError(
                "cloudWatch", "metricDataQueries",
                "every query has returnData: false, so CloudWatch would return nothing; let one return its data")
        }
        self.queries = queries
    }

    private static func query(
        _ item: JSONValue, at path: String, isTemplate: (String) -> Bool
    ) throws(ProviderSpecError) -> Query {
        guard let fields = item.objectValue else {
            throw ProviderSpecError("cloudWatch", path, "must be an object with an id and an expression or metricStat")
        }
        guard let id = fields["id"]?.stringValue, !id.isEmpty else {
            throw ProviderSpecError("cloudWatch", "\(path).id", "required; give a short name such as errors")
        }
        if !isTemplate(id) {
            let letters = Array(id.unicodeScalars)
            let valid =
                letters.count <= 255 && ("a"..."z").contains(letters[0])
                && letters.allSatisfy {
                    ("a"..."z").contains($0) || ("A"..."Z").contains($0) || ("0"..."9").contains($0) || $0 == "_"
                }
            guard valid else {
                throw ProviderSpecError(
                    "cloudWatch", "\(path).id",
                    "\"\(id)\" is not a CloudWatch id: it must start with a lowercase letter and hold only letters, "
                        + "digits and _")
            }
        }
        let expression = fields["expression"]?.stringValue
        let stat = fields["metricStat"]
        switch (expression, stat) {
        case (nil, nil):
            throw ProviderSpecError("cloudWatch", path, "give either an expression or a metricStat")
        case (.some, .some):
            throw ProviderSpecError(
                "cloudWatch", path, "has both an expression and a metricStat; CloudWatch takes one of them")
        default: break
        }
        var query = Query(id: id, expression: expression, label: fields["label"]?.stringValue)
        if let stat {
            query.metricStat = try metricStat(stat, at: "\(path).metricStat", isTemplate: isTemplate)
        }
        if let period = fields["period"], period != .null {
            query.period = try seconds(period, at: "\(path).period", isTemplate: isTemplate)
        }
        switch fields["returnData"] {
        case nil, .null?: break
        case .bool(let flag)?: query.returnData = flag
        default: throw ProviderSpecError("cloudWatch", "\(path).returnData", "must be true or false")
        }
        return query
    }

    private static func metricStat(
        _ value: JSONValue, at path: String, isTemplate: (String) -> Bool
    ) throws(ProviderSpecError) -> MetricStat {
        let fields = value.objectValue ?? [:]
        let metric = fields["metric"]?.objectValue ?? [:]
        guard let name = metric["metricName"]?.stringValue, !name.isEmpty else {
            throw ProviderSpecError(
                "cloudWatch", "\(path).metric.metricName", "required; give the metric's name, e.g. errors")
        }
        var dimensions: [Dimension] = []
        for (index, item) in (metric["dimensions"]?.arrayValue ?? []).enumerated() {
            guard let name = item["name"]?.stringValue, !name.isEmpty, let value = item["value"]?.stringValue else {
                throw ProviderSpecError(
                    "cloudWatch", "\(path).metric.dimensions[\(index)]",
                    "needs a name and a value, e.g. {name: LoadBalancer, value: app/web/50dc6c495c0c9188}")
            }
            dimensions.append(Dimension(name: name, value: value))
        }
        guard let periodValue = fields["period"], periodValue != .null else {
            throw ProviderSpecError("cloudWatch", "\(path).period", "required; give the period in seconds, e.g. 300")
        }
        let period = try seconds(periodValue, at: "\(path).period", isTemplate: isTemplate)
        guard let stat = fields["stat"]?.stringValue, !stat.isEmpty else {
            throw ProviderSpecError(
                "cloudWatch", "\(path).stat", "required; give the statistic, e.g. Sum, Average, Maximum or p99")
        }
        let unit = fields["unit"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        if let unit, !isTemplate(unit), !units.contains(unit) {
            throw ProviderSpecError(
                "cloudWatch", "\(path).unit",
                "\"\(unit)\" is not a CloudWatch unit; use one of \(units.joined(separator: ", "))")
        }
        return MetricStat(
            namespace: metric["namespace"]?.stringValue, metricName: name, dimensions: dimensions, period: period,
            stat: stat, unit: unit)
    }

    /// A period (Argo's IntOrString): whole seconds, 1, 5, 10, 20 or 30 (high resolution) or a
    /// multiple of 60. A template is 0 until the run resolves it.
    private static func seconds(
        _ value: JSONValue, at path: String, isTemplate: (String) -> Bool
    ) throws(ProviderSpecError) -> Int {
        let seconds: Int
        switch value {
        case .integer(let number): seconds = Int(number)
        case .string(let text) where isTemplate(text): return 0
        case .string(let text):
            guard let number = Int(text) else {
                throw ProviderSpecError("cloudWatch", path, "\"\(text)\" is not a number of seconds; give e.g. 300")
            }
            seconds = number
        default: throw ProviderSpecError("cloudWatch", path, "must be a number of seconds, e.g. 300")
        }
        guard [1, 5, 10, 20, 30].contains(seconds) || (seconds > 0 && seconds % 60 == 0) else {
            throw ProviderSpecError(
                "cloudWatch", path,
                "\(seconds) s is not a CloudWatch period: use 60 or a multiple of it (1, 5, 10, 20 or 30 for "
                    + "high-resolution metrics)")
        }
        return seconds
    }

    /// The GetMetricData request over `[end - interval, end]`, in the JSON 1.0 protocol's shape:
    /// times as epoch seconds, fields in CloudWatch's names, what Argo leaves unset left out (but
    /// `Stat`, which Argo always sends).
    public func request(end: Date) -> JSONValue {
        let endSeconds = end.timeIntervalSince1970.rounded(.down)
        return .object([
            "StartTime": .integer(Int64(endSeconds - intervalSeconds.rounded(.down))),
            "EndTime": .integer(Int64(endSeconds)),
            "MetricDataQueries": .array(queries.map(\.json)),
        ])
    }
}

extension CloudWatchSpec.Query {
    var json: JSONValue {
        var members: [String: JSONValue] = ["Id": .string(id)]
        if let expression { members["Expression"] = .string(expression) }
        if let label { members["Label"] = .string(label) }
        if let period { members["Period"] = .integer(Int64(period)) }
        if let returnData { members["ReturnData"] = .bool(returnData) }
        if let stat = metricStat {
            var metric: [String: JSONValue] = ["MetricName": .string(stat.metricName)]
            if let namespace = stat.namespace { metric["Namespace"] = .string(namespace) }
            if !stat.dimensions.isEmpty {
                metric["Dimensions"] = .array(
                    stat.dimensions.map { .object(["Name": .string($0.name), "Value": .string($0.value)]) })
            }
            var statMembers: [String: JSONValue] = [
                "Metric": .object(metric), "Period": .integer(Int64(stat.period)), "Stat": .string(stat.stat),
            ]
            if let unit = stat.unit { statMembers["Unit"] = .string(unit) }
            members["MetricStat"] = .object(statMembers)
        }
        return .object(members)
    }
}
