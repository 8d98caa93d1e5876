import Foundation

extension Evaluator {
    mutating func call(
        _ builtin: Builtin, _ arguments: [Node], _ offset: SourceOffset
    ) throws(ExpressionError)
        -> ExprValue
    {
        switch builtin {
        case .all, .any, .none, .one, .filter, .map, .count, .find, .findIndex, .findLast, .findLastIndex, .reduce,
            .sum:
            return try callPredicate(builtin, arguments, offset)
        case .now:
            return try now(offset)
        case .default:
            // Argo's default(value, fallback): the fallback when the value is nil.
            let value = try evaluateOptional(arguments[0]) ?? .nil
            return value.isNil ? try evaluate(arguments[1]) : value
        case .len:
            // The most common call in conditions: no argument array.
            let value = try evaluate(arguments[0])
            switch value {
            case .array(let elements): return .int(elements.count)
            case .map(let entries): return .int(entries.count)
            case .string(let text): return .int(text.unicodeScalars.count)
            default: throw invalid(builtin, value, offset)
            }
        default:
            var values: [ExprValue] = []
            values.reserveCapacity(arguments.count)
            for argument in arguments { values.append(try evaluate(argument)) }
            return try callValue(builtin, values, offset)
        }
    }

    private func invalid(_ builtin: Builtin, _ value: ExprValue, _ offset: SourceOffset) -> ExpressionError {
        error(offset, "invalid argument for \(builtin.rawValue) (type \(value.goTypeName))")
    }

    private func string(
        _ builtin: Builtin, _ value: ExprValue, _ offset: SourceOffset
    ) throws(ExpressionError) -> String {
        guard case .string(let text) = value else {
            throw error(offset, "invalid argument for \(builtin.rawValue): expected string, got \(value.goTypeName)")
        }
        return text
    }

    private func now(_ offset: SourceOffset) throws(ExpressionError) -> ExprValue {
        switch environment["$now"] {
        case nil: return .time(Date())
        case .time(let date)?: return .time(date)
        case .float(let seconds)?: return .time(Date(timeIntervalSince1970: seconds))
        case .int(let seconds)?: return .time(Date(timeIntervalSince1970: Double(seconds)))
        case let other?: throw error(offset, "the environment entry $now must be a time, got \(other.goTypeName)")
        }
    }

