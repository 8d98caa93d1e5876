import AviaryJSON
import Foundation
import Yams

/// Server-side apply bodies arrive as YAML; Yams parses them and this turns the result into JSON.
enum YAMLBridge {
    static func parse(_ data: Data) throws -> JSONValue {
        let text = String(decoding: data, as: UTF8.self)
        guard let loaded = try Yams.load(yaml: text) else { return .null }
        return convert(loaded)
    }

    private static func convert(_ value: Any) -> JSONValue {
        switch value {
        case let flag as Bool: return .bool(flag)
        case let number as Int: return .integer(Int64(number))
        case let number as Double: return .double(number)
        case let text as String: return .string(text)
        case let elements as [Any]: return .array(elements.map(convert))
        case let members as [String: Any]: return .object(members.mapValues(convert))
        case let members as [AnyHashable: Any]:
            var object: [String: JSONValue] = [:]
            for (key, member) in members { object["\(key.base)"] = convert(member) }
            return .object(object)
        case is NSNull: return .null
        default: return .string("\(value)")
        }
    }
}
