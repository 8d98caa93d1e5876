import ArgumentParser
import AviaryExpression
import Foundation

/// `aviary analysis`: work with AnalysisTemplates and their conditions.
struct AnalysisCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "analysis",
        abstract: "Check analysis conditions, run analyses, judge samples and backtest templates.",
        subcommands: [
            AnalysisEval.self,
            AnalysisRunCommand.self,
            AnalysisJudge.self,
            AnalysisBacktest.self,
        ]
    )
}

/// `aviary analysis eval`: evaluates one success or failure condition against a result.
struct AnalysisEval: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "eval",
        abstract: "Evaluate a successCondition or failureCondition against a metric result.",
        discussion: """
            The condition is in expr-lang syntax, as in Argo Rollouts; `result` is the measurement \
            (a JSON value: Prometheus results are arrays of floats). `{{args.name}}` tags in the \
            condition are replaced by --arg values first. Prints `true` or `false` and exits 0; \
            prints the error (with line and column) and exits 2 when the condition cannot be \
            evaluated, which Argo Rollouts would count as a measurement Error.

            Example:
              aviary analysis eval --condition 'result[0] >= {{args.min}}' --result '[0.97]' --arg min=0.95
            """
    )

    @Option(parsing: .unconditional, help: "The condition, e.g. 'len(result) > 0 && all(result, {# < 1000})'.")
    var condition: String

    // Unconditional: a negative number (`--result -1.1`) is the value, not an option.
    @Option(parsing: .unconditional, help: "The measurement result as JSON, e.g. '[0.97]' or -1.1.")
    var result: String

    @Option(name: .customLong("arg"), help: "An argument for {{args.name}} tags, as name=value (repeatable).")
    var arguments: [String] = []

    func validate() throws {
        do {
            _ = try ConditionCheck.parseArguments(arguments)
        } catch {
            throw ValidationError(error.description)
        }
    }

    func run() throws {
        do {
            let args = try ConditionCheck.parseArguments(arguments)
            let passed = try ConditionCheck.evaluate(condition: condition, resultJSON: result, args: args)
            print(passed ? "true" : "false")
        } catch {
            printError(error.description)
            throw ExitCode(2)
        }
    }
}