    private mutating func callValue(
        _ builtin: Builtin, _ values: [ExprValue], _ offset: SourceOffset
    )
        throws(ExpressionError) -> ExprValue
    {
        let first = values[0]
        switch builtin {
        case .abs:
            switch first {
            case .int(let number): return .int(number < 0 ? 0 &- number : number)
            case .float(let number): return .float(Swift.abs(number))
            default: throw invalid(builtin, first, offset)
            }
        case .ceil, .floor, .round:
            guard let number = first.numericValue else { throw invalid(builtin, first, offset) }
            if case .int = first { return .float(number) }
            switch builtin {
            case .ceil: return .float(number.rounded(.up))
            case .floor: return .float(number.rounded(.down))
            default: return .float(number.rounded(.toNearestOrAwayFromZero))
            }
        case .int:
            switch first {
            case .int: return first
            case .float(let number): return .int(goInt(number))
            case .string(let text):
                guard let number = Int(text) else { throw error(offset, "invalid operation: int(\(text))") }
                return .int(number)
            default: throw error(offset, "invalid operation: int(\(first.goTypeName))")
            }
        case .float:
            switch first {
            case .int(let number): return .float(Double(number))
            case .float: return first
            case .string(let text):
                guard let number = parseGoFloat(text) else { throw error(offset, "invalid operation: float(\(text))") }
                return .float(number)
            default: throw error(offset, "invalid operation: float(\(first.goTypeName))")
            }
        case .string:
            return .string(first.description)
        case .type:
            switch first {
            case .nil: return "nil"
            case .bool: return "bool"
            case .int: return "int"
            case .float: return "float"
            case .string: return "string"
            case .array: return "array"
            case .map: return "map"
            case .time: return "time.Time"
            case .duration: return "time.Duration"
            }
        case .trim, .trimPrefix, .trimSuffix:
            let text = try string(builtin, first, offset)
            if builtin == .trim {
                if values.count == 1 { return .string(text.trimmingCharacters(in: .whitespacesAndNewlines)) }
                let cut = Set(try string(builtin, values[1], offset).unicodeScalars)
                var scalars = Substring(text).unicodeScalars
                while let head = scalars.first, cut.contains(head) { scalars.removeFirst() }
                while let tail = scalars.last, cut.contains(tail) { scalars.removeLast() }
                return .string(String(scalars))
            }
            let affix = values.count == 2 ? try string(builtin, values[1], offset) : " "
            if builtin == .trimPrefix {
                return .string(text.hasPrefix(affix) ? String(text.dropFirst(affix.count)) : text)
            }
            return .string(text.hasSuffix(affix) ? String(text.dropLast(affix.count)) : text)
        case .upper: return .string(try string(builtin, first, offset).uppercased())
        case .lower: return .string(try string(builtin, first, offset).lowercased())
        case .hasPrefix:
            return .bool(try string(builtin, first, offset).hasPrefix(try string(builtin, values[1], offset)))
        case .hasSuffix:
            return .bool(try string(builtin, first, offset).hasSuffix(try string(builtin, values[1], offset)))
        case .indexOf:
            let text = try string(builtin, first, offset)
            let part = try string(builtin, values[1], offset)
            guard let range = text.range(of: part) else { return .int(-1) }
            return .int(text.unicodeScalars.distance(from: text.startIndex, to: range.lowerBound))
        case .split:
            let text = try string(builtin, first, offset)
            let separator = try string(builtin, values[1], offset)
            var limit = -1
            if values.count == 3 {
                guard case .int(let number) = values[2] else { throw invalid(builtin, values[2], offset) }
                limit = number
            }
            let parts = goSplit(text, separator, limit)
            try allocate(parts.count, at: offset)
            return .array(parts.map { .string($0) })
        case .join:
            guard case .array(let elements) = first else { throw invalid(builtin, first, offset) }
            let separator = values.count == 2 ? try string(builtin, values[1], offset) : ""
            var parts: [String] = []
            for element in elements { parts.append(try string(builtin, element, offset)) }
            return .string(parts.joined(separator: separator))
        case .first, .last:
            switch first {
            case .array(let elements): return (builtin == .first ? elements.first : elements.last) ?? .nil
            default: return .nil
            }
        case .keys, .values:
            guard case .map(let entries) = first else {
                throw error(offset, "cannot get \(builtin.rawValue) from \(first.goTypeName)")
            }
            let keys = entries.keys.sorted()
            try allocate(keys.count, at: offset)
            return .array(builtin == .keys ? keys.map { .string($0) } : keys.map { entries[$0]! })
        case .reverse:
            guard case .array(let elements) = first else { throw error(offset, "cannot reverse \(first.goTypeName)") }
            return .array(elements.reversed())
        case .duration:
            let text = try string(builtin, first, offset)
            guard let seconds = parseGoDuration(text) else {
                throw error(offset, "time: invalid duration \"\(text)\": expected e.g. \"90s\", \"5m\", \"1h30m\"")
            }
            return .duration(seconds)
        case .min, .max:
            return try minMax(builtin, values, offset)
        case .mean, .median:
            var numbers: [Double] = []
            try collectNumbers(builtin, values, into: &numbers, depth: 0, offset)
            if numbers.isEmpty { return .float(0) }
            if builtin == .mean { return .float(numbers.reduce(0, +) / Double(numbers.count)) }
            numbers.sort()
            let middle = numbers.count / 2
            return .float(numbers.count % 2 == 1 ? numbers[middle] : (numbers[middle - 1] + numbers[middle]) / 2)
        case .asInt:
            switch first {
            case .int: return first
            case .float(let number): return .int(goInt(number))
            case .string(let text):
                guard let number = Int(text) else {
                    throw error(offset, "strconv.ParseInt: parsing \"\(text)\": invalid syntax")
                }
                return .int(number)
            default: throw invalid(builtin, first, offset)
            }
        case .asFloat:
            switch first {
            case .int(let number): return .float(Double(number))
            case .float: return first
            case .string(let text):
                guard let number = parseGoFloat(text) else {
                    throw error(offset, "strconv.ParseFloat: parsing \"\(text)\": invalid syntax")
                }
                return .float(number)
            default: throw invalid(builtin, first, offset)
            }
        case .isNaN, .isInf:
            switch first {
            case .float(let number): return .bool(builtin == .isNaN ? number.isNaN : number.isInfinite)
            case .int: return .bool(false)
            default: throw invalid(builtin, first, offset)
            }
        case .isNil:
            return .bool(first.isNil)
        case .all, .any, .none, .one, .filter, .map, .count, .find, .findIndex, .findLast, .findLastIndex, .reduce,
            .sum, .now, .default, .len:
            preconditionFailure("\(builtin.rawValue) is evaluated by call(_:_:_:)")
        }
    }

