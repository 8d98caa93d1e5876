/// Go's `encoding/json` output for template values: map keys sorted, `<`, `>` and `&` escaped
/// as `\u003c` style unless raw, floats in Go's JSON form (`1e+21`, `0.000001`, `1e-7`).
enum GoJSON {
    /// The JSON text, or nil for values JSON cannot hold (NaN and infinities), as `json.Marshal` fails.
    static func encode(_ value: GoValue, escapeHTML: Bool, indent: String?) -> String? {
        var output = ""
        guard append(value, to: &output, escapeHTML: escapeHTML, indent: indent, level: 0) else { return nil }
        return output
    }

    private static func append(
        _ value: GoValue, to output: inout String, escapeHTML: Bool, indent: String?, level: Int
    )
        -> Bool
    {
        switch value {
        case .null: output += "null"
        case .bool(let flag): output += flag ? "true" : "false"
        case .int(let integer): output += String(integer)
        case .double(let double):
            guard let text = number(double) else { return false }
            output += text
        case .string(let text): output += quote(text, escapeHTML: escapeHTML)
        case .array(let elements):
            if elements.isEmpty {
                output += "[]"
                return true
            }
            output += "["
            for (index, element) in elements.enumerated() {
                if index > 0 { output += "," }
                newline(&output, indent: indent, level: level + 1)
                guard append(element, to: &output, escapeHTML: escapeHTML, indent: indent, level: level + 1) else {
                    return false
                }
            }
            newline(&output, indent: indent, level: level)
            output += "]"
        case .object(let members):
            if members.isEmpty {
                output += "{}"
                return true
            }
            output += "{"
            for (index, key) in GoFormatter.sortedKeys(members).enumerated() {
                if index > 0 { output += "," }
                newline(&output, indent: indent, level: level + 1)
                output += quote(key, escapeHTML: escapeHTML)
                output += indent == nil ? ":" : ": "
                guard
                    append(members[key] ?? .null, to: &output, escapeHTML: escapeHTML, indent: indent, level: level + 1)
                else { return false }
            }
            newline(&output, indent: indent, level: level)
            output += "}"
        }
        return true
    }

    private static func newline(_ output: inout String, indent: String?, level: Int) {
        guard let indent else { return }
        output += "\n" + String(repeating: indent, count: level)
    }

    /// Go's float encoding: fixed notation unless below 1e-6 or at least 1e21.
    static func number(_ value: Double) -> String? {
        guard value.isFinite else { return nil }
        let magnitude = Swift.abs(value)
        let (digits, decimalPoint) = GoFormatter.decimalDigits(magnitude)
        var body: String
        if magnitude != 0, magnitude < 1e-6 || magnitude >= 1e21 {
            body = String(Character(Unicode.Scalar(digits[0])))
            if digits.count > 1 {
                body += "." + String(decoding: digits[1...], as: UTF8.self)
            }
            let exponent = decimalPoint - 1
            body += exponent < 0 ? "e-" : "e+"
            body += String(Swift.abs(exponent))
        } else if magnitude == 0 {
            body = "0"
        } else if decimalPoint <= 0 {
            body = "0." + String(repeating: "0", count: -decimalPoint) + String(decoding: digits, as: UTF8.self)
        } else if decimalPoint >= digits.count {
            body = String(decoding: digits, as: UTF8.self) + String(repeating: "0", count: decimalPoint - digits.count)
        } else {
            body =
                String(decoding: digits[..<decimalPoint], as: UTF8.self) + "."
                + String(decoding: digits[decimalPoint...], as: UTF8.self)
        }
        return value.sign == .minus && magnitude != 0 ? "-" + body : body
    }

    /// A JSON string literal as Go writes it.
    static func quote(_ text: String, escapeHTML: Bool) -> String {
        var output = "\""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "\\\""
            case "\\": output += "\\\\"
            case "\n": output += "\\n"
            case "\r": output += "\\r"
            case "\t": output += "\\t"
            case "\u{08}": output += "\\b"
            case "\u{0C}": output += "\\f"
            case "<", ">", "&":
                if escapeHTML {
                    output += "\\u00" + GoFormatter.hex(scalar.value, width: 2)
                } else {
                    output.unicodeScalars.append(scalar)
                }
            case "\u{2028}", "\u{2029}":
                output += "\\u" + GoFormatter.hex(scalar.value, width: 4)
            default:
                if scalar.value < 0x20 {
                    output += "\\u00" + GoFormatter.hex(scalar.value, width: 2)
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        return output + "\""
    }
}
