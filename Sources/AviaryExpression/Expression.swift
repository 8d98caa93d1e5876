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
    private let nameOffsets: [(name: String, offset: SourceOffset)]

    /// The environment names the condition refers to (`["result"]`), in order of appearance;
    /// builtins, `let` variables and `#` are not included.
    public var names: [String] { nameOffsets.map(\.name) }

    /// Parses `source`; a syntax error names the line, the column and what was expected there.
    public init(_ source: String) throws(ExpressionError) {
        self.source = source
        (root, variableCount, nameOffsets) = try Parser.parse(source)
    }

    /// Evaluates the expression over `env` (usually `["result": ...]`). A name the condition uses
    /// that `env` lacks is an error, as in expr-lang; `now()` reads `env["$now"]` when present, else the clock.
    public func evaluate(_ env: [String: ExprValue]) throws(ExpressionError) -> ExprValue {
        // expr-lang rejects unknown names when it compiles against the environment, even in a
        // branch that would not run (`true || typo > 1`).
        for (name, offset) in nameOffsets where env[name] == nil {
            let known = env.keys.filter { !$0.hasPrefix("$") }.sorted()
            throw ExpressionError(
                source: source, offset: offset,
                message:
                    "unknown name \(name): the condition can use \(known.isEmpty ? "no names" : known.joined(separator: ", "))"
            )
        }
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
