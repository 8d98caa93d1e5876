import Foundation

/// Walks a parsed tree over one environment. A fresh evaluator per evaluation holds the closure
/// scopes and `let` slots, so `Expression` itself stays immutable and shareable across threads.
struct Evaluator {
    /// expr-lang's default memory budget: how many elements ranges, literals and predicates may
    /// create in one evaluation.
    static let memoryBudget = 1_000_000
    /// How many predicate calls one evaluation may make, so that nested predicates over large
    /// ranges end with an error instead of hanging the controller.
    static let stepBudget = 1_000_000

    struct Scope {
        var element: ExprValue
        var index: Int
        var accumulator: ExprValue
    }

    let source: String
    let environment: [String: ExprValue]
    var variables: [ExprValue]
    /// The innermost predicate's element; outer ones live on the Swift stack in callPredicate, so
    /// predicates allocate nothing per evaluation.
    var scope: Scope?
    var memoryUsed = 0
    var steps = 0

    init(source: String, environment: [String: ExprValue], variableCount: Int) {
        self.source = source
        self.environment = environment
        self.variables = variableCount == 0 ? [] : Array(repeating: .nil, count: variableCount)
    }

    func error(_ offset: SourceOffset, _ message: String) -> ExpressionError {
        ExpressionError(source: source, offset: offset, message: message)
    }

    mutating func allocate(_ count: Int, at offset: SourceOffset) throws(ExpressionError) {
        memoryUsed += count
        if memoryUsed > Evaluator.memoryBudget {
            throw error(
                offset, "memory budget exceeded: the condition builds more than \(Evaluator.memoryBudget) elements")
        }
    }

    mutating func evaluate(_ node: Node) throws(ExpressionError) -> ExprValue {
        switch node {
        case .literal(let value):
            return value
        case .identifier(let name, _):
            // Expression.evaluate has checked that every name is in the environment.
            return environment[name] ?? .nil
        case .pointer(let name, let offset):
            guard let scope else { throw error(offset, "'#' is only allowed inside a predicate") }
            switch name {
            case "index": return .int(scope.index)
            case "acc": return scope.accumulator
            default: return scope.element
            }
        case .variable(let slot):
            return variables[slot]
        case .letIn(let slot, let value, let body):
            variables[slot] = try evaluate(value)
            return try evaluate(body)
        case .unary(let op, let operand, let offset):
            return try unary(op, try evaluate(operand), offset)
        case .binary(let op, let left, let right, let offset):
            let leftValue = try evaluate(left)
            let rightValue = try evaluate(right)
            return try binary(op, leftValue, rightValue, offset)
        case .and(let left, let right, let offset):
            let leftValue = try evaluate(left)
            guard case .bool(let leftFlag) = leftValue else {
                throw error(
                    offset, "invalid operation: the left operand of && must be bool, got \(leftValue.goTypeName)")
            }
            if !leftFlag { return .bool(false) }
            let rightValue = try evaluate(right)
            guard case .bool(let rightFlag) = rightValue else {
                throw error(
                    offset, "invalid operation: the right operand of && must be bool, got \(rightValue.goTypeName)")
            }
            return .bool(rightFlag)
        case .or(let left, let right, let offset):
            let leftValue = try evaluate(left)
            guard case .bool(let leftFlag) = leftValue else {
                throw error(
                    offset, "invalid operation: the left operand of || must be bool, got \(leftValue.goTypeName)")
            }
            if leftFlag { return .bool(true) }
            let rightValue = try evaluate(right)
            guard case .bool(let rightFlag) = rightValue else {
                throw error(
                    offset, "invalid operation: the right operand of || must be bool, got \(rightValue.goTypeName)")
            }
            return .bool(rightFlag)
        case .coalesce(let left, let right):
            let value = try evaluateOptional(left) ?? .nil
            return value.isNil ? try evaluate(right) : value
        case .conditional(let condition, let then, let otherwise, let offset):
            let value = try evaluate(condition)
            guard case .bool(let isTrue) = value else {
                throw error(offset, "non-bool expression (type \(value.goTypeName)) used as condition")
            }
            return try evaluate(isTrue ? then : otherwise)
        case .member, .slice:
            return try evaluateOptional(node) ?? .nil
        case .chain(let inner):
            return try evaluateOptional(inner) ?? .nil
        case .array(let elements):
            try allocate(elements.count, at: 0)
            var values: [ExprValue] = []
            values.reserveCapacity(elements.count)
            for element in elements { values.append(try evaluate(element)) }
            return .array(values)
        case .map(let entries):
            try allocate(entries.count, at: 0)
            var values: [String: ExprValue] = [:]
            for entry in entries {
                let key = try evaluate(entry.key)
                guard case .string(let name) = key else {
                    throw error(0, "a map key must be a string, got \(key.goTypeName)")
                }
                values[name] = try evaluate(entry.value)
            }
            return .map(values)
        case .call(let builtin, let arguments, let offset):
            return try call(builtin, arguments, offset)
        case .closure(let body):
            return try evaluate(body)
        case .sequence(let nodes):
            var last = ExprValue.nil
            for node in nodes { last = try evaluate(node) }
            return last
        }
    }

