import AviaryJSON
import Foundation

extension JSONValue {
    /// A short name of the value's JSON type, as the API server's decode errors name it.
    var typeName: String {
        switch self {
        case .null: return "null"
        case .bool: return "bool"
        case .integer, .double: return "number"
        case .string: return "string"
        case .array: return "array"
        case .object: return "object"
        }
    }

    /// Parses YAML (or JSON, which is YAML) into a JSON value; server-side apply bodies are YAML.
    static func parseYAMLOrJSON(_ data: Data) throws -> JSONValue {
        if let value = try? JSONValue(parsing: data) { return value }
        return try YAMLBridge.parse(data)
    }
}
