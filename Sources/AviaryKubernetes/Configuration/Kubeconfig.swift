import Foundation
import Yams

/// A kubeconfig file, or several merged the way kubectl merges `KUBECONFIG`.
///
/// Merge rules (client-go's loading rules): files are read in order; for clusters, users and contexts the
/// first file that names an entry wins; the first non-empty `current-context` wins; files in `KUBECONFIG`
/// that do not exist are skipped, but an explicit path (`--kubeconfig`) must exist. Relative paths inside
/// a file are resolved against that file's directory.
public struct Kubeconfig: Sendable {
    /// One named entry and the file it came from.
    public struct Entry<Value: Sendable>: Sendable {
        /// The entry's value.
        public var value: Value
        /// The file that defined it.
        public var file: String
    }

    /// Clusters by name.
    public var clusters: [String: Entry<Cluster>] = [:]
    /// Users by name.
    public var users: [String: Entry<User>] = [:]
    /// Contexts by name.
    public var contexts: [String: Entry<Context>] = [:]
    /// The current context and the file that set it.
    public var currentContext: Entry<String>?
    /// Every file read, in order (for error messages).
    public var files: [String] = []

    /// An empty configuration.
    public init() {}

    /// Reads kubeconfig files the way kubectl does.
    ///
    /// - Parameters:
    ///   - explicitPath: the `--kubeconfig` flag; when set, only that file is read and it must exist.
    ///   - environment: the process environment (`KUBECONFIG`, `HOME`).
    public static func load(
        explicitPath: String? = nil, environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(KubeconfigError) -> Kubeconfig {
        if let explicitPath, !explicitPath.isEmpty {
            return try load(files: [explicitPath], skippingMissing: false)
        }
        if let list = environment["KUBECONFIG"], !list.isEmpty {
            var seen = Set<String>()
            let files = list.split(separator: ":").map(String.init).filter { !$0.isEmpty && seen.insert($0).inserted }
            return try load(files: files, skippingMissing: true)
        }
        let home = environment["HOME"] ?? NSHomeDirectory()
        return try load(files: [home + "/.kube/config"], skippingMissing: false)
    }

    /// Reads and merges `files` in order.
    public static func load(files: [String], skippingMissing: Bool) throws(KubeconfigError) -> Kubeconfig {
        var merged = Kubeconfig()
        for file in files {
            guard FileManager.default.fileExists(atPath: file) else {
                if skippingMissing { continue }
                throw KubeconfigError(
                    file: file, entry: "file", cause: "does not exist",
                    fix: "pass an existing file with --kubeconfig or set KUBECONFIG")
            }
            let text: String
            do {
                text = try String(contentsOfFile: file, encoding: .utf8)
            } catch {
                throw KubeconfigError(
                    file: file, entry: "file", cause: "cannot be read (\(oneLine(error)))",
                    fix: "check the file's permissions")
            }
            try merged.merge(try parse(text, file: file))
        }
        return merged
    }

    /// Parses one file's text; `file` names it in errors and anchors relative paths.
    public static func parse(_ text: String, file: String) throws(KubeconfigError) -> Kubeconfig {
        let raw: RawConfig
        do {
            if text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty {
                raw = RawConfig()
            } else {
                raw = try YAMLDecoder().decode(RawConfig.self, from: text)
            }
        } catch let DecodingError.dataCorrupted(context) where context.codingPath.isEmpty {
            let reason = context.underlyingError.map { oneLine($0) } ?? oneLine(context.debugDescription)
            throw KubeconfigError(
                file: file, entry: "file", cause: "is not valid YAML (\(reason))",
                fix: "fix the file; `kubectl config view` shows what kubectl makes of it")
        } catch let error as DecodingError {
            throw KubeconfigError(
                file: file, entry: describe(codingPath(of: error)), cause: "is not valid (\(describe(error)))",
                fix: "fix the file; `kubectl config view` shows what kubectl makes of it")
        } catch {
            throw KubeconfigError(
                file: file, entry: "file", cause: "is not valid YAML (\(oneLine(error)))",
                fix: "fix the file; `kubectl config view` shows what kubectl makes of it")
        }
        let directory = (file as NSString).deletingLastPathComponent
        func absolute(_ path: String?) -> String? {
            guard let path, !path.isEmpty else { return nil }
            if path.hasPrefix("/") { return path }
            return directory.isEmpty ? path : directory + "/" + path
        }
        var config = Kubeconfig()
        config.files = [file]
        for named in raw.clusters ?? [] {
            var cluster = named.cluster ?? Cluster()
            cluster.certificateAuthority = absolute(cluster.certificateAuthority)
            if config.clusters[named.name] == nil { config.clusters[named.name] = Entry(value: cluster, file: file) }
        }
        for named in raw.users ?? [] {
            var user = named.user ?? User()
            user.clientCertificate = absolute(user.clientCertificate)
            user.clientKey = absolute(user.clientKey)
            user.tokenFile = absolute(user.tokenFile)
            if config.users[named.name] == nil { config.users[named.name] = Entry(value: user, file: file) }
        }
        for named in raw.contexts ?? [] {
            if config.contexts[named.name] == nil {
                config.contexts[named.name] = Entry(value: named.context ?? Context(), file: file)
            }
        }
        if let current = raw.currentContext, !current.isEmpty {
            config.currentContext = Entry(value: current, file: file)
        }
        return config
    }

    /// Merges `other` under this configuration: entries already here win.
    mutating func merge(_ other: Kubeconfig) throws(KubeconfigError) {
        clusters.merge(other.clusters) { first, _ in first }
        users.merge(other.users) { first, _ in first }
        contexts.merge(other.contexts) { first, _ in first }
        if currentContext == nil { currentContext = other.currentContext }
        files += other.files
    }

    private static func describe(_ path: [any CodingKey]) -> String {
        path.isEmpty ? "file" : path.map { $0.intValue.map { "[\($0)]" } ?? $0.stringValue }.joined(separator: ".")
    }

    private static func codingPath(of error: DecodingError) -> [any CodingKey] {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            return context.codingPath
        @unknown default:
            return []
        }
    }

