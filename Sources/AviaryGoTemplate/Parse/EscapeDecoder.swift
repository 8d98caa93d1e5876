/// Decodes Go's backslash escapes in string and character literals.
enum EscapeDecoder {
    /// The bytes a literal's body stands for, or nil when an escape is malformed.
    ///
    /// `quote` is the delimiter: `\"` is valid only in strings and `\'` only in characters.
    static func decode(_ body: [UInt8], quote: UInt8) -> [UInt8]? {
        var output: [UInt8] = []
        output.reserveCapacity(body.count)
        var index = 0
        while index < body.count {
            let byte = body[index]
            guard byte == UInt8(ascii: "\\") else {
                output.append(byte)
                index += 1
                continue
            }
            guard index + 1 < body.count else { return nil }
            let escape = body[index + 1]
            index += 2
            switch escape {
            case UInt8(ascii: "a"): output.append(0x07)
            case UInt8(ascii: "b"): output.append(0x08)
            case UInt8(ascii: "f"): output.append(0x0C)
            case UInt8(ascii: "n"): output.append(0x0A)
            case UInt8(ascii: "r"): output.append(0x0D)
            case UInt8(ascii: "t"): output.append(0x09)
            case UInt8(ascii: "v"): output.append(0x0B)
            case UInt8(ascii: "\\"): output.append(escape)
            case quote: output.append(escape)
            case UInt8(ascii: "x"):
                guard let value = hexValue(body, at: index, digits: 2) else { return nil }
                output.append(UInt8(value))
                index += 2
            case UInt8(ascii: "u"), UInt8(ascii: "U"):
                let digits = escape == UInt8(ascii: "u") ? 4 : 8
                guard let value = hexValue(body, at: index, digits: digits), let scalar = Unicode.Scalar(value)
                else { return nil }
                output.append(contentsOf: Array(String(Character(scalar)).utf8))
                index += digits
            case UInt8(ascii: "0")...UInt8(ascii: "7"):
                guard index + 1 < body.count else { return nil }
                var value = UInt32(escape - UInt8(ascii: "0"))
                for offset in 0..<2 {
                    let digit = body[index + offset]
                    guard digit >= UInt8(ascii: "0"), digit <= UInt8(ascii: "7") else { return nil }
                    value = value * 8 + UInt32(digit - UInt8(ascii: "0"))
                }
                guard value <= 255 else { return nil }
                output.append(UInt8(value))
                index += 2
            default:
                return nil
            }
        }
        return output
    }

    /// The code point of a character literal's decoded bytes, or nil unless it is exactly one.
    static func singleCodePoint(_ decoded: [UInt8]) -> Int64? {
        if decoded.count == 1 { return Int64(decoded[0]) }
        let scalars = String(decoding: decoded, as: UTF8.self).unicodeScalars
        guard scalars.count == 1, let scalar = scalars.first, scalar != "\u{FFFD}" || decoded == [0xEF, 0xBF, 0xBD]
        else { return nil }
        return Int64(scalar.value)
    }

    private static func hexValue(_ body: [UInt8], at start: Int, digits: Int) -> UInt32? {
        guard start + digits <= body.count else { return nil }
        var value: UInt32 = 0
        for byte in body[start..<start + digits] {
            guard let digit = hexDigit(byte) else { return nil }
            value = value &* 16 &+ UInt32(digit)
        }
        return value
    }

    static func hexDigit(_ byte: UInt8) -> UInt8? {
        switch byte {
        case UInt8(ascii: "0")...UInt8(ascii: "9"): return byte - UInt8(ascii: "0")
        case UInt8(ascii: "a")...UInt8(ascii: "f"): return byte - UInt8(ascii: "a") + 10
        case UInt8(ascii: "A")...UInt8(ascii: "F"): return byte - UInt8(ascii: "A") + 10
        default: return nil
        }
    }
}
