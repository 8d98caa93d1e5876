import AviaryExpression
import AviaryModel
import Foundation

/// An error that ends a run before any measurement: its message is the run's message.
public struct AnalysisRunError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message, Argo's wording (`Analysis spec invalid: metrics[0]: ...`).
    public var message: String
    /// The message.
    public var description: String { message }
}

/// The metrics of a run with `{{args.*}}` substituted, and what the spec says about them.
struct RunContext: Sendable {
    var metrics: [Metric]
    var dryRun: Set<String>
    var retention: [String: Int]
    var redactions: [String]
    /// Early-stop policies by metric name (the run's `aviary.dev/early-stop` annotation).
    var earlyStop: [String: EarlyStopPolicy] = [:]

    /// Resolves the run's arguments (secrets from `secrets`; with nil, secret values become
    /// `*****`, enough to read limits and counts) and validates the metrics.
    static func make(_ run: AnalysisRun, secrets: SecretStore?) -> Result<RunContext, AnalysisRunError> {
        var values: [String: String] = [:]
        var redactions: [String] = []
        for arg in run.spec.args ?? [] {
            if arg.value != nil, arg.valueFrom != nil {
                return .failure(
                    AnalysisRunError(
                        message:
                            "Unable to resolve metric arguments: arg \(arg.name) has both Value and ValueFrom fields"))
            }
            if let value = arg.value {
                values[arg.name] = value
            } else if let reference = arg.valueFrom?.secretKeyRef {
                guard let secrets else {
                    values[arg.name] = "*****"
                    continue
                }
                guard let secret = secrets.value(name: reference.name, key: reference.key) else {
                    return .failure(
                        AnalysisRunError(
                            message:
                                "Unable to resolve metric arguments: secret \"\(reference.name)\" has no key \"\(reference.key)\" (\(secrets.remedy))"
                        ))
                }
                values[arg.name] = secret
                redactions.append(secret)
            } else if let field = arg.valueFrom?.fieldRef {
                return .failure(
                    AnalysisRunError(
                        message:
                            "Unable to resolve metric arguments: args.\(arg.name) refers to field \"\(field.fieldPath)\", which only a Rollout can supply"
                    ))
            } else {
                return .failure(
                    AnalysisRunError(message: "Unable to resolve metric arguments: args.\(arg.name) was not resolved"))
            }
        }
        var metrics: [Metric] = []
        for metric in run.spec.metrics {
            switch substitute(metric, values) {
            case .success(let resolved): metrics.append(resolved)
            case .failure(let error):
                return .failure(
                    AnalysisRunError(
                        message: "Unable to resolve metric arguments: "
                            + AnalysisRunEngine.redact(error.message, redactions)))
            }
        }
        if let problem = validate(metrics) {
            return .failure(AnalysisRunError(message: "Analysis spec invalid: \(problem)"))
        }
        var dryRun: Set<String> = []
        for (index, rule) in (run.spec.dryRun ?? []).enumerated() {
            let matched = metrics.map(\.name).filter { matches(rule.metricName, $0) }
            if matched.isEmpty {
                return .failure(
                    AnalysisRunError(
                        message: "Analysis spec invalid: dryRun[\(index)]: Rule didn't match any metric name(s)"))
            }
            dryRun.formUnion(matched)
        }
        var retention: [String: Int] = [:]
        for (index, rule) in (run.spec.measurementRetention ?? []).enumerated() {
            let matched = metrics.map(\.name).filter { matches(rule.metricName, $0) }
            if matched.isEmpty {
                return .failure(
                    AnalysisRunError(
                        message:
                            "Analysis spec invalid: measurementRetention[\(index)]: Rule didn't match any metric name(s)"
                    ))
            }
            for name in matched where rule.limit > 0 { retention[name] = rule.limit }
        }
        var earlyStop: [String: EarlyStopPolicy] = [:]
        if let annotation = run.metadata.annotations?[EarlyStop.annotation] {
            do {
                earlyStop = try EarlyStop.policies(annotation, args: values)
            } catch {
                return .failure(
                    AnalysisRunError(
                        message: "Analysis spec invalid: " + AnalysisRunEngine.redact(error.description, redactions)))
            }
            if let unknown = earlyStop.keys.sorted().first(where: { name in !metrics.contains { $0.name == name } }) {
                return .failure(
                    AnalysisRunError(
                        message:
                            "Analysis spec invalid: \(EarlyStop.annotation): \(unknown): names no metric of the run"))
            }
        }
        return .success(
            RunContext(
                metrics: metrics, dryRun: dryRun, retention: retention, redactions: redactions, earlyStop: earlyStop))
    }

