/// A recursive-descent parser with precedence climbing, following expr-lang's grammar and
/// operator table (lowest first): `?:`; `or ||`; `and &&`; comparisons `== != < <= > >= in
/// matches contains startsWith endsWith` (chained: `a < b < c` is `a < b && b < c`); `..`;
/// `+ -`; `* / %`; unary `not !` (50) and `- +` (90); `** ^` (right associative); `??`.
struct Parser {
    /// Real conditions nest a handful of levels; the limit keeps recursion (parse, evaluate and
    /// deinit) far from the end of a thread's stack for hostile input.
    static let maximumDepth = 128

    private let source: String
    private var tokens: [Token]
    private var index = 0
    private var depth = 0
    private var closureDepth = 0
    private var variables: [String] = []
    private var visibleVariables: [(name: String, slot: Int)] = []
    /// The environment names the condition refers to, with their first position.
    private var names: [(name: String, offset: SourceOffset)] = []

    private static let binaryPrecedence: [String: (precedence: Int, rightAssociative: Bool)] = [
        "or": (10, false), "||": (10, false),
        "and": (15, false), "&&": (15, false),
        "==": (20, false), "!=": (20, false), "<": (20, false), ">": (20, false), ">=": (20, false),
        "<=": (20, false), "in": (20, false), "matches": (20, false), "contains": (20, false),
        "startsWith": (20, false), "endsWith": (20, false),
        "not in": (20, false), "not matches": (20, false), "not contains": (20, false),
        "not startsWith": (20, false), "not endsWith": (20, false),
        "..": (25, false),
        "+": (30, false), "-": (30, false),
        "*": (60, false), "/": (60, false), "%": (60, false),
        "**": (100, true), "^": (100, true),
        "??": (500, false),
    ]

    private static let unaryPrecedence: [String: Int] = ["not": 50, "!": 50, "-": 90, "+": 90]

    /// Parses `source` into a tree and the number of `let` slots it uses.
    static func parse(
        _ source: String
    ) throws(ExpressionError) -> (
        node: Node, variableCount: Int, names: [(name: String, offset: SourceOffset)]
    ) {
        var parser = Parser(source: source, tokens: try Lexer.tokenize(source))
        if parser.current.kind == .end {
            throw parser.error(at: parser.current, "expected an expression, found an empty condition")
        }
        let node = try parser.parseSequence()
        if parser.current.kind != .end {
            throw parser.error(
                at: parser.current, "unexpected \(parser.current.display): expected an operator or the end")
        }
        try TypeCheck.check(node, source: source)
        return (node, parser.variables.count, parser.names)
    }

    private init(source: String, tokens: [Token]) {
        self.source = source
        self.tokens = tokens
    }

    private var current: Token { tokens[index] }

    private mutating func advance() {
        if index < tokens.count - 1 { index += 1 }
    }

    private func error(at token: Token, _ message: String) -> ExpressionError {
        ExpressionError(source: source, offset: token.offset, message: message)
    }

    private mutating func expectBracket(_ bracket: String, _ what: String) throws(ExpressionError) {
        guard current.isBracket(bracket) else {
            throw error(at: current, "expected '\(bracket)' \(what), found \(current.display)")
        }
        advance()
    }

    private mutating func enter() throws(ExpressionError) {
        depth += 1
        if depth > Parser.maximumDepth {
            throw error(at: current, "the condition nests more than \(Parser.maximumDepth) levels deep")
        }
    }

    private mutating func parseSequence() throws(ExpressionError) -> Node {
        var nodes = [try parseExpression(0)]
        while current.isOperator(";") {
            advance()
            if current.kind == .end || current.isBracket("}") || current.isBracket(")") { break }
            nodes.append(try parseExpression(0))
        }
        return nodes.count == 1 ? nodes[0] : .sequence(nodes)
    }

    private mutating func parseExpression(_ precedence: Int) throws(ExpressionError) -> Node {
        try enter()
        let savedDepth = depth
        defer { depth = savedDepth - 1 }

        if precedence == 0, current.isOperator("let") {
            return try parseLet()
        }

        var left = try parsePrimary()
        var previousOperator = ""
        while current.kind == .operator_, let info = Parser.binaryPrecedence[current.text],
            info.precedence >= precedence
        {
            let operatorToken = current
            let name = operatorToken.text
            if previousOperator == "??" && name != "??" {
                throw error(
                    at: operatorToken,
                    "operator '\(name)' and '??' cannot be mixed: wrap either side in parentheses")
            }
            advance()
            try enter()
            if info.precedence == 20 {
                left = try parseComparison(left, operatorToken)
            } else {
                let right = try parseOperand(
                    after: operatorToken, precedence: info.rightAssociative ? info.precedence : info.precedence + 1)
                left = makeBinary(name, left, right, operatorToken.offset)
            }
            previousOperator = name
        }
        if precedence == 0 {
            left = try parseConditional(left)
        }
        return left
    }

