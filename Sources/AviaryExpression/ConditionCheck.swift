import Foundation

/// What `aviary analysis eval` does, as a plain function: substitute `{{args.*}}` into a
/// condition, decode a measurement result from JSON, and evaluate the condition over it the way
/// Argo Rollouts does (`result` is the only name; the answer must be a bool).
public enum ConditionCheck {
    /// Why a check could not produce an answer; `description` is the message users see.
    public struct Failure: Error, CustomStringConvertible, Sendable, Equatable {
        /// The message, naming the input (`--condition`, `--result`, `--arg`) and the fix.
        public var description: String
    }

    /// Evaluates `condition` over `result` (JSON text) after substituting `args`.
    ///
    /// ```swift
    /// try ConditionCheck.evaluate(condition: "result[0] >= {{args.min}}", resultJSON: "[0.97]",
    ///                             args: ["min": "0.95"])   // true
    /// ```
    public static func evaluate(condition: String, resultJSON: String, args: [String: String]) throws(Failure) -> Bool {
        let substituted: String
        do {
            substituted = try Template.substitute(condition, args: args)
        } catch {
            throw Failure(description: "--condition: \(error) (add --arg name=value)")
        }
        let result: ExprValue
        do {
            result = try ExprValue(json: Data(resultJSON.utf8))
        } catch {
            throw Failure(
                description: "--result: not valid JSON (\(resultJSON)): pass e.g. '[0.97]' or '{\"status\": \"ok\"}'")
        }
        do {
            let expression = try Expression(substituted)
            return try expression.evaluateCondition(["result": result])
        } catch {
            let shown = substituted == condition ? "" : " (after substitution: \(substituted))"
            throw Failure(description: "--condition\(shown): \(error)")
        }
    }

    /// Splits `name=value` command line arguments; the first `=` separates, the value may be empty.
    public static func parseArguments(_ pairs: [String]) throws(Failure) -> [String: String] {
        var args: [String: String] = [:]
        for pair in pairs {
            guard let equals = pair.firstIndex(of: "="), equals != pair.startIndex else {
                throw Failure(description: "--arg \(pair): expected name=value, e.g. --arg service=checkout")
            }
            args[String(pair[..<equals])] = String(pair[pair.index(after: equals)...])
        }
        return args
    }
}
