import AviaryRoutes
import Foundation
import Yams

extension RouteTable {
    /// Reads a table from YAML or JSON text (JSON is read as JSON when it starts with `{`).
    /// Errors name `source` and the field path; a key the table does not know (a misspelling
    /// such as `limts`) is an error too, so that nothing the author wrote is silently ignored.
    public static func decode(_ text: String, source: String) throws -> RouteTable {
        do {
            let table: RouteTable
            if text.drop(while: \.isWhitespace).first == "{" {
                table = try JSONDecoder().decode(RouteTable.self, from: Data(text.utf8))
            } else {
                table = try YAMLDecoder().decode(RouteTable.self, from: text)
            }
            let unknown = unknownFields(in: text)
            guard unknown.isEmpty else { throw RouteTableError(source: source, problems: unknown) }
            return table
        } catch let error as RouteTableError {
            throw error
        } catch let error as DecodingError {
            throw RouteTableError(source: source, problems: [describe(error)])
        } catch {
            throw RouteTableError(source: source, problems: ["cannot read the table: \(error)"])
        }
    }

    /// Reads a table from a YAML or JSON file.
    public static func load(path: String) throws -> RouteTable {
        let text: String
        do {
            text = try String(contentsOfFile: path, encoding: .utf8)
        } catch {
            throw RouteTableError(source: path, problems: ["cannot read the file; check the path and its permissions"])
        }
        return try decode(text, source: path)
    }

    /// The table as JSON with sorted keys, as `GET /table` answers and the state file holds.
    public func jsonText() -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(self)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }

    /// What a value of `type` looks like in the table, in the words of YAML.
    static func shape(of type: Any.Type) -> String {
        let name = String(describing: type)
        if name == "Sequence" || name.hasPrefix("Array") { return "a list (`- item` lines, or [a, b])" }
        if name == "Mapping" || name.hasPrefix("Dictionary") {
            return "a mapping (`key: value` lines, or {key: value})"
        }
        if name == "String" { return "a string" }
        if name == "Bool" { return "true or false" }
        if name.hasPrefix("Int") || name.hasPrefix("UInt") || name == "Double" { return "a number" }
        return name
    }

    private static func describe(_ error: DecodingError) -> String {
        func path(_ codingPath: [any CodingKey]) -> String {
            var text = ""
            for key in codingPath {
                if let index = key.intValue {
                    text += "[\(index)]"
                } else {
                    text += text.isEmpty ? key.stringValue : ".\(key.stringValue)"
                }
            }
            return text.isEmpty ? "(top level)" : text
        }
        switch error {
        case .keyNotFound(let key, let context):
            let parent = path(context.codingPath)
            return "\(parent == "(top level)" ? "" : parent + ".")\(key.stringValue): missing; add it"
        case .typeMismatch(let type, let context):
            return "\(path(context.codingPath)): expected \(shape(of: type)); write it so (see docs/router.md)"
        case .valueNotFound(let type, let context):
            return "\(path(context.codingPath)): expected \(type), found nothing"
        case .dataCorrupted(let context):
            return "\(path(context.codingPath)): \(context.debugDescription)"
        @unknown default:
            return "\(error)"
        }
    }
}
