import Foundation

/// Go's `fmt` rendering of values: what `{{.x}}`, `print` and `printf "%v"` produce.
///
/// Worked examples: `2.5` prints `2.5`, `3.0` prints `3`, `1234567.0` prints `1.234567e+06`
/// (Go's `%v` switches to exponent form from 10^6 for float64), `[1 "a"]` prints `[1 a]`,
/// `{"b":1,"a":null}` prints `map[a:<nil> b:1]`.
enum GoFormatter {
    /// The Go type name of a value, as `printf` error forms (`%!d(string=x)`) show it.
    static func typeName(_ value: GoValue) -> String {
        switch value {
        case .null: return "interface {}"
        case .bool: return "bool"
        case .int: return "int64"
        case .double: return "float64"
        case .string: return "string"
        case .array: return "[]interface {}"
        case .object: return "map[string]interface {}"
        }
    }

    /// `fmt.Sprint` of one value (`%v`).
    static func string(_ value: GoValue) -> String {
        var output = ""
        append(value, to: &output)
        return output
    }

    private static func append(_ value: GoValue, to output: inout String) {
        switch value {
        case .null: output += "<nil>"
        case .bool(let flag): output += flag ? "true" : "false"
        case .int(let integer): output += String(integer)
        case .double(let double): output += formatShortest(double)
        case .string(let text): output += text
        case .array(let elements):
            output += "["
            for (position, element) in elements.enumerated() {
                if position > 0 { output += " " }
                append(element, to: &output)
            }
            output += "]"
        case .object(let members):
            output += "map["
            for (position, key) in sortedKeys(members).enumerated() {
                if position > 0 { output += " " }
                output += key
                output += ":"
                append(members[key] ?? .null, to: &output)
            }
            output += "]"
        }
    }

    /// `fmt.Sprint(a, b, ...)`: a space goes between operands when neither is a string.
    static func sprint(_ values: [GoValue]) -> String {
        var output = ""
        for (position, value) in values.enumerated() {
            if position > 0, !value.isString, !values[position - 1].isString { output += " " }
            append(value, to: &output)
        }
        return output
    }

    /// `fmt.Sprintln(a, b, ...)`: spaces between all operands and a trailing newline.
    static func sprintln(_ values: [GoValue]) -> String {
        values.map(string).joined(separator: " ") + "\n"
    }

    /// Map keys in Go's order: byte-wise ascending.
    static func sortedKeys(_ members: [String: GoValue]) -> [String] {
        members.keys.sorted { lessByBytes($0, $1) }
    }

    /// Go's string ordering: compares UTF-8 bytes, not Unicode canonical order as Swift does.
    static func lessByBytes(_ lhs: String, _ rhs: String) -> Bool {
        lhs.utf8.lexicographicallyPrecedes(rhs.utf8)
    }

    // MARK: - Floats

