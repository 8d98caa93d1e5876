import AviaryJSON
import AviaryModel
import Foundation

/// Argo's `provider.kayenta`: a canary analysis run by a Kayenta server at `address` with the
/// canary config named `canaryConfigName` of `application`, over each scope's control and
/// experiment, judged by Kayenta's score against `threshold` (`pass`, `marginal`).
public struct KayentaSpec: Sendable, Equatable {
    /// One side of a scope: Kayenta's query scope, location, step in seconds and window.
    public struct Side: Sendable, Equatable {
        public var scope: String
        public var region: String
        public var step: Int64
        public var start: String
        public var end: String
    }

    public struct Scope: Sendable, Equatable {
        public var name: String
        public var control: Side
        public var experiment: Side
    }

    public var address: String
    public var application: String
    public var canaryConfigName: String
    public var metricsAccountName: String
    public var configurationAccountName: String
    public var storageAccountName: String
    public var pass: Int64
    public var marginal: Int64
    public var scopes: [Scope]
    /// Whether scopes without a start begin when the run began (else the metric's interval ago).
    public var lookback: Bool

    /// The fields Argo's KayentaMetric has.
    public static let fields = [
        "address", "application", "canaryConfigName", "metricsAccountName", "configurationAccountName",
        "storageAccountName", "threshold", "scopes", "lookback",
    ]

    /// Reads `provider.kayenta`; the error names the field and the fix. `metricInterval` is the
    /// metric's `interval`, which a scope without a start needs unless `lookback` is set (Argo's
    /// rule, found by Argo only at the first measurement).
    public init(provider value: JSONValue?, metricInterval: ArgoDuration?) throws(ProviderSpecError) {
        let fields = value?.objectValue ?? [:]
        func text(_ name: String) -> String { fields[name]?.stringValue ?? "" }
        address = text("address")
        guard !address.isEmpty else {
            throw ProviderSpecError(
                "kayenta", "address", "required; give the Kayenta server's URL, e.g. http://kayenta:8090")
        }
        if !address.contains("{{") {
            guard let url = URLComponents(string: address), ["http", "https"].contains(url.scheme ?? ""),
                url.host != nil
            else {
                throw ProviderSpecError(
                    "kayenta", "address", "\"\(address)\" is not an http or https URL; give e.g. http://kayenta:8090")
            }
        }
        application = text("application")
        guard !application.isEmpty else {
            throw ProviderSpecError("kayenta", "application", "required; give the application the canary config is for")
        }
        canaryConfigName = text("canaryConfigName")
        guard !canaryConfigName.isEmpty else {
            throw ProviderSpecError("kayenta", "canaryConfigName", "required; give the name of Kayenta's canary config")
        }
        metricsAccountName = text("metricsAccountName")
        configurationAccountName = text("configurationAccountName")
        storageAccountName = text("storageAccountName")
        // `thresholds`, as Argo's own Kayenta page spells it, is read as `threshold` (Argo ignores
        // it and passes every score; lint warns).
        let threshold = (fields["threshold"] ?? fields["thresholds"])?.objectValue ?? [:]
        pass = threshold["pass"]?.integerValue ?? 0
        marginal = threshold["marginal"]?.integerValue ?? 0
        guard marginal <= pass else {
            throw ProviderSpecError(
                "kayenta", "threshold.marginal",
                "\(marginal) is above pass (\(pass)); a score from marginal to below pass is Inconclusive")
        }
        if case .bool(let flag)? = fields["lookback"] { lookback = flag } else { lookback = false }
        guard let items = fields["scopes"]?.arrayValue, !items.isEmpty else {
            throw ProviderSpecError(
                "kayenta", "scopes",
                "required; give at least one scope with a controlScope and an experimentScope")
        }
        var scopes: [Scope] = []
        for (index, item) in items.enumerated() {
            let path = "scopes[\(index)]"
            func side(_ name: String) -> Side {
                let fields = item[name]?.objectValue ?? [:]
                return Side(
                    scope: fields["scope"]?.stringValue ?? "", region: fields["region"]?.stringValue ?? "",
                    step: fields["step"]?.integerValue ?? 0, start: fields["start"]?.stringValue ?? "",
                    end: fields["end"]?.stringValue ?? "")
            }
            let scope = Scope(
                name: item["name"]?.stringValue ?? "", control: side("controlScope"),
                experiment: side("experimentScope"))
            guard !scope.name.isEmpty else {
                throw ProviderSpecError("kayenta", "\(path).name", "required; give the scope's name, e.g. default")
            }
            if scope.control.start.isEmpty != scope.experiment.start.isEmpty {
                throw ProviderSpecError(
                    "kayenta", path, "controlScope.start and experimentScope.start must both be set or be empty")
            }
            if scope.control.end.isEmpty != scope.experiment.end.isEmpty {
                throw ProviderSpecError(
                    "kayenta", path, "controlScope.end and experimentScope.end must both be set or be empty")
            }
            if scope.control.start.isEmpty, !lookback {
                // NaN: an argument the run resolves.
                let seconds = metricInterval?.seconds ?? 0
                guard seconds.isNaN || seconds > 0 else {
                    throw ProviderSpecError(
                        "kayenta", "\(path).controlScope.start",
                        "not set, so the window starts the metric's interval ago, and the metric has none; give the "
                            + "metric an interval, the scopes a start and end, or lookback: true")
                }
            }
            scopes.append(scope)
        }
        self.scopes = scopes
    }

    /// The scopes as Kayenta's canary request takes them, windows filled in as Argo fills them: a
    /// missing start is the run's start (`lookback`) or `interval` before `now`, a missing end `now`;
    /// times in RFC 3339 to the second.
    public func request(now: Date, runStartedAt: Date?, intervalSeconds: Double) -> JSONValue {
        func format(_ date: Date) -> String {
            let formatter = ISO8601DateFormatter()
            formatter.formatOptions = [.withInternetDateTime]
            return formatter.string(from: date)
        }
        let start = format(lookback ? (runStartedAt ?? now) : now.addingTimeInterval(-intervalSeconds))
        let end = format(now)
        func side(_ side: Side) -> JSONValue {
            .object([
                "scope": .string(side.scope), "location": .string(side.region), "step": .integer(side.step),
                "start": .string(side.start.isEmpty ? start : side.start),
                "end": .string(side.end.isEmpty ? end : side.end),
            ])
        }
        var scopes: [String: JSONValue] = [:]
        for scope in self.scopes {
            scopes[scope.name] = ["controlScope": side(scope.control), "experimentScope": side(scope.experiment)]
        }
        return ["scopes": .object(scopes), "thresholds": ["pass": .integer(pass), "marginal": .integer(marginal)]]
    }

    /// Argo's judgement of Kayenta's score: from `pass` Successful, from `marginal` Inconclusive,
    /// below it Failed.
    public func phase(score: Int64) -> AnalysisPhase {
        if score >= pass { return .successful }
        return score >= marginal ? .inconclusive : .failed
    }
}
