import Foundation
import NIOSSL

/// Everything the REST client needs to reach one API server as one user.
public struct ClientConfiguration: Sendable {
    /// How requests authenticate.
    public enum Credentials: Sendable, Hashable {
        /// No Authorization header (client certificates may still authenticate).
        case none
        /// `Authorization: Bearer TOKEN`.
        case token(String)
        /// A bearer token read from a file, re-read at most once a minute (projected service-account tokens
        /// rotate).
        case tokenFile(String)
        /// HTTP basic authentication.
        case basic(username: String, password: String)
        /// A token obtained by running an exec credential plugin; `user` names the kubeconfig entry.
        case exec(ExecConfig, user: String)
    }

    /// The server's base URL, `https://host:port` or `http://host:port`, without a trailing slash.
    public var server: String
    /// The namespace of the context (or of the pod when in-cluster); `default` when unset.
    public var namespace: String
    /// How requests authenticate.
    public var credentials: Credentials
    /// The client certificate chain (PEM), for mutual TLS.
    public var clientCertificatePEM: [UInt8]?
    /// The client certificate's private key (PEM).
    public var clientKeyPEM: [UInt8]?
    /// The CA bundle that signs the server's certificate (PEM); the system roots when nil.
    public var certificateAuthorityPEM: [UInt8]?
    /// Skip verification of the server's certificate.
    public var insecureSkipTLSVerify: Bool
    /// The name the server's certificate must carry, when not the URL's host.
    public var tlsServerName: String?
    /// Where this configuration came from, for messages (`kubeconfig /path, context "kind"`).
    public var origin: String

    /// A configuration given field by field (tests, tools).
    public init(
        server: String, namespace: String = "default", credentials: Credentials = .none,
        clientCertificatePEM: [UInt8]? = nil, clientKeyPEM: [UInt8]? = nil, certificateAuthorityPEM: [UInt8]? = nil,
        insecureSkipTLSVerify: Bool = false, tlsServerName: String? = nil, origin: String = "explicit configuration"
    ) {
        self.server = server.hasSuffix("/") ? String(server.dropLast()) : server
        self.namespace = namespace
        self.credentials = credentials
        self.clientCertificatePEM = clientCertificatePEM
        self.clientKeyPEM = clientKeyPEM
        self.certificateAuthorityPEM = certificateAuthorityPEM
        self.insecureSkipTLSVerify = insecureSkipTLSVerify
        self.tlsServerName = tlsServerName
        self.origin = origin
    }

