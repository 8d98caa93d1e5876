/// Builds the node tree from tokens, checking what Go checks at parse time: that functions
/// exist, variables are declared before use, control structures are closed, and `break` /
/// `continue` sit inside a `range`.
struct Parser {
    /// Deeper nesting of control structures and parentheses is refused, so neither parsing nor
    /// execution can exhaust the stack.
    static let maximumNesting = 100

    private let tokens: [Token]
    private var index = 0
    private let templateName: String
    private let functionNames: Set<String>
    private var variables: [String] = ["$"]
    private var rangeDepth = 0
    private var nesting = 0
    private var definitions: [String: [TemplateNode]] = [:]

    private static let keywords: Set<String> = [
        "if", "else", "end", "range", "with", "define", "template", "block", "break", "continue",
    ]

    init(tokens: [Token], templateName: String, functionNames: Set<String>) {
        self.tokens = tokens
        self.templateName = templateName
        self.functionNames = functionNames
    }

    /// Parses the whole text: the main body plus its definitions.
    mutating func parse() throws(GoTemplateError) -> ParsedTemplate {
        let (root, terminator) = try parseList(topLevel: true)
        switch terminator {
        case .endOfInput: break
        case .end(let token):
            throw failure("unexpected {{end}}: no {{if}}, {{range}}, {{with}} or {{define}} is open", at: token)
        case .otherwise(let token):
            throw failure("unexpected {{else}}: no {{if}}, {{range}} or {{with}} is open", at: token)
        }
        if let defined = definitions[templateName] {
            if !Self.isEmpty(root) {
                throw GoTemplateError(
                    template: templateName, line: 1, column: 1,
                    message:
                        "multiple definition of template \"\(templateName)\": the text and a {{define}} both provide it"
                )
            }
            definitions[templateName] = defined
        } else {
            definitions[templateName] = root
        }
        return ParsedTemplate(definitions: definitions)
    }

    // MARK: - Lists and control structures

    private enum Terminator {
        case endOfInput(Token)
        case end(Token)
        case otherwise(Token)
    }

    private mutating func parseList(topLevel: Bool) throws(GoTemplateError) -> ([TemplateNode], Terminator) {
        var nodes: [TemplateNode] = []
        while true {
            let token = next()
            switch token.kind {
            case .text(let text):
                nodes.append(.text(text, token.position))
            case .endOfInput:
                return (nodes, .endOfInput(token))
            case .leftDelimiter:
                let keyword = peek()
                guard case .identifier(let word) = keyword.kind, Self.keywords.contains(word) else {
                    let pipeline = try parsePipeline(
                        context: "command", closer: .rightDelimiter, maximumDeclarations: 1)
                    try expectRightDelimiter(after: "command")
                    nodes.append(.action(pipeline))
                    continue
                }
                _ = next()
                switch word {
                case "end":
                    try expectRightDelimiter(after: "end")
                    return (nodes, .end(keyword))
                case "else":
                    return (nodes, .otherwise(keyword))
                case "if": nodes.append(try parseConditional(.ifBlock, keyword: keyword))
                case "with": nodes.append(try parseConditional(.withBlock, keyword: keyword))
                case "range": nodes.append(try parseRange(keyword: keyword))
                case "template": nodes.append(try parseInclude(keyword: keyword))
                case "block": nodes.append(try parseBlock(keyword: keyword))
                case "define":
                    guard topLevel else {
                        throw failure(
                            "{{define}} is only allowed at the top level, not inside another action", at: keyword)
                    }
                    try parseDefine(keyword: keyword)
                default:
                    guard rangeDepth > 0 else {
                        throw failure(
                            "{{\(word)}} outside {{range}}: it only ends or skips a range iteration", at: keyword)
                    }
                    try expectRightDelimiter(after: word)
                    nodes.append(word == "break" ? .breakLoop(keyword.position) : .continueLoop(keyword.position))
                }
            default:
                throw failure("unexpected \(token.text)", at: token)
            }
        }
    }

    private mutating func enterNesting(at token: Token) throws(GoTemplateError) {
        nesting += 1
        guard nesting <= Self.maximumNesting else {
            throw failure("template nests deeper than \(Self.maximumNesting) levels; flatten it", at: token)
        }
    }

    private func missingEnd(for keyword: Token, at terminator: Token) -> GoTemplateError {
        failure(
            "missing {{end}} for {{\(keyword.text)}} opened at line \(keyword.position.line), column \(keyword.position.column)",
            at: terminator)
    }

