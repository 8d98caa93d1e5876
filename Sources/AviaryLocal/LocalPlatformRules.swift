import AviaryModel
import AviaryPlatform
import Foundation

/// What one host cannot hold that a cluster can: on the local platform a Rollout's ReplicaSets
/// and pods are named after the Rollout, and each Service becomes a router service named after
/// it, listening on `spec.ports[0].port`. So Rollout and Service names must be unique across
/// namespaces, and with one shared Service address (`--service-address`) no two Services may
/// share a port; a port the daemon may not bind is refused too. An apply that breaks a rule is
/// refused whole, before anything is stored; the check is pure, over the stored Services the API looked up.
public enum LocalPlatformRules {
    /// A Service already stored, with the port it listens on.
    public struct StoredService: Equatable {
        /// The Service.
        public var service: NamespacedName
        /// `spec.ports[0].port`, if it has one.
        public var port: Int?

        /// Creates an entry.
        public init(service: NamespacedName, port: Int?) {
            self.service = service
            self.port = port
        }
    }

    /// How this host places Services (from `aviary serve`'s flags).
    public struct ServicePlacement: Sendable, Equatable {
        /// Every Service listens on one shared address (`--service-address` given), so two may not
        /// share a port; false when a Service whose port is taken gets an address of its own.
        public var portsMustDiffer: Bool
        /// Added to `spec.ports[0].port` to give the listening port (`--service-port-offset`).
        public var portOffset: Int
        /// Listening ports below this need root (`/proc/sys/net/ipv4/ip_unprivileged_port_start`);
        /// 0 when the daemon may bind any port.
        public var privilegedBelow: Int

        /// Creates a placement.
        public init(portsMustDiffer: Bool = true, portOffset: Int = 0, privilegedBelow: Int = 0) {
            self.portsMustDiffer = portsMustDiffer
            self.portOffset = portOffset
            self.privilegedBelow = privilegedBelow
        }

        /// The lowest port this process may bind: 0 as root, else the kernel's unprivileged start (1024 by default).
        public static func privilegedBelowForThisProcess() -> Int {
            guard geteuid() != 0 else { return 0 }
            let text = try? String(contentsOfFile: "/proc/sys/net/ipv4/ip_unprivileged_port_start", encoding: .utf8)
            return text.flatMap { Int($0.trimmingCharacters(in: .whitespacesAndNewlines)) } ?? 1024
        }
    }

    /// The kinds whose names must be unique across namespaces.
    static let hostWideNameKinds: Set<ResourceKind> = [.rollout, .service]

    /// One line per broken rule, naming the document, the field and the fix; empty when the
    /// apply may go ahead. `namespacesHolding(kind, name)` answers from the store.
    /// `isReadableFile` says whether a Service's TLS file can be read (the file system by default);
    /// `storedSecretKeys(namespace, name)` gives the keys of a stored Secret, nil when there is
    /// none (a Service's `aviary.dev/tls-secret` needs one, stored or in the same apply).
    public static func problems(
        incoming: [AnyResource], storedServices: [StoredService], placement: ServicePlacement = ServicePlacement(),
        isReadableFile: (String) -> Bool = { FileManager.default.isReadableFile(atPath: $0) },
        storedSecretKeys: (_ namespace: String, _ name: String) throws -> Set<String>? = { _, _ in nil },
        namespacesHolding: (_ kind: ResourceKind, _ name: String) throws -> [String]
    ) rethrows -> [String] {
        var problems: [String] = []
        // What this apply claims so far, so two documents of one file are checked against each other.
        var claimedNames: [String: String] = [:]  // "Kind/name" → namespace
        var ports: [Int: NamespacedName] = [:]
        // The port each Service last claimed, to free it when the Service moves.
        var portOf: [NamespacedName: Int] = [:]
        for stored in storedServices {
            if let port = stored.port {
                ports[port] = stored.service
                portOf[stored.service] = port
            }
        }
        for resource in incoming where hostWideNameKinds.contains(resource.kind) {
            let namespace = resource.metadata.namespaceOrDefault
            let key = NamespacedName(namespace: namespace, name: resource.name)
            let label = "\(resource.kind) \(namespace)/\(resource.name)"
            let claim = "\(resource.kind)/\(resource.name)"
            var others = try namespacesHolding(resource.kind, resource.name).filter { $0 != namespace }
            if let earlier = claimedNames[claim], earlier != namespace { others.append(earlier) }
            if let other = others.first {
                problems.append(
                    "\(label): metadata.name is taken: a \(resource.kind) named \(resource.name) exists in namespace "
                        + "\(other), and on one host \(resource.kind) names are shared by every namespace "
                        + "(\(resource.kind == .rollout ? "ReplicaSets and pods are named after it" : "the router names its service after it")); "
                        + "rename one of them")
            }
            claimedNames[claim] = namespace
            guard case .service(let service) = resource else { continue }
            let annotations = ServiceAnnotations(service.metadata.annotations ?? [:])
            problems += annotations.problems.map { "\(label): \($0)" }
            for file in [annotations.tls?.certificateFile, annotations.tls?.keyFile].compactMap({ $0 })
            where !isReadableFile(file) {
                problems.append(
                    "\(label): metadata.annotations: \(file) cannot be read by the daemon; "
                        + "check the path and that the daemon's user may read it")
            }
            if let secret = annotations.tlsSecret {
                let applied = incoming.lazy.compactMap { resource -> Secret? in
                    guard case .secret(let value) = resource, resource.name == secret,
                        resource.metadata.namespaceOrDefault == namespace
                    else { return nil }
                    return value
                }.last
                let keys = try applied.map { Set($0.values.keys) } ?? storedSecretKeys(namespace, secret)
                let hint = "a Secret of type kubernetes.io/tls with tls.crt (the PEM chain) and tls.key"
                if let keys {
                    let missing = ServiceAnnotations.tlsSecretKeys.filter { !keys.contains($0) }
                    if !missing.isEmpty {
                        problems.append(
                            "\(label): metadata.annotations: \(ServiceAnnotations.tlsSecret): Secret \(namespace)/\(secret) "
                                + "has no \(missing.joined(separator: " or ")); give it \(hint)")
                    }
                } else {
                    problems.append(
                        "\(label): metadata.annotations: \(ServiceAnnotations.tlsSecret): there is no Secret "
                            + "\(namespace)/\(secret); apply it first or in the same file: \(hint)")
                }
            }
            guard let port = service.spec.ports?.first?.port else { continue }
            let listening = port + placement.portOffset
            if listening < placement.privilegedBelow {
                problems.append(
                    "\(label): spec.ports[0].port \(port) needs root on this host (ports below \(placement.privilegedBelow)): "
                        + "run aviary serve as root, or pass --service-port-offset \(max(8000, placement.privilegedBelow)) "
                        + "so that it listens on \(port + max(8000, placement.privilegedBelow))")
            }
            guard placement.portsMustDiffer else { continue }
            if let holder = ports[port], holder != key {
                problems.append(
                    "\(label): spec.ports[0].port \(port) is already the listener of Service "
                        + "\(holder.namespace)/\(holder.name); each Service listens on its own port on this host: "
                        + "pick a free port")
            } else {
                // A re-applied Service may move to another port: its old one is free again.
                if let old = portOf[key], ports[old] == key { ports[old] = nil }
                ports[port] = key
                portOf[key] = port
            }
        }
        return problems
    }
}
