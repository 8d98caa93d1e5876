/// One token of a condition, with the UTF-8 offset where it starts.
struct Token: Sendable, Equatable {
    enum Kind: Sendable, Equatable {
        case identifier
        case integer(Int)
        case float(Double)
        case string(String)
        /// An operator or keyword operator (`+`, `==`, `and`, `not in`, `?.`, `#`, `,`, `:`).
        case operator_
        /// One of `( ) [ ] { }`.
        case bracket
        case end
    }

    var kind: Kind
    /// The source text of an identifier, operator or bracket.
    var text: String
    var offset: SourceOffset

    func isOperator(_ value: String) -> Bool { kind == .operator_ && text == value }
    func isBracket(_ value: String) -> Bool { kind == .bracket && text == value }

    /// How the token reads in an error message.
    var display: String {
        switch kind {
        case .end: return "end of expression"
        case .string(let value): return "string \"\(value)\""
        case .integer, .float: return "number \(text)"
        case .identifier: return "'\(text)'"
        case .operator_, .bracket: return "'\(text)'"
        }
    }
}

/// Splits a condition into tokens the way expr-lang's lexer does: keyword operators (`and`, `in`,
/// `matches`, ...), `not in`-style compound operators, numbers with `_` separators and hex, octal
/// and binary prefixes, quoted strings with Go escapes, backquoted raw strings, and comments.
struct Lexer {
    private let bytes: [UInt8]
    private let source: String
    private var position = 0

    init(_ source: String) {
        self.source = source
        self.bytes = Array(source.utf8)
    }

    static func tokenize(_ source: String) throws(ExpressionError) -> [Token] {
        var lexer = Lexer(source)
        var tokens: [Token] = []
        while true {
            let token = try lexer.next()
            tokens.append(token)
            if token.kind == .end { return tokens }
        }
    }

    private func error(_ offset: Int, _ message: String) -> ExpressionError {
        ExpressionError(source: source, offset: offset, message: message)
    }

    private func peek(_ ahead: Int = 0) -> UInt8? {
        position + ahead < bytes.count ? bytes[position + ahead] : nil
    }

    private static func isIdentifierStart(_ byte: UInt8) -> Bool {
        (byte >= 0x61 && byte <= 0x7A) || (byte >= 0x41 && byte <= 0x5A) || byte == 0x5F || byte == 0x24
            || byte >= 0x80
    }

    private static func isDigit(_ byte: UInt8) -> Bool { byte >= 0x30 && byte <= 0x39 }

    private static func isIdentifierPart(_ byte: UInt8) -> Bool { isIdentifierStart(byte) || isDigit(byte) }

    private func text(_ start: Int, _ end: Int) -> String {
        String(decoding: bytes[start..<end], as: UTF8.self)
    }

    private mutating func skipSpaceAndComments() throws(ExpressionError) {
        while let byte = peek() {
            if byte == 0x20 || byte == 0x09 || byte == 0x0A || byte == 0x0D {
                position += 1
            } else if byte == 0x2F, peek(1) == 0x2F {
                while let next = peek(), next != 0x0A { position += 1 }
            } else if byte == 0x2F, peek(1) == 0x2A {
                let start = position
                position += 2
                while true {
                    guard let next = peek() else { throw error(start, "unclosed comment: expected '*/'") }
                    if next == 0x2A, peek(1) == 0x2F {
                        position += 2
                        break
                    }
                    position += 1
                }
            } else {
                return
            }
        }
    }

    mutating func next() throws(ExpressionError) -> Token {
        try skipSpaceAndComments()
        let start = position
        guard let byte = peek() else { return Token(kind: .end, text: "", offset: start) }

        if Lexer.isDigit(byte) || (byte == 0x2E && peek(1).map(Lexer.isDigit) == true) {
            return try number()
        }
        if Lexer.isIdentifierStart(byte) {
            return word()
        }
        switch byte {
        case 0x22, 0x27:  // " '
            return try quotedString(quote: byte)
        case 0x60:  // `
            position += 1
            while let next = peek(), next != 0x60 { position += 1 }
            guard peek() == 0x60 else { throw error(start, "literal not terminated: expected a closing '`'") }
            position += 1
            return Token(kind: .string(text(start + 1, position - 1)), text: text(start, position), offset: start)
        case 0x28, 0x29, 0x5B, 0x5D, 0x7B, 0x7D:
            position += 1
            return Token(kind: .bracket, text: text(start, position), offset: start)
        case 0x23:  // # and #name
            position += 1
            if peek() == 0x23 { position += 1 }
            while let next = peek(), Lexer.isIdentifierPart(next) { position += 1 }
            return Token(kind: .operator_, text: text(start, position), offset: start)
        default:
            break
        }
        let two = peek(1) != nil ? text(start, start + 2) : ""
        let three = position + 2 < bytes.count ? text(start, start + 3) : ""
        if three == "..." {
            throw error(start, "unexpected token '...': a range is written 'a..b'")
        }
        for candidate in ["==", "!=", "<=", ">=", "&&", "||", "**", "??", "?.", "..", "::"] where two == candidate {
            position += 2
            return Token(kind: .operator_, text: candidate, offset: start)
        }
        if "+-*/%^<>!=,:;.?|".utf8.contains(byte) {
            position += 1
            return Token(kind: .operator_, text: text(start, position), offset: start)
        }
        let scalar = String(decoding: bytes[start..<min(bytes.count, start + 4)], as: UTF8.self).unicodeScalars.first
        throw error(start, "unrecognized character \(scalar.map { "'\($0)'" } ?? "")")
    }

