/// The operators with two operands, after parsing.
enum BinaryOperator: String, Sendable {
    case add = "+"
    case subtract = "-"
    case multiply = "*"
    case divide = "/"
    case modulo = "%"
    case power = "**"
    case equal = "=="
    case notEqual = "!="
    case less = "<"
    case lessOrEqual = "<="
    case greater = ">"
    case greaterOrEqual = ">="
    case `in` = "in"
    case matches = "matches"
    case contains = "contains"
    case startsWith = "startsWith"
    case endsWith = "endsWith"
    case range = ".."
}

/// The operators with one operand.
enum UnaryOperator: String, Sendable {
    case not = "not"
    case negate = "-"
    case plus = "+"
}

/// A parsed condition. Nodes keep the UTF-8 offset of their operator so that evaluation errors
/// can point at the column, as parse errors do.
indirect enum Node: Sendable {
    case literal(ExprValue)
    /// A name from the environment (`result`).
    case identifier(String, SourceOffset)
    /// Inside a closure: `#` (the element), `#index`, `#acc`.
    case pointer(String, SourceOffset)
    /// A `let` variable, by its slot.
    case variable(Int)
    /// `let name = value; body`, with the slot the value is stored in.
    case letIn(slot: Int, value: Node, body: Node)
    case unary(UnaryOperator, Node, SourceOffset)
    case binary(BinaryOperator, Node, Node, SourceOffset)
    case and(Node, Node, SourceOffset)
    case or(Node, Node, SourceOffset)
    case coalesce(Node, Node)
    case conditional(Node, Node, Node, SourceOffset)
    /// `base.name`, `base[index]`, and their `?.` forms.
    case member(base: Node, property: Node, isOptional: Bool, SourceOffset)
    case slice(base: Node, from: Node?, to: Node?, SourceOffset)
    /// The root of an optional chain: a `?.` inside it that meets nil makes the whole chain nil.
    case chain(Node)
    case array([Node])
    case map([(key: Node, value: Node)])
    case call(Builtin, [Node], SourceOffset)
    /// A predicate argument (`{# > 1}` or `# > 1`): evaluated once per element.
    case closure(Node)
    /// `a; b`: evaluates all, yields the last.
    case sequence([Node])
}
