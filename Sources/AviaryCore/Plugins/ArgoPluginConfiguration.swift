import AviaryJSON
import AviaryModel

/// Argo Rollouts' plugin list, as its ConfigMap `argo-rollouts-config` holds it in the
/// controller's namespace: under `metricProviderPlugins` (and `trafficRouterPlugins`,
/// `stepPlugins`), a YAML list of
///
///     - name: argoproj-labs/sample-prometheus     # NAMESPACE/NAME, as metrics name it
///       location: https://host/plugin-linux-amd64 # or file://./path, file:///abs/path
///       sha256: 08f588b1…                          # optional, for downloads
///       args: ["--log-level", "debug"]             # optional
///       headersFrom:                               # optional: each Secret's keys and values are
///       - secretRef: {name: plugin-download}       # headers of the download
public struct ArgoPluginItem: Sendable, Equatable {
    public var name: String
    public var location: String
    public var sha256: String?
    public var args: [String]
    public var disabled: Bool
    /// Secrets (of the controller's namespace) whose keys and values are sent as headers of the download.
    public var headersFrom: [String]

    public init(
        name: String, location: String, sha256: String? = nil, args: [String] = [], disabled: Bool = false,
        headersFrom: [String] = []
    ) {
        self.headersFrom = headersFrom
        self.name = name
        self.location = location
        self.sha256 = sha256
        self.args = args
        self.disabled = disabled
    }

    /// Where the binary comes from.
    public enum Source: Sendable, Equatable {
        /// A file on this host (`file://./plugin` is relative to the controller's working directory).
        case file(path: String)
        /// A binary downloaded once (`http://` or `https://`), then checked against `sha256` when given.
        case download(url: String)
    }

    /// The location read as Argo reads it (`file://` joins host and path, so `file://./p` is `./p`).
    public var source: Source {
        get throws(ArgoPluginConfigurationError) {
            if location.hasPrefix("http://") || location.hasPrefix("https://") { return .download(url: location) }
            if location.hasPrefix("file://") {
                let path = String(location.dropFirst("file://".count))
                guard !path.isEmpty else { throw problem("location \(location) names no file") }
                return .file(path: path)
            }
            throw problem("location \"\(location)\" must start with http://, https:// or file://")
        }
    }

    /// `NAMESPACE/NAME` split as Argo splits it for the plugin's file (`plugin-bin/NAMESPACE/NAME`).
    public var directoryAndFilename: (directory: String, filename: String) {
        get throws(ArgoPluginConfigurationError) {
            let parts = name.split(separator: "/", omittingEmptySubsequences: false)
            let namespaceCharacters = Set("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-")
            let nameCharacters = namespaceCharacters.union("_.")
            guard parts.count == 2, !parts[0].isEmpty, !parts[1].isEmpty,
                parts[0].allSatisfy(namespaceCharacters.contains), parts[1].allSatisfy(nameCharacters.contains),
                parts[1] != ".", parts[1] != ".."
            else {
                throw problem("name \"\(name)\" must be NAMESPACE/NAME, as in argoproj-labs/sample-prometheus")
            }
            return (String(parts[0]), String(parts[1]))
        }
    }

    private func problem(_ message: String) -> ArgoPluginConfigurationError {
        ArgoPluginConfigurationError(message: "plugin \(name): \(message)")
    }
}

/// A plugin list that cannot be read; the message names the ConfigMap's key and the entry.
public struct ArgoPluginConfigurationError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The whole message: `ConfigMap argo-rollouts-config, key metricProviderPlugins, entry 1: name is missing`.
    public var message: String
    /// The ConfigMap's key (`metricProviderPlugins`), nil when the error is of one plugin alone.
    public var key: String?
    /// The message without the ConfigMap and key (`entry 1: name is missing`).
    public var reason: String

    public init(message: String) {
        self.message = message
        self.key = nil
        self.reason = message
    }

    init(key: String, reason: String) {
        self.message = "ConfigMap \(ArgoPluginConfiguration.configMapName), key \(key): \(reason)"
        self.key = key
        self.reason = reason
    }

    public var description: String { message }
}

/// Reads the plugin lists of `argo-rollouts-config`.
public enum ArgoPluginConfiguration {
    /// The ConfigMap's name, in the controller's namespace.
    public static let configMapName = "argo-rollouts-config"

    /// The kinds of plugin, by the ConfigMap key that lists them.
    public enum Kind: String, Sendable, CaseIterable {
        case trafficRouter = "trafficRouterPlugins"
        case metricProvider = "metricProviderPlugins"
        case step = "stepPlugins"
    }

    /// The plugins of `kind` in the ConfigMap's `data`; none when the key is absent.
    public static func plugins(
        _ kind: Kind, in data: [String: String]
    ) throws(ArgoPluginConfigurationError) -> [ArgoPluginItem] {
        guard let text = data[kind.rawValue], !text.allSatisfy(\.isWhitespace) else { return [] }
        let key = kind.rawValue
        let document: JSONValue
        do {
            document = try ManifestDecoder.value(ofYAML: text)
        } catch {
            throw ArgoPluginConfigurationError(key: key, reason: "not YAML: \(error)")
        }
        guard case .array(let entries) = document else {
            if document == .null { return [] }
            throw ArgoPluginConfigurationError(key: key, reason: "must be a list of plugins (- name: …, location: …)")
        }
        var items: [ArgoPluginItem] = []
        for (index, entry) in entries.enumerated() {
            func problem(_ reason: String) -> ArgoPluginConfigurationError {
                ArgoPluginConfigurationError(key: key, reason: "entry \(index + 1)\(reason)")
            }
            guard let fields = entry.objectValue else { throw problem(": must be a mapping with name and location") }
            guard let name = fields["name"]?.stringValue, !name.isEmpty else { throw problem(": name is missing") }
            guard let location = fields["location"]?.stringValue, !location.isEmpty else {
                throw problem(" (\(name)): location is missing")
            }
            var args: [String] = []
            if let list = fields["args"], list != .null {
                guard case .array(let values) = list else {
                    throw problem(" (\(name)): args must be a list of strings")
                }
                for value in values {
                    switch value {
                    case .string(let text): args.append(text)
                    case .integer(let number): args.append(String(number))
                    case .bool(let flag): args.append(String(flag))
                    default: throw problem(" (\(name)): args must be a list of strings")
                    }
                }
            }
            var sha256: String?
            if let digest = fields["sha256"], digest != .null {
                guard let text = digest.stringValue else {
                    throw problem(" (\(name)): sha256 must be a string of 64 hex digits; quote it")
                }
                sha256 = text.isEmpty ? nil : text
            }
            var headersFrom: [String] = []
            if let list = fields["headersFrom"], list != .null {
                guard case .array(let entries) = list else {
                    throw problem(" (\(name)): headersFrom must be a list of {secretRef: {name: SECRET}}")
                }
                for entry in entries {
                    guard let secret = entry.objectValue?["secretRef"]?.objectValue?["name"]?.stringValue,
                        !secret.isEmpty
                    else { throw problem(" (\(name)): headersFrom must be a list of {secretRef: {name: SECRET}}") }
                    headersFrom.append(secret)
                }
            }
            let item = ArgoPluginItem(
                name: name, location: location, sha256: sha256, args: args,
                disabled: fields["disabled"] == .bool(true), headersFrom: headersFrom)
            do {
                _ = try item.directoryAndFilename
                _ = try item.source
            } catch {
                throw problem(": \(error.message)")
            }
            items.append(item)
        }
        return items
    }
}
