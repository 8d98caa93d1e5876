import AviaryJSON
import AviaryMeta

/// A core `v1` Service. Locally it becomes a listener of Aviary's router whose endpoints are the
/// ready pods matching `spec.selector`.
public struct Service: Codable, Sendable, Hashable {
    /// `v1`.
    public var apiVersion: String
    /// `Service`.
    public var kind: String
    /// Name, namespace and labels.
    public var metadata: ObjectMeta
    /// Selector and ports.
    public var spec: ServiceSpec
    /// Cluster status, kept opaque.
    public var status: JSONValue?

    /// The `apiVersion` every Service has.
    public static let apiVersion = "v1"

    /// A Service with the given metadata and spec.
    public init(metadata: ObjectMeta, spec: ServiceSpec) {
        apiVersion = Self.apiVersion
        kind = ResourceKind.service.rawValue
        self.metadata = metadata
        self.spec = spec
    }
}

/// The selector and ports of a Service.
public struct ServiceSpec: Codable, Sendable, Hashable {
    /// The pods the Service sends traffic to; Rollouts add `rollouts-pod-template-hash`.
    public var selector: [String: String]?
    /// The ports; locally the router listens on `ports[0].port`.
    public var ports: [ServicePort]?
    /// `ClusterIP` (default), `NodePort`, `LoadBalancer` or `ExternalName`.
    public var type: String?
    /// The cluster IP, kept for Kubernetes.
    public var clusterIP: String?
    /// The cluster IPs, kept for Kubernetes.
    public var clusterIPs: [String]?
    /// Session affinity, kept for Kubernetes.
    public var sessionAffinity: String?

    /// A spec with a selector and ports.
    public init(selector: [String: String]? = nil, ports: [ServicePort]? = nil) {
        self.selector = selector
        self.ports = ports
    }
}

/// One port of a Service.
public struct ServicePort: Codable, Sendable, Hashable {
    /// The port's name.
    public var name: String?
    /// The port the Service listens on.
    public var port: Int
    /// The pod port: a number or the name of a container port (default: `port`).
    public var targetPort: IntOrString?
    /// `TCP` (default), `UDP` or `SCTP`.
    public var `protocol`: String?
    /// The node port, kept for Kubernetes.
    public var nodePort: Int?
    /// The application protocol, kept for Kubernetes.
    public var appProtocol: String?

    /// A port forwarding `port` to `targetPort`.
    public init(name: String? = nil, port: Int, targetPort: IntOrString? = nil) {
        self.name = name
        self.port = port
        self.targetPort = targetPort
    }

    /// The pod port, `port` when absent.
    public var targetPortOrDefault: IntOrString { targetPort ?? .int(port) }
}
