/// Walks a parsed template against data, writing text and evaluating pipelines.
///
/// Values are `GoValue?`: nil is Go's invalid "no value" (a missing map key), `.null` is a nil
/// `interface{}` (a JSON null). Like Go, every pipeline stage turns a nil interface into no value,
/// so `{{.a}}` prints `<no value>` for `{"a": null}` while `{{.a.b}}` is an error.
struct Executor {
    enum Flow {
        case normal
        case breakLoop
        case continueLoop
    }

    /// A pipeline stage's piped-in value, if any.
    enum Final {
        case none
        case value(GoValue?)
    }

    let definitions: [String: [TemplateNode]]
    let limits: RenderLimits
    private let functions = FunctionTable.functions
    private(set) var output = ""
    private var outputBytes = 0
    private var steps = 0
    private var includeDepth = 0
    private var templateName: String
    private var variables: [(name: String, value: GoValue?)] = []

    init(definitions: [String: [TemplateNode]], templateName: String, limits: RenderLimits) {
        self.definitions = definitions
        self.templateName = templateName
        self.limits = limits
    }

    /// Renders the named body with `data` as both dot and `$`.
    mutating func render(_ nodes: [TemplateNode], data: GoValue) throws(GoTemplateError) {
        variables = [("$", data)]
        _ = try walk(nodes, dot: data)
    }

    // MARK: - Errors and accounting

    func failure(_ message: String, at position: SourcePosition) -> GoTemplateError {
        GoTemplateError(template: templateName, line: position.line, column: position.column, message: message)
    }

    mutating func tick(at position: SourcePosition) throws(GoTemplateError) {
        steps += 1
        if steps > limits.steps {
            throw failure(
                "execution exceeded \(limits.steps) steps; a range is likely iterating over far more items than intended",
                at: position)
        }
    }

    private mutating func write(_ text: String, at position: SourcePosition) throws(GoTemplateError) {
        outputBytes += text.utf8.count
        if outputBytes > limits.outputBytes {
            throw failure(
                "rendered output exceeds \(limits.outputBytes) bytes; the template produces far more text than a notification needs",
                at: position)
        }
        output += text
    }

    // MARK: - Nodes

    private mutating func walk(_ nodes: [TemplateNode], dot: GoValue?) throws(GoTemplateError) -> Flow {
        for node in nodes {
            let flow = try walk(node, dot: dot)
            if case .normal = flow { continue }
            return flow
        }
        return .normal
    }

    private mutating func walk(_ node: TemplateNode, dot: GoValue?) throws(GoTemplateError) -> Flow {
        switch node {
        case .text(let text, let position):
            try write(text, at: position)
        case .action(let pipeline):
            try tick(at: pipeline.position)
            let value = try evalPipeline(pipeline, dot: dot)
            if pipeline.declarations.isEmpty {
                try write(Self.printable(value), at: pipeline.position)
            }
        case .conditional(let conditional):
            try tick(at: conditional.position)
            let mark = variables.count
            defer { variables.removeLast(variables.count - mark) }
            let value = try evalPipeline(conditional.pipeline, dot: dot)
            if isTrue(value) {
                return try walk(conditional.body, dot: conditional.kind == .withBlock ? value : dot)
            } else if let elseBody = conditional.elseBody {
                return try walk(elseBody, dot: dot)
            }
        case .range(let range):
            try tick(at: range.position)
            return try walkRange(range, dot: dot)
        case .include(let include):
            try tick(at: include.position)
            try walkInclude(include, dot: dot)
        case .breakLoop:
            return .breakLoop
        case .continueLoop:
            return .continueLoop
        }
        return .normal
    }

    /// Go prints a missing value (and a nil interface, which pipelines turn into one) as `<no value>`.
    static func printable(_ value: GoValue?) -> String {
        guard let value, value != .null else { return "<no value>" }
        return GoFormatter.string(value)
    }

