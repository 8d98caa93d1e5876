/// The functions a condition can call: expr-lang's builtins and the ones Argo Rollouts adds
/// (`asInt`, `asFloat`, `isNaN`, `isInf`, `isNil`, `default`).
enum Builtin: String, Sendable, CaseIterable {
    // Predicates over arrays.
    case all, any, none, one, filter, map, count, find, findIndex, findLast, findLastIndex, reduce
    // Aggregates.
    case sum, min, max, mean, median
    // Values.
    case len, abs, ceil, floor, round, int, float, string, type
    case trim, trimPrefix, trimSuffix, upper, lower, split, join, hasPrefix, hasSuffix, indexOf
    case first, last, keys, values, reverse
    case now, duration
    // Argo Rollouts' additions.
    case asInt, asFloat, isNaN, isInf, isNil, `default`

    enum ArgumentShape: Equatable { case value, predicate }

    /// Where a predicate (closure) is expected, so that `{...}` parses as a closure there and as a
    /// map elsewhere; nil for builtins without predicates.
    var argumentShapes: [ArgumentShape]? {
        switch self {
        case .all, .any, .none, .one, .filter, .map, .count, .find, .findIndex, .findLast, .findLastIndex,
            .reduce, .sum:
            return [.value, .predicate, .value]
        default:
            return nil
        }
    }

    /// The accepted numbers of arguments.
    private var arity: ClosedRange<Int> {
        switch self {
        case .all, .any, .none, .one, .filter, .map, .find, .findIndex, .findLast, .findLastIndex: return 2...2
        case .count, .sum: return 1...2
        case .reduce: return 2...3
        case .min, .max, .mean, .median: return 1...Int.max
        case .now: return 0...0
        case .trim, .trimPrefix, .trimSuffix, .join: return 1...2
        case .split: return 2...3
        case .hasPrefix, .hasSuffix, .indexOf, .default: return 2...2
        default: return 1...1
        }
    }

    /// The message for a call with the wrong number of arguments, or nil.
    func arityError(_ count: Int) -> String? {
        let range = arity
        guard !range.contains(count) else { return nil }
        let expected: String
        if range.upperBound == Int.max {
            expected = "at least \(range.lowerBound)"
        } else if range.lowerBound == range.upperBound {
            expected = "\(range.lowerBound)"
        } else {
            expected = "\(range.lowerBound) or \(range.upperBound)"
        }
        return "invalid number of arguments for \(rawValue) (expected \(expected), got \(count))"
    }
}