    /// Evaluates member access, indexing and slicing; nil means an optional `?.` met nil and the
    /// whole chain yields nil.
    mutating func evaluateOptional(_ node: Node) throws(ExpressionError) -> ExprValue? {
        switch node {
        case .member(let baseNode, let propertyNode, let isOptional, let offset):
            guard let base = try evaluateOptional(baseNode) else { return nil }
            if isOptional, base.isNil { return nil }
            let property = try evaluate(propertyNode)
            return try fetch(base, property, offset)
        case .slice(let baseNode, let fromNode, let toNode, let offset):
            guard let base = try evaluateOptional(baseNode) else { return nil }
            let from = try fromNode.map { node throws(ExpressionError) in try evaluate(node) }
            let to = try toNode.map { node throws(ExpressionError) in try evaluate(node) }
            return try slice(base, from, to, offset)
        case .chain(let inner):
            return try evaluateOptional(inner)
        default:
            return try evaluate(node)
        }
    }

    /// expr-lang's `runtime.Fetch`: map key (missing is nil), array or string index (negative
    /// counts from the end, out of range is an error), anything on nil is an error.
    func fetch(_ base: ExprValue, _ property: ExprValue, _ offset: SourceOffset) throws(ExpressionError) -> ExprValue {
        switch base {
        case .map(let values):
            guard case .string(let key) = property else {
                throw error(offset, "cannot fetch \(property) from \(base.goTypeName): map keys are strings")
            }
            return values[key] ?? .nil
        case .array(let values):
            let index = try toIndex(property, offset)
            let resolved = index < 0 ? values.count + index : index
            guard resolved >= 0, resolved < values.count else {
                throw error(offset, "index out of range: \(resolved) (array length is \(values.count))")
            }
            return values[resolved]
        case .string(let text):
            let bytes = text.utf8
            let index = try toIndex(property, offset)
            let resolved = index < 0 ? bytes.count + index : index
            guard resolved >= 0, resolved < bytes.count else {
                throw error(offset, "index out of range: \(resolved) (array length is \(bytes.count))")
            }
            // Go indexes strings by byte and yields the byte (a uint8).
            return .int(Int(bytes[bytes.index(bytes.startIndex, offsetBy: resolved)]))
        default:
            throw error(offset, "cannot fetch \(property) from \(base.goTypeName)")
        }
    }

    private func toIndex(_ value: ExprValue, _ offset: SourceOffset) throws(ExpressionError) -> Int {
        switch value {
        case .int(let index): return index
        case .float(let index): return goInt(index)
        default: throw error(offset, "invalid operation: int(\(value.goTypeName)): an index must be a number")
        }
    }

    /// expr-lang's `runtime.Slice`: bounds are clamped, negative bounds count from the end.
    func slice(
        _ base: ExprValue, _ from: ExprValue?, _ to: ExprValue?, _ offset: SourceOffset
    ) throws(ExpressionError)
        -> ExprValue
    {
        let length: Int
        switch base {
        case .array(let values): length = values.count
        case .string(let text): length = text.utf8.count
        default: throw error(offset, "cannot slice \(base.goTypeName)")
        }
        var lower = try from.map { value throws(ExpressionError) in try toIndex(value, offset) } ?? 0
        var upper = try to.map { value throws(ExpressionError) in try toIndex(value, offset) } ?? length
        if lower < 0 { lower = Swift.max(0, length &+ lower) }
        if upper < 0 { upper = Swift.max(0, length &+ upper) }
        upper = Swift.min(upper, length)
        lower = Swift.min(lower, upper)
        switch base {
        case .array(let values): return .array(Array(values[lower..<upper]))
        case .string(let text):
            let bytes = Array(text.utf8)[lower..<upper]
            return .string(String(decoding: bytes, as: UTF8.self))
        default: return .nil
        }
    }

