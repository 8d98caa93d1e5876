/// TLS the router terminates for a Service on one host: PEM files on the host.
public struct ServiceTLSFiles: Codable, Sendable, Hashable {
    /// The certificate chain, leaf first.
    public var certificateFile: String
    /// The leaf's unencrypted private key.
    public var keyFile: String

    /// Makes an entry.
    public init(certificateFile: String, keyFile: String) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
    }
}

/// How a Service's split keeps each client on one side (see the router's sticky sessions):
/// exactly one of `cookie` and `header`.
public struct ServiceStickiness: Codable, Sendable, Hashable {
    /// The cookie the router sets to keep a browser session on its side.
    public var cookie: String?
    /// A request header (a user or session id) whose value's hash keeps a client on its side.
    public var header: String?

    /// Makes an entry.
    public init(cookie: String? = nil, header: String? = nil) {
        self.cookie = cookie
        self.header = header
    }
}

/// The annotations of a Service that ask the local router for more than plain HTTP, read
/// purely: `aviary.dev/tls-cert-file` with `aviary.dev/tls-key-file`, or `aviary.dev/tls-secret`
/// (a Secret of the Service's namespace with `tls.crt` and `tls.key`, as Kubernetes' TLS
/// Secrets have), and `aviary.dev/sticky-cookie` or `aviary.dev/sticky-header`.
public struct ServiceAnnotations: Sendable, Equatable {
    public static let tlsCertificateFile = "aviary.dev/tls-cert-file"
    public static let tlsKeyFile = "aviary.dev/tls-key-file"
    public static let tlsSecret = "aviary.dev/tls-secret"
    /// The keys of a `kubernetes.io/tls` Secret.
    public static let tlsSecretKeys = ["tls.crt", "tls.key"]
    public static let stickyCookie = "aviary.dev/sticky-cookie"
    public static let stickyHeader = "aviary.dev/sticky-header"

    /// The TLS files, when both annotations are given.
    public var tls: ServiceTLSFiles?
    /// The Secret holding the TLS certificate and key, when `aviary.dev/tls-secret` names one.
    public var tlsSecret: String?
    /// The stickiness, when one of its annotations is given.
    public var sticky: ServiceStickiness?
    /// One line per annotation that cannot be used, naming it and the fix; what they asked for
    /// is left out of `tls` and `sticky`.
    public var problems: [String]

    /// Reads `annotations`.
    public init(_ annotations: [String: String]) {
        problems = []
        let certificate = annotations[Self.tlsCertificateFile]
        let key = annotations[Self.tlsKeyFile]
        switch (certificate, key) {
        case (let certificate?, let key?):
            if certificate.hasPrefix("/") && key.hasPrefix("/") {
                tls = ServiceTLSFiles(certificateFile: certificate, keyFile: key)
            } else {
                problems.append(
                    "metadata.annotations: \(Self.tlsCertificateFile) and \(Self.tlsKeyFile) must be absolute paths "
                        + "of PEM files on the daemon's host")
            }
        case (.some, nil):
            problems.append(
                "metadata.annotations: \(Self.tlsCertificateFile) is set without \(Self.tlsKeyFile); "
                    + "add the path of the certificate's private key")
        case (nil, .some):
            problems.append(
                "metadata.annotations: \(Self.tlsKeyFile) is set without \(Self.tlsCertificateFile); "
                    + "add the path of the certificate chain")
        case (nil, nil):
            break
        }
        if let secret = annotations[Self.tlsSecret] {
            if certificate != nil || key != nil {
                problems.append(
                    "metadata.annotations: \(Self.tlsSecret) and \(Self.tlsCertificateFile)/\(Self.tlsKeyFile) are "
                        + "both set; keep the Secret or the files")
                tls = nil
            } else if Self.isSecretName(secret) {
                tlsSecret = secret
            } else {
                problems.append(
                    "metadata.annotations: \(Self.tlsSecret): \"\(secret)\" is not a Secret name; give the name of a "
                        + "Secret in the Service's namespace (lower-case letters, digits, '-' and '.')")
            }
        }
        let cookie = annotations[Self.stickyCookie]
        let header = annotations[Self.stickyHeader]
        if cookie != nil && header != nil {
            problems.append(
                "metadata.annotations: \(Self.stickyCookie) and \(Self.stickyHeader) are both set; keep one of them")
        } else if let name = cookie ?? header {
            let annotation = cookie != nil ? Self.stickyCookie : Self.stickyHeader
            if Self.isToken(name) {
                sticky = ServiceStickiness(cookie: cookie, header: header)
            } else {
                problems.append(
                    "metadata.annotations: \(annotation): \"\(name)\" is not a \(cookie != nil ? "cookie" : "header") "
                        + "name; use letters, digits and -_.")
            }
        }
    }

    /// A DNS subdomain name, as Kubernetes names Secrets.
    static func isSecretName(_ name: String) -> Bool {
        let alphanumeric = { (scalar: Unicode.Scalar) in ("a"..."z").contains(scalar) || ("0"..."9").contains(scalar) }
        guard (1...253).contains(name.count), let first = name.unicodeScalars.first, let last = name.unicodeScalars.last
        else { return false }
        return alphanumeric(first) && alphanumeric(last)
            && name.unicodeScalars.allSatisfy { alphanumeric($0) || $0 == "-" || $0 == "." }
    }

    /// An RFC 9110 token: what cookie and header names are made of.
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && scalar.value > 0x20 && scalar.value < 0x7F
                    && !"\"(),/:;<=>?@[\\]{}".unicodeScalars.contains(scalar)
            }
    }
}
