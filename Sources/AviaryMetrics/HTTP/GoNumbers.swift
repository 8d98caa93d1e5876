import Foundation

/// Numbers written as Argo's Go code writes them into a measurement's value: `strconv.FormatFloat(v,
/// 'f', -1, 64)` (Datadog) and `fmt.Sprint` (InfluxDB), from the shortest digits that read back
/// as the same double.
enum GoNumbers {
    /// The shortest decimal digits of `value` (no leading or trailing zeros) and where the point
    /// goes: `value = ±0.DIGITS × 10^point`; nil for zero, infinities and NaN.
    static func decimal(_ value: Double) -> (negative: Bool, digits: [Character], point: Int)? {
        guard value.isFinite, value != 0 else { return nil }
        // Swift's description is the shortest round-tripping form: `1234.5`, `1e-05`, `1.5e+20`.
        let text = abs(value).description
        let parts = text.split(separator: "e", maxSplits: 1)
        let exponent = parts.count > 1 ? Int(parts[1]) ?? 0 : 0
        let mantissa = parts[0].split(separator: ".", maxSplits: 1)
        let whole = Array(mantissa[0])
        var digits = whole + (mantissa.count > 1 ? Array(mantissa[1]) : [])
        var point = whole.count + exponent
        while digits.first == "0" {
            digits.removeFirst()
            point -= 1
        }
        while digits.last == "0" { digits.removeLast() }
        return (value < 0, digits, point)
    }

    /// `strconv.FormatFloat(value, 'f', -1, 64)`: `0.05`, `12`, `0.0000001`, never an exponent.
    static func fixed(_ value: Double) -> String {
        if value.isNaN { return "NaN" }
        if value.isInfinite { return value < 0 ? "-Inf" : "+Inf" }
        guard let (negative, digits, point) = decimal(value) else { return "0" }
        let sign = negative ? "-" : ""
        if point <= 0 { return sign + "0." + String(repeating: "0", count: -point) + String(digits) }
        if point >= digits.count { return sign + String(digits) + String(repeating: "0", count: point - digits.count) }
        return sign + String(digits[..<point]) + "." + String(digits[point...])
    }

    /// `fmt.Sprint(value)` (`%v`, strconv's shortest `'g'`): an exponent below 1e-4 and from
    /// 1e+06 on (`1.234567e+06`, `1e-05`), fixed otherwise.
    static func general(_ value: Double) -> String {
        guard let (negative, digits, point) = decimal(value) else { return value.isFinite ? "0" : fixed(value) }
        let exponent = point - 1
        guard exponent < -4 || exponent >= 6 else { return fixed(value) }
        let sign = negative ? "-" : ""
        let mantissa = String(digits[0]) + (digits.count > 1 ? "." + String(digits[1...]) : "")
        let magnitude = abs(exponent)
        return sign + mantissa + "e" + (exponent < 0 ? "-" : "+") + (magnitude < 10 ? "0" : "") + String(magnitude)
    }
}