    func unary(_ op: UnaryOperator, _ value: ExprValue, _ offset: SourceOffset) throws(ExpressionError) -> ExprValue {
        switch (op, value) {
        case (.not, .bool(let flag)): return .bool(!flag)
        case (.negate, .int(let number)): return .int(0 &- number)
        case (.negate, .float(let number)): return .float(-number)
        case (.negate, .duration(let seconds)): return .duration(-seconds)
        case (.plus, .int), (.plus, .float), (.plus, .duration): return value
        case (.not, _):
            throw error(offset, "invalid operation: not \(value.goTypeName) (the operand of not must be bool)")
        default: throw error(offset, "invalid operation: \(op.rawValue) \(value.goTypeName)")
        }
    }

    mutating func binary(
        _ op: BinaryOperator, _ left: ExprValue, _ right: ExprValue, _ offset: SourceOffset
    )
        throws(ExpressionError) -> ExprValue
    {
        switch op {
        case .equal: return .bool(valuesEqual(left, right))
        case .notEqual: return .bool(!valuesEqual(left, right))
        case .less, .lessOrEqual, .greater, .greaterOrEqual:
            guard let order = compare(left, right) else {
                throw mismatch(op, left, right, offset)
            }
            switch op {
            case .less: return .bool(order == .orderedAscending && !isUnordered(left, right))
            case .lessOrEqual: return .bool(order != .orderedDescending && !isUnordered(left, right))
            case .greater: return .bool(order == .orderedDescending && !isUnordered(left, right))
            default: return .bool(order != .orderedAscending && !isUnordered(left, right))
            }
        case .add, .subtract, .multiply, .divide, .modulo, .power:
            return try arithmetic(op, left, right, offset)
        case .in:
            return .bool(try contains(container: right, needle: left, offset))
        case .matches:
            guard case .string(let text) = left, case .string(let pattern) = right else {
                throw mismatch(op, left, right, offset)
            }
            guard let matched = RegexCache.matches(text, pattern: pattern) else {
                throw error(offset, "invalid regular expression '\(pattern)'")
            }
            return .bool(matched)
        case .contains, .startsWith, .endsWith:
            guard case .string(let text) = left, case .string(let part) = right else {
                throw mismatch(op, left, right, offset)
            }
            switch op {
            case .contains: return .bool(part.isEmpty || text.utf8.firstRange(of: part.utf8) != nil)
            case .startsWith: return .bool(text.utf8.starts(with: part.utf8))
            default: return .bool(text.utf8.reversed().starts(with: part.utf8.reversed()))
            }
        case .range:
            guard case .int(let lower) = left, case .int(let upper) = right else {
                throw mismatch(op, left, right, offset)
            }
            guard upper >= lower else { return .array([]) }
            let (span, overflow) = upper.subtractingReportingOverflow(lower)
            if overflow || span >= Evaluator.memoryBudget {
                throw error(
                    offset,
                    "memory budget exceeded: the range \(lower)..\(upper) has more than \(Evaluator.memoryBudget) elements"
                )
            }
            try allocate(span + 1, at: offset)
            return .array((lower...upper).map { .int($0) })
        }
    }

    func mismatch(
        _ op: BinaryOperator, _ left: ExprValue, _ right: ExprValue, _ offset: SourceOffset
    ) -> ExpressionError {
        error(offset, "invalid operation: \(left.goTypeName) \(op.rawValue) \(right.goTypeName) (mismatched types)")
    }

    private func isUnordered(_ left: ExprValue, _ right: ExprValue) -> Bool {
        if case .float(let value) = left, value.isNaN { return true }
        if case .float(let value) = right, value.isNaN { return true }
        return false
    }

    /// Go's ordering for numbers (int and float compare by value), strings (bytewise), times and
    /// durations; nil for pairs expr-lang refuses to compare.
    func compare(_ left: ExprValue, _ right: ExprValue) -> ComparisonResult? {
        func order<T: Comparable>(_ a: T, _ b: T) -> ComparisonResult {
            a < b ? .orderedAscending : (a > b ? .orderedDescending : .orderedSame)
        }
        switch (left, right) {
        case (.int(let a), .int(let b)): return order(a, b)
        case (.int(let a), .float(let b)): return order(Double(a), b)
        case (.float(let a), .int(let b)): return order(a, Double(b))
        case (.float(let a), .float(let b)): return order(a, b)
        case (.string(let a), .string(let b)):
            return a.utf8.lexicographicallyPrecedes(b.utf8)
                ? .orderedAscending : (a == b ? .orderedSame : .orderedDescending)
        case (.time(let a), .time(let b)): return order(a, b)
        case (.duration(let a), .duration(let b)): return order(a, b)
        default: return nil
        }
    }