    private mutating func parseConditional(
        _ kind: ConditionalNode.Kind, keyword: Token
    ) throws(GoTemplateError)
        -> TemplateNode
    {
        try enterNesting(at: keyword)
        defer { nesting -= 1 }
        let mark = variables.count
        defer { variables.removeLast(variables.count - mark) }
        let pipeline = try parsePipeline(context: kind.rawValue, closer: .rightDelimiter, maximumDeclarations: 1)
        try expectRightDelimiter(after: kind.rawValue)
        let (body, terminator) = try parseScopedList()
        var elseBody: [TemplateNode]?
        switch terminator {
        case .end:
            break
        case .endOfInput(let token):
            throw missingEnd(for: keyword, at: token)
        case .otherwise(let elseToken):
            let following = peek()
            if case .identifier(let word) = following.kind, word == kind.rawValue {
                _ = next()
                elseBody = [try parseConditional(kind, keyword: following)]
            } else {
                try expectRightDelimiter(after: "else")
                elseBody = try parseElseBody(for: keyword, elseToken: elseToken)
            }
        }
        let node = ConditionalNode(
            kind: kind, position: keyword.position, pipeline: pipeline, body: body, elseBody: elseBody)
        return .conditional(node)
    }

    private mutating func parseRange(keyword: Token) throws(GoTemplateError) -> TemplateNode {
        try enterNesting(at: keyword)
        defer { nesting -= 1 }
        let mark = variables.count
        defer { variables.removeLast(variables.count - mark) }
        let pipeline = try parsePipeline(context: "range", closer: .rightDelimiter, maximumDeclarations: 2)
        try expectRightDelimiter(after: "range")
        rangeDepth += 1
        let parsedBody: ([TemplateNode], Terminator)
        do {
            parsedBody = try parseScopedList()
        } catch {
            rangeDepth -= 1
            throw error
        }
        rangeDepth -= 1
        let (body, terminator) = parsedBody
        var elseBody: [TemplateNode]?
        switch terminator {
        case .end:
            break
        case .endOfInput(let token):
            throw missingEnd(for: keyword, at: token)
        case .otherwise(let elseToken):
            try expectRightDelimiter(after: "else")
            elseBody = try parseElseBody(for: keyword, elseToken: elseToken)
        }
        return .range(RangeNode(position: keyword.position, pipeline: pipeline, body: body, elseBody: elseBody))
    }

    /// A body whose variables end at its `{{else}}` or `{{end}}`.
    private mutating func parseScopedList() throws(GoTemplateError) -> ([TemplateNode], Terminator) {
        let mark = variables.count
        defer { variables.removeLast(variables.count - mark) }
        return try parseList(topLevel: false)
    }

    private mutating func parseElseBody(for keyword: Token, elseToken: Token) throws(GoTemplateError) -> [TemplateNode]
    {
        let (body, terminator) = try parseScopedList()
        switch terminator {
        case .end: return body
        case .endOfInput(let token): throw missingEnd(for: keyword, at: token)
        case .otherwise(let token):
            throw failure(
                "unexpected second {{else}} in {{\(keyword.text)}} opened at line \(keyword.position.line), column \(keyword.position.column); expected {{end}}",
                at: token)
        }
    }

    private mutating func parseTemplateName(after keyword: Token) throws(GoTemplateError) -> String {
        let token = next()
        guard case .string(let name) = token.kind else {
            throw failure(
                "{{\(keyword.text)}} needs the template name as a quoted string, found \(token.text)", at: token)
        }
        return name
    }

    private mutating func parseInclude(keyword: Token) throws(GoTemplateError) -> TemplateNode {
        let name = try parseTemplateName(after: keyword)
        var pipeline: Pipeline?
        if case .rightDelimiter = peek().kind {
            _ = next()
        } else {
            pipeline = try parsePipeline(context: "template clause", closer: .rightDelimiter, maximumDeclarations: 0)
            try expectRightDelimiter(after: "template clause")
        }
        return .include(IncludeNode(position: keyword.position, name: name, pipeline: pipeline))
    }

    /// Parses a `{{define}}` or `{{block}}` body in a fresh scope (only `$`), outside any range.
    private mutating func parseDefinitionBody(named name: String, keyword: Token) throws(GoTemplateError) {
        try enterNesting(at: keyword)
        defer { nesting -= 1 }
        let savedVariables = variables
        let savedRangeDepth = rangeDepth
        variables = ["$"]
        rangeDepth = 0
        defer {
            variables = savedVariables
            rangeDepth = savedRangeDepth
        }
        let (body, terminator) = try parseList(topLevel: false)
        switch terminator {
        case .end: break
        case .endOfInput(let token): throw missingEnd(for: keyword, at: token)
        case .otherwise(let token): throw failure("unexpected {{else}} in {{\(keyword.text)}}", at: token)
        }
        if let existing = definitions[name], !Self.isEmpty(existing), !Self.isEmpty(body) {
            throw failure("multiple definition of template \"\(name)\"; rename one of them", at: keyword)
        }
        if definitions[name] == nil || !Self.isEmpty(body) {
            definitions[name] = body
        }
    }

