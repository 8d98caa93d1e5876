/// A problem found in a manifest: where it is (file, resource, field path) and what to do.
public struct Diagnostic: Sendable, Hashable, CustomStringConvertible {
    /// Errors make a manifest unusable; warnings (unknown fields) do not.
    public enum Severity: String, Sendable, Hashable {
        /// The manifest cannot be used as is.
        case error
        /// The manifest is usable, but something is probably not what the author meant.
        case warning
        /// Said for the record: a document of a kind Aviary does not read, skipped.
        case info
    }

    /// Error or warning.
    public var severity: Severity
    /// The file the manifest came from (`-` for stdin).
    public var file: String
    /// `Kind/name` of the resource, or `document N` when the kind or name is unknown.
    public var resource: String?
    /// The Kubernetes-style field path, `spec.strategy.canary.steps[1].setWeight`; empty for the whole document.
    public var path: String
    /// What is wrong and what is allowed.
    public var message: String
    /// The 1-based line, for syntax errors.
    public var line: Int?
    /// The 1-based column, for syntax errors.
    public var column: Int?

    /// A diagnostic at a field path.
    public init(
        severity: Severity = .error, file: String, resource: String?, path: String, message: String,
        line: Int? = nil, column: Int? = nil
    ) {
        self.severity = severity
        self.file = file
        self.resource = resource
        self.path = path
        self.message = message
        self.line = line
        self.column = column
    }

    /// Whether this is an error.
    public var isError: Bool { severity == .error }
    /// Whether this is a warning (not an error, not an info line).
    public var isWarning: Bool { severity == .warning }

    /// `FILE: Kind/name: field.path: message`, or `FILE:LINE:COLUMN: message` for syntax errors;
    /// warnings carry `warning: ` before the message, info lines `info: `.
    public var description: String {
        var parts: [String] = []
        if let line, let column {
            parts.append("\(file):\(line):\(column)")
        } else {
            parts.append(file)
        }
        if let resource { parts.append(resource) }
        if !path.isEmpty { parts.append(path) }
        switch severity {
        case .error: parts.append(message)
        case .warning: parts.append("warning: \(message)")
        case .info: parts.append("info: \(message)")
        }
        return parts.joined(separator: ": ")
    }
}

/// A problem at a field path inside one resource, before the file and resource are known.
public struct FieldIssue: Sendable, Hashable, CustomStringConvertible {
    /// Error or warning.
    public var severity: Diagnostic.Severity
    /// The field path, `spec.strategy.canary.steps[1].setWeight`.
    public var path: String
    /// What is wrong and what is allowed.
    public var message: String

    /// An issue at `path`.
    public init(_ path: String, _ message: String, severity: Diagnostic.Severity = .error) {
        self.severity = severity
        self.path = path
        self.message = message
    }

    /// `path: message`.
    public var description: String { path.isEmpty ? message : "\(path): \(message)" }
}
