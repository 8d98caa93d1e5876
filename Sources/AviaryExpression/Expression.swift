/// A condition in the expr-lang subset that Argo Rollouts' `successCondition` and
/// `failureCondition` use, parsed once and evaluated many times.
///
/// ```swift
/// let condition = try Expression("result[0] >= 0.95")
/// let passed = try condition.evaluateCondition(["result": [0.97]])   // true
/// ```
public struct Expression: Sendable {
    /// The text the expression was parsed from.
    public let source: String
    private let root: Node
    private let variableCount: Int

    /// Parses `source`; a syntax error names the line, the column and what was expected there.
    public init(_ source: String) throws(ExpressionError) {
        self.source = source
        (root, variableCount) = try Parser.parse(source)
    }

    /// Evaluates the expression over `env` (usually `["result": ...]`). A missing name is an
    /// error; `now()` reads `env["$now"]` when present, else the clock.
    public func evaluate(_ env: [String: ExprValue]) throws(ExpressionError) -> ExprValue {
        var evaluator = Evaluator(source: source, environment: env, variableCount: variableCount)
        return try evaluator.evaluate(root)
    }

    /// Evaluates the expression as a condition: anything but a bool is an error, as in Argo
    /// Rollouts (`expected bool, but got float64`).
    public func evaluateCondition(_ env: [String: ExprValue]) throws(ExpressionError) -> Bool {
        let value = try evaluate(env)
        guard case .bool(let flag) = value else {
            throw ExpressionError(line: 1, column: 1, message: "expected bool, but got \(value.goTypeName)")
        }
        return flag
    }
}
