/// Go's predefined template functions.
enum Builtins {
    static let functions: [String: TemplateFunction] = [
        "and": TemplateFunction(shortCircuit: .and),
        "or": TemplateFunction(shortCircuit: .or),
        "not": TemplateFunction([.raw]) { arguments, _ in .bool(!isTrue(arguments[0])) },
        "len": TemplateFunction([.raw]) { arguments, _ throws(FunctionFailure) in try length(arguments[0]) },
        "index": TemplateFunction([.raw], variadic: .raw) { arguments, _ throws(FunctionFailure) in
            try index(arguments[0], by: Array(arguments.dropFirst()))
        },
        "slice": TemplateFunction([.raw], variadic: .raw) { arguments, _ throws(FunctionFailure) in
            try slice(arguments[0], by: Array(arguments.dropFirst()))
        },
        "print": TemplateFunction([], variadic: .any) { arguments, _ in
            .string(GoFormatter.sprint(arguments.map { $0 ?? .null }))
        },
        "println": TemplateFunction([], variadic: .any) { arguments, _ in
            .string(GoFormatter.sprintln(arguments.map { $0 ?? .null }))
        },
        "printf": TemplateFunction([.string], variadic: .any) { arguments, context throws(FunctionFailure) in
            .string(
                try Printf.format(
                    arguments.string(0), arguments.dropFirst().map { $0 ?? .null }, limit: context.sizeLimit))
        },
        "html": TemplateFunction([], variadic: .any) { arguments, _ in
            .string(Escaping.html(Escaping.joined(arguments)))
        },
        "js": TemplateFunction([], variadic: .any) { arguments, _ in
            .string(Escaping.javaScript(Escaping.joined(arguments)))
        },
        "urlquery": TemplateFunction([], variadic: .any) { arguments, _ in
            .string(Escaping.queryComponent(Escaping.joined(arguments)))
        },
        "eq": TemplateFunction([.raw], variadic: .raw) { arguments, _ throws(FunctionFailure) in
            .bool(try Comparison.equal(arguments[0], anyOf: Array(arguments.dropFirst())))
        },
        "ne": TemplateFunction([.raw, .raw]) { arguments, _ throws(FunctionFailure) in
            .bool(!(try Comparison.equal(arguments[0], anyOf: [arguments[1]])))
        },
        "lt": TemplateFunction([.raw, .raw]) { arguments, _ throws(FunctionFailure) in
            .bool(try Comparison.less(arguments[0], arguments[1]))
        },
        "le": TemplateFunction([.raw, .raw]) { arguments, _ throws(FunctionFailure) in
            .bool(try Comparison.lessOrEqual(arguments[0], arguments[1]))
        },
        "gt": TemplateFunction([.raw, .raw]) { arguments, _ throws(FunctionFailure) in
            .bool(!(try Comparison.lessOrEqual(arguments[0], arguments[1])))
        },
        "ge": TemplateFunction([.raw, .raw]) { arguments, _ throws(FunctionFailure) in
            .bool(!(try Comparison.less(arguments[0], arguments[1])))
        },
        "call": TemplateFunction([.raw], variadic: .raw) { _, _ throws(FunctionFailure) in
            throw FunctionFailure("call is not supported: template data holds no functions to call")
        },
    ]

    /// Go's `len`: bytes of a string, elements of a list or map.
    static func length(_ value: GoValue?) throws(FunctionFailure) -> GoValue? {
        guard let value else {
            throw FunctionFailure("len of no value (a missing key); guard it with {{if}} or use default")
        }
        switch value {
        case .string(let text): return .int(Int64(text.utf8.count))
        case .array(let elements): return .int(Int64(elements.count))
        case .object(let members): return .int(Int64(members.count))
        case .null: throw FunctionFailure("len of nil pointer")
        default: throw FunctionFailure("len of type \(GoFormatter.typeName(value))")
        }
    }

    /// Go's `index x 1 2`: lists by integer, maps by string (a missing key gives nil).
    static func index(_ item: GoValue?, by indexes: [GoValue?]) throws(FunctionFailure) -> GoValue? {
        guard var current = item, current != .null else { throw FunctionFailure("index of untyped nil") }
        for index in indexes {
            switch current {
            case .null:
                throw FunctionFailure("index of nil pointer")
            case .array(let elements):
                let position = try integerIndex(index, length: elements.count, inclusive: false)
                current = elements[position]
            case .string(let text):
                let bytes = Array(text.utf8)
                let position = try integerIndex(index, length: bytes.count, inclusive: false)
                current = .int(Int64(bytes[position]))
            case .object(let members):
                switch index {
                case .string(let key)?: current = members[key] ?? .null
                case nil, .null?: throw FunctionFailure("value is nil; should be of type string")
                case let other?:
                    throw FunctionFailure("value has type \(GoFormatter.typeName(other)); should be string")
                }
            default:
                throw FunctionFailure("can't index item of type \(GoFormatter.typeName(current))")
            }
        }
        return current
    }

    /// A list or string position from an index argument, checked against `length`.
    static func integerIndex(_ index: GoValue?, length: Int, inclusive: Bool) throws(FunctionFailure) -> Int {
        switch index {
        case .int(let value)?:
            guard value >= 0, value < Int64(length) || (inclusive && value == Int64(length)) else {
                throw FunctionFailure("index out of range: \(value)")
            }
            return Int(value)
        case nil, .null?:
            throw FunctionFailure("cannot index slice/array with nil")
        case let other?:
            throw FunctionFailure("cannot index slice/array with type \(GoFormatter.typeName(other))")
        }
    }

    /// Go's `slice x 1 2`: `x[1:2]` on lists and strings.
    static func slice(_ item: GoValue?, by indexes: [GoValue?]) throws(FunctionFailure) -> GoValue? {
        guard let item, item != .null else { throw FunctionFailure("slice of untyped nil") }
        guard indexes.count <= 3 else { throw FunctionFailure("too many slice indexes: \(indexes.count)") }
        let length: Int
        switch item {
        case .array(let elements): length = elements.count
        case .string(let text):
            guard indexes.count < 3 else { throw FunctionFailure("cannot 3-index slice a string") }
            length = text.utf8.count
        default:
            throw FunctionFailure("can't slice item of type \(GoFormatter.typeName(item))")
        }
        var bounds = [0, length]
        for (position, index) in indexes.enumerated() {
            let value = try integerIndex(index, length: length, inclusive: true)
            if position < 2 { bounds[position] = value }
        }
        if bounds[0] > bounds[1] {
            throw FunctionFailure("invalid slice index: \(bounds[0]) > \(bounds[1])")
        }
        if indexes.count == 3, let capacity = try? integerIndex(indexes[2], length: length, inclusive: true),
            bounds[1] > capacity
        {
            throw FunctionFailure("invalid slice index: \(bounds[1]) > \(capacity)")
        }
        switch item {
        case .array(let elements): return .array(Array(elements[bounds[0]..<bounds[1]]))
        case .string(let text): return .string(String(decoding: Array(text.utf8)[bounds[0]..<bounds[1]], as: UTF8.self))
        default: return nil
        }
    }
}