    /// The comparisons that chain (`1 < x < 3`).
    private static let chainingComparisons: Set<String> = ["<", ">", "<=", ">="]

    /// The right operand of `operatorToken`, with the error people need when it is missing.
    private mutating func parseOperand(after operatorToken: Token, precedence: Int) throws(ExpressionError) -> Node {
        if current.kind == .end || current.isBracket(")") || current.isBracket("]") || current.isBracket("}")
            || current.isOperator(",") || current.isOperator(":") || current.isOperator(";")
            || (current.kind == .operator_ && Parser.binaryPrecedence[current.text] != nil
                && Parser.unaryPrecedence[current.text] == nil)
        {
            throw error(at: current, "expected an operand after '\(operatorToken.text)', found \(current.display)")
        }
        return try parseExpression(precedence)
    }

    private func makeBinary(_ name: String, _ left: Node, _ right: Node, _ offset: SourceOffset) -> Node {
        switch name {
        case "or", "||": return .or(left, right, offset)
        case "and", "&&": return .and(left, right, offset)
        case "??": return .coalesce(left, right)
        case "^": return .binary(.power, left, right, offset)
        default:
            if name.hasPrefix("not ") {
                let positive = BinaryOperator(rawValue: String(name.dropFirst(4)))!
                return .unary(.not, .binary(positive, left, right, offset), offset)
            }
            return .binary(BinaryOperator(rawValue: name)!, left, right, offset)
        }
    }

    /// `a < b < c` means `a < b && b < c`, as in expr-lang, whose chains are of `<`, `>`, `<=` and
    /// `>=` only: `a > b == true` is `(a > b) == true`.
    private mutating func parseComparison(_ first: Node, _ firstOperator: Token) throws(ExpressionError) -> Node {
        var left = first
        var operatorToken = firstOperator
        var result: Node?
        while true {
            let right = try parseOperand(after: operatorToken, precedence: 21)
            if operatorToken.text.hasSuffix("matches"), case .literal(.string(let pattern)) = right {
                try validateRegex(pattern, at: operatorToken)
            }
            let comparison = makeBinary(operatorToken.text, left, right, operatorToken.offset)
            result = result.map { .and($0, comparison, operatorToken.offset) } ?? comparison
            left = right
            guard current.kind == .operator_, Self.chainingComparisons.contains(current.text),
                Self.chainingComparisons.contains(operatorToken.text)
            else { break }
            operatorToken = current
            advance()
            try enter()
        }
        return result!
    }

    private func validateRegex(_ pattern: String, at token: Token) throws(ExpressionError) {
        if let message = RegexCache.compileError(pattern) {
            throw error(at: token, "invalid regular expression '\(pattern)': \(message)")
        }
    }

    private mutating func parseConditional(_ condition: Node) throws(ExpressionError) -> Node {
        var node = condition
        while current.isOperator("?") {
            let question = current
            advance()
            if current.isOperator(":") {
                advance()
                let otherwise = try parseOperand(after: question, precedence: 0)
                node = .conditional(node, node, otherwise, question.offset)
                continue
            }
            let then = try parseOperand(after: question, precedence: 0)
            guard current.isOperator(":") else {
                throw error(at: current, "expected ':' in the conditional after '?', found \(current.display)")
            }
            let colon = current
            advance()
            let otherwise = try parseOperand(after: colon, precedence: 0)
            node = .conditional(node, then, otherwise, question.offset)
        }
        return node
    }

    private mutating func parseLet() throws(ExpressionError) -> Node {
        advance()
        guard current.kind == .identifier else {
            throw error(at: current, "expected a variable name after 'let', found \(current.display)")
        }
        let name = current.text
        advance()
        guard current.isOperator("=") else {
            throw error(at: current, "expected '=' after 'let \(name)', found \(current.display)")
        }
        advance()
        let value = try parseExpression(0)
        guard current.isOperator(";") else {
            throw error(at: current, "expected ';' after the value of 'let \(name)', found \(current.display)")
        }
        advance()
        let slot = variables.count
        variables.append(name)
        visibleVariables.append((name, slot))
        let body = try parseSequence()
        visibleVariables.removeLast()
        return .letIn(slot: slot, value: value, body: body)
    }

