/// Reads JSON text straight into a ``JSONValue``, one pass over the bytes.
///
/// Every list, watch event and object the API server sends goes through here. Decoding the same
/// text through `JSONDecoder` and `JSONValue`'s `Decodable` conformance costs about ten times as
/// much (each value is tried as a boolean, an integer, a double, a string and an array before it
/// is taken as an object, and each failed try throws).
enum JSONText {
    /// Why a text is not JSON, and where.
    struct Malformed: Error, CustomStringConvertible {
        /// What was wrong.
        var reason: String
        /// The byte offset it was found at.
        var offset: Int
        var description: String { "invalid JSON at byte \(offset): \(reason)" }
    }

    /// Nesting deeper than this is refused rather than risking the stack (the API server's own
    /// limit for a request body is far lower).
    static let maximumDepth = 512

    /// Parses a whole text: one value, with only white space around it.
    static func parse(_ bytes: some Collection<UInt8>) throws(Malformed) -> JSONValue {
        let copied = ContiguousArray(bytes)
        return try copied.withUnsafeBufferPointer { (buffer) throws(Malformed) -> JSONValue in
            var reader = Reader(bytes: buffer)
            let value = try reader.value(depth: 0)
            reader.skipSpace()
            guard reader.offset == buffer.count else { throw reader.failure("unexpected text after the value") }
            return value
        }
    }

    private struct Reader {
        let bytes: UnsafeBufferPointer<UInt8>
        var offset = 0

        func failure(_ reason: String) -> Malformed { Malformed(reason: reason, offset: offset) }

        mutating func skipSpace() {
            while offset < bytes.count {
                switch bytes[offset] {
                case 0x20, 0x0A, 0x0D, 0x09: offset += 1
                default: return
                }
            }
        }

        mutating func value(depth: Int) throws(Malformed) -> JSONValue {
            skipSpace()
            guard offset < bytes.count else { throw failure("the text ends where a value should be") }
            switch bytes[offset] {
            case UInt8(ascii: "{"): return try object(depth: depth + 1)
            case UInt8(ascii: "["): return try array(depth: depth + 1)
            case UInt8(ascii: "\""): return .string(try string())
            case UInt8(ascii: "t"): return try literal("true", .bool(true))
            case UInt8(ascii: "f"): return try literal("false", .bool(false))
            case UInt8(ascii: "n"): return try literal("null", .null)
            case UInt8(ascii: "-"), UInt8(ascii: "0")...UInt8(ascii: "9"): return try number()
            default: throw failure("unexpected character \(Self.describe(bytes[offset]))")
            }
        }

        private static func describe(_ byte: UInt8) -> String {
            (0x21...0x7E).contains(byte) ? "'\(Character(UnicodeScalar(byte)))'" : "0x\(String(byte, radix: 16))"
        }

        private mutating func literal(_ word: StaticString, _ value: JSONValue) throws(Malformed) -> JSONValue {
            let count = word.utf8CodeUnitCount
            let expected = UnsafeBufferPointer(start: word.utf8Start, count: count)
            guard offset + count <= bytes.count, expected.indices.allSatisfy({ bytes[offset + $0] == expected[$0] })
            else { throw failure("unexpected character \(Self.describe(bytes[offset]))") }
            offset += count
            return value
        }