    private func collectNumbers(
        _ builtin: Builtin, _ values: [ExprValue], into numbers: inout [Double], depth: Int, _ offset: SourceOffset
    ) throws(ExpressionError) {
        for value in values {
            switch value {
            case .int(let number): numbers.append(Double(number))
            case .float(let number): numbers.append(number)
            case .array(let elements) where depth < 16:
                try collectNumbers(builtin, elements, into: &numbers, depth: depth + 1, offset)
            default: throw invalid(builtin, value, offset)
            }
        }
    }

    /// expr-lang's min/max: over numbers and (nested) arrays of numbers; the element keeps its
    /// type; nil for no elements; a single non-number argument is returned as it is.
    private func minMax(
        _ builtin: Builtin, _ values: [ExprValue], _ offset: SourceOffset
    ) throws(ExpressionError)
        -> ExprValue
    {
        if values.count == 1, values[0].numericValue == nil {
            if case .array = values[0] {} else { return values[0] }
        }
        var best: ExprValue = .nil
        func consider(_ value: ExprValue, depth: Int) throws(ExpressionError) {
            switch value {
            case .int, .float:
                guard let current = best.numericValue else {
                    best = value
                    return
                }
                let candidate = value.numericValue!
                if builtin == .max ? current < candidate : current > candidate { best = value }
            case .array(let elements) where depth < 16:
                for element in elements { try consider(element, depth: depth + 1) }
            default:
                throw invalid(builtin, value, offset)
            }
        }
        for value in values { try consider(value, depth: 0) }
        return best
    }

    private mutating func callPredicate(
        _ builtin: Builtin, _ arguments: [Node], _ offset: SourceOffset
    )
        throws(ExpressionError) -> ExprValue
    {
        let collection = try evaluate(arguments[0])
        let elements: [ExprValue]
        switch collection {
        case .array(let values): elements = values
        case .map(let entries): elements = entries.keys.sorted().map { entries[$0]! }
        default: throw error(offset, "cannot iterate over \(collection.goTypeName) in \(builtin.rawValue)")
        }
        let predicate = arguments.count > 1 ? arguments[1] : nil

        if builtin == .sum, predicate == nil || arguments.count == 1 {
            return try sum(elements, offset)
        }
        if builtin == .count, predicate == nil {
            var count = 0
            for element in elements {
                guard case .bool(let flag) = element else { throw predicateError(builtin, element, offset) }
                if flag { count += 1 }
            }
            return .int(count)
        }
        guard let predicate else { preconditionFailure("the parser requires a predicate for \(builtin.rawValue)") }

        var accumulator = ExprValue.nil
        var start = 0
        if builtin == .reduce {
            if arguments.count == 3 {
                accumulator = try evaluate(arguments[2])
            } else {
                guard let head = elements.first else {
                    throw error(offset, "reduce of an empty array with no initial value")
                }
                accumulator = head
                start = 1
            }
        }
        let outerScope = scope
        scope = Scope(element: .nil, index: 0, accumulator: accumulator)
        defer { scope = outerScope }

        var matched = 0
        var results: [ExprValue] = []
        let isBackward = builtin == .findLast || builtin == .findLastIndex
        for position in start..<elements.count {
            let index = isBackward ? elements.count - 1 - position : position
            steps += 1
            if steps > Evaluator.stepBudget {
                throw error(offset, "the condition takes more than \(Evaluator.stepBudget) predicate steps")
            }
            let element = elements[index]
            scope!.element = element
            scope!.index = index
            let value = try evaluate(predicate)
            switch builtin {
            case .map:
                try allocate(1, at: offset)
                results.append(value)
                continue
            case .reduce:
                scope!.accumulator = value
                continue
            case .sum:
                results.append(value)
                continue
            default:
                break
            }
            guard case .bool(let flag) = value else { throw predicateError(builtin, value, offset) }
            switch builtin {
            case .all: if !flag { return .bool(false) }
            case .any: if flag { return .bool(true) }
            case .none: if flag { return .bool(false) }
            case .one:
                if flag { matched += 1 }
                if matched > 1 { return .bool(false) }
            case .filter:
                if flag {
                    try allocate(1, at: offset)
                    results.append(element)
                }
            case .count: if flag { matched += 1 }
            case .find, .findLast: if flag { return element }
            case .findIndex, .findLastIndex: if flag { return .int(index) }
            default: break
            }
        }
        switch builtin {
        case .all, .none: return .bool(true)
        case .any: return .bool(false)
        case .one: return .bool(matched == 1)
        case .count: return .int(matched)
        case .filter, .map: return .array(results)
        case .find, .findLast: return .nil
        case .findIndex, .findLastIndex: return .int(-1)
        case .reduce: return scope!.accumulator
        case .sum: return try sum(results, offset)
        default: preconditionFailure("\(builtin.rawValue) is not a predicate builtin")
        }
    }

