import Foundation

/// A Kubernetes int-or-string value such as `maxSurge: 1` or `maxSurge: "25%"`.
///
/// The value encodes back exactly as it was read, so `1` and `"1"` stay distinct.
public enum IntOrString: Codable, Sendable, Hashable, CustomStringConvertible {
    /// A plain integer, `maxSurge: 1`.
    case int(Int)
    /// A string, usually a percentage such as `"25%"` (or a templated value like `"{{args.count}}"`).
    case string(String)

    /// Decodes an integer when the document holds a number and a string otherwise.
    public init(from decoder: Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            self = .int(number)
        } else if let text = try? container.decode(String.self) {
            self = .string(text)
        } else {
            throw DecodingError.dataCorruptedError(
                in: container, debugDescription: "expected an integer or a string such as \"25%\"")
        }
    }

    /// Encodes the value in the shape it was read.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.singleValueContainer()
        switch self {
        case .int(let number): try container.encode(number)
        case .string(let text): try container.encode(text)
        }
    }

    /// The value as written in a manifest: `1` or `25%`.
    public var description: String {
        switch self {
        case .int(let number): String(number)
        case .string(let text): text
        }
    }

    /// The percentage when the value is a string like `"25%"`, else nil.
    public var percent: Int? {
        guard case .string(let text) = self, text.hasSuffix("%") else { return nil }
        return Int(text.dropLast())
    }

    /// The integer when the value is a number or a string of digits such as `"3"`, else nil.
    public var intValue: Int? {
        switch self {
        case .int(let number): number
        case .string(let text): Int(text)
        }
    }

    /// Resolves the value against `total`: an integer is returned as is, a percentage is taken of `total`.
    ///
    /// Kubernetes rounds `maxSurge` up and `maxUnavailable` down: `"25%"` of 10 is 3 with
    /// `roundUp: true` and 2 with `roundUp: false`. Returns nil for a string that is neither
    /// a percentage nor an integer.
    public func scaledValue(total: Int, roundUp: Bool) -> Int? {
        if let percent {
            let product = total * percent
            if roundUp {
                return product >= 0 ? (product + 99) / 100 : -((-product) / 100)
            }
            return product >= 0 ? product / 100 : -((-product + 99) / 100)
        }
        return intValue
    }
}
