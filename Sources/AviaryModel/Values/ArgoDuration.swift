import Foundation

/// A duration as Argo Rollouts writes it: a bare number of seconds (`10` or `"10"`) or a Go
/// duration string (`"10s"`, `"5m"`, `"1h30m"`, `"500ms"`).
///
/// It encodes back to exactly what was read, so a manifest survives a decode/encode round trip.
public struct ArgoDuration: Codable, Sendable, Hashable, CustomStringConvertible {
    /// How the duration was written.
    public enum Literal: Sendable, Hashable {
        /// A bare number of seconds, `duration: 10`.
        case number(Int)
        /// A string, `duration: "10s"` or `duration: "10"`.
        case string(String)
    }

    /// The duration as written.
    public let literal: Literal
    /// The duration in seconds (`"1h30m"` is 5400, `"500ms"` is 0.5).
    public let seconds: Double

    /// A duration of whole seconds, written as a bare number.
    public init(seconds: Int) {
        literal = .number(seconds)
        self.seconds = Double(seconds)
    }

    /// Parses a duration string such as `"30s"`, `"1h30m"` or `"10"` (seconds), or keeps an
    /// argument reference (`"{{args.interval}}"`) for the run to resolve, as Argo does: its
    /// `seconds` is NaN until then, so no rule on the value applies to it.
    public init(_ text: String) throws(ArgoDurationError) {
        if Self.isTemplate(text) {
            literal = .string(text)
            seconds = .nan
            return
        }
        guard let seconds = Self.parse(text) else { throw ArgoDurationError(text: text) }
        literal = .string(text)
        self.seconds = seconds
    }

    /// Equal when written the same way (`seconds` follows from the literal; NaN for an argument
    /// reference would otherwise make a duration unequal to itself).
    public static func == (lhs: ArgoDuration, rhs: ArgoDuration) -> Bool { lhs.literal == rhs.literal }

    public func hash(into hasher: inout Hasher) { hasher.combine(literal) }

    /// Whether it is an argument reference still to be resolved.
    public var isTemplated: Bool {
        if case .string(let text) = literal { return Self.isTemplate(text) }
        return false
    }

    static func isTemplate(_ text: String) -> Bool {
        guard let open = text.range(of: "{{") else { return false }
        return text[open.upperBound...].contains("}}")
    }

    /// Decodes a bare number of seconds or a duration string.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            self.init(seconds: number)
            return
        }
        guard let text = try? container.decode(String.self) else {
            throw DecodingError.dataCorruptedError(
                in: container,
                debugDescription: "expected a duration such as 30s, 5m, 1h30m or a number of seconds")
        }
        do {
            try self.init(text)
        } catch {
            throw DecodingError.dataCorruptedError(in: container, debugDescription: error.description)
        }
    }

    /// Encodes the duration as it was read.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch literal {
        case .number(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        }
    }

    /// The duration as written: `10` or `1h30m`.
    public var description: String {
        switch literal {
        case .number(let number): String(number)
        case .string(let text): text
        }
    }

    /// Go's `time.ParseDuration` grammar plus a bare number meaning seconds:
    /// `[-+]?(decimal unit)+` with units ns, us, µs, ms, s, m, h.
    static func parse(_ text: String) -> Double? {
        let trimmed = text.trimmingCharacters(in: .whitespaces)
        if let bare = Double(trimmed), trimmed.allSatisfy({ $0.isNumber || $0 == "." || $0 == "-" || $0 == "+" }) {
            return bare
        }
        var scalars = Substring(trimmed)
        var sign = 1.0
        if let first = scalars.first, first == "-" || first == "+" {
            sign = first == "-" ? -1 : 1
            scalars = scalars.dropFirst()
        }
        guard !scalars.isEmpty else { return nil }
        let units: [(String, Double)] = [
            ("ns", 1e-9), ("us", 1e-6), ("µs", 1e-6), ("μs", 1e-6), ("ms", 1e-3), ("s", 1), ("m", 60), ("h", 3600),
        ]
        var total = 0.0
        while !scalars.isEmpty {
            let number = scalars.prefix { $0.isASCII && ($0.isNumber || $0 == ".") }
            guard !number.isEmpty, number != ".", let value = Double(number.hasPrefix(".") ? "0" + number : number)
            else { return nil }
            scalars = scalars.dropFirst(number.count)
            let unitText = scalars.prefix { !($0.isASCII && ($0.isNumber || $0 == ".")) }
            guard let unit = units.first(where: { $0.0 == unitText }) else { return nil }
            scalars = scalars.dropFirst(unitText.count)
            total += value * unit.1
        }
        return sign * total
    }
}

/// A duration string that does not parse.
public struct ArgoDurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The text that was read.
    public let text: String
    /// Says what was read and what is accepted.
    public var description: String {
        return "invalid duration \"\(text)\": use a number of seconds or a duration such as 30s, 5m, 1h30m, 500ms"
    }
}
