import Foundation

/// Go's `fmt.Sprintf` for template values: verbs `%v %s %d %q %f %e %g %x %X %o %b %c %t %T %U %%`,
/// flags `- + # 0 space`, width and precision (also `*`), and Go's error forms for mistakes:
/// `%!d(string=x)` for a verb that does not fit, `%!v(MISSING)` and `%!(EXTRA int64=1)` for
/// arity mismatches, `%!(NOVERB)` for a trailing `%`.
struct Printf {
    /// Go refuses widths and precisions beyond a million; so do we.
    private static let largestWidth = 1_000_000

    private struct Spec {
        var minus = false
        var plus = false
        var sharp = false
        var space = false
        var zero = false
        var width: Int?
        var precision: Int?
    }

    private let format: [UInt8]
    private let arguments: [GoValue]
    private let limit: Int
    private var output = ""
    private var argumentIndex = 0

    private init(format: String, arguments: [GoValue], limit: Int) {
        self.format = Array(format.utf8)
        self.arguments = arguments
        self.limit = limit
    }

    /// Formats like `fmt.Sprintf`, failing once the result grows past `limit` bytes.
    static func format(_ format: String, _ arguments: [GoValue], limit: Int) throws(FunctionFailure) -> String {
        var printer = Printf(format: format, arguments: arguments, limit: limit)
        try printer.run()
        return printer.output
    }

    private mutating func run() throws(FunctionFailure) {
        var index = 0
        var literalStart = 0
        while index < format.count {
            guard format[index] == UInt8(ascii: "%") else {
                index += 1
                continue
            }
            output += String(decoding: format[literalStart..<index], as: UTF8.self)
            index += 1
            index = formatDirective(from: index)
            literalStart = index
            guard output.utf8.count <= limit else {
                throw FunctionFailure("printf output exceeds \(limit) bytes; shorten the format or its arguments")
            }
        }
        output += String(decoding: format[literalStart..<format.count], as: UTF8.self)
        if argumentIndex < arguments.count {
            let extras = arguments[argumentIndex...].map { value -> String in
                if case .null = value { return "<nil>" }
                return GoFormatter.typeName(value) + "=" + GoFormatter.string(value)
            }
            output += "%!(EXTRA " + extras.joined(separator: ", ") + ")"
        }
    }

    /// Handles one directive after its `%`; returns the index after the verb.
    private mutating func formatDirective(from start: Int) -> Int {
        var index = start
        var spec = Spec()
        flags: while index < format.count {
            switch format[index] {
            case UInt8(ascii: "-"):
                spec.minus = true
                spec.zero = false
            case UInt8(ascii: "+"): spec.plus = true
            case UInt8(ascii: "#"): spec.sharp = true
            case UInt8(ascii: " "): spec.space = true
            case UInt8(ascii: "0"): spec.zero = !spec.minus
            default: break flags
            }
            index += 1
        }
        if index < format.count, format[index] == UInt8(ascii: "*") {
            index += 1
            if let width = takeIntegerArgument() {
                if width < 0 {
                    spec.minus = true
                    spec.zero = false
                }
                spec.width = Swift.abs(width)
            } else {
                output += "%!(BADWIDTH)"
            }
        } else {
            (spec.width, index) = parseNumber(from: index)
        }
        if index < format.count, format[index] == UInt8(ascii: ".") {
            index += 1
            if index < format.count, format[index] == UInt8(ascii: "*") {
                index += 1
                if let precision = takeIntegerArgument(), precision >= 0 {
                    spec.precision = precision
                } else {
                    output += "%!(BADPREC)"
                }
            } else {
                let (precision, next) = parseNumber(from: index)
                spec.precision = precision ?? 0
                index = next
            }
        }
        guard index < format.count else {
            output += "%!(NOVERB)"
            return index
        }
        let (verb, length) = decodeScalar(at: index)
        index += length
        if verb == "%" {
            output += "%"
            return index
        }
        guard argumentIndex < arguments.count else {
            output += "%!" + String(verb) + "(MISSING)"
            return index
        }
        let argument = arguments[argumentIndex]
        argumentIndex += 1
        if verb == "T" {
            output += pad(argument == .null ? "<nil>" : GoFormatter.typeName(argument), spec)
            return index
        }
        if case .null = argument {
            output += verb == "v" ? pad("<nil>", spec) : "%!" + String(verb) + "(<nil>)"
            return index
        }
        output += formatValue(argument, verb: verb, spec: spec)
        return index
    }