    /// The configuration of a context in a kubeconfig (the current context when `context` is nil).
    public init(kubeconfig: Kubeconfig, context contextName: String? = nil) throws(KubeconfigError) {
        let files = kubeconfig.files.isEmpty ? "kubeconfig" : kubeconfig.files.joined(separator: ":")
        guard let name = contextName ?? kubeconfig.currentContext?.value, !name.isEmpty else {
            throw KubeconfigError(
                file: files, entry: "current-context", cause: "is not set",
                fix: "pass --context NAME or run `kubectl config use-context NAME`")
        }
        guard let context = kubeconfig.contexts[name] else {
            let known = kubeconfig.contexts.keys.sorted().map { "\"\($0)\"" }.joined(separator: ", ")
            let setBy = contextName == nil ? " (current-context in \(kubeconfig.currentContext?.file ?? files))" : ""
            throw KubeconfigError(
                file: files, entry: "context \"\(name)\"\(setBy)", cause: "does not exist",
                fix: known.isEmpty ? "add a context entry" : "use one of \(known)")
        }
        guard let clusterName = context.value.cluster, !clusterName.isEmpty else {
            throw KubeconfigError(
                file: context.file, entry: "context \"\(name)\" cluster", cause: "is not set",
                fix: "name a cluster entry in the context")
        }
        guard let cluster = kubeconfig.clusters[clusterName] else {
            throw KubeconfigError(
                file: context.file, entry: "context \"\(name)\" cluster \"\(clusterName)\"",
                cause: "does not exist in \(files)", fix: "add the cluster entry or correct the context")
        }
        guard let server = cluster.value.server, !server.isEmpty else {
            throw KubeconfigError(
                file: cluster.file, entry: "cluster \"\(clusterName)\" server", cause: "is not set",
                fix: "set server: https://HOST:PORT")
        }
        guard server.hasPrefix("https://") || server.hasPrefix("http://") else {
            throw KubeconfigError(
                file: cluster.file, entry: "cluster \"\(clusterName)\" server",
                cause: "\"\(server)\" is not an http(s) URL",
                fix: "write it as https://HOST:PORT")
        }
        var configuration = ClientConfiguration(
            server: server, namespace: context.value.namespace.flatMap { $0.isEmpty ? nil : $0 } ?? "default",
            insecureSkipTLSVerify: cluster.value.insecureSkipTLSVerify ?? false,
            tlsServerName: cluster.value.tlsServerName,
            origin: "kubeconfig \(context.file), context \"\(name)\"")
        configuration.certificateAuthorityPEM = try Self.pem(
            file: cluster.value.certificateAuthority, data: cluster.value.certificateAuthorityData,
            kubeconfig: cluster.file, entry: "cluster \"\(clusterName)\" certificate-authority", isKey: false)

        guard let userName = context.value.user, !userName.isEmpty else {
            self = configuration
            return
        }
        guard let user = kubeconfig.users[userName] else {
            throw KubeconfigError(
                file: context.file, entry: "context \"\(name)\" user \"\(userName)\"",
                cause: "does not exist in \(files)",
                fix: "add the user entry or correct the context")
        }
        let entry = "user \"\(userName)\""
        if let provider = user.value.authProvider {
            throw KubeconfigError(
                file: user.file, entry: "\(entry) auth-provider \"\(provider.name)\"",
                cause: "is not supported by Aviary (client-go removed auth providers)",
                fix:
                    "use an exec plugin (for example gke-gcloud-auth-plugin or kubelogin), a token or a client certificate"
            )
        }
        if let token = user.value.token, !token.isEmpty {
            configuration.credentials = .token(token)
        } else if let tokenFile = user.value.tokenFile, !tokenFile.isEmpty {
            do {
                _ = try String(contentsOfFile: tokenFile, encoding: .utf8)
            } catch {
                throw KubeconfigError(
                    file: user.file, entry: "\(entry) tokenFile \(tokenFile)",
                    cause: "cannot be read (\(oneLine(error)))",
                    fix: "point tokenFile at a readable file")
            }
            configuration.credentials = .tokenFile(tokenFile)
        } else if let exec = user.value.exec {
            configuration.credentials = .exec(exec, user: "\(entry) in \(user.file)")
        } else if let username = user.value.username, !username.isEmpty {
            configuration.credentials = .basic(username: username, password: user.value.password ?? "")
        }
        configuration.clientCertificatePEM = try Self.pem(
            file: user.value.clientCertificate, data: user.value.clientCertificateData, kubeconfig: user.file,
            entry: "\(entry) client-certificate", isKey: false)
        configuration.clientKeyPEM = try Self.pem(
            file: user.value.clientKey, data: user.value.clientKeyData, kubeconfig: user.file,
            entry: "\(entry) client-key", isKey: true)
        if (configuration.clientCertificatePEM == nil) != (configuration.clientKeyPEM == nil) {
            throw KubeconfigError(
                file: user.file, entry: entry,
                cause:
                    "has a client \(configuration.clientKeyPEM == nil ? "certificate without a key" : "key without a certificate")",
                fix: "set both client-certificate and client-key (or their -data forms)")
        }
        self = configuration
    }

