import Foundation

/// sprig's arithmetic and conversions. Integer functions convert every argument with
/// ``SprigConversions/int64(_:)`` and wrap on overflow as Go's `int64` does; the `...f`
/// functions use decimal arithmetic like sprig's shopspring/decimal, so `addf 0.1 0.2` is `0.3`.
enum SprigMath {
    static let functions: [String: TemplateFunction] = [
        "add": TemplateFunction([], variadic: .any) { arguments, _ in
            .int(arguments.reduce(Int64(0)) { $0 &+ SprigConversions.int64($1 ?? .null) })
        },
        "add1": TemplateFunction([.any]) { arguments, _ in .int(SprigConversions.int64(arguments.value(0)) &+ 1) },
        "sub": integerOperation { lhs, rhs throws(FunctionFailure) in lhs &- rhs },
        "mul": TemplateFunction([.any], variadic: .any) { arguments, _ in
            .int(
                arguments.dropFirst().reduce(SprigConversions.int64(arguments.value(0))) {
                    $0 &* SprigConversions.int64($1 ?? .null)
                })
        },
        "div": integerOperation { lhs, rhs throws(FunctionFailure) in
            guard rhs != 0 else { throw FunctionFailure("runtime error: integer divide by zero") }
            return lhs.dividedReportingOverflow(by: rhs).partialValue
        },
        "mod": integerOperation { lhs, rhs throws(FunctionFailure) in
            guard rhs != 0 else { throw FunctionFailure("runtime error: integer divide by zero") }
            return lhs.remainderReportingOverflow(dividingBy: rhs).partialValue
        },
        "max": TemplateFunction([.any], variadic: .any) { arguments, _ in
            .int(arguments.map { SprigConversions.int64($0 ?? .null) }.max() ?? 0)
        },
        "min": TemplateFunction([.any], variadic: .any) { arguments, _ in
            .int(arguments.map { SprigConversions.int64($0 ?? .null) }.min() ?? 0)
        },
        "addf": TemplateFunction([], variadic: .any) { arguments, _ throws(FunctionFailure) in
            .double(try decimalOperation(.int(0), arguments, .add))
        },
        "add1f": TemplateFunction([.any]) { arguments, _ throws(FunctionFailure) in
            .double(try decimalOperation(arguments.value(0), [.int(1)], .add))
        },
        "subf": TemplateFunction([.any], variadic: .any) { arguments, _ throws(FunctionFailure) in
            .double(try decimalOperation(arguments.value(0), Array(arguments.dropFirst()), .subtract))
        },
        "mulf": TemplateFunction([.any], variadic: .any) { arguments, _ throws(FunctionFailure) in
            .double(try decimalOperation(arguments.value(0), Array(arguments.dropFirst()), .multiply))
        },
        "divf": TemplateFunction([.any], variadic: .any) { arguments, _ throws(FunctionFailure) in
            .double(try decimalOperation(arguments.value(0), Array(arguments.dropFirst()), .divide))
        },
        "maxf": TemplateFunction([.any], variadic: .any) { arguments, _ in
            .double(
                arguments.map { SprigConversions.float64($0 ?? .null) }.reduce(-Double.infinity) { Swift.max($0, $1) })
        },
        "minf": TemplateFunction([.any], variadic: .any) { arguments, _ in
            .double(
                arguments.map { SprigConversions.float64($0 ?? .null) }.reduce(Double.infinity) { Swift.min($0, $1) })
        },
        "floor": TemplateFunction([.any]) { arguments, _ in
            .double(SprigConversions.float64(arguments.value(0)).rounded(.down))
        },
        "ceil": TemplateFunction([.any]) { arguments, _ in
            .double(SprigConversions.float64(arguments.value(0)).rounded(.up))
        },
        "int": TemplateFunction([.any]) { arguments, _ in .int(SprigConversions.int64(arguments.value(0))) },
        "int64": TemplateFunction([.any]) { arguments, _ in .int(SprigConversions.int64(arguments.value(0))) },
        "float64": TemplateFunction([.any]) { arguments, _ in .double(SprigConversions.float64(arguments.value(0))) },
        "atoi": TemplateFunction([.string]) { arguments, _ in
            let text = arguments.string(0)
            let unsigned = text.hasPrefix("-") || text.hasPrefix("+") ? text.dropFirst() : Substring(text)
            guard !unsigned.isEmpty, unsigned.allSatisfy({ $0.isASCII && $0.isNumber }) else { return .int(0) }
            return .int(Int64(text) ?? 0)
        },
    ]

    private static func integerOperation(
        _ operation: @escaping @Sendable (Int64, Int64) throws(FunctionFailure) -> Int64
    ) -> TemplateFunction {
        TemplateFunction([.any, .any]) { arguments, _ throws(FunctionFailure) in
            .int(try operation(SprigConversions.int64(arguments.value(0)), SprigConversions.int64(arguments.value(1))))
        }
    }

    private enum DecimalOperation {
        case add, subtract, multiply, divide
    }

    /// sprig's `execDecimalOp`: each operand becomes the decimal of its shortest float text.
    private static func decimalOperation(
        _ first: GoValue, _ rest: [GoValue?], _ operation: DecimalOperation
    )
        throws(FunctionFailure) -> Double
    {
        let operands = [first] + rest.map { $0 ?? .null }
        let floats = operands.map(SprigConversions.float64)
        if let bad = floats.first(where: { !$0.isFinite }) {
            throw FunctionFailure("cannot create a decimal from \(GoFormatter.formatShortest(bad))")
        }
        if operation == .divide, floats.dropFirst().contains(0) {
            throw FunctionFailure("decimal division by 0")
        }
        guard floats.allSatisfy({ $0 == 0 || (Swift.abs($0) < 1e30 && Swift.abs($0) > 1e-30) }) else {
            return floats.dropFirst().reduce(floats[0]) { apply(operation, $0, $1) }
        }
        var result = decimal(floats[0])
        for operand in floats.dropFirst() {
            var lhs = result
            var rhs = decimal(operand)
            var output = Decimal()
            switch operation {
            case .add: _ = NSDecimalAdd(&output, &lhs, &rhs, .plain)
            case .subtract: _ = NSDecimalSubtract(&output, &lhs, &rhs, .plain)
            case .multiply: _ = NSDecimalMultiply(&output, &lhs, &rhs, .plain)
            case .divide: _ = NSDecimalDivide(&output, &lhs, &rhs, .plain)
            }
            result = output
        }
        return Double(result.description) ?? floats.dropFirst().reduce(floats[0]) { apply(operation, $0, $1) }
    }

    private static func apply(_ operation: DecimalOperation, _ lhs: Double, _ rhs: Double) -> Double {
        switch operation {
        case .add: return lhs + rhs
        case .subtract: return lhs - rhs
        case .multiply: return lhs * rhs
        case .divide: return lhs / rhs
        }
    }

    private static func decimal(_ value: Double) -> Decimal {
        let (digits, decimalPoint) = GoFormatter.decimalDigits(Swift.abs(value))
        let significand = Decimal(string: String(decoding: digits, as: UTF8.self)) ?? 0
        let magnitude = Decimal(sign: .plus, exponent: decimalPoint - digits.count, significand: significand)
        return value < 0 ? -magnitude : magnitude
    }
}