    private mutating func takeIntegerArgument() -> Int? {
        guard argumentIndex < arguments.count else { return nil }
        let argument = arguments[argumentIndex]
        argumentIndex += 1
        guard case .int(let value) = argument, Swift.abs(value) <= Int64(Self.largestWidth) else { return nil }
        return Int(value)
    }

    private func parseNumber(from start: Int) -> (Int?, Int) {
        var index = start
        var value = 0
        var tooLarge = false
        while index < format.count, format[index] >= UInt8(ascii: "0"), format[index] <= UInt8(ascii: "9") {
            value = value * 10 + Int(format[index] - UInt8(ascii: "0"))
            if value > Self.largestWidth {
                tooLarge = true
                value = Self.largestWidth
            }
            index += 1
        }
        if index == start || tooLarge { return (nil, index) }
        return (value, index)
    }

    private func decodeScalar(at index: Int) -> (Unicode.Scalar, Int) {
        var length = 1
        let lead = format[index]
        if lead >= 0xF0 { length = 4 } else if lead >= 0xE0 { length = 3 } else if lead >= 0xC0 { length = 2 }
        length = Swift.min(length, format.count - index)
        let scalar = String(decoding: format[index..<index + length], as: UTF8.self).unicodeScalars.first ?? "\u{FFFD}"
        return (scalar, length)
    }

    // MARK: - Values

    private func formatValue(_ value: GoValue, verb: Unicode.Scalar, spec: Spec) -> String {
        switch value {
        case .null:
            return pad("<nil>", spec)
        case .bool(let flag):
            guard verb == "t" || verb == "v" else { return badVerb(verb, value) }
            return pad(flag ? "true" : "false", spec)
        case .int(let integer):
            return formatInteger(integer, verb: verb, spec: spec) ?? badVerb(verb, value)
        case .double(let double):
            return formatDouble(double, verb: verb, spec: spec) ?? badVerb(verb, value)
        case .string(let text):
            return formatString(text, verb: verb, spec: spec) ?? badVerb(verb, value)
        case .array(let elements):
            return "[" + elements.map { formatValue($0, verb: verb, spec: spec) }.joined(separator: " ") + "]"
        case .object(let members):
            let pairs = GoFormatter.sortedKeys(members).map { key in
                formatValue(.string(key), verb: verb, spec: spec) + ":"
                    + formatValue(members[key] ?? .null, verb: verb, spec: spec)
            }
            return "map[" + pairs.joined(separator: " ") + "]"
        }
    }

    private func badVerb(_ verb: Unicode.Scalar, _ value: GoValue) -> String {
        "%!" + String(verb) + "(" + GoFormatter.typeName(value) + "=" + GoFormatter.string(value) + ")"
    }

    /// Pads to the width in runes, with zeros on the left when the `0` flag asks for it.
    private func pad(_ text: String, _ spec: Spec, zeroAllowed: Bool = true) -> String {
        guard let width = spec.width else { return text }
        let count = text.unicodeScalars.count
        guard width > count else { return text }
        if spec.minus { return text + String(repeating: " ", count: width - count) }
        let fill: Character = spec.zero && zeroAllowed ? "0" : " "
        return String(repeating: fill, count: width - count) + text
    }

    private func formatInteger(_ value: Int64, verb: Unicode.Scalar, spec: Spec) -> String? {
        let base: Int
        switch verb {
        case "v", "d": base = 10
        case "b": base = 2
        case "o", "O": base = 8
        case "x", "X": base = 16
        case "c":
            let scalar = Unicode.Scalar(UInt32(clamping: Swift.max(value, 0))) ?? "\u{FFFD}"
            return pad(String(Character(value > 0x10FFFF ? "\u{FFFD}" : scalar)), spec, zeroAllowed: false)
        case "q":
            return pad(GoFormatter.quoteRune(value, asciiOnly: spec.plus), spec, zeroAllowed: false)
        case "U":
            let scalar = UInt32(clamping: Swift.max(value, 0))
            var text = "U+" + GoFormatter.hex(scalar, width: 4).uppercased()
            if spec.sharp, let printable = Unicode.Scalar(scalar), GoFormatter.isPrintable(printable) {
                text += " '" + String(Character(printable)) + "'"
            }
            return pad(text, spec, zeroAllowed: false)
        default:
            return nil
        }
        let negative = value < 0
        var digits = String(value.magnitude, radix: base, uppercase: verb == "X")
        var minimumDigits = 0
        if let precision = spec.precision {
            minimumDigits = precision
            if precision == 0 && value == 0 { return pad("", spec, zeroAllowed: false) }
        } else if spec.zero, !spec.minus, let width = spec.width {
            minimumDigits = width
            if negative || spec.plus || spec.space { minimumDigits -= 1 }
        }
        var prefix = ""
        if spec.sharp {
            switch verb {
            case "o": if !digits.hasPrefix("0") { digits = "0" + digits }
            case "x": prefix = "0x"
            case "X": prefix = "0X"
            case "b": prefix = "0b"
            default: break
            }
        }
        if verb == "O" { prefix = "0o" }
        if spec.zero, spec.precision == nil, !spec.minus { minimumDigits -= prefix.count }
        if digits.count < minimumDigits {
            digits = String(repeating: "0", count: minimumDigits - digits.count) + digits
        }
        let sign = negative ? "-" : spec.plus ? "+" : spec.space ? " " : ""
        return pad(sign + prefix + digits, spec, zeroAllowed: false)
    }