        private mutating func object(depth: Int) throws(Malformed) -> JSONValue {
            guard depth <= JSONText.maximumDepth else { throw failure("nested deeper than \(JSONText.maximumDepth)") }
            offset += 1
            var members: [String: JSONValue] = [:]
            skipSpace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "}") {
                offset += 1
                return .object(members)
            }
            while true {
                skipSpace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: "\"") else {
                    throw failure("expected a member name in quotes")
                }
                let key = try string()
                skipSpace()
                guard offset < bytes.count, bytes[offset] == UInt8(ascii: ":") else {
                    throw failure("expected ':' after the member name")
                }
                offset += 1
                members[key] = try value(depth: depth)
                skipSpace()
                guard offset < bytes.count else { throw failure("the text ends inside an object") }
                switch bytes[offset] {
                case UInt8(ascii: ","): offset += 1
                case UInt8(ascii: "}"):
                    offset += 1
                    return .object(members)
                default: throw failure("expected ',' or '}' in an object")
                }
            }
        }

        private mutating func array(depth: Int) throws(Malformed) -> JSONValue {
            guard depth <= JSONText.maximumDepth else { throw failure("nested deeper than \(JSONText.maximumDepth)") }
            offset += 1
            var elements: [JSONValue] = []
            skipSpace()
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "]") {
                offset += 1
                return .array(elements)
            }
            while true {
                elements.append(try value(depth: depth))
                skipSpace()
                guard offset < bytes.count else { throw failure("the text ends inside an array") }
                switch bytes[offset] {
                case UInt8(ascii: ","): offset += 1
                case UInt8(ascii: "]"):
                    offset += 1
                    return .array(elements)
                default: throw failure("expected ',' or ']' in an array")
                }
            }
        }

        /// A string starting at the opening quote; the common case (no escapes) is one copy.
        private mutating func string() throws(Malformed) -> String {
            offset += 1
            let start = offset
            while offset < bytes.count {
                let byte = bytes[offset]
                if byte == UInt8(ascii: "\"") {
                    let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
                    offset += 1
                    return text
                }
                if byte == UInt8(ascii: "\\") { return try escapedString(from: start) }
                guard byte >= 0x20 else { throw failure("a control character inside a string must be escaped") }
                offset += 1
            }
            throw failure("the text ends inside a string")
        }

        private mutating func escapedString(from start: Int) throws(Malformed) -> String {
            var utf8 = Array(UnsafeBufferPointer(rebasing: bytes[start..<offset]))
            while offset < bytes.count {
                let byte = bytes[offset]
                switch byte {
                case UInt8(ascii: "\""):
                    offset += 1
                    return String(decoding: utf8, as: UTF8.self)
                case UInt8(ascii: "\\"):
                    offset += 1
                    guard offset < bytes.count else { throw failure("the text ends inside an escape") }
                    let escaped = bytes[offset]
                    offset += 1
                    switch escaped {
                    case UInt8(ascii: "\""), UInt8(ascii: "\\"), UInt8(ascii: "/"): utf8.append(escaped)
                    case UInt8(ascii: "b"): utf8.append(0x08)
                    case UInt8(ascii: "f"): utf8.append(0x0C)
                    case UInt8(ascii: "n"): utf8.append(0x0A)
                    case UInt8(ascii: "r"): utf8.append(0x0D)
                    case UInt8(ascii: "t"): utf8.append(0x09)
                    case UInt8(ascii: "u"): utf8.append(contentsOf: String(try unicodeEscape()).utf8)
                    default: throw failure("unknown escape \\\(Self.describe(escaped))")
                    }
                default:
                    guard byte >= 0x20 else { throw failure("a control character inside a string must be escaped") }
                    utf8.append(byte)
                    offset += 1
                }
            }
            throw failure("the text ends inside a string")
        }

        /// The character of `\uXXXX` (the `\u` read), joining a surrogate pair.
        private mutating func unicodeEscape() throws(Malformed) -> Character {
            let first = try hexQuad()
            if (0xD800..<0xDC00).contains(first) {
                guard offset + 1 < bytes.count, bytes[offset] == UInt8(ascii: "\\"), bytes[offset + 1] == UInt8(ascii: "u")
                else { throw failure("a high surrogate \\u escape must be followed by a low one") }
                offset += 2
                let second = try hexQuad()
                guard (0xDC00..<0xE000).contains(second) else {
                    throw failure("a high surrogate \\u escape must be followed by a low one")
                }
                let scalar = 0x10000 + ((first - 0xD800) << 10) + (second - 0xDC00)
                return Character(UnicodeScalar(scalar)!)
            }
            guard let scalar = UnicodeScalar(first) else { throw failure("a lone low surrogate \\u escape") }
            return Character(scalar)
        }

        private mutating func hexQuad() throws(Malformed) -> UInt32 {
            guard offset + 4 <= bytes.count else { throw failure("the text ends inside a \\u escape") }
            var value: UInt32 = 0
            for _ in 0..<4 {
                let byte = bytes[offset]
                let digit: UInt8
                switch byte {
                case UInt8(ascii: "0")...UInt8(ascii: "9"): digit = byte - UInt8(ascii: "0")
                case UInt8(ascii: "a")...UInt8(ascii: "f"): digit = byte - UInt8(ascii: "a") + 10
                case UInt8(ascii: "A")...UInt8(ascii: "F"): digit = byte - UInt8(ascii: "A") + 10
                default: throw failure("a \\u escape needs four hex digits")
                }
                value = value << 4 | UInt32(digit)
                offset += 1
            }
            return value
        }

        /// A number: an integer when written without fraction or exponent and within 64 bits,
        /// otherwise a double, as ``JSONValue`` keeps them.
        private mutating func number() throws(Malformed) -> JSONValue {
            let start = offset
            if bytes[offset] == UInt8(ascii: "-") { offset += 1 }
            guard offset < bytes.count, Self.isDigit(bytes[offset]) else { throw failure("a number needs a digit") }
            if bytes[offset] == UInt8(ascii: "0") {
                offset += 1
            } else {
                while offset < bytes.count, Self.isDigit(bytes[offset]) { offset += 1 }
            }
            var isInteger = true
            if offset < bytes.count, bytes[offset] == UInt8(ascii: ".") {
                isInteger = false
                offset += 1
                guard offset < bytes.count, Self.isDigit(bytes[offset]) else {
                    throw failure("a fraction needs a digit after '.'")
                }
                while offset < bytes.count, Self.isDigit(bytes[offset]) { offset += 1 }
            }
            if offset < bytes.count, bytes[offset] == UInt8(ascii: "e") || bytes[offset] == UInt8(ascii: "E") {
                isInteger = false
                offset += 1
                if offset < bytes.count, bytes[offset] == UInt8(ascii: "+") || bytes[offset] == UInt8(ascii: "-") {
                    offset += 1
                }
                guard offset < bytes.count, Self.isDigit(bytes[offset]) else {
                    throw failure("an exponent needs a digit")
                }
                while offset < bytes.count, Self.isDigit(bytes[offset]) { offset += 1 }
            }
            let text = String(decoding: UnsafeBufferPointer(rebasing: bytes[start..<offset]), as: UTF8.self)
            if isInteger, let integer = Int64(text) { return .integer(integer) }
            guard let double = Double(text), double.isFinite else {
                throw Malformed(reason: "the number \(text) is out of range", offset: start)
            }
            return .double(double)
        }

        private static func isDigit(_ byte: UInt8) -> Bool { byte >= UInt8(ascii: "0") && byte <= UInt8(ascii: "9") }
    }
}
