/// Byte-wise string operations, as Go's `strings` package does them (Swift's `String` compares
/// by canonical equivalence, which Go does not).
enum ByteStrings {
    /// Offsets where `needle` starts in `haystack`, non-overlapping, left to right.
    static func occurrences(of needle: [UInt8], in haystack: [UInt8]) -> [Int] {
        guard !needle.isEmpty, needle.count <= haystack.count else { return [] }
        var found: [Int] = []
        var offset = 0
        while offset <= haystack.count - needle.count {
            if haystack[offset] == needle[0], haystack[offset..<offset + needle.count].elementsEqual(needle) {
                found.append(offset)
                offset += needle.count
            } else {
                offset += 1
            }
        }
        return found
    }

    static func contains(_ text: String, _ needle: String) -> Bool {
        needle.isEmpty || !occurrences(of: Array(needle.utf8), in: Array(text.utf8)).isEmpty
    }

    static func hasPrefix(_ text: String, _ prefix: String) -> Bool {
        text.utf8.starts(with: prefix.utf8)
    }

    static func hasSuffix(_ text: String, _ suffix: String) -> Bool {
        text.utf8.reversed().starts(with: suffix.utf8.reversed())
    }

    /// `strings.Split`: an empty separator splits into characters (UTF-8 sequences).
    static func split(_ text: String, separator: String) -> [String] {
        if separator.isEmpty { return text.unicodeScalars.map { String($0) } }
        let bytes = Array(text.utf8)
        let needle = Array(separator.utf8)
        var pieces: [String] = []
        var start = 0
        for offset in occurrences(of: needle, in: bytes) {
            pieces.append(String(decoding: bytes[start..<offset], as: UTF8.self))
            start = offset + needle.count
        }
        pieces.append(String(decoding: bytes[start...], as: UTF8.self))
        return pieces
    }

    /// `strings.ReplaceAll`; an empty `old` inserts `new` around every character, as Go does.
    static func replace(_ text: String, old: String, new: String) -> String {
        if old.isEmpty {
            return new + text.unicodeScalars.map { String($0) + new }.joined()
        }
        return split(text, separator: old).joined(separator: new)
    }
}