    private mutating func parsePrimary() throws(ExpressionError) -> Node {
        let token = current
        if token.kind == .operator_, let precedence = Parser.unaryPrecedence[token.text] {
            advance()
            let operand = try parseOperand(after: token, precedence: precedence)
            let unary: Node
            switch token.text {
            case "-":
                if case .literal(.int(let value)) = operand, value != Int.min {
                    unary = .literal(.int(-value))
                } else if case .literal(.float(let value)) = operand {
                    unary = .literal(.float(-value))
                } else {
                    unary = .unary(.negate, operand, token.offset)
                }
            case "+": unary = .unary(.plus, operand, token.offset)
            default: unary = .unary(.not, operand, token.offset)
            }
            return try parsePostfix(unary)
        }
        if token.isBracket("(") {
            advance()
            let inner = try parseSequence()
            guard current.isBracket(")") else {
                throw error(
                    at: current,
                    "expected ')' to close the '(' at column \(column(of: token)), found \(current.display)")
            }
            advance()
            return try parsePostfix(inner)
        }
        if closureDepth > 0 {
            if token.kind == .operator_, token.text.hasPrefix("#") {
                advance()
                let name = String(token.text.dropFirst())
                guard name == "" || name == "index" || name == "acc" else {
                    throw error(at: token, "unknown pointer '\(token.text)': expected '#', '#index' or '#acc'")
                }
                return try parsePostfix(.pointer(name, token.offset))
            }
            if token.isOperator(".") {
                // `.field` inside a closure is `#.field`.
                return try parsePostfix(.pointer("", token.offset))
            }
        } else if token.kind == .operator_, token.text.hasPrefix("#") {
            throw error(at: token, "'\(token.text)' is only allowed inside a predicate such as all(result, {# > 0})")
        }
        return try parseSecondary()
    }

    private func column(of token: Token) -> Int {
        ExpressionError(source: source, offset: token.offset, message: "").column
    }

    private mutating func parseSecondary() throws(ExpressionError) -> Node {
        let token = current
        let node: Node
        switch token.kind {
        case .identifier:
            advance()
            switch token.text {
            case "true": return .literal(.bool(true))
            case "false": return .literal(.bool(false))
            case "nil": return .literal(.nil)
            default:
                if current.isBracket("(") {
                    node = try parseCall(token)
                } else if let variable = visibleVariables.last(where: { $0.name == token.text }) {
                    node = .variable(variable.slot)
                } else {
                    node = .identifier(token.text, token.offset)
                    if !names.contains(where: { $0.name == token.text }) { names.append((token.text, token.offset)) }
                }
            }
        case .integer(let value):
            advance()
            node = .literal(.int(value))
        case .float(let value):
            advance()
            node = .literal(.float(value))
        case .string(let value):
            advance()
            node = .literal(.string(value))
        case .bracket where token.text == "[":
            node = try parseArray()
        case .bracket where token.text == "{":
            node = try parseMap()
        case .end:
            throw error(at: token, "unexpected end of condition: expected an operand")
        default:
            throw error(at: token, "unexpected \(token.display): expected an operand")
        }
        return try parsePostfix(node)
    }

    private mutating func parseCall(_ name: Token) throws(ExpressionError) -> Node {
        guard let builtin = Builtin(rawValue: name.text) else {
            throw error(at: name, "unknown function '\(name.text)': see docs/analysis.md for the builtins")
        }
        let openParen = current
        advance()
        var arguments: [Node] = []
        let shapes = builtin.argumentShapes
        while !current.isBracket(")") {
            if !arguments.isEmpty {
                guard current.isOperator(",") else {
                    throw error(
                        at: current, "expected ',' or ')' in the call of \(name.text), found \(current.display)")
                }
                advance()
                if current.isBracket(")") { break }
            }
            if current.kind == .end {
                throw error(
                    at: current, "expected ')' to close the call of \(name.text) at column \(column(of: openParen))")
            }
            let position = arguments.count
            if let shapes, position < shapes.count, shapes[position] == .predicate {
                arguments.append(try parsePredicate())
            } else {
                arguments.append(try parseExpression(0))
            }
        }
        advance()
        if let message = builtin.arityError(arguments.count) {
            throw error(at: name, message)
        }
        return .call(builtin, arguments, name.offset)
    }

