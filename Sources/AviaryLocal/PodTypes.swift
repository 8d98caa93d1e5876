import AviaryModel
import AviaryPlatform
import Foundation

/// How to start one pod's process: what the pod template's first container says, reduced to what
/// a process needs.
public struct PodLaunch: Codable, Sendable, Hashable {
    /// `command` followed by `args`; the first element is looked up on `PATH`.
    public var arguments: [String]
    /// The container's `env`, in order.
    public var environment: [EnvironmentEntry]
    /// The container's `envFrom`: whole ConfigMaps and Secrets, defined before `env`.
    public var environmentFrom: [EnvFromSource]?
    /// The container's `image`, passed as `IMAGE`: how a version is named on the local platform.
    public var image: String
    /// The container's `workingDir`: where the process starts (nil: the daemon's directory).
    public var workingDirectory: String?
    /// The container's readiness probe, if any.
    public var readiness: ReadinessProbe?
    /// `minReadySeconds` of the owner: how long a pod must be ready before it counts as available.
    public var minReadySeconds: Double

    /// Creates a launch description.
    public init(
        arguments: [String], environment: [EnvironmentEntry] = [], image: String, workingDirectory: String? = nil,
        readiness: ReadinessProbe? = nil, minReadySeconds: Double = 0
    ) {
        self.arguments = arguments
        self.environment = environment
        self.image = image
        self.workingDirectory = workingDirectory
        self.readiness = readiness
        self.minReadySeconds = minReadySeconds
    }

    /// How a pod of `template` starts: its first container's `command` + `args`, `env` (plain
    /// values), `image`, `workingDir` and `readinessProbe.httpGet` (its port, by number or name, is the pod's
    /// one allocated port).
    public init(template: PodTemplateSpec, minReadySeconds: Int) {
        let container = template.spec.containers.first
        let environment = (container?.env ?? []).map { entry in
            EnvironmentEntry(name: entry.name, value: entry.value ?? "", source: entry.valueFrom)
        }
        var readiness: ReadinessProbe?
        if let probe = container?.readinessProbe, let httpGet = probe.httpGet {
            readiness = ReadinessProbe(
                path: httpGet.pathOrDefault, initialDelaySeconds: Double(probe.initialDelaySecondsOrDefault),
                periodSeconds: Double(probe.periodSecondsOrDefault), failureThreshold: probe.failureThresholdOrDefault,
                timeoutSeconds: Double(probe.timeoutSecondsOrDefault))
        }
        self.init(
            arguments: (container?.command ?? []) + (container?.args ?? []), environment: environment,
            image: container?.image ?? "", workingDirectory: container?.workingDir.flatMap { $0.isEmpty ? nil : $0 },
            readiness: readiness, minReadySeconds: Double(minReadySeconds))
        environmentFrom = container?.envFrom.flatMap { $0.isEmpty ? nil : $0 }
    }

    /// How a pod of `replicaSet` starts; nothing to run when its template does not decode.
    public init(_ replicaSet: ReplicaSet) {
        if let template = try? JSONDecoder().decode(PodTemplateSpec.self, from: replicaSet.template) {
            self.init(template: template, minReadySeconds: replicaSet.minReadySeconds)
        } else {
            self.init(arguments: [], image: "", minReadySeconds: Double(replicaSet.minReadySeconds))
        }
    }
}

/// One `env` entry of a container.
public struct EnvironmentEntry: Codable, Sendable, Hashable {
    /// The variable's name.
    public var name: String
    /// Its value; `$(NAME)` in it is expanded. Ignored when `source` is set.
    public var value: String
    /// Where the value is read when the process starts (`valueFrom`), if not literal.
    public var source: EnvVarSource?

    /// Creates an entry.
    public init(name: String, value: String, source: EnvVarSource? = nil) {
        self.name = name
        self.value = value
        self.source = source
    }
}

/// `readinessProbe.httpGet` with its timing. The probe's port, by number or name, is always the
/// pod's allocated port: a pod has exactly one.
public struct ReadinessProbe: Codable, Sendable, Hashable {
    /// The HTTP path to GET; a 2xx or 3xx answer is a success.
    public var path: String
    /// Seconds after the process started before the first probe.
    public var initialDelaySeconds: Double
    /// Seconds between probes.
    public var periodSeconds: Double
    /// Consecutive failures that make a ready pod unready.
    public var failureThreshold: Int
    /// Seconds a probe may take.
    public var timeoutSeconds: Double

