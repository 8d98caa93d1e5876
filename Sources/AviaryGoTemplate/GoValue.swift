import Foundation

/// A value a Go template reads: the shape of `encoding/json` data decoded into `interface{}`.
///
/// Argo Rollouts renders its notification templates against `map[string]interface{}` built from
/// the rollout object, so every value is one of these cases. `int` and `double` stay distinct
/// because Go's comparison functions (`eq`, `lt`) and `printf` verbs treat them differently.
public indirect enum GoValue: Sendable, Equatable {
    /// JSON `null`: Go's nil `interface{}`.
    case null
    /// A JSON boolean.
    case bool(Bool)
    /// An integral JSON number that fits `Int64` (Go `int64`).
    case int(Int64)
    /// Any other JSON number (Go `float64`).
    case double(Double)
    /// A JSON string.
    case string(String)
    /// A JSON array (Go `[]interface{}`).
    case array([GoValue])
    /// A JSON object (Go `map[string]interface{}`).
    case object([String: GoValue])
}

/// Why JSON could not become a ``GoValue``.
public struct GoValueDecodingError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What is wrong with the input and how to fix it.
    public var message: String

    /// The message, for logs.
    public var description: String { message }
}

extension GoValue {
    /// The deepest JSON nesting accepted, so decoding and printing never exhaust the stack.
    static let maximumJSONDepth = 512

    /// Decodes JSON text (any value, not only objects) into a value.
    ///
    /// Numbers follow ``init(jsonObject:)``: booleans stay booleans, integral numbers that fit
    /// `Int64` become ``int(_:)``, everything else ``double(_:)``.
    /// - Throws: ``GoValueDecodingError`` when the text is not JSON or nests deeper than 512 levels.
    public init(json: Data) throws {
        let depth = Self.nestingDepth(of: json)
        guard depth <= Self.maximumJSONDepth else {
            throw GoValueDecodingError(
                message:
                    "JSON nests \(depth) levels deep; at most \(Self.maximumJSONDepth) are accepted, flatten the data")
        }
        let object: Any
        do {
            object = try JSONSerialization.jsonObject(with: json, options: [.fragmentsAllowed])
        } catch {
            throw GoValueDecodingError(
                message: "data is not valid JSON (\(error.localizedDescription)); pass UTF-8 JSON text")
        }
        self.init(jsonObject: object)
    }

    /// Converts the output of `JSONSerialization` (or plain Swift values of the same shapes).
    ///
    /// `NSNumber` booleans become ``bool(_:)``; integral numbers that fit `Int64` become
    /// ``int(_:)``; other numbers ``double(_:)``. Unknown types become ``null``.
    public init(jsonObject: Any) {
        if type(of: jsonObject) is NSNumber.Type, let number = jsonObject as? NSNumber {
            self = Self.fromNumber(number)
            return
        }
        switch jsonObject {
        case let boolean as Bool:
            self = .bool(boolean)
        case let integer as Int:
            self = .int(Int64(integer))
        case let integer as Int64:
            self = .int(integer)
        case let double as Double:
            self = Self.fromNumber(NSNumber(value: double))
        case let string as String:
            self = .string(string)
        case let array as [Any]:
            self = .array(array.map { GoValue(jsonObject: $0) })
        case let object as [String: Any]:
            self = .object(object.mapValues { GoValue(jsonObject: $0) })
        case let value as GoValue:
            self = value
        default:
            self = .null
        }
    }

    private static let booleanType = type(of: NSNumber(value: true))

    private static func fromNumber(_ number: NSNumber) -> GoValue {
        if type(of: number) == booleanType {
            return .bool(number.boolValue)
        }
        switch String(cString: number.objCType) {
        case "c", "C", "s", "S", "i", "I", "l", "q":
            return .int(number.int64Value)
        case "L", "Q":
            let unsigned = number.uint64Value
            return unsigned <= UInt64(Int64.max) ? .int(Int64(unsigned)) : .double(number.doubleValue)
        default:
            let double = number.doubleValue
            if double.rounded(.towardZero) == double, let integer = Int64(exactly: double) {
                return .int(integer)
            }
            return .double(double)
        }
    }

    /// The deepest bracket nesting in JSON text, ignoring brackets inside strings.
    private static func nestingDepth(of json: Data) -> Int {
        var depth = 0
        var deepest = 0
        var inString = false
        var escaped = false
        for byte in json {
            if inString {
                if escaped {
                    escaped = false
                } else if byte == UInt8(ascii: "\\") {
                    escaped = true
                } else if byte == UInt8(ascii: "\"") {
                    inString = false
                }
                continue
            }
            switch byte {
            case UInt8(ascii: "\""): inString = true
            case UInt8(ascii: "["), UInt8(ascii: "{"):
                depth += 1
                deepest = max(deepest, depth)
            case UInt8(ascii: "]"), UInt8(ascii: "}"): depth -= 1
            default: break
            }
        }
        return deepest
    }
}