    private mutating func parsePredicate() throws(ExpressionError) -> Node {
        closureDepth += 1
        defer { closureDepth -= 1 }
        if current.isBracket("{") {
            let open = current
            advance()
            if current.isBracket("}") {
                throw error(at: current, "expected an expression inside the predicate braces, found '}'")
            }
            let body = try parseSequence()
            guard current.isBracket("}") else {
                throw error(
                    at: current,
                    "expected '}' to close the predicate at column \(column(of: open)), found \(current.display)")
            }
            advance()
            return .closure(body)
        }
        return .closure(try parseExpression(0))
    }

    private mutating func parseArray() throws(ExpressionError) -> Node {
        let open = current
        advance()
        var elements: [Node] = []
        while !current.isBracket("]") {
            if !elements.isEmpty {
                guard current.isOperator(",") else {
                    throw error(
                        at: current,
                        "expected ',' or ']' in the array at column \(column(of: open)), found \(current.display)")
                }
                advance()
                if current.isBracket("]") { break }
            }
            if current.kind == .end {
                throw error(at: current, "expected ']' to close the array at column \(column(of: open))")
            }
            elements.append(try parseExpression(0))
        }
        advance()
        if elements.allSatisfy({ if case .literal = $0 { true } else { false } }) {
            return .literal(.array(elements.map { if case .literal(let value) = $0 { value } else { .nil } }))
        }
        return .array(elements)
    }

    private mutating func parseMap() throws(ExpressionError) -> Node {
        let open = current
        advance()
        var entries: [(key: Node, value: Node)] = []
        while !current.isBracket("}") {
            if !entries.isEmpty {
                guard current.isOperator(",") else {
                    throw error(
                        at: current,
                        "expected ',' or '}' in the map at column \(column(of: open)), found \(current.display)")
                }
                advance()
                if current.isBracket("}") { break }
            }
            let key: Node
            switch current.kind {
            case .identifier, .integer, .float, .string:
                if case .string(let value) = current.kind {
                    key = .literal(.string(value))
                } else {
                    key = .literal(.string(current.text))
                }
                advance()
            case .bracket where current.text == "(":
                key = try parseExpression(0)
            default:
                throw error(
                    at: current,
                    "a map key must be a quoted string, a number, a name, or an expression in parentheses; found \(current.display)"
                )
            }
            guard current.isOperator(":") else {
                throw error(at: current, "expected ':' after the map key, found \(current.display)")
            }
            advance()
            entries.append((key, try parseExpression(0)))
        }
        advance()
        return .map(entries)
    }

    private mutating func parsePostfix(_ base: Node) throws(ExpressionError) -> Node {
        // The enclosing parseExpression restores `depth`: each postfix adds one level of recursion
        // when the chain is evaluated.
        var node = base
        var isChain = false
        while true {
            let token = current
            if token.isOperator(".") || token.isOperator("?.") {
                let isOptional = token.text == "?."
                advance()
                try enter()
                if isOptional, current.isBracket("[") {
                    node = try parseIndex(node, isOptional: true)
                    isChain = true
                    continue
                }
                let property = current
                let isName: Bool
                switch property.kind {
                case .identifier: isName = true
                case .operator_: isName = property.text.allSatisfy { $0.isLetter }
                default: isName = false
                }
                guard isName else {
                    throw error(at: property, "expected a field name after '\(token.text)', found \(property.display)")
                }
                advance()
                if current.isBracket("(") {
                    throw error(
                        at: property, "unknown method '\(property.text)': call builtins as functions, e.g. len(x)")
                }
                if case .chain(let inner) = node { node = inner }
                node = .member(
                    base: node, property: .literal(.string(property.text)), isOptional: isOptional, property.offset)
                isChain = isChain || isOptional
            } else if token.isBracket("[") {
                try enter()
                if case .chain(let inner) = node { node = inner }
                node = try parseIndex(node, isOptional: false)
            } else {
                break
            }
            if isChain { node = .chain(node) }
        }
        return node
    }

    private mutating func parseIndex(_ base: Node, isOptional: Bool) throws(ExpressionError) -> Node {
        let open = current
        advance()
        var from: Node?
        if !current.isOperator(":") {
            if current.isBracket("]") {
                throw error(at: current, "expected an index or a slice inside '[]', found ']'")
            }
            from = try parseExpression(0)
        }
        if current.isOperator(":") {
            advance()
            var to: Node?
            if !current.isBracket("]") { to = try parseExpression(0) }
            try expectBracket("]", "to close the slice at column \(column(of: open))")
            return .slice(base: base, from: from, to: to, open.offset)
        }
        try expectBracket("]", "to close the index at column \(column(of: open))")
        return .member(base: base, property: from!, isOptional: isOptional, open.offset)
    }
}
