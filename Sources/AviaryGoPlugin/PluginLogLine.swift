import Foundation

/// A line a plugin wrote to stderr, read as go-plugin's client reads it: a JSON line is hclog's
/// (`@level`, `@message` and the other fields), any other line is debug output.
public struct PluginLogLine: Sendable, Equatable {
    /// hclog's level: `trace`, `debug`, `info`, `warn` or `error`.
    public var level: String
    /// The message, with hclog's other fields after it as `key=value` (sorted), as hclog prints them.
    public var message: String

    public init(level: String, message: String) {
        self.level = level
        self.message = message
    }

    public init(_ line: String) {
        guard line.hasPrefix("{"),
            let fields = (try? JSONSerialization.jsonObject(with: Data(line.utf8))) as? [String: Any],
            let message = fields["@message"] as? String
        else {
            self.init(level: "debug", message: line)
            return
        }
        let extra = fields.keys.filter { !$0.hasPrefix("@") }.sorted().map { key in
            "\(key)=\(fields[key].map { "\($0)" } ?? "")"
        }
        self.init(
            level: (fields["@level"] as? String)?.lowercased() ?? "info",
            message: ([message] + extra).joined(separator: " "))
    }

    /// Whether it is worth showing beside a command's own output: info and above.
    public var isNotable: Bool { !["trace", "debug"].contains(level) }
}
