import Foundation
import Yams

/// YAML that is not a manifest (the values of a ConfigMap Aviary reads, such as Argo's
/// notification templates), loaded as plain values: maps, lists, strings, numbers, booleans.
public enum YAMLText {
    /// The value of `text`: `[String: Any]`, `[Any]`, `String`, `Int`, `Double`, `Bool`, or nil
    /// for an empty document. Throws a `YAMLTextError` naming the line and column of bad YAML.
    public static func load(_ text: String) throws -> Any? {
        do {
            return try Yams.load(yaml: text)
        } catch {
            throw YAMLTextError(description: "not valid YAML: \(error)")
        }
    }
}

/// YAML that does not parse, with Yams' description of where.
public struct YAMLTextError: Error, CustomStringConvertible, Sendable {
    /// What is wrong and where.
    public var description: String
}
