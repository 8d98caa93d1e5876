import AviaryExpression
import AviaryJSON
import AviaryModel
import Foundation

/// A metric's early-stop policy: an always-valid sequential test on the canary's error rate,
/// looked at every `interval` while the metric runs, that fails the metric as soon as the
/// evidence that the rate is above `maxErrorRate` crosses 1/`alpha` (`SequentialTest`).
///
/// It is an Aviary extension written where Argo ignores it, the template's annotation
/// `aviary.dev/early-stop`, a mapping from metric name to policy:
///
/// ```yaml
/// metadata:
///   annotations:
///     aviary.dev/early-stop: |
///       success-rate:
///         errors: sum(response_status{app="{{args.service-name}}",role="canary",status!~"2.."})
///         total: sum(response_status{app="{{args.service-name}}",role="canary"})
///         maxErrorRate: 0.05
///         alpha: 0.01
///         interval: 2s
/// ```
///
/// `errors` and `total` are PromQL instant queries of the canary's error and request counts
/// so far; a run carries the annotation from its templates, and `{{args.*}}` in it are the run's.
public struct EarlyStopPolicy: Sendable, Hashable {
    public var errors: String
    public var total: String
    /// p₀: the error rate a healthy canary stays at or under.
    public var maxErrorRate: Double
    /// The false-abort rate the test guarantees for a canary at or under p₀, however often it looks.
    public var alpha: Double
    /// Seconds between looks.
    public var interval: Double
    /// The Prometheus address; nil: the metric's own, or the daemon's `--prometheus-address`.
    public var address: String?
}

/// A policy that cannot be used: where, and what to write.
public struct EarlyStopError: Error, Sendable, Equatable, CustomStringConvertible {
    public var path: String
    public var message: String
    public var description: String { "\(EarlyStop.annotation): \(path.isEmpty ? "" : path + ": ")\(message)" }
}

public enum EarlyStop {
    /// The annotation of an AnalysisTemplate (and of the runs made from it) that holds the policies.
    public static let annotation = "aviary.dev/early-stop"

    /// The policies in the annotation's text. With `args`, `{{args.*}}` tags are replaced first;
    /// without (lint), a tag is accepted where a number is expected.
    public static func policies(
        _ text: String, args: [String: String]? = nil
    ) throws(EarlyStopError) -> [String: EarlyStopPolicy] {
        let value: JSONValue
        do {
            value = try ManifestDecoder.value(ofYAML: text)
        } catch {
            let first = error.diagnostics.first
            let place = first?.line.map { "line \($0), column \(first?.column ?? 1): " } ?? ""
            throw EarlyStopError(path: "", message: "is not YAML: \(place)\(first?.message ?? "")")
        }
        guard let metrics = value.objectValue else {
            throw EarlyStopError(
                path: "", message: "must be a mapping from metric name to policy (errors, total, maxErrorRate)")
        }
        var policies: [String: EarlyStopPolicy] = [:]
        for name in metrics.keys.sorted() {
            policies[name] = try policy(metrics[name]!, name: name, args: args)
        }
        return policies
    }

    static func policy(
        _ value: JSONValue, name: String, args: [String: String]?
    ) throws(EarlyStopError) -> EarlyStopPolicy {
        guard let fields = value.objectValue else {
            throw EarlyStopError(path: name, message: "must be a mapping with errors, total and maxErrorRate")
        }
        let known = ["errors", "total", "maxErrorRate", "alpha", "interval", "address"]
        if let unknown = fields.keys.sorted().first(where: { !known.contains($0) }) {
            throw EarlyStopError(
                path: "\(name).\(unknown)",
                message: "is not a policy field: use one of \(known.joined(separator: ", "))")
        }
        func text(_ key: String) throws(EarlyStopError) -> String? {
            guard let field = fields[key], field != .null else { return nil }
            let raw: String
            switch field {
            case .string(let string): raw = string
            case .integer(let number): raw = String(number)
            case .double(let number): raw = String(number)
            default:
                throw EarlyStopError(path: "\(name).\(key)", message: "must be a string, not \(field.kindDescription)")
            }
            guard let args else { return raw }
            do {
                return try Template.substitute(raw, args: args)
            } catch {
                throw EarlyStopError(path: "\(name).\(key)", message: "\(error)")
            }
        }
        func number(
            _ key: String, default fallback: Double, valid: (Double) -> Bool, rule: String
        )
            throws(EarlyStopError) -> Double
        {
            guard let raw = try text(key) else { return fallback }
            if args == nil, raw.contains("{{") { return fallback }
            guard let number = Double(raw), valid(number) else {
                throw EarlyStopError(path: "\(name).\(key)", message: "\"\(raw)\" is not \(rule)")
            }
            return number
        }
        var queries: [String] = []
        for key in ["errors", "total"] {
            guard let query = try text(key), !query.isEmpty else {
                throw EarlyStopError(
                    path: "\(name).\(key)",
                    message:
                        "is required: the PromQL query of the canary's \(key == "errors" ? "error" : "request") count so far"
                )
            }
            queries.append(query)
        }
        guard fields["maxErrorRate"] != nil else {
            throw EarlyStopError(
                path: "\(name).maxErrorRate",
                message: "is required: the error rate a healthy canary stays under, e.g. 0.05")
        }
        let maxErrorRate = try number(
            "maxErrorRate", default: 0.05, valid: { $0 > 0 && $0 < 1 }, rule: "a rate between 0 and 1, e.g. 0.05")
        let alpha = try number(
            "alpha", default: 0.01, valid: { $0 > 0 && $0 < 0.5 }, rule: "a probability under 0.5, e.g. 0.01")
        var interval = 5.0
        if let raw = try text("interval"), !(args == nil && raw.contains("{{")) {
            guard let duration = try? ArgoDuration(raw), duration.seconds > 0 else {
                throw EarlyStopError(
                    path: "\(name).interval", message: "\"\(raw)\" is not a duration: use e.g. 2s or 10s")
            }
            interval = duration.seconds
        }
        return EarlyStopPolicy(
            errors: queries[0], total: queries[1], maxErrorRate: maxErrorRate, alpha: alpha, interval: interval,
            address: try text("address"))
    }

    /// What one look says: whether to stop, and the line kept on the metric result.
    public static func assess(errors: Double, total: Double, policy: EarlyStopPolicy) -> (stop: Bool, summary: String) {
        let logRatio = SequentialTest.logLikelihoodRatio(
            errors: errors, total: total, maxErrorRate: policy.maxErrorRate)
        let bound = 1 / policy.alpha
        let ratio = exp(min(logRatio, 700))
        let counts = "\(format(errors)) errors in \(format(total)) requests"
        let test = "likelihood ratio \(format(ratio)) \(logRatio >= log(bound) ? "≥" : "<") \(format(bound))"
        let stop = logRatio >= log(bound)
        return (
            stop,
            stop
                ? "the error rate is above \(format(policy.maxErrorRate)) (α \(format(policy.alpha))): \(counts), \(test)"
                : "\(counts), \(test)"
        )
    }

    static func format(_ value: Double) -> String {
        value == value.rounded() && abs(value) < 1e15 ? String(Int(value)) : String(format: "%.3g", value)
    }
}