    private mutating func arithmetic(
        _ op: BinaryOperator, _ left: ExprValue, _ right: ExprValue, _ offset: SourceOffset
    )
        throws(ExpressionError) -> ExprValue
    {
        switch (left, right) {
        case (.int(let a), .int(let b)):
            switch op {
            case .add: return .int(a &+ b)
            case .subtract: return .int(a &- b)
            case .multiply: return .int(a &* b)
            case .divide: return .float(Double(a) / Double(b))
            case .modulo:
                guard b != 0 else { throw error(offset, "integer divide by zero") }
                return .int(b == -1 ? 0 : a % b)
            default: return .float(Foundation.pow(Double(a), Double(b)))
            }
        case (.int, .float), (.float, .int), (.float, .float):
            let a = left.numericValue!
            let b = right.numericValue!
            switch op {
            case .add: return .float(a + b)
            case .subtract: return .float(a - b)
            case .multiply: return .float(a * b)
            case .divide: return .float(a / b)
            case .modulo: throw mismatch(op, left, right, offset)
            default: return .float(Foundation.pow(a, b))
            }
        case (.string(let a), .string(let b)) where op == .add:
            return .string(a + b)
        case (.array(let a), .array(let b)) where op == .add:
            try allocate(a.count + b.count, at: offset)
            return .array(a + b)
        case (.time(let a), .duration(let b)) where op == .add: return .time(a.addingTimeInterval(b))
        case (.duration(let a), .time(let b)) where op == .add: return .time(b.addingTimeInterval(a))
        case (.time(let a), .duration(let b)) where op == .subtract: return .time(a.addingTimeInterval(-b))
        case (.time(let a), .time(let b)) where op == .subtract: return .duration(a.timeIntervalSince(b))
        case (.duration(let a), .duration(let b)) where op == .add: return .duration(a + b)
        case (.duration(let a), .duration(let b)) where op == .subtract: return .duration(a - b)
        case (.duration(let a), .int(let b)) where op == .multiply: return .duration(a * Double(b))
        case (.int(let a), .duration(let b)) where op == .multiply: return .duration(Double(a) * b)
        default:
            throw mismatch(op, left, right, offset)
        }
    }

    /// expr-lang's `runtime.In`: element of an array (by `==`), key of a map, false for nil.
    func contains(container: ExprValue, needle: ExprValue, _ offset: SourceOffset) throws(ExpressionError) -> Bool {
        switch container {
        case .nil: return false
        case .array(let values): return values.contains { valuesEqual($0, needle) }
        case .map(let values):
            guard case .string(let key) = needle else {
                if needle.isNil { return false }
                throw error(offset, "cannot use \(needle.goTypeName) as a key of \(container.goTypeName)")
            }
            return values[key] != nil
        default:
            throw error(offset, "operator \"in\" not defined on \(container.goTypeName)")
        }
    }
}

/// expr-lang's `runtime.Equal`: numbers compare by value across int and float, values of
/// unrelated types are unequal, arrays and maps compare deeply (Go's `reflect.DeepEqual`).
func valuesEqual(_ left: ExprValue, _ right: ExprValue) -> Bool {
    switch (left, right) {
    case (.int(let a), .int(let b)): return a == b
    case (.int(let a), .float(let b)): return Double(a) == b
    case (.float(let a), .int(let b)): return a == Double(b)
    case (.float(let a), .float(let b)): return a == b
    case (.string(let a), .string(let b)): return a == b
    case (.bool(let a), .bool(let b)): return a == b
    case (.nil, .nil): return true
    default: return left == right
    }
}

extension ExprValue {
    /// The value as a Double when it is a number.
    var numericValue: Double? {
        switch self {
        case .int(let value): return Double(value)
        case .float(let value): return value
        default: return nil
        }
    }
}

/// Go's conversion of a float64 to int on amd64: truncation toward zero, and the minimum int for
/// NaN, infinities and values out of range (where Swift would trap).
func goInt(_ value: Double) -> Int {
    guard value.isFinite, value > -9.223_372_036_854_775_808e18, value < 9.223_372_036_854_775_808e18 else {
        return Int.min
    }
    return Int(value)
}