    private mutating func word() -> Token {
        let start = position
        while let next = peek(), Lexer.isIdentifierPart(next) { position += 1 }
        let value = text(start, position)
        switch value {
        case "not":
            // `not in`, `not matches`, ... are one operator; plain `not` is the unary operator.
            let afterNot = position
            var cursor = position
            while cursor < bytes.count, bytes[cursor] == 0x20 || bytes[cursor] == 0x09 || bytes[cursor] == 0x0A {
                cursor += 1
            }
            let wordStart = cursor
            while cursor < bytes.count, Lexer.isIdentifierPart(bytes[cursor]) { cursor += 1 }
            let following = text(wordStart, cursor)
            if ["in", "matches", "contains", "startsWith", "endsWith"].contains(following) {
                position = cursor
                return Token(kind: .operator_, text: "not " + following, offset: start)
            }
            position = afterNot
            return Token(kind: .operator_, text: "not", offset: start)
        case "in", "or", "and", "matches", "contains", "startsWith", "endsWith", "let":
            return Token(kind: .operator_, text: value, offset: start)
        default:
            return Token(kind: .identifier, text: value, offset: start)
        }
    }

    private mutating func number() throws(ExpressionError) -> Token {
        let start = position
        var digits = "0123456789_"
        var isFloat = false
        var radix = 10
        if peek() == 0x30, let prefix = peek(1) {
            switch prefix {
            case 0x78, 0x58:
                digits = "0123456789abcdefABCDEF_"
                radix = 16
            case 0x6F, 0x4F:
                digits = "01234567_"
                radix = 8
            case 0x62, 0x42:
                digits = "01_"
                radix = 2
            default: break
            }
            if radix != 10 { position += 2 }
        }
        let digitBytes = Set(digits.utf8)
        while let next = peek(), digitBytes.contains(next) { position += 1 }
        if radix == 10, peek() == 0x2E, peek(1) != 0x2E {
            isFloat = true
            position += 1
            while let next = peek(), digitBytes.contains(next) { position += 1 }
        }
        if radix == 10, let next = peek(), next == 0x65 || next == 0x45 {
            isFloat = true
            position += 1
            if let sign = peek(), sign == 0x2B || sign == 0x2D { position += 1 }
            while let next = peek(), Lexer.isDigit(next) || next == 0x5F { position += 1 }
        }
        if let next = peek(), Lexer.isIdentifierPart(next) {
            position += 1
            throw error(start, "bad number syntax: '\(text(start, position))'")
        }
        let literal = text(start, position)
        let cleaned = literal.replacingUnderscores()
        if isFloat {
            guard let value = Double(cleaned.hasPrefix(".") ? "0" + cleaned : cleaned), value.isFinite else {
                throw error(start, "invalid float literal '\(literal)'")
            }
            return Token(kind: .float(value), text: literal, offset: start)
        }
        let body = radix == 10 ? cleaned : String(cleaned.dropFirst(2))
        guard !body.isEmpty, let value = Int(body, radix: radix) else {
            throw error(start, "invalid integer literal '\(literal)': expected digits within the 64-bit range")
        }
        return Token(kind: .integer(value), text: literal, offset: start)
    }

    private mutating func quotedString(quote: UInt8) throws(ExpressionError) -> Token {
        let start = position
        position += 1
        var scalars = String.UnicodeScalarView()
        var raw: [UInt8] = []
        func flushRaw() {
            scalars.append(contentsOf: String(decoding: raw, as: UTF8.self).unicodeScalars)
            raw.removeAll(keepingCapacity: true)
        }
        while true {
            guard let byte = peek() else {
                throw error(start, "literal not terminated: expected a closing \(quote == 0x22 ? "'\"'" : "\"'\"")")
            }
            if byte == 0x0A { throw error(start, "literal not terminated: a string cannot span lines") }
            position += 1
            if byte == quote { break }
            guard byte == 0x5C else {
                raw.append(byte)
                continue
            }
            flushRaw()
            let escapeStart = position - 1
            guard let escaped = peek() else { throw error(escapeStart, "literal not terminated") }
            position += 1
            switch escaped {
            case 0x6E: scalars.append("\n")
            case 0x74: scalars.append("\t")
            case 0x72: scalars.append("\r")
            case 0x61: scalars.append("\u{07}")
            case 0x62: scalars.append("\u{08}")
            case 0x66: scalars.append("\u{0C}")
            case 0x76: scalars.append("\u{0B}")
            case 0x5C: scalars.append("\\")
            case 0x27: scalars.append("'")
            case 0x22: scalars.append("\"")
            case 0x78, 0x75, 0x55:
                let count = escaped == 0x78 ? 2 : (escaped == 0x75 ? 4 : 8)
                guard position + count <= bytes.count,
                    let code = UInt32(text(position, position + count), radix: 16),
                    let scalar = Unicode.Scalar(code)
                else { throw error(escapeStart, "invalid escape sequence: expected \(count) hex digits") }
                position += count
                scalars.append(scalar)
            case 0x30...0x37:
                guard position + 2 <= bytes.count, let code = UInt32(text(position - 1, position + 2), radix: 8),
                    code <= 255, let scalar = Unicode.Scalar(code)
                else { throw error(escapeStart, "invalid escape sequence: expected 3 octal digits") }
                position += 2
                scalars.append(scalar)
            default:
                throw error(escapeStart, "invalid escape sequence '\\\(Character(Unicode.Scalar(escaped)))'")
            }
        }
        flushRaw()
        return Token(kind: .string(String(scalars)), text: text(start, position), offset: start)
    }
}

extension String {
    fileprivate func replacingUnderscores() -> String {
        contains("_") ? String(filter { $0 != "_" }) : self
    }
}