    /// The decimal digits of a finite, non-negative double and where the point goes: `digits`
    /// `"125"` with `decimalPoint` 1 is 1.25. `significant` nil means the shortest digits that
    /// round-trip; otherwise the value is rounded to that many digits (trailing zeros dropped).
    static func decimalDigits(_ value: Double, significant: Int? = nil) -> (digits: [UInt8], decimalPoint: Int) {
        let text: String
        if let significant {
            text = String(format: "%.\(max(significant - 1, 0))e", value)
        } else {
            text = value.description
        }
        var mantissa = Substring(text)
        var exponent = 0
        if let marker = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
            mantissa = text[..<marker]
            exponent = Int(text[text.index(after: marker)...]) ?? 0
        }
        var digits: [UInt8] = []
        var pointOffset: Int?
        for character in mantissa.utf8 {
            if character == UInt8(ascii: ".") {
                pointOffset = digits.count
            } else if character >= UInt8(ascii: "0"), character <= UInt8(ascii: "9") {
                digits.append(character)
            }
        }
        var decimalPoint = (pointOffset ?? digits.count) + exponent
        while let first = digits.first, first == UInt8(ascii: "0"), digits.count > 1 {
            digits.removeFirst()
            decimalPoint -= 1
        }
        while let last = digits.last, last == UInt8(ascii: "0"), digits.count > 1 {
            digits.removeLast()
        }
        if digits == [UInt8(ascii: "0")] { decimalPoint = 1 }
        return (digits, decimalPoint)
    }

    /// Go's `%v` for float64, `strconv.FormatFloat(f, 'g', -1, 64)`: the shortest digits that
    /// round-trip, in exponent form when the exponent is below -4 or at least 6.
    static func formatShortest(_ value: Double) -> String {
        formatG(value, precision: nil, uppercase: false)
    }

    /// Non-finite values as Go prints them.
    static func nonFinite(_ value: Double) -> String? {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        return nil
    }

    /// Go's `%g` / `%G` (and `%v`); a nil precision means the shortest round-trip digits.
    static func formatG(_ value: Double, precision: Int?, uppercase: Bool) -> String {
        if let special = nonFinite(value) { return special }
        let magnitude = Swift.abs(value)
        let significant = precision.map { Swift.max($0, 1) }
        var (digits, decimalPoint) = decimalDigits(magnitude, significant: significant)
        if magnitude == 0 { (digits, decimalPoint) = ([UInt8(ascii: "0")], 1) }
        let count = digits.count
        var shown = significant ?? count
        var exponentThreshold = shown
        if significant != nil, exponentThreshold > count, count >= decimalPoint { exponentThreshold = count }
        if significant == nil { exponentThreshold = 6 }
        let exponent = decimalPoint - 1
        let body: String
        if exponent < -4 || exponent >= exponentThreshold {
            shown = Swift.min(shown, count)
            body = formatExponent(
                digits: digits, decimalPoint: decimalPoint, fractionDigits: shown - 1, uppercase: uppercase)
        } else {
            if shown > decimalPoint { shown = count }
            body = formatFixed(
                digits: digits, decimalPoint: decimalPoint, fractionDigits: Swift.max(shown - decimalPoint, 0))
        }
        return value.sign == .minus ? "-" + body : body
    }

    private static func digit(_ digits: [UInt8], _ index: Int) -> Character {
        index >= 0 && index < digits.count ? Character(Unicode.Scalar(digits[index])) : "0"
    }

    private static func formatExponent(
        digits: [UInt8], decimalPoint: Int, fractionDigits: Int, uppercase: Bool
    ) -> String {
        var output = String(digit(digits, 0))
        if fractionDigits > 0 {
            output += "."
            for index in 1...fractionDigits { output.append(digit(digits, index)) }
        }
        let exponent = digits == [UInt8(ascii: "0")] ? 0 : decimalPoint - 1
        output += uppercase ? "E" : "e"
        output += exponent < 0 ? "-" : "+"
        let magnitude = Swift.abs(exponent)
        output += magnitude < 10 ? "0\(magnitude)" : String(magnitude)
        return output
    }

    private static func formatFixed(digits: [UInt8], decimalPoint: Int, fractionDigits: Int) -> String {
        var output = ""
        if decimalPoint <= 0 {
            output = "0"
        } else {
            for index in 0..<decimalPoint { output.append(digit(digits, index)) }
        }
        if fractionDigits > 0 {
            output += "."
            for index in 0..<fractionDigits { output.append(digit(digits, decimalPoint + index)) }
        }
        return output
    }

    // MARK: - Quoting

    /// Go's `strconv.Quote` (or `QuoteToASCII` when `asciiOnly`).
    static func quote(_ text: String, asciiOnly: Bool) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            appendEscaped(scalar, quote: "\"", asciiOnly: asciiOnly, to: &output)
        }
        output += "\""
        return output
    }

    /// Go's `strconv.QuoteRune`: `'a'`, `'\n'`, `'☺'`.
    static func quoteRune(_ codePoint: Int64, asciiOnly: Bool) -> String {
        let scalar = Unicode.Scalar(UInt32(clamping: Swift.max(codePoint, 0))) ?? "\u{FFFD}"
        let valid = codePoint >= 0 && codePoint <= 0x10FFFF && Unicode.Scalar(UInt32(codePoint)) != nil
        var output = "'"
        appendEscaped(valid ? scalar : "\u{FFFD}", quote: "'", asciiOnly: asciiOnly, to: &output)
        output += "'"
        return output
    }

    private static func appendEscaped(
        _ scalar: Unicode.Scalar, quote: Unicode.Scalar, asciiOnly: Bool, to output: inout String
    ) {
        switch scalar {
        case quote, "\\":
            output += "\\"
            output.unicodeScalars.append(scalar)
        case "\u{07}": output += "\\a"
        case "\u{08}": output += "\\b"
        case "\u{0C}": output += "\\f"
        case "\n": output += "\\n"
        case "\r": output += "\\r"
        case "\t": output += "\\t"
        case "\u{0B}": output += "\\v"
        default:
            if isPrintable(scalar), !asciiOnly || scalar.isASCII {
                output.unicodeScalars.append(scalar)
            } else if scalar.value < 0x80 {
                output += "\\x" + hex(scalar.value, width: 2)
            } else if scalar.value <= 0xFFFF {
                output += "\\u" + hex(scalar.value, width: 4)
            } else {
                output += "\\U" + hex(scalar.value, width: 8)
            }
        }
    }

    /// Go's `unicode.IsPrint`: letters, marks, numbers, punctuation, symbols and the ASCII space.
    static func isPrintable(_ scalar: Unicode.Scalar) -> Bool {
        if scalar == " " { return true }
        switch scalar.properties.generalCategory {
        case .uppercaseLetter, .lowercaseLetter, .titlecaseLetter, .modifierLetter, .otherLetter,
            .nonspacingMark, .spacingMark, .enclosingMark,
            .decimalNumber, .letterNumber, .otherNumber,
            .connectorPunctuation, .dashPunctuation, .openPunctuation, .closePunctuation,
            .initialPunctuation, .finalPunctuation, .otherPunctuation,
            .mathSymbol, .currencySymbol, .modifierSymbol, .otherSymbol:
            return true
        default:
            return false
        }
    }

    static func hex(_ value: UInt32, width: Int) -> String {
        let digits = String(value, radix: 16)
        return String(repeating: "0", count: Swift.max(width - digits.count, 0)) + digits
    }
}

extension GoValue {
    var isString: Bool {
        if case .string = self { return true }
        return false
    }
}