    private mutating func parseDefine(keyword: Token) throws(GoTemplateError) {
        let name = try parseTemplateName(after: keyword)
        try expectRightDelimiter(after: "define clause")
        try parseDefinitionBody(named: name, keyword: keyword)
    }

    private mutating func parseBlock(keyword: Token) throws(GoTemplateError) -> TemplateNode {
        let name = try parseTemplateName(after: keyword)
        let pipeline = try parsePipeline(context: "block clause", closer: .rightDelimiter, maximumDeclarations: 0)
        try expectRightDelimiter(after: "block clause")
        try parseDefinitionBody(named: name, keyword: keyword)
        return .include(IncludeNode(position: keyword.position, name: name, pipeline: pipeline))
    }

    /// Go treats a body of only white-space text as empty, so it may be redefined.
    private static func isEmpty(_ nodes: [TemplateNode]) -> Bool {
        nodes.allSatisfy { node in
            if case .text(let text, _) = node { return text.allSatisfy(\.isWhitespace) }
            return false
        }
    }

    // MARK: - Pipelines and commands

    private enum Closer: Equatable {
        case rightDelimiter
        case rightParenthesis

        func matches(_ kind: Token.Kind) -> Bool {
            switch (self, kind) {
            case (.rightDelimiter, .rightDelimiter), (.rightParenthesis, .rightParenthesis): return true
            default: return false
            }
        }
    }

    private mutating func parsePipeline(
        context: String, closer: Closer, maximumDeclarations: Int
    )
        throws(GoTemplateError) -> Pipeline
    {
        let start = peek()
        var declarations: [DeclaredVariable] = []
        var isAssignment = false
        if case .variable(let name) = start.kind, index + 1 < tokens.count {
            let after = tokens[index + 1]
            switch after.kind {
            case .declare, .assign:
                index += 2
                declarations = [DeclaredVariable(name: name, position: start.position)]
                isAssignment = after.kind == .assign
            case .comma:
                guard maximumDeclarations >= 2 else {
                    throw failure(
                        "too many declarations in \(context): only {{range}} declares two variables", at: after)
                }
                index += 2
                let second = next()
                guard case .variable(let secondName) = second.kind else {
                    throw failure(
                        "expected a second variable after ',' in \(context), found \(second.text)", at: second)
                }
                let operation = next()
                guard operation.kind == .declare || operation.kind == .assign else {
                    throw failure("expected := or = after \(name), \(secondName) in \(context)", at: operation)
                }
                declarations = [
                    DeclaredVariable(name: name, position: start.position),
                    DeclaredVariable(name: secondName, position: second.position),
                ]
                isAssignment = operation.kind == .assign
            default:
                break
            }
        }
        if !declarations.isEmpty && maximumDeclarations == 0 {
            throw failure("variables cannot be declared in a \(context)", at: start)
        }
        if isAssignment {
            for declared in declarations where !variables.contains(declared.name) {
                throw GoTemplateError(
                    template: templateName, line: declared.position.line, column: declared.position.column,
                    message: "undefined variable \"\(declared.name)\": declare it with := before assigning with =")
            }
        }
        var commands: [Command] = []
        while true {
            let token = peek()
            if closer.matches(token.kind) {
                if commands.isEmpty {
                    throw failure("missing value for \(context)", at: token)
                }
                break
            }
            if closer == .rightParenthesis, token.kind == .rightDelimiter || token.kind == .endOfInput {
                throw failure("unclosed left paren: add ) before }}", at: token)
            }
            if !commands.isEmpty {
                guard token.kind == .pipe else {
                    throw failure("unexpected \(token.text) in \(context)", at: token)
                }
                _ = next()
            }
            commands.append(try parseCommand(context: context, afterPipe: !commands.isEmpty))
        }
        for (stage, command) in commands.enumerated().dropFirst() {
            guard let first = command.operands.first else { continue }
            switch first.kind {
            case .literal, .dot, .nilLiteral:
                throw failure(
                    "non executable command in pipeline stage \(stage + 1): \(first.text) cannot take the piped value",
                    at: first.position)
            default: break
            }
        }
        if !isAssignment {
            variables.append(contentsOf: declarations.map(\.name))
        }
        return Pipeline(
            position: start.position, declarations: declarations, isAssignment: isAssignment, commands: commands)
    }