    /// Creates a probe with Kubernetes' defaults (period 10 s, 3 failures, timeout 1 s).
    public init(
        path: String = "/", initialDelaySeconds: Double = 0, periodSeconds: Double = 10, failureThreshold: Int = 3,
        timeoutSeconds: Double = 1
    ) {
        self.path = path
        self.initialDelaySeconds = initialDelaySeconds
        self.periodSeconds = periodSeconds
        self.failureThreshold = failureThreshold
        self.timeoutSeconds = timeoutSeconds
    }
}

/// One pod: a process the supervisor started (or adopted), with its readiness and restarts.
public struct PodRecord: Codable, Sendable, Equatable {
    /// `<replicaSet>-<suffix>`, passed as `POD_NAME`.
    public var name: String
    /// The namespace of its ReplicaSet.
    public var namespace: String
    /// The owning ReplicaSet's name.
    public var replicaSet: String
    /// The owning rollout's name.
    public var rollout: String
    /// The pod's labels (the ReplicaSet's at creation).
    public var labels: [String: String]
    /// How its process is started.
    public var launch: PodLaunch
    /// The port allocated to it, passed as `PORT`.
    public var port: Int
    /// The running process, nil while waiting to be (re)started.
    public var process: ProcessIdentity?
    /// When the current process started.
    public var startedAt: Date?
    /// How many times its process exited and was started again.
    public var restarts: Int
    /// When a crashed process will be started again (exponential backoff).
    public var nextStartAt: Date?
    /// How the last process ended (`exit 1`, `signal 9`, or why it could not start).
    public var lastTermination: String?
    /// Whether the readiness probe (or, without one, the running process) says ready.
    public var isReady: Bool
    /// Since when it has been ready.
    public var readySince: Date?
    /// Failed probes in a row.
    public var consecutiveProbeFailures: Int
    /// When it was last probed.
    public var lastProbeAt: Date?
    /// When the pod was created.
    public var createdAt: Date

    /// Creates a pod record (the supervisor makes its own; other platforms make theirs with this).
    public init(
        name: String, namespace: String, replicaSet: String, rollout: String, labels: [String: String],
        launch: PodLaunch, port: Int, process: ProcessIdentity?, startedAt: Date?, restarts: Int, nextStartAt: Date?,
        lastTermination: String?, isReady: Bool, readySince: Date?, consecutiveProbeFailures: Int,
        lastProbeAt: Date?, createdAt: Date
    ) {
        self.name = name
        self.namespace = namespace
        self.replicaSet = replicaSet
        self.rollout = rollout
        self.labels = labels
        self.launch = launch
        self.port = port
        self.process = process
        self.startedAt = startedAt
        self.restarts = restarts
        self.nextStartAt = nextStartAt
        self.lastTermination = lastTermination
        self.isReady = isReady
        self.readySince = readySince
        self.consecutiveProbeFailures = consecutiveProbeFailures
        self.lastProbeAt = lastProbeAt
        self.createdAt = createdAt
    }

    /// Whether the pod has been ready for at least `minReadySeconds` at `now`.
    public func isAvailable(at now: Date) -> Bool {
        guard isReady, let readySince else { return false }
        return now.timeIntervalSince(readySince) >= launch.minReadySeconds
    }

    /// The pod's address as `127.0.0.1:<port>`.
    public var address: String { "127.0.0.1:\(port)" }

    /// The pod as the platform seam shows it.
    public var pod: Pod {
        Pod(
            name: name, namespace: namespace, replicaSet: replicaSet, rollout: rollout, labels: labels,
            image: launch.image, address: address, port: port, processID: process?.pid, isReady: isReady,
            restarts: restarts, lastTermination: lastTermination, createdAt: createdAt)
    }
}

/// A process and the kernel's start time of it, so that a recycled PID is never taken for it.
public struct ProcessIdentity: Codable, Sendable, Hashable {
    /// The process ID.
    public var pid: Int32
    /// Field 22 of `/proc/<pid>/stat`: clock ticks after boot at which the process started.
    public var startTicks: UInt64

    /// Creates an identity.
    public init(pid: Int32, startTicks: UInt64) {
        self.pid = pid
        self.startTicks = startTicks
    }
}
