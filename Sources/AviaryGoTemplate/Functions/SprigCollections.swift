/// sprig's list, dict, defaulting and encoding functions.
enum SprigCollections {
    static let functions: [String: TemplateFunction] = [
        "list": TemplateFunction([], variadic: .any) { arguments, _ in .array(arguments.map { $0 ?? .null }) },
        "tuple": TemplateFunction([], variadic: .any) { arguments, _ in .array(arguments.map { $0 ?? .null }) },
        "dict": TemplateFunction([], variadic: .any) { arguments, _ in
            var members: [String: GoValue] = [:]
            var index = 0
            while index < arguments.count {
                let key = SprigConversions.string(arguments.value(index))
                members[key] = index + 1 < arguments.count ? arguments.value(index + 1) : .string("")
                index += 2
            }
            return .object(members)
        },
        "get": TemplateFunction([.object, .string]) { arguments, _ in
            arguments.object(0)[arguments.string(1)] ?? .string("")
        },
        "hasKey": TemplateFunction([.object, .string]) { arguments, _ in
            .bool(arguments.object(0)[arguments.string(1)] != nil)
        },
        "keys": TemplateFunction([], variadic: .object) { arguments, _ in
            let keys = arguments.indices.flatMap { arguments.object($0).keys }
            return .array(keys.sorted(by: GoFormatter.lessByBytes).map(GoValue.string))
        },
        "pick": TemplateFunction([.object], variadic: .string) { arguments, _ in
            let members = arguments.object(0)
            var picked: [String: GoValue] = [:]
            for index in arguments.indices.dropFirst() {
                let key = arguments.string(index)
                if let value = members[key] { picked[key] = value }
            }
            return .object(picked)
        },
        "omit": TemplateFunction([.object], variadic: .string) { arguments, _ in
            var members = arguments.object(0)
            for index in arguments.indices.dropFirst() { members[arguments.string(index)] = nil }
            return .object(members)
        },
        "first": listFunction("first") { elements in elements.first ?? .null },
        "last": listFunction("last") { elements in elements.last ?? .null },
        "rest": listFunction("rest") { elements in .array(Array(elements.dropFirst())) },
        "initial": listFunction("initial") { elements in .array(Array(elements.dropLast())) },
        "has": TemplateFunction([.any, .any]) { arguments, _ in
            guard case .array(let elements) = arguments.value(1) else { return .bool(false) }
            return .bool(elements.contains(arguments.value(0)))
        },
        "default": TemplateFunction([.any], variadic: .any) { arguments, _ in
            guard arguments.count > 1, isTrue(arguments[1]) else { return arguments.value(0) }
            return arguments.value(1)
        },
        "empty": TemplateFunction([.any]) { arguments, _ in .bool(!isTrue(arguments[0])) },
        "coalesce": TemplateFunction([], variadic: .any) { arguments, _ in
            arguments.first(where: { isTrue($0) }) ?? .null
        },
        "ternary": TemplateFunction([.any, .any, .boolean]) { arguments, _ in
            arguments.boolean(2) ? arguments.value(0) : arguments.value(1)
        },
        "fail": TemplateFunction([.string]) { arguments, _ throws(FunctionFailure) in
            throw FunctionFailure(arguments.string(0))
        },
        "kindOf": TemplateFunction([.any]) { arguments, _ in .string(kind(of: arguments.value(0))) },
        "kindIs": TemplateFunction([.string, .any]) { arguments, _ in
            .bool(kind(of: arguments.value(1)) == arguments.string(0))
        },
        "typeOf": TemplateFunction([.any]) { arguments, _ in
            let value = arguments.value(0)
            return .string(value == .null ? "<nil>" : GoFormatter.typeName(value))
        },
        "toJson": TemplateFunction([.any]) { arguments, _ in
            .string(GoJSON.encode(arguments.value(0), escapeHTML: true, indent: nil) ?? "")
        },
        "toRawJson": TemplateFunction([.any]) { arguments, _ in
            .string(GoJSON.encode(arguments.value(0), escapeHTML: false, indent: nil) ?? "")
        },
        "toPrettyJson": TemplateFunction([.any]) { arguments, _ in
            .string(GoJSON.encode(arguments.value(0), escapeHTML: true, indent: "  ") ?? "")
        },
    ]

    /// A function over a list; other values fail as sprig's `mustFirst` and friends do.
    private static func listFunction(
        _ name: String, _ body: @escaping @Sendable ([GoValue]) -> GoValue
    )
        -> TemplateFunction
    {
        TemplateFunction([.any]) { arguments, _ throws(FunctionFailure) in
            switch arguments.value(0) {
            case .array(let elements): return body(elements)
            case .null: throw FunctionFailure("cannot find \(name) on type nil; pass a list")
            case let other: throw FunctionFailure("cannot find \(name) on type \(kind(of: other)); pass a list")
            }
        }
    }

    /// Go's `reflect.Kind` name, as sprig's `kindOf` prints it.
    static func kind(of value: GoValue) -> String {
        switch value {
        case .null: return "invalid"
        case .bool: return "bool"
        case .int: return "int64"
        case .double: return "float64"
        case .string: return "string"
        case .array: return "slice"
        case .object: return "map"
        }
    }
}
