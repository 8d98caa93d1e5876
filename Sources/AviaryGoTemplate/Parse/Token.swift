/// One lexical item of a template: a run of text, a delimiter, or a word inside an action.
struct Token: Sendable {
    enum Kind: Sendable, Equatable {
        /// Text outside actions, already trimmed by `{{-` / `-}}` markers.
        case text(String)
        case leftDelimiter
        case rightDelimiter
        /// A bare word: a function name or a keyword (`if`, `range`, `end`, ...).
        case identifier(String)
        /// `.name`, without the dot.
        case field(String)
        /// A lone `.`.
        case dot
        /// `$` or `$name`, including the `$`.
        case variable(String)
        /// A decoded `"..."` or `` `...` `` literal.
        case string(String)
        /// A `'c'` literal; its value is the code point.
        case character(Int64)
        /// Number text as written (`0x1F`, `1_000`, `2.5e3`); the parser converts it.
        case number(String)
        case boolean(Bool)
        case nilLiteral
        case pipe
        case leftParenthesis
        case rightParenthesis
        /// `:=`
        case declare
        /// `=`
        case assign
        case comma
        case endOfInput
    }

    var kind: Kind
    var position: SourcePosition
    /// Whether white space separates this token from the one before it inside the action.
    var followsSpace: Bool
    /// The source text, for error messages.
    var text: String
}