    /// Argo matches dry-run and retention rules as unanchored regular expressions; `*` alone
    /// (not a valid expression) is taken to mean every metric.
    static func matches(_ pattern: String, _ name: String) -> Bool {
        if pattern == "*" { return true }
        guard let regex = try? Regex(pattern) else { return pattern == name }
        return name.contains(regex)
    }

    /// Substitutes `{{args.*}}` in every string of the metric, as Argo does on its JSON form.
    static func substitute(_ metric: Metric, _ values: [String: String]) -> Result<Metric, AnalysisRunError> {
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let json = String(decoding: try encoder.encode(metric), as: UTF8.self)
            guard json.contains("{{") else { return .success(metric) }
            let escaped = values.mapValues(jsonEscaped)
            let resolved = try Template.substitute(json, args: escaped)
            return .success(try JSONDecoder().decode(Metric.self, from: Data(resolved.utf8)))
        } catch {
            return .failure(AnalysisRunError(message: "metric \"\(metric.name)\": \(error)"))
        }
    }

    /// A value as it must appear inside a JSON string literal.
    static func jsonEscaped(_ value: String) -> String {
        let data = (try? JSONEncoder().encode(value)) ?? Data("\"\"".utf8)
        return String(String(decoding: data, as: UTF8.self).dropFirst().dropLast())
    }

    /// Argo's `ValidateMetrics`, with its messages.
    static func validate(_ metrics: [Metric]) -> String? {
        if metrics.isEmpty { return "no metrics specified" }
        var names: Set<String> = []
        for (index, metric) in metrics.enumerated() {
            if !names.insert(metric.name).inserted { return "metrics[\(index)]: duplicate name '\(metric.name)'" }
            if let problem = validate(metric) { return "metrics[\(index)]: \(problem)" }
        }
        return nil
    }

    static func validate(_ metric: Metric) -> String? {
        for (field, value) in [
            ("count", metric.count), ("failureLimit", metric.failureLimit),
            ("inconclusiveLimit", metric.inconclusiveLimit), ("consecutiveErrorLimit", metric.consecutiveErrorLimit),
            ("consecutiveSuccessLimit", metric.consecutiveSuccessLimit),
        ] {
            if let value, value.intValue == nil { return "\(field) \"\(value)\" is not an integer" }
        }
        let count = metric.countValue ?? 0
        let failureLimit = metric.failureLimitOrDefault
        let successLimit = metric.consecutiveSuccessLimitOrDefault
        let inconclusiveLimit = metric.inconclusiveLimitOrDefault
        if successLimit < 0 { return "consecutiveSuccessLimit must be >= 0" }
        if failureLimit < -1 { return "failureLimit must be >= 0, or -1 to be disabled" }
        if successLimit == 0, failureLimit == -1 {
            return "failureLimit and consecutiveSuccessLimit cannot both be disabled"
        }
        if inconclusiveLimit < 0 { return "inconclusiveLimit must be >= 0" }
        if metric.consecutiveErrorLimitOrDefault < 0 { return "consecutiveErrorLimit must be >= 0" }
        if count > 0 {
            if failureLimit >= 0, count < failureLimit + successLimit {
                return
                    "count (\(count)) must be >= failureLimit + consecutiveSuccessLimit (\(failureLimit) + \(successLimit)) if both >= 0"
            }
            if failureLimit < 0, count < successLimit { return "count must be >= consecutiveSuccessLimit" }
            if count < inconclusiveLimit { return "count must be >= inconclusiveLimit" }
        }
        if count > 1, metric.interval == nil { return "interval must be specified when count > 1" }
        let providers = metric.provider.setKeys
        if providers.isEmpty { return "no provider specified" }
        if providers.count > 1 { return "multiple providers specified" }
        return nil
    }
}
