/// Splits template text into tokens: text runs and the words of each `{{ ... }}` action.
///
/// Trim markers are applied here: `{{- ` removes white space (spaces, tabs, newlines) before
/// the action and ` -}}` removes it after. Comments `{{/* ... */}}` produce no tokens.
struct Lexer {
    private let bytes: [UInt8]
    private let templateName: String
    private let lineStarts: [Int]
    private var tokens: [Token] = []

    init(text: String, templateName: String) {
        self.bytes = Array(text.utf8)
        self.templateName = templateName
        var starts = [0]
        for (offset, byte) in bytes.enumerated() where byte == UInt8(ascii: "\n") {
            starts.append(offset + 1)
        }
        self.lineStarts = starts
    }

    /// All tokens, ending with `endOfInput`.
    mutating func tokenize() throws(GoTemplateError) -> [Token] {
        var offset = 0
        var trimLeadingSpace = false
        while offset < bytes.count {
            let actionStart = find("{{", from: offset) ?? bytes.count
            let trimsBefore = actionStart < bytes.count && hasLeftTrimMarker(at: actionStart + 2)
            var textStart = offset
            var textEnd = actionStart
            if trimLeadingSpace {
                while textStart < textEnd, isSpace(bytes[textStart]) { textStart += 1 }
            }
            if trimsBefore {
                while textEnd > textStart, isSpace(bytes[textEnd - 1]) { textEnd -= 1 }
            }
            if textStart < textEnd {
                let text = String(decoding: bytes[textStart..<textEnd], as: UTF8.self)
                append(.text(text), at: offset, followsSpace: false, text: text)
            }
            guard actionStart < bytes.count else { break }
            offset = try lexAction(at: actionStart, trimsBefore: trimsBefore, trimsAfter: &trimLeadingSpace)
        }
        append(.endOfInput, at: bytes.count, followsSpace: false, text: "EOF")
        return tokens
    }

    // MARK: - Positions and errors

    func position(of offset: Int) -> SourcePosition {
        var low = 0
        var high = lineStarts.count - 1
        while low < high {
            let middle = (low + high + 1) / 2
            if lineStarts[middle] <= offset { low = middle } else { high = middle - 1 }
        }
        return SourcePosition(line: low + 1, column: offset - lineStarts[low] + 1)
    }

    private func failure(_ message: String, at offset: Int) -> GoTemplateError {
        let location = position(of: offset)
        return GoTemplateError(template: templateName, line: location.line, column: location.column, message: message)
    }

    private mutating func append(_ kind: Token.Kind, at offset: Int, followsSpace: Bool, text: String) {
        tokens.append(Token(kind: kind, position: position(of: offset), followsSpace: followsSpace, text: text))
    }

    private func source(_ range: Range<Int>) -> String {
        String(decoding: bytes[range], as: UTF8.self)
    }

    // MARK: - Byte helpers

    private func byte(at offset: Int) -> UInt8? {
        offset < bytes.count ? bytes[offset] : nil
    }

    private func find(_ needle: StaticString, from start: Int) -> Int? {
        let pattern = needle.withUTF8Buffer { Array($0) }
        guard bytes.count >= pattern.count, start <= bytes.count - pattern.count else { return nil }
        var offset = start
        while offset <= bytes.count - pattern.count {
            if bytes[offset] == pattern[0], matches(pattern, at: offset) { return offset }
            offset += 1
        }
        return nil
    }

    private func matches(_ pattern: [UInt8], at offset: Int) -> Bool {
        guard offset + pattern.count <= bytes.count else { return false }
        for index in pattern.indices where bytes[offset + index] != pattern[index] { return false }
        return true
    }

    private func startsWith(_ literal: StaticString, at offset: Int) -> Bool {
        matches(literal.withUTF8Buffer { Array($0) }, at: offset)
    }

    private func isSpace(_ byte: UInt8) -> Bool {
        byte == UInt8(ascii: " ") || byte == UInt8(ascii: "\t") || byte == UInt8(ascii: "\n")
            || byte == UInt8(ascii: "\r")
    }

    /// `-` followed by white space right after `{{`.
    private func hasLeftTrimMarker(at offset: Int) -> Bool {
        byte(at: offset) == UInt8(ascii: "-") && byte(at: offset + 1).map(isSpace) == true
    }

