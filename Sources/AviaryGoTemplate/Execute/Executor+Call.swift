extension Executor {
    /// Calls a function: checks the argument count, evaluates and type-checks each argument,
    /// and reports a failure as `error calling NAME: ...` at the function's position.
    mutating func call(
        _ name: String, arguments: ArraySlice<Operand>, final: Final, dot: GoValue?, at position: SourcePosition
    ) throws(GoTemplateError) -> GoValue? {
        guard let function = FunctionTable.functions[name] else {
            throw failure("function \"\(name)\" not defined", at: position)
        }
        var count = arguments.count
        if case .value = final { count += 1 }
        if let shortCircuit = function.shortCircuit {
            return try callShortCircuit(
                name, shortCircuit, arguments: arguments, final: final, count: count, dot: dot, at: position)
        }
        let fixed = function.parameters.count
        if function.variadic == nil, count != fixed {
            throw failure("wrong number of args for \(name): want \(fixed) got \(count)", at: position)
        }
        if function.variadic != nil, count < fixed {
            throw failure("wrong number of args for \(name): want at least \(fixed) got \(count)", at: position)
        }
        var values: [GoValue?] = []
        values.reserveCapacity(count)
        for (index, operand) in arguments.enumerated() {
            let value = try evalOperand(operand, dot: dot)
            values.append(try convert(value, to: function.parameter(at: index) ?? .any, at: operand.position))
        }
        if case .value(let piped) = final {
            values.append(try convert(piped, to: function.parameter(at: values.count) ?? .any, at: position))
        }
        let result: GoValue?
        do {
            result = try function.body(values, FunctionContext(sizeLimit: limits.outputBytes))
        } catch {
            throw failure("error calling \(name): \(error.message)", at: position)
        }
        if case .string(let text)? = result, text.utf8.count > limits.outputBytes {
            throw failure("error calling \(name): result exceeds \(limits.outputBytes) bytes", at: position)
        }
        return result
    }

    private mutating func callShortCircuit(
        _ name: String, _ kind: TemplateFunction.ShortCircuit, arguments: ArraySlice<Operand>, final: Final,
        count: Int, dot: GoValue?, at position: SourcePosition
    ) throws(GoTemplateError) -> GoValue? {
        guard count >= 1 else {
            throw failure("wrong number of args for \(name): want at least 1 got 0", at: position)
        }
        let stopsWhenTrue = kind == .or
        var value: GoValue?
        for operand in arguments {
            value = try evalOperand(operand, dot: dot)
            if isTrue(value) == stopsWhenTrue { return value }
        }
        if case .value(let piped) = final { value = piped }
        return value
    }

    /// Go's `validateType`: a missing value becomes nil for `interface{}` parameters, and typed
    /// parameters (`string`, `int`, `bool`) refuse other types.
    private func convert(
        _ value: GoValue?, to kind: ParameterKind, at position: SourcePosition
    )
        throws(GoTemplateError) -> GoValue?
    {
        switch kind {
        case .raw:
            return value
        case .any:
            return value ?? .null
        case .object:
            switch value {
            case nil, .null?: return .object([:])
            case .object?: return value
            case let other?:
                throw failure(
                    "wrong type for value; expected \(kind.goName); got \(GoFormatter.typeName(other))", at: position)
            }
        case .string, .integer, .boolean:
            guard let value else {
                throw failure("invalid value; expected \(kind.goName), got no value (a missing key)", at: position)
            }
            switch (kind, value) {
            case (.string, .string), (.integer, .int), (.boolean, .bool):
                return value
            default:
                throw failure(
                    "wrong type for value; expected \(kind.goName); got \(GoFormatter.typeName(value))", at: position)
            }
        }
    }
}