    private func predicateError(_ builtin: Builtin, _ value: ExprValue, _ offset: SourceOffset) -> ExpressionError {
        error(offset, "the predicate of \(builtin.rawValue) must return bool, got \(value.goTypeName)")
    }

    /// expr-lang's sum: int while every element is an int, float once one is a float.
    private func sum(_ elements: [ExprValue], _ offset: SourceOffset) throws(ExpressionError) -> ExprValue {
        var integer = 0
        var real = 0.0
        var isFloat = false
        for element in elements {
            switch element {
            case .int(let number): integer = integer &+ number
            case .float(let number):
                isFloat = true
                real += number
            default: throw invalid(.sum, element, offset)
            }
        }
        return isFloat ? .float(real + Double(integer)) : .int(integer)
    }
}

/// Go's `strings.SplitN` (`limit` < 0 means all parts; 0 means none).
func goSplit(_ text: String, _ separator: String, _ limit: Int) -> [String] {
    if limit == 0 { return [] }
    if separator.isEmpty {
        var parts = text.unicodeScalars.map { String($0) }
        if limit > 0, parts.count > limit {
            let rest = parts[(limit - 1)...].joined()
            parts = Array(parts[..<(limit - 1)]) + [rest]
        }
        return parts
    }
    var parts: [String] = []
    var remainder = Substring(text)
    while limit < 0 || parts.count < limit - 1, let range = remainder.range(of: separator) {
        parts.append(String(remainder[..<range.lowerBound]))
        remainder = remainder[range.upperBound...]
    }
    parts.append(String(remainder))
    return parts
}

/// Go's `strconv.ParseFloat` for the forms people write: decimal, exponent, `Inf`, `NaN`.
func parseGoFloat(_ text: String) -> Double? {
    let lowered = text.lowercased()
    switch lowered {
    case "inf", "+inf", "infinity", "+infinity": return .infinity
    case "-inf", "-infinity": return -.infinity
    case "nan": return .nan
    default: break
    }
    guard !text.isEmpty, text.allSatisfy({ "0123456789+-.eE_".contains($0) }) else { return nil }
    return Double(text)
}

/// Go's `time.ParseDuration`: a sequence of decimal numbers with units ns, us, µs, ms, s, m, h,
/// optionally signed (`-1h30m`, `1.5s`, `500ms`); `0` alone is allowed. Returns seconds.
func parseGoDuration(_ text: String) -> Double? {
    var scalars = Substring(text).unicodeScalars
    var sign = 1.0
    if let head = scalars.first, head == "-" || head == "+" {
        if head == "-" { sign = -1 }
        scalars.removeFirst()
    }
    if String(scalars) == "0" { return 0 }
    guard !scalars.isEmpty else { return nil }
    var total = 0.0
    while !scalars.isEmpty {
        var number = ""
        while let head = scalars.first, head == "." || ("0"..."9").contains(head) {
            number.unicodeScalars.append(head)
            scalars.removeFirst()
        }
        guard !number.isEmpty, number != ".", let value = Double(number) else { return nil }
        var unit = ""
        while let head = scalars.first, !(head == "." || ("0"..."9").contains(head)) {
            unit.unicodeScalars.append(head)
            scalars.removeFirst()
        }
        let scale: Double
        switch unit {
        case "ns": scale = 1e-9
        case "us", "µs", "μs": scale = 1e-6
        case "ms": scale = 1e-3
        case "s": scale = 1
        case "m": scale = 60
        case "h": scale = 3600
        default: return nil
        }
        total += value * scale
    }
    return sign * total
}
