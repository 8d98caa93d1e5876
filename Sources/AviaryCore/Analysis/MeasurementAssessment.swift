import AviaryExpression
import AviaryModel
import Foundation

/// The phase of one measurement from the metric's conditions, as in Argo Rollouts:
///
/// | successCondition | failureCondition | phase |
/// |---|---|---|
/// | absent | absent | Successful |
/// | true / false | absent | Successful / Failed |
/// | absent | true / false | Failed / Successful |
/// | any | true | Failed |
/// | true | false | Successful |
/// | false | false | Inconclusive |
///
/// A condition that cannot be evaluated (a parse error, `result[0]` of an empty result, a
/// non-boolean answer) makes the measurement an Error.
public enum MeasurementAssessment {
    /// The phase and, for an Error, the message (Argo's wording). `now`, when given, is what
    /// `now()` returns in the conditions, so that the engine reads no clock.
    public static func phase(
        of result: ExprValue, metric: Metric, now: Date? = nil
    )
        -> (phase: AnalysisPhase, message: String?)
    {
        var succeeded = false
        var failed = false
        if let condition = nonEmpty(metric.successCondition) {
            switch evaluate(condition, kind: "successCondition", result: result, now: now) {
            case .success(let value): succeeded = value
            case .failure(let failure): return (.error, failure.message)
            }
        }
        if let condition = nonEmpty(metric.failureCondition) {
            switch evaluate(condition, kind: "failureCondition", result: result, now: now) {
            case .success(let value): failed = value
            case .failure(let failure): return (.error, failure.message)
            }
        }
        switch (nonEmpty(metric.successCondition), nonEmpty(metric.failureCondition)) {
        case (nil, nil): return (.successful, nil)
        case (.some, nil): failed = !succeeded
        case (nil, .some): succeeded = !failed
        case (.some, .some): break
        }
        if failed { return (.failed, nil) }
        if !succeeded { return (.inconclusive, nil) }
        return (.successful, nil)
    }

    private struct EvaluationFailure: Error {
        var message: String
    }

    private static func evaluate(
        _ condition: String, kind: String, result: ExprValue, now: Date?
    ) -> Result<Bool, EvaluationFailure> {
        do {
            let expression = try Expression(condition)
            var environment: [String: ExprValue] = ["result": result]
            if let now { environment["$now"] = .time(now) }
            return .success(try expression.evaluateCondition(environment))
        } catch {
            if isNilOrEmpty(result) {
                return .failure(
                    EvaluationFailure(
                        message:
                            "could not evaluate \(kind) \"\(condition)\": metric result is nil or empty: no data returned from the metric provider"
                    ))
            }
            return .failure(EvaluationFailure(message: "could not evaluate \(kind) \"\(condition)\": \(error)"))
        }
    }

    private static func isNilOrEmpty(_ value: ExprValue) -> Bool {
        switch value {
        case .nil: true
        case .array(let items): items.isEmpty
        default: false
        }
    }

    private static func nonEmpty(_ text: String?) -> String? {
        guard let text, !text.trimmingCharacters(in: .whitespaces).isEmpty else { return nil }
        return text
    }
}
