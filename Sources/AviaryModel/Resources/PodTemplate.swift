import AviaryJSON
import AviaryMeta

/// A pod template: the labels and the pod spec of the pods a Rollout or Experiment runs.
public struct PodTemplateSpec: Codable, Sendable, Hashable {
    /// Labels and annotations of the pods.
    @Indirect public var metadata: ObjectMeta? = nil
    /// What runs in the pods.
    public var spec: PodSpec

    /// A template with the given metadata and spec.
    public init(metadata: ObjectMeta? = nil, spec: PodSpec) {
        self.metadata = metadata
        self.spec = spec
    }
}

/// The pod spec fields Aviary uses; scheduling and volume fields are kept opaque so that
/// manifests written for Kubernetes decode unchanged.
public struct PodSpec: Codable, Sendable, Hashable {
    /// The containers; on the local platform the first one is the process Aviary starts.
    public var containers: [Container]
    /// Containers run to completion before the others.
    public var initContainers: [Container]?
    /// `Always`, `OnFailure` or `Never` (jobs use the latter two).
    public var restartPolicy: String?
    /// Seconds a pod gets between SIGTERM and SIGKILL (Kubernetes default 30).
    public var terminationGracePeriodSeconds: Int?
    /// The service account, kept for Kubernetes.
    public var serviceAccountName: String?
    /// Node selector, kept for Kubernetes.
    public var nodeSelector: [String: String]?
    /// Affinity rules, kept opaque.
    @Indirect public var affinity: JSONValue? = nil
    /// Tolerations, kept opaque.
    public var tolerations: [JSONValue]?
    /// Volumes, kept opaque.
    public var volumes: [JSONValue]?
    /// Pod security context, kept opaque.
    @Indirect public var securityContext: JSONValue? = nil
    /// Image pull secrets, kept opaque.
    public var imagePullSecrets: [JSONValue]?

    // The rest of core v1 PodSpec: valid in any Argo manifest, kept as written; a cluster acts on
    // them, the local platform has no use for them (a process has no node, DNS policy or TTY).
    /// `activeDeadlineSeconds`, kept as written.
    @Indirect public var activeDeadlineSeconds: JSONValue? = nil
    /// `automountServiceAccountToken`, kept as written.
    @Indirect public var automountServiceAccountToken: JSONValue? = nil
    /// `dnsConfig`, kept as written.
    @Indirect public var dnsConfig: JSONValue? = nil
    /// `dnsPolicy`, kept as written.
    @Indirect public var dnsPolicy: JSONValue? = nil
    /// `enableServiceLinks`, kept as written.
    @Indirect public var enableServiceLinks: JSONValue? = nil
    /// `ephemeralContainers`, kept as written.
    @Indirect public var ephemeralContainers: JSONValue? = nil
    /// `hostAliases`, kept as written.
    @Indirect public var hostAliases: JSONValue? = nil
    /// `hostIPC`, kept as written.
    @Indirect public var hostIPC: JSONValue? = nil
    /// `hostNetwork`, kept as written.
    @Indirect public var hostNetwork: JSONValue? = nil
    /// `hostPID`, kept as written.
    @Indirect public var hostPID: JSONValue? = nil
    /// `hostUsers`, kept as written.
    @Indirect public var hostUsers: JSONValue? = nil
    /// `hostname`, kept as written.
    @Indirect public var hostname: JSONValue? = nil
    /// `nodeName`, kept as written.
    @Indirect public var nodeName: JSONValue? = nil
    /// `os`, kept as written.
    @Indirect public var os: JSONValue? = nil
    /// `overhead`, kept as written.
    @Indirect public var overhead: JSONValue? = nil
    /// `preemptionPolicy`, kept as written.
    @Indirect public var preemptionPolicy: JSONValue? = nil
    /// `priority`, kept as written.
    @Indirect public var priority: JSONValue? = nil
    /// `priorityClassName`, kept as written.
    @Indirect public var priorityClassName: JSONValue? = nil
    /// `readinessGates`, kept as written.
    @Indirect public var readinessGates: JSONValue? = nil
    /// `resourceClaims`, kept as written.
    @Indirect public var resourceClaims: JSONValue? = nil
    /// `resources`, kept as written.
    @Indirect public var resources: JSONValue? = nil
    /// `runtimeClassName`, kept as written.
    @Indirect public var runtimeClassName: JSONValue? = nil
    /// `schedulerName`, kept as written.
    @Indirect public var schedulerName: JSONValue? = nil
    /// `schedulingGates`, kept as written.
    @Indirect public var schedulingGates: JSONValue? = nil
    /// `serviceAccount`, kept as written.
    @Indirect public var serviceAccount: JSONValue? = nil
    /// `setHostnameAsFQDN`, kept as written.
    @Indirect public var setHostnameAsFQDN: JSONValue? = nil
    /// `shareProcessNamespace`, kept as written.
    @Indirect public var shareProcessNamespace: JSONValue? = nil
    /// `subdomain`, kept as written.
    @Indirect public var subdomain: JSONValue? = nil
    /// `topologySpreadConstraints`, kept as written.
    @Indirect public var topologySpreadConstraints: JSONValue? = nil

