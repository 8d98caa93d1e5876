/// A parse or execution failure, located at the node at fault.
///
/// The description reads like
/// `template "rollout-paused" line 3, column 14: function "nope" not defined`.
public struct GoTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The name the template was created with.
    public var template: String
    /// The 1-based line of the node at fault.
    public var line: Int
    /// The 1-based column (in UTF-8 bytes) of the node at fault.
    public var column: Int
    /// What is wrong and, where there is one, the fix.
    public var message: String

    /// Creates an error; the library builds these, tests may compare against them.
    public init(template: String, line: Int, column: Int, message: String) {
        self.template = template
        self.line = line
        self.column = column
        self.message = message
    }

    /// `template "name" line L, column C: message`.
    public var description: String {
        "template \"\(template)\" line \(line), column \(column): \(message)"
    }
}

/// A place in the template text: 1-based line and UTF-8 column.
struct SourcePosition: Sendable, Equatable {
    var line: Int
    var column: Int
}
