/// Go's `html`, `js` and `urlquery` escapers.
enum Escaping {
    /// The arguments as one string: a lone string as is, otherwise `fmt.Sprint` with nil shown
    /// as `<no value>` (Go's `evalArgs`).
    static func joined(_ arguments: [GoValue?]) -> String {
        if arguments.count == 1, case .string(let text)? = arguments[0] { return text }
        let printable = arguments.map { value -> GoValue in
            guard let value, value != .null else { return .string("<no value>") }
            return value
        }
        return GoFormatter.sprint(printable)
    }

    /// `template.HTMLEscapeString`.
    static func html(_ text: String) -> String {
        var output = ""
        output.reserveCapacity(text.utf8.count)
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\"": output += "&#34;"
            case "'": output += "&#39;"
            case "&": output += "&amp;"
            case "<": output += "&lt;"
            case ">": output += "&gt;"
            case "\u{0}": output += "\u{FFFD}"
            default: output.unicodeScalars.append(scalar)
            }
        }
        return output
    }

    /// `template.JSEscapeString`.
    static func javaScript(_ text: String) -> String {
        var output = ""
        for scalar in text.unicodeScalars {
            switch scalar {
            case "\\": output += "\\\\"
            case "'": output += "\\'"
            case "\"": output += "\\\""
            case "<": output += "\\u003C"
            case ">": output += "\\u003E"
            case "&": output += "\\u0026"
            case "=": output += "\\u003D"
            default:
                if scalar.value < 0x20 || (!scalar.isASCII && !GoFormatter.isPrintable(scalar)) {
                    output += "\\u" + GoFormatter.hex(scalar.value, width: 4).uppercased()
                } else {
                    output.unicodeScalars.append(scalar)
                }
            }
        }
        return output
    }

    /// `url.QueryEscape`: unreserved bytes kept, space as `+`, the rest `%XX`.
    static func queryComponent(_ text: String) -> String {
        var output = ""
        for byte in text.utf8 {
            switch byte {
            case UInt8(ascii: "a")...UInt8(ascii: "z"), UInt8(ascii: "A")...UInt8(ascii: "Z"),
                UInt8(ascii: "0")...UInt8(ascii: "9"), UInt8(ascii: "-"), UInt8(ascii: "_"), UInt8(ascii: "."),
                UInt8(ascii: "~"):
                output.unicodeScalars.append(Unicode.Scalar(byte))
            case UInt8(ascii: " "):
                output += "+"
            default:
                output += "%" + GoFormatter.hex(UInt32(byte), width: 2).uppercased()
            }
        }
        return output
    }
}