    /// A pod spec running the given containers.
    public init(containers: [Container], restartPolicy: String? = nil) {
        self.containers = containers
        self.restartPolicy = restartPolicy
    }

    /// Seconds between SIGTERM and SIGKILL, 30 when absent.
    public var terminationGracePeriodSecondsOrDefault: Int { terminationGracePeriodSeconds ?? 30 }
}

/// A container: on the local platform, a process started from `command` and `args`.
public struct Container: Codable, Sendable, Hashable {
    /// The container's name, unique in the pod.
    public var name: String
    /// The image; locally it names the version (passed to the process as `IMAGE`).
    public var image: String?
    /// The executable and its leading arguments.
    public var command: [String]?
    /// Further arguments.
    public var args: [String]?
    /// The working directory.
    public var workingDir: String?
    /// Environment variables.
    public var env: [EnvVar]?
    /// Named ports.
    public var ports: [ContainerPort]?
    /// When the container is ready for traffic.
    @Indirect public var readinessProbe: Probe? = nil
    /// When the container must be restarted.
    @Indirect public var livenessProbe: Probe? = nil
    /// Delays the other probes until the container has started.
    @Indirect public var startupProbe: Probe? = nil
    /// Resource requests and limits, kept opaque.
    @Indirect public var resources: JSONValue? = nil
    /// `Always`, `IfNotPresent` or `Never`.
    public var imagePullPolicy: String?
    /// Volume mounts, kept opaque.
    public var volumeMounts: [JSONValue]?
    /// Container security context, kept opaque.
    @Indirect public var securityContext: JSONValue? = nil
    /// Whole ConfigMaps and Secrets as environment variables, before `env`.
    public var envFrom: [EnvFromSource]?

    // The rest of core v1 Container: valid in any Argo manifest, kept as written; a cluster acts on
    // them, the local platform has no use for them (a process has no node, DNS policy or TTY).
    /// `lifecycle`, kept as written.
    @Indirect public var lifecycle: JSONValue? = nil
    /// `resizePolicy`, kept as written.
    @Indirect public var resizePolicy: JSONValue? = nil
    /// `restartPolicy`, kept as written.
    @Indirect public var restartPolicy: JSONValue? = nil
    /// `stdin`, kept as written.
    @Indirect public var stdin: JSONValue? = nil
    /// `stdinOnce`, kept as written.
    @Indirect public var stdinOnce: JSONValue? = nil
    /// `terminationMessagePath`, kept as written.
    @Indirect public var terminationMessagePath: JSONValue? = nil
    /// `terminationMessagePolicy`, kept as written.
    @Indirect public var terminationMessagePolicy: JSONValue? = nil
    /// `tty`, kept as written.
    @Indirect public var tty: JSONValue? = nil
    /// `volumeDevices`, kept as written.
    @Indirect public var volumeDevices: JSONValue? = nil

    /// A container with a name, image and command.
    public init(name: String, image: String? = nil, command: [String]? = nil, args: [String]? = nil) {
        self.name = name
        self.image = image
        self.command = command
        self.args = args
    }
}

/// An environment variable: a literal `value` or a `valueFrom` source.
public struct EnvVar: Codable, Sendable, Hashable {
    /// The variable's name.
    public var name: String
    /// The literal value; `$(NAME)` in it refers to the variables defined before it.
    public var value: String?
    /// A key of a ConfigMap or Secret, or a field of the pod.
    public var valueFrom: EnvVarSource?

    /// A variable with a literal value.
    public init(name: String, value: String? = nil) {
        self.name = name
        self.value = value
    }
}

/// A port the container listens on; probes and Services may refer to it by name.
public struct ContainerPort: Codable, Sendable, Hashable {
    /// The port's name (`http`).
    public var name: String?
    /// The port number.
    public var containerPort: Int
    /// `TCP` (default), `UDP` or `SCTP`.
    public var `protocol`: String?
    /// The host port, kept for Kubernetes.
    public var hostPort: Int?

    /// A named port.
    public init(name: String? = nil, containerPort: Int) {
        self.name = name
        self.containerPort = containerPort
    }
}

/// A probe; Aviary runs `httpGet` probes.
public struct Probe: Codable, Sendable, Hashable {
    /// An HTTP GET that succeeds with a status in 200..<400.
    public var httpGet: HTTPGetAction?
    /// A command probe, kept opaque.
    @Indirect public var exec: JSONValue? = nil
    /// A TCP probe, kept opaque.
    @Indirect public var tcpSocket: JSONValue? = nil
    /// A gRPC probe, kept opaque.
    @Indirect public var grpc: JSONValue? = nil
    /// Seconds before the first probe (default 0).
    public var initialDelaySeconds: Int?
    /// Seconds between probes (default 10).
    public var periodSeconds: Int?
    /// Seconds before a probe times out (default 1).
    public var timeoutSeconds: Int?
    /// Consecutive successes to count as ready (default 1).
    public var successThreshold: Int?
    /// Consecutive failures to count as not ready (default 3).
    public var failureThreshold: Int?

