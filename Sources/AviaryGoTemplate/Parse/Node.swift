/// A piece of a parsed template body.
indirect enum TemplateNode: Sendable {
    /// Literal text, printed as is.
    case text(String, SourcePosition)
    /// `{{pipeline}}`: printed unless the pipeline declares or assigns variables.
    case action(Pipeline)
    /// `{{if}}` or `{{with}}`, with an optional else branch (`else if` nests here).
    case conditional(ConditionalNode)
    /// `{{range}}`.
    case range(RangeNode)
    /// `{{template "name" pipeline}}`, also what `{{block}}` leaves in place.
    case include(IncludeNode)
    /// `{{break}}` inside a range.
    case breakLoop(SourcePosition)
    /// `{{continue}}` inside a range.
    case continueLoop(SourcePosition)
}

/// `{{if}}` / `{{with}}`: `with` also moves dot to the value when it is true.
struct ConditionalNode: Sendable {
    enum Kind: String, Sendable {
        case ifBlock = "if"
        case withBlock = "with"
    }

    var kind: Kind
    var position: SourcePosition
    var pipeline: Pipeline
    var body: [TemplateNode]
    var elseBody: [TemplateNode]?
}

/// `{{range pipeline}} body {{else}} elseBody {{end}}`.
struct RangeNode: Sendable {
    var position: SourcePosition
    var pipeline: Pipeline
    var body: [TemplateNode]
    var elseBody: [TemplateNode]?
}

/// `{{template "name" pipeline}}`.
struct IncludeNode: Sendable {
    var position: SourcePosition
    var name: String
    var pipeline: Pipeline?
}

/// A variable named by a declaration or assignment (`$x :=`, `$i, $v :=`, `$x =`).
struct DeclaredVariable: Sendable {
    var name: String
    var position: SourcePosition
}

/// Commands joined by `|`, optionally declaring or assigning variables.
struct Pipeline: Sendable {
    var position: SourcePosition
    var declarations: [DeclaredVariable]
    var isAssignment: Bool
    var commands: [Command]
}

/// One stage of a pipeline: a function call, a field, or a lone value.
struct Command: Sendable {
    var position: SourcePosition
    var operands: [Operand]
}

/// One word of a command.
struct Operand: Sendable {
    indirect enum Kind: Sendable {
        /// `.a.b.c` on dot.
        case field([String])
        /// `.`
        case dot
        /// `$x.a.b` (fields may be empty).
        case variable(String, [String])
        /// A function name.
        case function(String)
        /// `(pipeline)`.
        case pipeline(Pipeline)
        /// `(pipeline).a.b` or `function.a`.
        case chain(Operand, [String])
        /// A string, number, character or boolean literal.
        case literal(GoValue)
        /// `nil`.
        case nilLiteral
    }

    var kind: Kind
    var position: SourcePosition
    /// The source text, for error messages such as `can't give argument to non-function`.
    var text: String
}

/// The result of parsing: the main body and every `{{define}}` / `{{block}}` body by name.
struct ParsedTemplate: Sendable {
    var definitions: [String: [TemplateNode]]
}
