import Foundation

/// `{{args.name}}` substitution, shared by conditions and metric providers (queries, URLs,
/// headers): Argo Rollouts resolves arguments in the text before it parses or sends it.
public enum Template {
    /// A tag that names no given argument, or a tag left open.
    public struct UnresolvedTagError: Error, CustomStringConvertible, Sendable, Equatable {
        /// The tag as written, e.g. `{{args.service}}`.
        public var tag: String
        /// The argument names that were available.
        public var available: [String]

        /// An error for `tag`.
        public init(tag: String, available: [String]) {
            self.tag = tag
            self.available = available
        }

        /// The message users see.
        public var description: String {
            let names = available.isEmpty ? "no arguments were given" : "given: " + available.joined(separator: ", ")
            return "unresolved template tag \(tag): pass it as an argument (\(names))"
        }
    }

    /// Replaces every `{{ args.name }}` (whitespace inside the braces trimmed) with `args[name]`.
    /// Text outside tags is kept byte for byte; a tag that names no argument is an error that
    /// names it, as is an unclosed `{{`.
    public static func substitute(_ text: String, args: [String: String]) throws -> String {
        try substitute(text, variables: Dictionary(uniqueKeysWithValues: args.map { ("args." + $0.key, $0.value) }))
    }

    /// Replaces every `{{ name }}` with `variables[name]`, where a name is the whole tag
    /// (`args.service`, `templates.canary.podTemplateHash`); the rules of `substitute(_:args:)`.
    public static func substitute(_ text: String, variables: [String: String]) throws -> String {
        guard text.contains("{{") else { return text }
        var output = ""
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            output += rest[..<open.lowerBound]
            guard let close = rest[open.upperBound...].range(of: "}}") else {
                throw UnresolvedTagError(tag: String(rest[open.lowerBound...]), available: available(variables))
            }
            let tag = String(rest[open.lowerBound..<close.upperBound])
            let inner = rest[open.upperBound..<close.lowerBound].trimmingCharacters(in: .whitespacesAndNewlines)
            guard let value = variables[inner] else {
                throw UnresolvedTagError(tag: tag, available: available(variables))
            }
            output += value
            rest = rest[close.upperBound...]
        }
        output += rest
        return output
    }

    /// The names a message lists: arguments without their `args.` prefix, as before.
    private static func available(_ variables: [String: String]) -> [String] {
        variables.keys.map { $0.hasPrefix("args.") ? String($0.dropFirst(5)) : $0 }.sorted()
    }
}
