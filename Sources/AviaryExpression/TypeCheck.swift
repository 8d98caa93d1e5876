/// What expr-lang refuses when it compiles a condition, before any result is known: an operator
/// between operands whose types are known and cannot meet (`asFloat(result) == "1.1"` compares a
/// float64 with a string). Argo's controller reports those as errors; so does Aviary, at parse
/// time, so that `lint` and `apply` name them. Operands whose type depends on the result stay
/// unchecked, as in expr-lang, whose environment types `result` as `interface{}`.
enum TypeCheck {
    /// A type known before evaluation, with expr-lang's name for it.
    enum Known: String {
        case int
        case float = "float64"
        case string
        case bool

        var isNumber: Bool { self == .int || self == .float }
    }

    /// Throws expr-lang's "mismatched types" error for the first operator whose operand types clash.
    static func check(_ node: Node, source: String) throws(ExpressionError) {
        _ = try type(of: node, source: source)
    }

    private static func type(of node: Node, source: String) throws(ExpressionError) -> Known? {
        switch node {
        case .literal(let value):
            switch value {
            case .int: return .int
            case .float: return .float
            case .string: return .string
            case .bool: return .bool
            default: return nil
            }
        case .identifier, .pointer, .variable, .member, .slice, .chain, .array, .map, .closure, .coalesce:
            try children(of: node, source: source)
            return nil
        case .letIn(_, let value, let body):
            _ = try type(of: value, source: source)
            return try type(of: body, source: source)
        case .unary(let op, let operand, _):
            let operandType = try type(of: operand, source: source)
            return op == .not ? .bool : operandType
        case .and(let left, let right, _), .or(let left, let right, _):
            _ = try type(of: left, source: source)
            _ = try type(of: right, source: source)
            return .bool
        case .conditional(let condition, let then, let otherwise, _):
            _ = try type(of: condition, source: source)
            let a = try type(of: then, source: source)
            let b = try type(of: otherwise, source: source)
            return a == b ? a : nil
        case .binary(let op, let left, let right, let offset):
            let a = try type(of: left, source: source)
            let b = try type(of: right, source: source)
            return try binary(op, a, b, offset: offset, source: source)
        case .call(let builtin, let arguments, _):
            for argument in arguments { _ = try type(of: argument, source: source) }
            return result(of: builtin)
        case .sequence(let nodes):
            var last: Known?
            for node in nodes { last = try type(of: node, source: source) }
            return last
        }
    }

    private static func children(of node: Node, source: String) throws(ExpressionError) {
        switch node {
        case .member(let base, let property, _, _):
            _ = try type(of: base, source: source)
            _ = try type(of: property, source: source)
        case .slice(let base, let from, let to, _):
            _ = try type(of: base, source: source)
            if let from { _ = try type(of: from, source: source) }
            if let to { _ = try type(of: to, source: source) }
        case .chain(let inner), .closure(let inner):
            _ = try type(of: inner, source: source)
        case .array(let elements):
            for element in elements { _ = try type(of: element, source: source) }
        case .map(let pairs):
            for pair in pairs {
                _ = try type(of: pair.key, source: source)
                _ = try type(of: pair.value, source: source)
            }
        case .coalesce(let left, let right):
            _ = try type(of: left, source: source)
            _ = try type(of: right, source: source)
        default:
            break
        }
    }

    private static func binary(
        _ op: BinaryOperator, _ a: Known?, _ b: Known?, offset: SourceOffset, source: String
    ) throws(ExpressionError) -> Known? {
        func mismatch() -> ExpressionError {
            ExpressionError(
                source: source, offset: offset,
                message: "invalid operation: \(op.rawValue) (mismatched types \(a!.rawValue) and \(b!.rawValue))")
        }
        switch op {
        case .equal, .notEqual:
            if let a, let b, a != b, !(a.isNumber && b.isNumber) { throw mismatch() }
            return .bool
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            if let a, let b, !(a.isNumber && b.isNumber), !(a == .string && b == .string) { throw mismatch() }
            return .bool
        case .in, .matches, .contains, .startsWith, .endsWith:
            return .bool
        case .add:
            if let a, let b {
                if a == .string && b == .string { return .string }
                guard a.isNumber && b.isNumber else { throw mismatch() }
                return a == .int && b == .int ? .int : .float
            }
            return nil
        case .subtract, .multiply, .modulo:
            if let a, let b {
                guard a.isNumber && b.isNumber else { throw mismatch() }
                return a == .int && b == .int ? .int : .float
            }
            return nil
        case .divide, .power:
            if let a, let b, !(a.isNumber && b.isNumber) { throw mismatch() }
            return a != nil && b != nil ? .float : nil
        case .range:
            return nil
        }
    }

    /// The type a builtin returns whatever its arguments, where expr-lang fixes it.
    private static func result(of builtin: Builtin) -> Known? {
        switch builtin {
        case .asFloat, .float, .ceil, .floor, .round, .mean, .median: return .float
        case .asInt, .int, .len, .count, .indexOf, .findIndex, .findLastIndex: return .int
        case .string, .type, .trim, .trimPrefix, .trimSuffix, .upper, .lower, .join: return .string
        case .all, .any, .none, .one, .hasPrefix, .hasSuffix, .isNaN, .isInf, .isNil: return .bool
        default: return nil
        }
    }
}
