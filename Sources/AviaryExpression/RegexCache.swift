/// Regular expressions for `matches`, with Swift's Regex engine on Unicode scalars (as Go's RE2
/// works on runes). It accepts the syntax conditions use in practice: classes, anchors, groups,
/// alternation, repetition, `(?i)`. NSRegularExpression is avoided on purpose: on Linux it leaks
/// the pattern buffer of every pattern that fails to compile (found by scripts/fuzz-expr).
enum RegexCache {
    /// Why `pattern` does not compile, or nil when it does.
    static func compileError(_ pattern: String) -> String? {
        do {
            _ = try Regex(pattern)
            return nil
        } catch {
            return "\(error)"
        }
    }

    /// Whether `pattern` matches anywhere in `text` (Go's `regexp.MatchString`); nil when the
    /// pattern does not compile.
    static func matches(_ text: String, pattern: String) -> Bool? {
        guard let regex = try? Regex(pattern).matchingSemantics(.unicodeScalar) else { return nil }
        return text.contains(regex)
    }
}