    private mutating func walkRange(_ range: RangeNode, dot: GoValue?) throws(GoTemplateError) -> Flow {
        let mark = variables.count
        defer { variables.removeLast(variables.count - mark) }
        let collection = try evalPipelineValue(range.pipeline, dot: dot)
        let declarations = range.pipeline.declarations
        if !range.pipeline.isAssignment {
            for declared in declarations { variables.append((declared.name, collection)) }
        }
        let bodyMark = variables.count

        func iterate(_ executor: inout Executor, key: GoValue?, element: GoValue?) throws(GoTemplateError) -> Flow {
            try executor.tick(at: range.position)
            if declarations.count == 2 {
                try executor.bind(declarations[0], to: key, assign: range.pipeline.isAssignment, slot: bodyMark - 2)
                try executor.bind(declarations[1], to: element, assign: range.pipeline.isAssignment, slot: bodyMark - 1)
            } else if declarations.count == 1 {
                try executor.bind(declarations[0], to: element, assign: range.pipeline.isAssignment, slot: bodyMark - 1)
            }
            defer { executor.variables.removeLast(executor.variables.count - bodyMark) }
            return try executor.walk(range.body, dot: element)
        }

        var iterated = false
        switch collection {
        case .array(let elements)?:
            for (index, element) in elements.enumerated() {
                iterated = true
                if case .breakLoop = try iterate(&self, key: .int(Int64(index)), element: element) { break }
            }
        case .object(let members)?:
            for key in GoFormatter.sortedKeys(members) {
                iterated = true
                if case .breakLoop = try iterate(&self, key: .string(key), element: members[key]) { break }
            }
        case .int(let count)?:
            if declarations.count > 1 {
                throw failure(
                    "can't use \(count) to iterate over more than one variable; declare one variable to range over an integer",
                    at: range.position)
            }
            var index: Int64 = 0
            while index < count {
                iterated = true
                if case .breakLoop = try iterate(&self, key: nil, element: .int(index)) { break }
                index += 1
            }
        case nil, .null?:
            break
        case let other?:
            throw failure(
                "range can't iterate over \(GoFormatter.string(other)) (a \(GoFormatter.typeName(other))); range over a list, map or integer",
                at: range.position)
        }
        if !iterated, let elseBody = range.elseBody {
            return try walk(elseBody, dot: dot)
        }
        return .normal
    }

    private mutating func bind(
        _ declared: DeclaredVariable, to value: GoValue?, assign: Bool, slot: Int
    )
        throws(GoTemplateError)
    {
        if assign {
            try setVariable(declared.name, to: value, at: declared.position)
        } else {
            variables[slot].value = value
        }
    }

    private mutating func walkInclude(_ include: IncludeNode, dot: GoValue?) throws(GoTemplateError) {
        guard let body = definitions[include.name] else {
            throw failure(
                "template \"\(include.name)\" not defined; add {{define \"\(include.name)\"}}...{{end}}",
                at: include.position)
        }
        guard includeDepth < limits.includeDepth else {
            throw failure(
                "exceeded maximum template depth (\(limits.includeDepth)); check for runaway recursion",
                at: include.position)
        }
        var newDot: GoValue?
        if let pipeline = include.pipeline {
            newDot = try evalPipeline(pipeline, dot: dot)
        }
        let savedVariables = variables
        let savedName = templateName
        variables = [("$", newDot)]
        templateName = include.name
        includeDepth += 1
        defer {
            variables = savedVariables
            templateName = savedName
            includeDepth -= 1
        }
        _ = try walk(body, dot: newDot)
    }

    // MARK: - Variables

    private func variable(_ name: String, at position: SourcePosition) throws(GoTemplateError) -> GoValue? {
        if let found = variables.last(where: { $0.name == name }) { return found.value }
        throw failure("undefined variable \"\(name)\"", at: position)
    }

    private mutating func setVariable(
        _ name: String, to value: GoValue?, at position: SourcePosition
    )
        throws(GoTemplateError)
    {
        guard let index = variables.lastIndex(where: { $0.name == name }) else {
            throw failure("undefined variable \"\(name)\": declare it with := before assigning with =", at: position)
        }
        variables[index].value = value
    }

    // MARK: - Pipelines

    /// Evaluates a pipeline and declares or assigns its variables.
    mutating func evalPipeline(_ pipeline: Pipeline, dot: GoValue?) throws(GoTemplateError) -> GoValue? {
        let value = try evalPipelineValue(pipeline, dot: dot)
        for declared in pipeline.declarations {
            if pipeline.isAssignment {
                try setVariable(declared.name, to: value, at: declared.position)
            } else {
                variables.append((declared.name, value))
            }
        }
        return value
    }

