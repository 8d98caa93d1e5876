/// Why a route table was refused: every problem found, each naming the field path and the fix.
/// A refused table changes nothing: the router keeps serving the table it had.
public struct RouteTableError: Error, CustomStringConvertible, Equatable {
    /// Where the table came from (a file path, `PUT /table`, the state file).
    public var source: String
    /// One line per problem, `field.path: what is wrong; what to do`.
    public var problems: [String]

    /// Makes an error.
    public init(source: String, problems: [String]) {
        self.source = source
        self.problems = problems
    }

    /// All problems, one per line, after the source.
    public var description: String {
        "\(source): invalid route table:\n" + problems.map { "  - \($0)" }.joined(separator: "\n")
    }
}