    private mutating func parseCommand(context: String, afterPipe: Bool) throws(GoTemplateError) -> Command {
        let start = peek()
        var operands: [Operand] = []
        loop: while true {
            let token = peek()
            switch token.kind {
            case .rightDelimiter, .rightParenthesis, .pipe, .endOfInput:
                break loop
            default:
                if !operands.isEmpty && !token.followsSpace {
                    throw failure("missing space before \(token.text) in \(context)", at: token)
                }
                operands.append(try parseOperand(context: context))
            }
        }
        guard !operands.isEmpty else {
            throw failure(
                afterPipe ? "missing command after | in \(context)" : "missing value for \(context)", at: start)
        }
        return Command(position: start.position, operands: operands)
    }

    private mutating func parseOperand(context: String) throws(GoTemplateError) -> Operand {
        let token = next()
        let base: Operand.Kind
        switch token.kind {
        case .field(let name):
            return Operand(kind: .field([name] + trailingFields()), position: token.position, text: token.text)
        case .variable(let name):
            guard variables.contains(name) else {
                throw failure("undefined variable \"\(name)\": declare it with \(name) := before using it", at: token)
            }
            return Operand(kind: .variable(name, trailingFields()), position: token.position, text: token.text)
        case .identifier(let name):
            if Self.keywords.contains(name) {
                throw failure("unexpected {{\(name)}} in \(context): keywords must start an action", at: token)
            }
            guard functionNames.contains(name) else {
                throw failure("function \"\(name)\" not defined", at: token)
            }
            base = .function(name)
        case .leftParenthesis:
            try enterNesting(at: token)
            let pipeline = try parsePipeline(
                context: "parenthesized pipeline", closer: .rightParenthesis, maximumDeclarations: 1)
            nesting -= 1
            let close = next()
            guard close.kind == .rightParenthesis else {
                throw failure("unclosed left paren: add )", at: token)
            }
            base = .pipeline(pipeline)
        case .dot:
            base = .dot
        case .string(let value):
            base = .literal(.string(value))
        case .character(let value):
            base = .literal(.int(value))
        case .boolean(let value):
            base = .literal(.bool(value))
        case .nilLiteral:
            base = .nilLiteral
        case .number(let text):
            base = .literal(try parseNumber(text, at: token))
        case .rightDelimiter where context == "parenthesized pipeline":
            throw failure("unclosed left paren: add ) before }}", at: token)
        default:
            throw failure("unexpected \(token.text) in \(context)", at: token)
        }
        let operand = Operand(kind: base, position: token.position, text: token.text)
        let fields = trailingFields()
        guard !fields.isEmpty else { return operand }
        switch base {
        case .function, .pipeline:
            return Operand(kind: .chain(operand, fields), position: token.position, text: token.text)
        default:
            throw failure("unexpected .\(fields[0]) after term \(token.text)", at: token)
        }
    }

    /// Field names that follow immediately, without space: the `.b.c` of `$a.b.c`.
    private mutating func trailingFields() -> [String] {
        var fields: [String] = []
        while case .field(let name) = peek().kind, !peek().followsSpace {
            fields.append(name)
            index += 1
        }
        return fields
    }

    private func parseNumber(_ text: String, at token: Token) throws(GoTemplateError) -> GoValue {
        guard let value = NumberLiteral.value(of: text) else {
            throw failure("bad number syntax: \(text)", at: token)
        }
        switch value {
        case .success(let number): return number
        case .failure(let problem): throw failure(problem.message, at: token)
        }
    }

    // MARK: - Tokens

    private mutating func next() -> Token {
        let token = tokens[index]
        if index < tokens.count - 1 { index += 1 }
        return token
    }

    private func peek() -> Token {
        tokens[index]
    }

    private mutating func expectRightDelimiter(after context: String) throws(GoTemplateError) {
        let token = next()
        guard token.kind == .rightDelimiter else {
            throw failure("unexpected \(token.text) in \(context); expected }}", at: token)
        }
    }

    private func failure(_ message: String, at token: Token) -> GoTemplateError {
        failure(message, at: token.position)
    }

    private func failure(_ message: String, at position: SourcePosition) -> GoTemplateError {
        GoTemplateError(template: templateName, line: position.line, column: position.column, message: message)
    }
}