    private func formatDouble(_ value: Double, verb: Unicode.Scalar, spec: Spec) -> String? {
        var number: String
        switch verb {
        case "v", "g", "G":
            number = GoFormatter.formatG(value, precision: spec.precision, uppercase: verb == "G")
        case "e", "E", "f", "F":
            if let special = GoFormatter.nonFinite(value) {
                number = special
            } else {
                let letter = verb == "F" ? "f" : String(verb)
                number = String(format: "%.\(spec.precision ?? 6)\(letter)", value)
            }
        case "x", "X":
            if let special = GoFormatter.nonFinite(value) {
                number = special
            } else {
                number = hexFloat(value, precision: spec.precision, uppercase: verb == "X")
            }
        default:
            return nil
        }
        var sign = ""
        if number.hasPrefix("-") || number.hasPrefix("+") {
            sign = String(number.removeFirst())
        }
        if sign == "+" && !spec.plus && !number.hasPrefix("I") { sign = "" }
        if sign.isEmpty {
            if spec.plus { sign = "+" } else if spec.space { sign = " " }
        }
        if number.hasPrefix("I") || number.hasPrefix("N") {
            if number.hasPrefix("I"), sign.isEmpty { sign = "+" }
            return pad(sign + number, spec, zeroAllowed: false)
        }
        if spec.zero, !spec.minus, let width = spec.width, width > sign.count + number.count {
            return sign + String(repeating: "0", count: width - sign.count - number.count) + number
        }
        return pad(sign + number, spec, zeroAllowed: false)
    }

    /// Go's `%x` on floats: `0x1.8p+01`, exponent with at least two digits.
    private func hexFloat(_ value: Double, precision: Int?, uppercase: Bool) -> String {
        let format = precision.map { "%.\($0)a" } ?? "%a"
        var text = String(format: format, value)
        if let marker = text.firstIndex(of: "p") {
            let exponent = text[text.index(after: marker)...]
            let sign = exponent.first == "-" ? "-" : "+"
            let digits = exponent.drop { $0 == "+" || $0 == "-" }
            text = String(text[..<marker]) + "p" + sign + (digits.count < 2 ? "0" + digits : String(digits))
        }
        return uppercase ? text.uppercased() : text
    }

    private func formatString(_ text: String, verb: Unicode.Scalar, spec: Spec) -> String? {
        switch verb {
        case "v", "s":
            var shown = text
            if let precision = spec.precision, text.unicodeScalars.count > precision {
                var scalars = String.UnicodeScalarView()
                scalars.append(contentsOf: text.unicodeScalars.prefix(precision))
                shown = String(scalars)
            }
            return pad(shown, spec)
        case "q":
            if spec.sharp, !text.contains("`"),
                text.unicodeScalars.allSatisfy({ $0 == "\t" || GoFormatter.isPrintable($0) })
            {
                return pad("`" + text + "`", spec)
            }
            return pad(GoFormatter.quote(text, asciiOnly: spec.plus), spec)
        case "x", "X":
            var bytes = Array(text.utf8)
            if let precision = spec.precision, bytes.count > precision { bytes = Array(bytes.prefix(precision)) }
            let prefix = spec.sharp ? (verb == "X" ? "0X" : "0x") : ""
            let pieces = bytes.map { byte -> String in
                let hex = GoFormatter.hex(UInt32(byte), width: 2)
                return verb == "X" ? hex.uppercased() : hex
            }
            let joined = spec.space ? pieces.map { prefix + $0 }.joined(separator: " ") : prefix + pieces.joined()
            return pad(joined, spec)
        default:
            return nil
        }
    }
}
