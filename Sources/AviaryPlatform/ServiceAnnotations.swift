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
/// purely: `aviary.dev/tls-cert-file` with `aviary.dev/tls-key-file`, and
/// `aviary.dev/sticky-cookie` or `aviary.dev/sticky-header`.
public struct ServiceAnnotations: Sendable, Equatable {
    public static let tlsCertificateFile = "aviary.dev/tls-cert-file"
    public static let tlsKeyFile = "aviary.dev/tls-key-file"
    public static let stickyCookie = "aviary.dev/sticky-cookie"
    public static let stickyHeader = "aviary.dev/sticky-header"

    /// The TLS files, when both annotations are given.
    public var tls: ServiceTLSFiles?
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

    /// An RFC 9110 token: what cookie and header names are made of.
    static func isToken(_ name: String) -> Bool {
        !name.isEmpty
            && name.unicodeScalars.allSatisfy { scalar in
                scalar.isASCII && scalar.value > 0x20 && scalar.value < 0x7F
                    && !"\"(),/:;<=>?@[\\]{}".unicodeScalars.contains(scalar)
            }
    }
}
