import AviaryModel

/// A Service as the platform has it: the port it listens on and the labels that select its
/// endpoints (the ready pods that have them all).
public struct PlatformService: Codable, Sendable, Hashable {
    /// `metadata.name`.
    public var name: String
    /// `metadata.namespace`.
    public var namespace: String
    /// The address it listens on (loopback unless configured otherwise).
    public var address: String
    /// `spec.ports[0].port`.
    public var port: Int
    /// `spec.selector`, with `rollouts-pod-template-hash` added when a rollout points it at a revision.
    public var selector: [String: String]
    /// The Experiment whose template it serves: on a cluster the controller creates it owned by the
    /// Experiment and deletes it (a user's Service is only ever patched); nil for a user's Service.
    public var experiment: String?
    /// The template of `experiment` it serves.
    public var experimentTemplate: String?
    /// TLS the local router terminates on its listener (`ServiceAnnotations`); nil for plain HTTP.
    @Indirect public var tls: ServiceTLSFiles? = nil
    /// The Secret of its namespace whose `tls.crt` and `tls.key` the local router terminates TLS
    /// with (`aviary.dev/tls-secret`); the platform keeps them as files while the Service exists.
    public var tlsSecret: String?
    /// How its split keeps each client on one side (`ServiceAnnotations`); nil for none.
    @Indirect public var sticky: ServiceStickiness? = nil
    /// True when its pods speak cleartext HTTP/2 (gRPC servers do), so that the local router
    /// talks HTTP/2 to them; nil for HTTP/1.1 (`speaksHTTP2`).
    public var http2: Bool?

    /// Creates a service.
    public init(
        name: String, namespace: String = "default", address: String = "127.0.0.1", port: Int,
        selector: [String: String]
    ) {
        self.name = name
        self.namespace = namespace
        self.address = address
        self.port = port
        self.selector = selector
    }

    /// Whether a Service port says its pods speak cleartext HTTP/2, as Kubernetes and Istio read
    /// it: `appProtocol` `h2c`, `grpc`, `http2` or `kubernetes.io/h2c`; without an `appProtocol`, a
    /// port `name` `grpc`, `h2c` or `http2`, alone or before a dash (`grpc-api`).
    public static func speaksHTTP2(appProtocol: String?, portName: String?) -> Bool {
        if let appProtocol = appProtocol?.lowercased(), !appProtocol.isEmpty {
            return ["h2c", "grpc", "http2", "kubernetes.io/h2c"].contains(appProtocol)
        }
        let prefix = portName?.lowercased().split(separator: "-", maxSplits: 1).first.map(String.init) ?? ""
        return ["grpc", "h2c", "http2"].contains(prefix)
    }

    /// Its key.
    public var key: NamespacedName { NamespacedName(namespace: namespace, name: name) }

    /// Whether a pod with `labels` is selected (every selector label present with the same value;
    /// an empty selector selects nothing, as on Kubernetes for Services).
    public func selects(_ labels: [String: String]) -> Bool {
        !selector.isEmpty && selector.allSatisfy { labels[$0.key] == $0.value }
    }
}
