import Foundation

/// A value the condition language works on: the JSON-like shapes of a metric result plus the
/// time values that `now()` and `duration()` produce.
///
/// Numbers follow Go's rules as expr-lang sees them: integer literals are `int`, everything that
/// comes from JSON or Prometheus is `float` (Go's `encoding/json` decodes every number into
/// `float64`).
public enum ExprValue: Sendable, Equatable {
    /// Go's `nil`: a missing map key, JSON `null`, an empty optional chain.
    case `nil`
    /// A boolean.
    case bool(Bool)
    /// A 64-bit integer (Go `int`), as written in integer literals.
    case int(Int)
    /// A 64-bit float (Go `float64`), as every JSON or Prometheus number.
    case float(Double)
    /// A string.
    case string(String)
    /// An array (Go `[]interface{}`).
    case array([ExprValue])
    /// A map with string keys (Go `map[string]interface{}`).
    case map([String: ExprValue])
    /// A point in time, as `now()` returns.
    case time(Date)
    /// A span of time in seconds, as `duration("5m")` returns (Go `time.Duration`).
    case duration(Double)

    /// Decodes JSON text the way Go's `encoding/json` decodes into `interface{}`: numbers become
    /// floats, objects maps, `null` nil.
    public init(json: Data) throws {
        let object = try JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed])
        self.init(jsonObject: object)
    }

    /// Converts the output of `JSONSerialization` (or plain Swift values of the same shapes) into
    /// a value; every number becomes a float as in Go, and unknown objects become nil.
    public init(jsonObject: Any) {
        switch jsonObject {
        case let value as ExprValue:
            self = value
        case is NSNull:
            self = .nil
        case let value as Bool where type(of: jsonObject) == Bool.self:
            self = .bool(value)
        case let value as String:
            self = .string(value)
        case let value as NSNumber:
            // JSONSerialization hands booleans over as NSNumber whose Objective-C type is `c`.
            if String(cString: value.objCType) == "c" {
                self = .bool(value.boolValue)
            } else {
                self = .float(value.doubleValue)
            }
        case let value as Double:
            self = .float(value)
        case let value as Int:
            self = .float(Double(value))
        case let value as [Any]:
            self = .array(value.map { ExprValue(jsonObject: $0) })
        case let value as [String: Any]:
            self = .map(value.mapValues { ExprValue(jsonObject: $0) })
        case let value as Date:
            self = .time(value)
        default:
            self = .nil
        }
    }

    /// The Go type name expr-lang shows in its messages (`float64`, `string`, `<nil>`, ...).
    public var goTypeName: String {
        switch self {
        case .nil: return "<nil>"
        case .bool: return "bool"
        case .int: return "int"
        case .float: return "float64"
        case .string: return "string"
        case .array: return "[]interface {}"
        case .map: return "map[string]interface {}"
        case .time: return "time.Time"
        case .duration: return "time.Duration"
        }
    }

    /// Whether the value is nil.
    public var isNil: Bool {
        if case .nil = self { return true }
        return false
    }
}

extension ExprValue: CustomStringConvertible {
    /// The value as Go's `fmt.Sprintf("%v", value)` prints it, which is what `string(x)` returns.
    public var description: String {
        switch self {
        case .nil: return "<nil>"
        case .bool(let value): return value ? "true" : "false"
        case .int(let value): return String(value)
        case .float(let value): return formatGoFloat(value)
        case .string(let value): return value
        case .array(let values): return "[" + values.map(\.description).joined(separator: " ") + "]"
        case .map(let values):
            let pairs = values.keys.sorted().map { "\($0):\(values[$0]!.description)" }
            return "map[" + pairs.joined(separator: " ") + "]"
        case .time(let date): return formatGoTime(date)
        case .duration(let seconds): return formatGoDuration(seconds)
        }
    }
}

extension ExprValue: ExpressibleByIntegerLiteral, ExpressibleByFloatLiteral, ExpressibleByStringLiteral,
    ExpressibleByBooleanLiteral, ExpressibleByArrayLiteral, ExpressibleByDictionaryLiteral, ExpressibleByNilLiteral
{
    /// An `.int`.
    public init(integerLiteral value: Int) { self = .int(value) }
    /// A `.float`.
    public init(floatLiteral value: Double) { self = .float(value) }
    /// A `.string`.
    public init(stringLiteral value: String) { self = .string(value) }
    /// A `.bool`.
    public init(booleanLiteral value: Bool) { self = .bool(value) }
    /// An `.array`.
    public init(arrayLiteral elements: ExprValue...) { self = .array(elements) }
    /// A `.map`; a repeated key keeps the last value.
    public init(dictionaryLiteral elements: (String, ExprValue)...) {
        self = .map(Dictionary(elements, uniquingKeysWith: { _, last in last }))
    }
    /// `.nil`.
    public init(nilLiteral: ()) { self = .nil }
}