    private func isIdentifierByte(_ byte: UInt8) -> Bool {
        (byte >= UInt8(ascii: "a") && byte <= UInt8(ascii: "z"))
            || (byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z"))
            || (byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")) || byte == UInt8(ascii: "_") || byte >= 0x80
    }

    private func isDigit(_ byte: UInt8?) -> Bool {
        guard let byte else { return false }
        return byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9")
    }

    // MARK: - Actions

    /// Lexes one action starting at its `{{`; returns the offset just past its `}}`.
    private mutating func lexAction(
        at start: Int, trimsBefore: Bool, trimsAfter: inout Bool
    ) throws(GoTemplateError)
        -> Int
    {
        var offset = start + 2
        if trimsBefore { offset += 2 }
        if startsWith("/*", at: offset) {
            return try lexComment(at: offset, actionStart: start, trimsAfter: &trimsAfter)
        }
        append(.leftDelimiter, at: start, followsSpace: false, text: "{{")
        var sawSpace = trimsBefore
        while true {
            while let current = byte(at: offset), isSpace(current) {
                offset += 1
                sawSpace = true
            }
            guard let current = byte(at: offset) else {
                throw failure("unclosed action: add }} to close the {{ opened here", at: start)
            }
            if sawSpace, current == UInt8(ascii: "-"), startsWith("}}", at: offset + 1) {
                append(.rightDelimiter, at: offset, followsSpace: true, text: "-}}")
                trimsAfter = true
                return offset + 3
            }
            if startsWith("}}", at: offset) {
                append(.rightDelimiter, at: offset, followsSpace: sawSpace, text: "}}")
                trimsAfter = false
                return offset + 2
            }
            offset = try lexWord(at: offset, followsSpace: sawSpace)
            sawSpace = false
        }
    }

    private mutating func lexComment(
        at commentStart: Int, actionStart: Int, trimsAfter: inout Bool
    )
        throws(GoTemplateError) -> Int
    {
        guard let commentEnd = find("*/", from: commentStart + 2) else {
            throw failure("unclosed comment: end it with */}}", at: actionStart)
        }
        var offset = commentEnd + 2
        if let current = byte(at: offset), isSpace(current), byte(at: offset + 1) == UInt8(ascii: "-"),
            startsWith("}}", at: offset + 2)
        {
            trimsAfter = true
            return offset + 4
        }
        if startsWith("}}", at: offset) {
            trimsAfter = false
            offset += 2
            return offset
        }
        throw failure("comment ends before closing delimiter: put }} right after */", at: actionStart)
    }

    /// Lexes one token inside an action; returns the offset after it.
    private mutating func lexWord(at start: Int, followsSpace: Bool) throws(GoTemplateError) -> Int {
        let current = bytes[start]
        func single(_ kind: Token.Kind, _ text: String) -> Int {
            append(kind, at: start, followsSpace: followsSpace, text: text)
            return start + 1
        }
        switch current {
        case UInt8(ascii: "|"): return single(.pipe, "|")
        case UInt8(ascii: "("): return single(.leftParenthesis, "(")
        case UInt8(ascii: ")"): return single(.rightParenthesis, ")")
        case UInt8(ascii: ","): return single(.comma, ",")
        case UInt8(ascii: "="): return single(.assign, "=")
        case UInt8(ascii: ":"):
            guard byte(at: start + 1) == UInt8(ascii: "=") else {
                throw failure("expected :=  after ':'", at: start)
            }
            append(.declare, at: start, followsSpace: followsSpace, text: ":=")
            return start + 2
        case UInt8(ascii: "\""): return try lexQuoted(at: start, followsSpace: followsSpace)
        case UInt8(ascii: "`"): return try lexRawString(at: start, followsSpace: followsSpace)
        case UInt8(ascii: "'"): return try lexCharacter(at: start, followsSpace: followsSpace)
        case UInt8(ascii: "$"):
            var end = start + 1
            while let next = byte(at: end), isIdentifierByte(next) { end += 1 }
            let name = source(start..<end)
            append(.variable(name), at: start, followsSpace: followsSpace, text: name)
            return end
        case UInt8(ascii: "."):
            if isDigit(byte(at: start + 1)) { return try lexNumber(at: start, followsSpace: followsSpace) }
            var end = start + 1
            while let next = byte(at: end), isIdentifierByte(next) { end += 1 }
            if end == start + 1 { return single(.dot, ".") }
            let name = source(start + 1..<end)
            append(.field(name), at: start, followsSpace: followsSpace, text: "." + name)
            return end
        case UInt8(ascii: "+"), UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"):
            return try lexNumber(at: start, followsSpace: followsSpace)
        default:
            guard isIdentifierByte(current) else {
                let character = source(start..<min(start + 1, bytes.count))
                throw failure("unrecognized character \(quoteForMessage(character)) in action", at: start)
            }
            var end = start
            while let next = byte(at: end), isIdentifierByte(next) { end += 1 }
            let word = source(start..<end)
            let kind: Token.Kind
            switch word {
            case "true": kind = .boolean(true)
            case "false": kind = .boolean(false)
            case "nil": kind = .nilLiteral
            default: kind = .identifier(word)
            }
            append(kind, at: start, followsSpace: followsSpace, text: word)
            return end
        }
    }

    private mutating func lexNumber(at start: Int, followsSpace: Bool) throws(GoTemplateError) -> Int {
        var end = start
        if byte(at: end) == UInt8(ascii: "+") || byte(at: end) == UInt8(ascii: "-") { end += 1 }
        var digits = "0123456789_"
        if byte(at: end) == UInt8(ascii: "0"), let prefix = byte(at: end + 1) {
            switch prefix | 0x20 {
            case UInt8(ascii: "x"):
                digits = "0123456789abcdefABCDEF_"
                end += 2
            case UInt8(ascii: "o"):
                digits = "01234567_"
                end += 2
            case UInt8(ascii: "b"):
                digits = "01_"
                end += 2
            default: break
            }
        }
        let allowed = Set(digits.utf8)
        func run() { while let next = byte(at: end), allowed.contains(next) { end += 1 } }
        run()
        if byte(at: end) == UInt8(ascii: ".") {
            end += 1
            run()
        }
        let exponentMarkers: Set<UInt8> =
            digits.count == 11
            ? [UInt8(ascii: "e"), UInt8(ascii: "E")] : digits.count == 23 ? [UInt8(ascii: "p"), UInt8(ascii: "P")] : []
        if let marker = byte(at: end), exponentMarkers.contains(marker) {
            end += 1
            if byte(at: end) == UInt8(ascii: "+") || byte(at: end) == UInt8(ascii: "-") { end += 1 }
            while let next = byte(at: end),
                (next >= UInt8(ascii: "0") && next <= UInt8(ascii: "9")) || next == UInt8(ascii: "_")
            {
                end += 1
            }
        }
        if let next = byte(at: end), isIdentifierByte(next) || next == UInt8(ascii: ".") {
            while let extra = byte(at: end), isIdentifierByte(extra) || extra == UInt8(ascii: ".") { end += 1 }
            throw failure("bad number syntax: \(quoteForMessage(source(start..<end)))", at: start)
        }
        let text = source(start..<end)
        append(.number(text), at: start, followsSpace: followsSpace, text: text)
        return end
    }

    private mutating func lexQuoted(at start: Int, followsSpace: Bool) throws(GoTemplateError) -> Int {
        var end = start + 1
        while true {
            guard let current = byte(at: end), current != UInt8(ascii: "\n") else {
                throw failure("unterminated quoted string: close it with \"", at: start)
            }
            if current == UInt8(ascii: "\\") {
                end += 2
                continue
            }
            end += 1
            if current == UInt8(ascii: "\"") { break }
        }
        guard let decoded = EscapeDecoder.decode(Array(bytes[start + 1..<end - 1]), quote: UInt8(ascii: "\"")) else {
            throw failure("invalid escape in quoted string \(source(start..<end))", at: start)
        }
        let value = String(decoding: decoded, as: UTF8.self)
        append(.string(value), at: start, followsSpace: followsSpace, text: source(start..<end))
        return end
    }

    private mutating func lexRawString(at start: Int, followsSpace: Bool) throws(GoTemplateError) -> Int {
        guard let close = find("`", from: start + 1) else {
            throw failure("unterminated raw quoted string: close it with `", at: start)
        }
        let value = String(decoding: bytes[start + 1..<close].filter { $0 != UInt8(ascii: "\r") }, as: UTF8.self)
        append(.string(value), at: start, followsSpace: followsSpace, text: source(start..<close + 1))
        return close + 1
    }

    private mutating func lexCharacter(at start: Int, followsSpace: Bool) throws(GoTemplateError) -> Int {
        var end = start + 1
        while true {
            guard let current = byte(at: end), current != UInt8(ascii: "\n") else {
                throw failure("unterminated character constant: close it with '", at: start)
            }
            if current == UInt8(ascii: "\\") {
                end += 2
                continue
            }
            end += 1
            if current == UInt8(ascii: "'") { break }
        }
        let text = source(start..<end)
        guard let decoded = EscapeDecoder.decode(Array(bytes[start + 1..<end - 1]), quote: UInt8(ascii: "'")),
            let scalar = EscapeDecoder.singleCodePoint(decoded)
        else {
            throw failure("malformed character constant: \(text)", at: start)
        }
        append(.character(scalar), at: start, followsSpace: followsSpace, text: text)
        return end
    }
}

/// Quotes text for an error message the way Go's `%q` would, escaping quotes and controls.
func quoteForMessage(_ text: String) -> String {
    GoFormatter.quote(text, asciiOnly: false)
}
