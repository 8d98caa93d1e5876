/// A parsed Go `text/template`, ready to render against JSON-shaped data.
///
/// It accepts Argo Rollouts' notification templates unchanged, for example
/// `Rollout {{.rollout.metadata.name}} step {{add .rollout.status.currentStepIndex 1}}`.
/// Semantics follow Go 1.22 with `missingkey=default` and sprig's functions: a missing key
/// prints `<no value>` and is false; field access on a null is an error.
///
/// ```swift
/// let template = try GoTemplate(name: "paused", text: "{{.rollout.metadata.name}} paused")
/// let text = try template.render(try GoValue(json: data))
/// ```
public struct GoTemplate: Sendable {
    /// The name given at creation; errors and `{{template}}` calls use it.
    public let name: String
    private let parsed: ParsedTemplate
    private let limits = RenderLimits()

    /// Parses `text`, checking syntax, that every function exists and every variable is declared.
    ///
    /// - Throws: ``GoTemplateError`` locating the first problem, such as
    ///   `function "nope" not defined` or `missing {{end}} for {{if}} opened at line 2, column 3`.
    public init(name: String, text: String) throws(GoTemplateError) {
        self.name = name
        var lexer = Lexer(text: text, templateName: name)
        let tokens = try lexer.tokenize()
        var parser = Parser(tokens: tokens, templateName: name, functionNames: FunctionTable.names)
        self.parsed = try parser.parse()
    }

    /// Renders the template with `data` as dot and `$`.
    ///
    /// Output is capped at 1 MiB and execution at five million steps, so hostile templates fail
    /// with an error rather than exhausting memory or time.
    /// - Throws: ``GoTemplateError`` at the node that failed, such as
    ///   `error calling len: len of nil pointer` or `wrong number of args for len: want 1 got 2`.
    public func render(_ data: GoValue) throws(GoTemplateError) -> String {
        guard let body = parsed.definitions[name] else { return "" }
        var executor = Executor(definitions: parsed.definitions, templateName: name, limits: limits)
        try executor.render(body, data: data)
        return executor.output
    }

    /// The names of every function templates may call: Go's builtins and the supported sprig set.
    public static var functionNames: [String] {
        FunctionTable.names.sorted()
    }
}
