import AviaryCore
import Foundation
import Yams

/// Reads `secrets.yaml`, the local platform's stand-in for Kubernetes Secrets.
///
/// The file lives in the state directory (`.aviary/secrets.yaml` by default) and maps a Secret's
/// name to its keys and values, as plain text:
///
/// ```yaml
/// prometheus-auth:        # secretKeyRef.name
///   token: s3cr3t         # secretKeyRef.key: value
///   username: analysis
/// ```
///
/// Keep it readable only by its owner (`chmod 600`). Values are used to build requests and shown
/// as `*****` in every message.
public enum SecretsFile {
    /// The file name inside the state directory.
    public static let fileName = "secrets.yaml"

    /// The secrets of `stateDirectory`, empty when it has no `secrets.yaml`.
    public static func load(stateDirectory: String) throws(SecretsFileError) -> SecretStore {
        let path = (stateDirectory as NSString).appendingPathComponent(fileName)
        guard FileManager.default.fileExists(atPath: path) else { return SecretStore() }
        return try load(path: path)
    }

    /// The secrets in the file at `path`.
    public static func load(path: String) throws(SecretsFileError) -> SecretStore {
        guard let data = FileManager.default.contents(atPath: path) else {
            throw SecretsFileError(path: path, message: "cannot be read")
        }
        return try parse(String(decoding: data, as: UTF8.self), path: path)
    }

    /// Parses the text of a secrets file; `path` names it in errors.
    public static func parse(_ text: String, path: String) throws(SecretsFileError) -> SecretStore {
        let root: Any?
        do {
            root = try Yams.load(yaml: text)
        } catch {
            throw SecretsFileError(path: path, message: "is not valid YAML: \(error)")
        }
        guard let root else { return SecretStore() }
        guard let secrets = root as? [String: Any] else {
            throw SecretsFileError(
                path: path, message: "must map secret names to their keys, e.g. `my-secret: {token: value}`")
        }
        var store: [String: [String: String]] = [:]
        for (name, keys) in secrets {
            guard let keys = keys as? [String: Any] else {
                throw SecretsFileError(path: path, message: "\(name): must map keys to values, e.g. `token: value`")
            }
            var values: [String: String] = [:]
            for (key, value) in keys {
                switch value {
                case let text as String: values[key] = text
                case let number as Int: values[key] = String(number)
                case let number as Double: values[key] = String(number)
                case let flag as Bool: values[key] = flag ? "true" : "false"
                default:
                    // The value itself is never echoed: it is a secret.
                    throw SecretsFileError(path: path, message: "\(name).\(key): must be a plain value (quote it)")
                }
            }
            store[name] = values
        }
        return SecretStore(store)
    }
}

/// A secrets file that cannot be used.
public struct SecretsFileError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The file.
    public var path: String
    /// What is wrong.
    public var message: String
    /// `.aviary/secrets.yaml: prometheus.token: must be a plain value (quote it)`.
    public var description: String { "\(path): \(message)" }
}
