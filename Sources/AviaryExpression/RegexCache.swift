import Foundation

/// Regular expressions for `matches`. Patterns are compiled with ICU (NSRegularExpression), which
/// accepts the RE2 syntax that conditions use in practice (classes, anchors, groups, `(?i)`).
enum RegexCache {
    /// Why `pattern` does not compile, or nil when it does.
    static func compileError(_ pattern: String) -> String? {
        do {
            _ = try NSRegularExpression(pattern: pattern)
            return nil
        } catch {
            return "not a valid regular expression"
        }
    }

    /// Whether `pattern` matches anywhere in `text` (Go's `regexp.MatchString`); nil when the
    /// pattern does not compile.
    static func matches(_ text: String, pattern: String) -> Bool? {
        guard let regex = try? NSRegularExpression(pattern: pattern) else { return nil }
        let range = NSRange(text.startIndex..<text.endIndex, in: text)
        return regex.firstMatch(in: text, range: range) != nil
    }
}