/// Go's `%v` for a float64, which is `strconv.FormatFloat(f, 'g', -1, 64)`: the shortest digits
/// that round-trip, in exponent form when the decimal exponent is below -4 or at least 6
/// (`1e+06`, `1.5e-05`, `123456`, `0.001`).
func formatGoFloat(_ value: Double) -> String {
    if value.isNaN { return "NaN" }
    if value.isInfinite { return value > 0 ? "+Inf" : "-Inf" }
    if value == 0 { return value.sign == .minus ? "-0" : "0" }
    // Swift's description is also the shortest round-tripping form; take its digits and exponent.
    let text = "\(Swift.abs(value))"
    var mantissa = Substring(text)
    var exponent = 0
    if let e = text.firstIndex(where: { $0 == "e" || $0 == "E" }) {
        mantissa = text[..<e]
        exponent = Int(text[text.index(after: e)...]) ?? 0
    }
    let parts = mantissa.split(separator: ".", omittingEmptySubsequences: false)
    let integerPart = parts[0]
    let fractionPart = parts.count > 1 ? parts[1] : ""
    var digits = Array(integerPart + fractionPart)
    var pointPosition = integerPart.count + exponent
    while digits.first == "0" {
        digits.removeFirst()
        pointPosition -= 1
    }
    while digits.last == "0" { digits.removeLast() }
    let sign = value < 0 ? "-" : ""
    let decimalExponent = pointPosition - 1
    if decimalExponent < -4 || decimalExponent >= 6 {
        var result = sign + String(digits[0])
        if digits.count > 1 { result += "." + String(digits[1...]) }
        let magnitude = Swift.abs(decimalExponent)
        return result + (decimalExponent < 0 ? "e-" : "e+") + (magnitude < 10 ? "0" : "") + String(magnitude)
    }
    if pointPosition <= 0 {
        return sign + "0." + String(repeating: "0", count: -pointPosition) + String(digits)
    }
    if digits.count <= pointPosition {
        return sign + String(digits) + String(repeating: "0", count: pointPosition - digits.count)
    }
    return sign + String(digits[..<pointPosition]) + "." + String(digits[pointPosition...])
}

/// Go's `time.Duration.String()`: `1h0m0s`, `1m30s`, `1.5s`, `500ms`, `0s`.
func formatGoDuration(_ seconds: Double) -> String {
    if seconds == 0 { return "0s" }
    let negative = seconds < 0
    let total = abs(seconds)
    var text: String
    if total < 1 {
        let nanoseconds = (total * 1e9).rounded()
        if nanoseconds < 1e3 {
            text = formatGoFloat(nanoseconds) + "ns"
        } else if nanoseconds < 1e6 {
            text = formatGoFloat(nanoseconds / 1e3) + "µs"
        } else {
            text = formatGoFloat(nanoseconds / 1e6) + "ms"
        }
    } else {
        let hours = Int(total / 3600)
        let minutes = Int((total - Double(hours) * 3600) / 60)
        let rest = total - Double(hours) * 3600 - Double(minutes) * 60
        let secondsText = formatGoFloat((rest * 1e9).rounded() / 1e9) + "s"
        if hours > 0 {
            text = "\(hours)h\(minutes)m" + secondsText
        } else if minutes > 0 {
            text = "\(minutes)m" + secondsText
        } else {
            text = secondsText
        }
    }
    return negative ? "-" + text : text
}

/// A time printed like Go's `time.Time.String()` in UTC.
func formatGoTime(_ date: Date) -> String {
    let formatter = DateFormatter()
    formatter.locale = Locale(identifier: "en_US_POSIX")
    formatter.timeZone = TimeZone(identifier: "UTC")
    formatter.dateFormat = "yyyy-MM-dd HH:mm:ss.SSSSSSSSS '+0000 UTC'"
    return formatter.string(from: date)
}
