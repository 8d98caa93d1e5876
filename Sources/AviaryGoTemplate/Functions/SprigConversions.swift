/// The loose conversions sprig applies to `interface{}` arguments.
enum SprigConversions {
    /// sprig's `toInt64` (spf13/cast): strings parsed (base prefixes allowed, `"3.0"` accepted),
    /// floats truncated, booleans 1/0, anything else 0.
    ///
    /// Worked example: `"42"` gives 42, `"0x10"` 16, `"2.5"` 0 (cast refuses it), `2.9` gives 2.
    static func int64(_ value: GoValue) -> Int64 {
        switch value {
        case .int(let integer): return integer
        case .double(let double): return truncate(double)
        case .bool(let flag): return flag ? 1 : 0
        case .string(let text): return parseInteger(text) ?? 0
        default: return 0
        }
    }

    /// Go's `int64(f)` on amd64: out-of-range and NaN give the minimum integer instead of trapping.
    static func truncate(_ double: Double) -> Int64 {
        guard double.isFinite, double > -9_223_372_036_854_775_809.0, double < 9_223_372_036_854_775_808.0 else {
            return Int64.min
        }
        return Int64(double.rounded(.towardZero))
    }

    /// `strconv.ParseInt(s, 0, 64)` after cast's trimming of a `.0` suffix.
    static func parseInteger(_ text: String) -> Int64? {
        var trimmed = text
        if let dot = trimmed.firstIndex(of: "."), trimmed.last == "0",
            trimmed[trimmed.index(after: dot)...].allSatisfy({ $0 == "0" })
        {
            trimmed = String(trimmed[..<dot])
        }
        let lowered = trimmed.lowercased()
        let unsigned = lowered.hasPrefix("-") || lowered.hasPrefix("+") ? String(lowered.dropFirst()) : lowered
        guard !unsigned.isEmpty, !lowered.contains("."), unsigned.hasPrefix("0x") || !lowered.contains("e") else {
            return nil
        }
        guard case .success(.int(let value))? = NumberLiteral.value(of: trimmed) else { return nil }
        return value
    }

    /// sprig's `toFloat64`: strings parsed as floats, integers and booleans converted, else 0.
    static func float64(_ value: GoValue) -> Double {
        switch value {
        case .int(let integer): return Double(integer)
        case .double(let double): return double
        case .bool(let flag): return flag ? 1 : 0
        case .string(let text): return parseFloat(text) ?? 0
        default: return 0
        }
    }

    /// `strconv.ParseFloat(s, 64)` for the common forms.
    static func parseFloat(_ text: String) -> Double? {
        let lowered = text.lowercased()
        switch lowered {
        case "inf", "+inf", "infinity", "+infinity": return .infinity
        case "-inf", "-infinity": return -.infinity
        case "nan": return .nan
        default: break
        }
        guard !text.isEmpty, text.allSatisfy({ $0.isASCII && ($0.isNumber || "+-.eExXpPabcdefABCDEF_".contains($0)) })
        else { return nil }
        return Double(text)
    }

    /// sprig's `strval`: strings as is, everything else as `fmt.Sprintf("%v")`.
    static func string(_ value: GoValue) -> String {
        if case .string(let text) = value { return text }
        return GoFormatter.string(value)
    }

    /// sprig's `strslice`: a list's non-nil elements as strings, nil as empty, a scalar as one.
    static func strings(_ value: GoValue) -> [String] {
        switch value {
        case .array(let elements):
            return elements.compactMap { $0 == .null ? nil : string($0) }
        case .null:
            return []
        default:
            return [string(value)]
        }
    }
}
