/// Why a condition could not be parsed or evaluated, with the 1-based line and column of the
/// offending token: `1:12: expected an operand after '>='`.
public struct ExpressionError: Error, CustomStringConvertible, Sendable, Equatable {
    /// The 1-based line of the offending token.
    public var line: Int
    /// The 1-based column (in characters) of the offending token.
    public var column: Int
    /// What went wrong and, where it helps, what was expected instead.
    public var message: String

    /// An error at a given position.
    public init(line: Int, column: Int, message: String) {
        self.line = line
        self.column = column
        self.message = message
    }

    /// `line:column: message`.
    public var description: String { "\(line):\(column): \(message)" }
}

/// A byte offset into the source; turned into a line and column only when an error is reported.
typealias SourceOffset = Int

extension ExpressionError {
    /// An error at `offset` (a UTF-8 byte offset) in `source`.
    init(source: String, offset: SourceOffset, message: String) {
        var line = 1
        var column = 1
        var consumed = 0
        for character in source {
            let width = character.utf8.count
            if consumed + width > offset { break }
            consumed += width
            if character == "\n" {
                line += 1
                column = 1
            } else {
                column += 1
            }
        }
        self.init(line: line, column: column, message: message)
    }
}