    /// Loads kubeconfig files as kubectl does and resolves a context: `explicitPath` is `--kubeconfig`,
    /// `context` is `--context`.
    public static func fromKubeconfig(
        explicitPath: String? = nil, context: String? = nil,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(KubeconfigError) -> ClientConfiguration {
        try ClientConfiguration(
            kubeconfig: Kubeconfig.load(explicitPath: explicitPath, environment: environment), context: context)
    }

    /// The configuration of a pod's service account: the token, CA and namespace files under
    /// `serviceAccountDirectory` and the `KUBERNETES_SERVICE_HOST`/`KUBERNETES_SERVICE_PORT` variables.
    public static func inCluster(
        serviceAccountDirectory: String = "/var/run/secrets/kubernetes.io/serviceaccount",
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(KubeconfigError) -> ClientConfiguration {
        guard let host = environment["KUBERNETES_SERVICE_HOST"], !host.isEmpty,
            let port = environment["KUBERNETES_SERVICE_PORT"], !port.isEmpty
        else {
            throw KubeconfigError(
                file: "environment", entry: "KUBERNETES_SERVICE_HOST and KUBERNETES_SERVICE_PORT",
                cause: "are not set, so this is not a pod", fix: "run in a pod or pass --kubeconfig")
        }
        let tokenFile = serviceAccountDirectory + "/token"
        guard FileManager.default.isReadableFile(atPath: tokenFile) else {
            throw KubeconfigError(
                file: tokenFile, entry: "service account token", cause: "cannot be read",
                fix: "mount the service account token (automountServiceAccountToken: true)")
        }
        let caFile = serviceAccountDirectory + "/ca.crt"
        let ca = try pem(
            file: caFile, data: nil, kubeconfig: serviceAccountDirectory, entry: "service account ca.crt", isKey: false)
        let namespace =
            (try? String(contentsOfFile: serviceAccountDirectory + "/namespace", encoding: .utf8))?
            .trimmingCharacters(in: .whitespacesAndNewlines) ?? ""
        let hostPart = host.contains(":") ? "[\(host)]" : host
        return ClientConfiguration(
            server: "https://\(hostPart):\(port)", namespace: namespace.isEmpty ? "default" : namespace,
            credentials: .tokenFile(tokenFile), certificateAuthorityPEM: ca,
            origin: "in-cluster service account \(serviceAccountDirectory)")
    }

    /// Reads a PEM from a file or base64 data and checks that it parses, so that a bad file is reported at load
    /// time with its entry rather than at the first request.
    static func pem(
        file: String?, data: String?, kubeconfig: String, entry: String, isKey: Bool
    ) throws(KubeconfigError) -> [UInt8]? {
        let bytes: [UInt8]
        let label: String
        if let data, !data.isEmpty {
            label = "\(entry)-data"
            guard let decoded = Data(base64Encoded: data, options: .ignoreUnknownCharacters) else {
                throw KubeconfigError(
                    file: kubeconfig, entry: label, cause: "is not base64", fix: "store base64 of the PEM file")
            }
            bytes = Array(decoded)
        } else if let file, !file.isEmpty {
            label = "\(entry) \(file)"
            do {
                bytes = Array(try Data(contentsOf: URL(fileURLWithPath: file)))
            } catch {
                throw KubeconfigError(
                    file: kubeconfig, entry: label, cause: "cannot be read (\(oneLine(error.localizedDescription)))",
                    fix: "point it at a readable PEM file or use the -data form")
            }
        } else {
            return nil
        }
        do {
            if isKey {
                _ = try NIOSSLPrivateKey(bytes: bytes, format: .pem)
            } else {
                guard !(try NIOSSLCertificate.fromPEMBytes(bytes)).isEmpty else {
                    throw KubeconfigError(
                        file: kubeconfig, entry: label, cause: "is not a PEM certificate (no certificate in it)",
                        fix: "give a PEM file (-----BEGIN CERTIFICATE-----)")
                }
            }
        } catch let error as KubeconfigError {
            throw error
        } catch {
            throw KubeconfigError(
                file: kubeconfig, entry: label,
                cause: "is not a PEM \(isKey ? "private key" : "certificate") (\(oneLine(error)))",
                fix: "give a PEM file (-----BEGIN ...-----)")
        }
        return bytes
    }
}
