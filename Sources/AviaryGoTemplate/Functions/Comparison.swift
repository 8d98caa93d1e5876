/// Go's comparison functions. Only like kinds compare: int with int, float with float, string
/// with string; `eq 1 1.0` is an error, as in Go. Nil and missing values equal only each other.
enum Comparison {
    private enum BasicKind: Equatable {
        case boolean, integer, float, string, other
    }

    private static func kind(_ value: GoValue?) -> BasicKind {
        switch value {
        case .bool?: return .boolean
        case .int?: return .integer
        case .double?: return .float
        case .string?: return .string
        default: return .other
        }
    }

    /// Whether the value is something other than nil or no value (Go's `IsValid` after unwrapping).
    private static func isPresent(_ value: GoValue?) -> Bool {
        guard let value else { return false }
        return value != .null
    }

    /// `eq a b c...`: true if `a` equals any of the others.
    static func equal(_ first: GoValue?, anyOf others: [GoValue?]) throws(FunctionFailure) -> Bool {
        guard !others.isEmpty else { throw FunctionFailure("missing argument for comparison") }
        let firstKind = kind(first)
        for other in others {
            let otherKind = kind(other)
            if firstKind != otherKind {
                if isPresent(first) && isPresent(other) {
                    throw FunctionFailure("incompatible types for comparison")
                }
                continue
            }
            switch (first, other) {
            case (.bool(let lhs)?, .bool(let rhs)?): if lhs == rhs { return true }
            case (.int(let lhs)?, .int(let rhs)?): if lhs == rhs { return true }
            case (.double(let lhs)?, .double(let rhs)?): if lhs == rhs { return true }
            case (.string(let lhs)?, .string(let rhs)?): if lhs.utf8.elementsEqual(rhs.utf8) { return true }
            default:
                if !isPresent(first) && !isPresent(other) { return true }
                if let value = first, isPresent(first), isPresent(other) {
                    throw FunctionFailure(
                        "non-comparable type \(GoFormatter.string(value)): \(GoFormatter.typeName(value)); compare elements instead"
                    )
                }
            }
        }
        return false
    }

    /// `lt a b`.
    static func less(_ lhs: GoValue?, _ rhs: GoValue?) throws(FunctionFailure) -> Bool {
        let lhsKind = kind(lhs)
        let rhsKind = kind(rhs)
        guard lhsKind != .other, rhsKind != .other else { throw FunctionFailure("invalid type for comparison") }
        guard lhsKind == rhsKind else { throw FunctionFailure("incompatible types for comparison") }
        switch (lhs, rhs) {
        case (.int(let left)?, .int(let right)?): return left < right
        case (.double(let left)?, .double(let right)?): return left < right
        case (.string(let left)?, .string(let right)?): return GoFormatter.lessByBytes(left, right)
        default: throw FunctionFailure("invalid type for comparison")
        }
    }

    /// `le a b`: less, or else equal.
    static func lessOrEqual(_ lhs: GoValue?, _ rhs: GoValue?) throws(FunctionFailure) -> Bool {
        if try less(lhs, rhs) { return true }
        return try equal(lhs, anyOf: [rhs])
    }
}