    /// Evaluates a pipeline's commands, each one's result piped into the next as its last argument.
    private mutating func evalPipelineValue(_ pipeline: Pipeline, dot: GoValue?) throws(GoTemplateError) -> GoValue? {
        var final = Final.none
        var value: GoValue?
        for command in pipeline.commands {
            try tick(at: command.position)
            value = try evalCommand(command, dot: dot, final: final)
            // Go digs a nil interface{} out of each stage's result, leaving "no value".
            if value == .null { value = nil }
            final = .value(value)
        }
        return value
    }

    private mutating func evalCommand(
        _ command: Command, dot: GoValue?, final: Final
    ) throws(GoTemplateError) -> GoValue? {
        guard let first = command.operands.first else { return nil }
        let hasArguments: Bool
        if case .value = final { hasArguments = true } else { hasArguments = command.operands.count > 1 }
        switch first.kind {
        case .field(let names):
            return try evalFields(names, of: dot, hasArguments: hasArguments, at: first.position)
        case .chain(let base, let names):
            let receiver = try evalOperand(base, dot: dot)
            return try evalFields(names, of: receiver, hasArguments: hasArguments, at: first.position)
        case .variable(let name, let names):
            let value = try variable(name, at: first.position)
            if names.isEmpty {
                try requireNoArguments(first, hasArguments: hasArguments)
                return value
            }
            return try evalFields(names, of: value, hasArguments: hasArguments, at: first.position)
        case .function(let name):
            return try call(name, arguments: command.operands.dropFirst(), final: final, dot: dot, at: first.position)
        case .pipeline(let pipeline):
            try requireNoArguments(first, hasArguments: hasArguments)
            return try evalPipeline(pipeline, dot: dot)
        case .dot:
            try requireNoArguments(first, hasArguments: hasArguments)
            return dot
        case .literal(let value):
            try requireNoArguments(first, hasArguments: hasArguments)
            return value
        case .nilLiteral:
            throw failure("nil is not a command; nil can only be an argument", at: first.position)
        }
    }

    private func requireNoArguments(_ operand: Operand, hasArguments: Bool) throws(GoTemplateError) {
        if hasArguments {
            throw failure(
                "can't give argument to non-function \(operand.text); only functions take arguments",
                at: operand.position)
        }
    }

    /// An operand used as an argument (Go's `evalArg` with no declared type).
    mutating func evalOperand(_ operand: Operand, dot: GoValue?) throws(GoTemplateError) -> GoValue? {
        switch operand.kind {
        case .dot:
            return dot
        case .field(let names):
            return try evalFields(names, of: dot, hasArguments: false, at: operand.position)
        case .variable(let name, let names):
            let value = try variable(name, at: operand.position)
            return names.isEmpty ? value : try evalFields(names, of: value, hasArguments: false, at: operand.position)
        case .function(let name):
            return try call(name, arguments: [], final: .none, dot: dot, at: operand.position)
        case .pipeline(let pipeline):
            return try evalPipeline(pipeline, dot: dot)
        case .chain(let base, let names):
            let receiver = try evalOperand(base, dot: dot)
            return try evalFields(names, of: receiver, hasArguments: false, at: operand.position)
        case .literal(let value):
            return value
        case .nilLiteral:
            return .null
        }
    }

    /// `.a.b.c` on a receiver: missing keys give no value, a nil on the way is an error.
    private func evalFields(
        _ names: [String], of receiver: GoValue?, hasArguments: Bool, at position: SourcePosition
    )
        throws(GoTemplateError) -> GoValue?
    {
        var current = receiver
        for (index, name) in names.enumerated() {
            guard let value = current else { return nil }
            switch value {
            case .object(let members):
                if hasArguments && index == names.count - 1 {
                    throw failure(
                        "\(name) is not a method but has arguments; fields of a map take no arguments", at: position)
                }
                current = members[name]
            case .null:
                throw failure(
                    "nil pointer evaluating interface {}.\(name); the value before .\(name) is null, guard it with {{if}} or {{with}}",
                    at: position)
            default:
                throw failure(
                    "can't evaluate field \(name) in type \(GoFormatter.typeName(value)); only maps have fields",
                    at: position)
            }
        }
        return current
    }
}
