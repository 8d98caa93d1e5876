import AviaryJSON
import AviaryModel
import Foundation
import Yams

/// How `aviary get` prints a resource.
public enum OutputFormat: String, CaseIterable, Sendable {
    /// The text view: `get rollout`'s header and tree (`-o wide` too).
    case text
    /// The resource as JSON (pretty, sorted keys).
    case json
    /// The resource as YAML.
    case yaml
}

/// Turns a resource object of the daemon (`GET /api/v1/{kind}/{name}`) into what `-o json` and
/// `-o yaml` print.
public enum Rendering {
    /// The object as JSON, pretty, with sorted keys.
    public static func json(_ data: Data) throws -> String {
        let object = try JSONSerialization.jsonObject(with: data)
        let pretty = try JSONSerialization.data(withJSONObject: object, options: [.prettyPrinted, .sortedKeys])
        return String(decoding: pretty, as: UTF8.self)
    }

    /// The object as YAML, with sorted keys.
    public static func yaml(_ data: Data) throws -> String {
        let value = try JSONDecoder().decode(JSONValue.self, from: data)
        let encoder = YAMLEncoder()
        encoder.options.sortKeys = true
        return try encoder.encode(value).trimmingCharacters(in: .newlines)
    }
}