    private static func describe(_ error: DecodingError) -> String {
        switch error {
        case .typeMismatch(_, let context), .valueNotFound(_, let context), .keyNotFound(_, let context),
            .dataCorrupted(let context):
            return oneLine(context.debugDescription)
        @unknown default:
            return oneLine(error)
        }
    }
}

/// A `clusters[].cluster` entry.
public struct Cluster: Codable, Sendable, Hashable {
    /// The API server's URL, `https://host:port` or `http://host:port`.
    public var server: String?
    /// A file holding the CA bundle (PEM).
    public var certificateAuthority: String?
    /// The CA bundle, base64 of PEM.
    public var certificateAuthorityData: String?
    /// Skip verification of the server's certificate.
    public var insecureSkipTLSVerify: Bool?
    /// The name to verify the server's certificate against, when it differs from the URL's host.
    public var tlsServerName: String?

    /// An empty cluster entry.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case server
        case certificateAuthority = "certificate-authority"
        case certificateAuthorityData = "certificate-authority-data"
        case insecureSkipTLSVerify = "insecure-skip-tls-verify"
        case tlsServerName = "tls-server-name"
    }
}

/// A `users[].user` entry.
public struct User: Codable, Sendable, Hashable {
    /// A bearer token.
    public var token: String?
    /// A file holding a bearer token, re-read as it changes.
    public var tokenFile: String?
    /// A client certificate file (PEM).
    public var clientCertificate: String?
    /// A client certificate, base64 of PEM.
    public var clientCertificateData: String?
    /// The client certificate's key file (PEM).
    public var clientKey: String?
    /// The client key, base64 of PEM.
    public var clientKeyData: String?
    /// Basic-auth user name.
    public var username: String?
    /// Basic-auth password.
    public var password: String?
    /// An exec credential plugin.
    public var exec: ExecConfig?
    /// A legacy auth provider (gcp, azure, oidc); not supported.
    public var authProvider: AuthProvider?

    /// An empty user entry.
    public init() {}

    enum CodingKeys: String, CodingKey {
        case token, tokenFile, username, password, exec
        case clientCertificate = "client-certificate"
        case clientCertificateData = "client-certificate-data"
        case clientKey = "client-key"
        case clientKeyData = "client-key-data"
        case authProvider = "auth-provider"
    }
}

/// `user.exec`: a command that prints an `ExecCredential` as JSON.
public struct ExecConfig: Codable, Sendable, Hashable {
    /// The command to run.
    public var command: String
    /// Its arguments.
    public var args: [String]?
    /// Extra environment variables.
    public var env: [EnvVar]?
    /// The `client.authentication.k8s.io` version the plugin speaks.
    public var apiVersion: String?
    /// Text shown when the command is missing.
    public var installHint: String?

    /// One `env` entry.
    public struct EnvVar: Codable, Sendable, Hashable {
        /// The variable's name.
        public var name: String
        /// Its value.
        public var value: String
    }
}

/// `user.auth-provider`.
public struct AuthProvider: Codable, Sendable, Hashable {
    /// The provider's name (`gcp`, `azure`, `oidc`).
    public var name: String
}

/// A `contexts[].context` entry.
public struct Context: Codable, Sendable, Hashable {
    /// The cluster entry's name.
    public var cluster: String?
    /// The user entry's name.
    public var user: String?
    /// The namespace requests default to.
    public var namespace: String?

    /// An empty context.
    public init() {}
}

private struct RawConfig: Decodable {
    var clusters: [NamedCluster]?
    var users: [NamedUser]?
    var contexts: [NamedContext]?
    var currentContext: String?

    init() {}

    enum CodingKeys: String, CodingKey {
        case clusters, users, contexts
        case currentContext = "current-context"
    }

    struct NamedCluster: Decodable {
        var name: String
        var cluster: Cluster?
    }

    struct NamedUser: Decodable {
        var name: String
        var user: User?
    }

    struct NamedContext: Decodable {
        var name: String
        var context: Context?
    }
}

/// A kubeconfig or in-cluster configuration that cannot be used: names the file, the entry, the cause and
/// the fix, on one line.
public struct KubeconfigError: Error, Sendable, Hashable, CustomStringConvertible {
    /// The file (or files, or the service-account directory) concerned.
    public var file: String
    /// The entry, for example `user "admin" client-certificate`.
    public var entry: String
    /// What is wrong.
    public var cause: String
    /// What to do.
    public var fix: String

    /// An error.
    public init(file: String, entry: String, cause: String, fix: String) {
        self.file = file
        self.entry = entry
        self.cause = cause
        self.fix = fix
    }

    /// `FILE: ENTRY CAUSE; FIX`.
    public var description: String { "\(file): \(entry) \(cause); \(fix)" }
}

/// Folds any error's text onto one line.
func oneLine(_ value: Any) -> String {
    String(describing: value).split(whereSeparator: \.isNewline).map {
        $0.trimmingCharacters(in: .whitespaces)
    }.filter { !$0.isEmpty }.joined(separator: " ")
}