    /// A probe with an HTTP GET action.
    public init(httpGet: HTTPGetAction? = nil, periodSeconds: Int? = nil) {
        self.httpGet = httpGet
        self.periodSeconds = periodSeconds
    }

    /// Seconds before the first probe, 0 when absent.
    public var initialDelaySecondsOrDefault: Int { initialDelaySeconds ?? 0 }
    /// Seconds between probes, 10 when absent.
    public var periodSecondsOrDefault: Int { periodSeconds ?? 10 }
    /// Probe timeout in seconds, 1 when absent.
    public var timeoutSecondsOrDefault: Int { timeoutSeconds ?? 1 }
    /// Successes needed to become ready, 1 when absent.
    public var successThresholdOrDefault: Int { successThreshold ?? 1 }
    /// Failures needed to become unready, 3 when absent.
    public var failureThresholdOrDefault: Int { failureThreshold ?? 3 }
}

/// The HTTP request of a probe.
public struct HTTPGetAction: Codable, Sendable, Hashable {
    /// The request path (default `/`).
    public var path: String?
    /// A port number or the name of a container port.
    public var port: IntOrString
    /// The host to connect to (default: the pod).
    public var host: String?
    /// `HTTP` (default) or `HTTPS`.
    public var scheme: String?
    /// Extra request headers, kept opaque.
    public var httpHeaders: [JSONValue]?

    /// A GET of `path` on `port`.
    public init(path: String? = nil, port: IntOrString) {
        self.path = path
        self.port = port
    }

    /// The request path, `/` when absent.
    public var pathOrDefault: String { path ?? "/" }
}

/// Where an `env` entry's value comes from; set one member.
public struct EnvVarSource: Codable, Sendable, Hashable {
    /// A key of a ConfigMap in the pod's namespace.
    public var configMapKeyRef: ConfigKeySelector?
    /// A key of a Secret in the pod's namespace.
    public var secretKeyRef: ConfigKeySelector?
    /// A field of the pod: `metadata.name`, `metadata.namespace`, `metadata.labels['KEY']`,
    /// `metadata.annotations['KEY']`, `status.podIP`, `status.hostIP`, `spec.nodeName`,
    /// `spec.serviceAccountName`.
    public var fieldRef: ObjectFieldSelector?
    /// A container's resource limit or request, kept for Kubernetes.
    @Indirect public var resourceFieldRef: JSONValue? = nil

    /// A source; set one member.
    public init(
        configMapKeyRef: ConfigKeySelector? = nil, secretKeyRef: ConfigKeySelector? = nil,
        fieldRef: ObjectFieldSelector? = nil
    ) {
        self.configMapKeyRef = configMapKeyRef
        self.secretKeyRef = secretKeyRef
        self.fieldRef = fieldRef
    }
}

/// One key of a ConfigMap or Secret.
public struct ConfigKeySelector: Codable, Sendable, Hashable {
    /// The ConfigMap's or Secret's name.
    public var name: String?
    /// The key.
    public var key: String
    /// When true, a missing object or key leaves the variable unset instead of stopping the pod.
    public var optional: Bool?

    /// A key of the named object.
    public init(name: String, key: String, optional: Bool? = nil) {
        self.name = name
        self.key = key
        self.optional = optional
    }
}

/// A field of the pod, by path.
public struct ObjectFieldSelector: Codable, Sendable, Hashable {
    /// `v1` when present.
    public var apiVersion: String?
    /// `metadata.name` and the like.
    public var fieldPath: String

    /// A field path.
    public init(fieldPath: String) { self.fieldPath = fieldPath }
}

/// Every key of a ConfigMap or Secret as environment variables, each name prefixed.
public struct EnvFromSource: Codable, Sendable, Hashable {
    /// Put before every key.
    public var prefix: String?
    /// A ConfigMap in the pod's namespace.
    public var configMapRef: ConfigSourceReference?
    /// A Secret in the pod's namespace.
    public var secretRef: ConfigSourceReference?

    /// A source; set one of the references.
    public init(
        prefix: String? = nil, configMapRef: ConfigSourceReference? = nil, secretRef: ConfigSourceReference? = nil
    ) {
        self.prefix = prefix
        self.configMapRef = configMapRef
        self.secretRef = secretRef
    }
}

/// A whole ConfigMap or Secret, by name.
public struct ConfigSourceReference: Codable, Sendable, Hashable {
    /// Its name.
    public var name: String?
    /// When true, a missing object adds nothing instead of stopping the pod.
    public var optional: Bool?

    /// A reference by name.
    public init(name: String, optional: Bool? = nil) {
        self.name = name
        self.optional = optional
    }
}
