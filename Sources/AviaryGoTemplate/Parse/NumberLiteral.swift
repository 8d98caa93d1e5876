/// Converts number literals the way Go's template parser does: `0x`, `0o`, `0b` and leading-zero
/// octal integers, `_` separators, and floats (anything with `.`, `e` or a hex `p` exponent).
enum NumberLiteral {
    /// A literal that is well formed but unusable, such as an integer beyond `Int64`.
    struct Problem: Error {
        var message: String
    }

    /// The literal's value; nil when the text is not a number at all.
    static func value(of text: String) -> Result<GoValue, Problem>? {
        var body = Substring(text.filter { $0 != "_" })
        var isNegative = false
        if body.first == "-" || body.first == "+" {
            isNegative = body.first == "-"
            body = body.dropFirst()
        }
        guard !body.isEmpty else { return nil }
        let lowered = body.lowercased()
        if lowered.hasPrefix("0x") {
            if lowered.contains("p") || lowered.contains(".") {
                return float(text: (isNegative ? "-" : "") + lowered, original: text)
            }
            return integer(lowered.dropFirst(2), radix: 16, isNegative: isNegative, original: text)
        }
        if lowered.hasPrefix("0o") {
            return integer(lowered.dropFirst(2), radix: 8, isNegative: isNegative, original: text)
        }
        if lowered.hasPrefix("0b") {
            return integer(lowered.dropFirst(2), radix: 2, isNegative: isNegative, original: text)
        }
        if lowered.contains(".") || lowered.contains("e") {
            var normalized = lowered
            if normalized.hasPrefix(".") { normalized = "0" + normalized }
            if let exponent = normalized.firstIndex(of: "e") {
                let mantissa = normalized[..<exponent]
                if mantissa.hasSuffix(".") { normalized.insert("0", at: exponent) }
            } else if normalized.hasSuffix(".") {
                normalized += "0"
            }
            return float(text: (isNegative ? "-" : "") + normalized, original: text)
        }
        if lowered.count > 1, lowered.hasPrefix("0"), lowered.allSatisfy({ ("0"..."7").contains($0) }) {
            return integer(lowered.dropFirst(), radix: 8, isNegative: isNegative, original: text)
        }
        return integer(Substring(lowered), radix: 10, isNegative: isNegative, original: text)
    }

    private static func integer(
        _ digits: Substring, radix: Int, isNegative: Bool, original: String
    )
        -> Result<GoValue, Problem>?
    {
        guard !digits.isEmpty, let magnitude = UInt64(digits, radix: radix) else {
            if radix == 10, digits.allSatisfy(\.isNumber), !digits.isEmpty {
                return .failure(Problem(message: "number \(original) overflows int64"))
            }
            return nil
        }
        if isNegative {
            guard magnitude <= UInt64(Int64.max) + 1 else {
                return .failure(Problem(message: "number \(original) overflows int64"))
            }
            return .success(.int(magnitude == UInt64(Int64.max) + 1 ? Int64.min : -Int64(magnitude)))
        }
        guard magnitude <= UInt64(Int64.max) else {
            return .failure(Problem(message: "number \(original) overflows int64"))
        }
        return .success(.int(Int64(magnitude)))
    }

    private static func float(text: String, original: String) -> Result<GoValue, Problem>? {
        guard let value = Double(text) else { return nil }
        guard value.isFinite else {
            return .failure(Problem(message: "number \(original) is out of range for float64"))
        }
        return .success(.double(value))
    }
}
