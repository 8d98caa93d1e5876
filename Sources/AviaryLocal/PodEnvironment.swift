import AviaryModel

/// Kubernetes' dependent environment variables: `$(NAME)` in a container's `command`, `args` and
/// `env` values is replaced by the variable's value, as the kubelet does before it starts a
/// container.
///
/// The rules, from Kubernetes' `third_party/forked/golang/expansion`:
/// - `$(NAME)` is replaced when `NAME` is defined, and left exactly as written when it is not;
/// - `$$` is an escaped `$`, so `$$(NAME)` gives the text `$(NAME)`;
/// - a `$` before any other character, a `$(` with no closing `)`, and a trailing `$` stay as
///   they are.
///
/// For example, with `IMAGE_TAG=v2`: `/opt/app/$(IMAGE_TAG)/server` gives `/opt/app/v2/server`,
/// `$(UNKNOWN)` stays `$(UNKNOWN)`, and `$$(IMAGE_TAG)` gives `$(IMAGE_TAG)`.
public enum VariableExpansion {
    /// `input` with every reference to a variable that `lookup` knows replaced by its value.
    public static func expand(_ input: String, lookup: (String) -> String?) -> String {
        guard input.contains("$") else { return input }
        let bytes = Array(input.utf8)
        var output: [UInt8] = []
        output.reserveCapacity(bytes.count)
        var cursor = 0
        while cursor < bytes.count {
            let byte = bytes[cursor]
            guard byte == UInt8(ascii: "$"), cursor + 1 < bytes.count else {
                output.append(byte)
                cursor += 1
                continue
            }
            let next = bytes[cursor + 1]
            if next == UInt8(ascii: "$") {
                output.append(next)
                cursor += 2
            } else if next == UInt8(ascii: "("),
                let closer = bytes[(cursor + 2)...].firstIndex(of: UInt8(ascii: ")"))
            {
                let name = String(decoding: bytes[(cursor + 2)..<closer], as: UTF8.self)
                if let value = lookup(name) {
                    output.append(contentsOf: value.utf8)
                } else {
                    output.append(contentsOf: bytes[cursor...closer])
                }
                cursor = closer + 1
            } else {
                output.append(byte)
                cursor += 1
            }
        }
        return String(decoding: output, as: UTF8.self)
    }

    /// `input` expanded against a dictionary of variables.
    public static func expand(_ input: String, with variables: [String: String]) -> String {
        expand(input) { variables[$0] }
    }
}

/// A container image reference split the way `IMAGE_NAME` and `IMAGE_TAG` expose it:
/// `registry.example:5000/team/app:v2` is named `registry.example:5000/team/app` with tag `v2`;
/// `app@sha256:ab…` has the digest as its tag; a reference with neither has the tag `latest`, as a
/// container runtime assumes.
public struct ImageReference: Sendable, Hashable {
    /// Everything before the tag or digest.
    public var name: String
    /// The tag, the digest (`sha256:…`), or `latest`.
    public var tag: String

    /// Splits `reference`.
    public init(parsing reference: String) {
        if let at = reference.firstIndex(of: "@") {
            name = String(reference[..<at])
            tag = String(reference[reference.index(after: at)...])
            return
        }
        // A colon after the last slash separates the tag; one before it belongs to a registry's port.
        let lastSlash = reference.lastIndex(of: "/")
        if let colon = reference.lastIndex(of: ":"), lastSlash.map({ colon > $0 }) ?? true {
            name = String(reference[..<colon])
            tag = String(reference[reference.index(after: colon)...])
        } else {
            name = reference
            tag = "latest"
        }
        if tag.isEmpty { tag = "latest" }
    }
}

/// A ConfigMap or a Secret, as `envFrom` and `valueFrom` name them.
public enum ConfigurationKind: String, Sendable, Hashable {
    /// A `ConfigMap`.
    case configMap = "ConfigMap"
    /// A `Secret`.
    case secret = "Secret"
}

extension ConfigurationKind {
    /// The resource kind it names.
    public var resourceKind: ResourceKind { self == .secret ? .secret : .configMap }
}

/// Reads the values of a ConfigMap or Secret of the pod's namespace by name; nil when there is
/// none.
public typealias ConfigurationLookup = (ConfigurationKind, String) throws -> [String: String]?

/// Why a pod's environment cannot be built, as the kubelet's `CreateContainerConfigError` says it.
public struct PodEnvironmentError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message: what is missing, where, and the fix.
    public var description: String

    /// An error with a message.
    public init(_ description: String) { self.description = description }
}

/// What a pod's process is started with: its arguments and its whole environment, resolved as the
/// kubelet resolves a container's.
public struct ResolvedPodProcess: Sendable, Hashable {
    /// `command` + `args`, with references expanded.
    public var arguments: [String]
    /// The process's entire environment.
    public var environment: [String: String]

    /// Resolves a pod's process.
    ///
    /// - `environmentFrom`: the container's `envFrom`, read whole through `lookup`, each key
    ///   prefixed; defined first, in order, and never expanded.
    /// - `containerEnvironment`: the container's `env`, in order; a literal value may reference the
    ///   provided variables and everything defined before it; a `valueFrom` value (a key of a
    ///   ConfigMap or Secret, a field of the pod from `fields`) is taken as it is.
    /// - `provided`: the variables Aviary gives every pod (`PORT`, `IMAGE`, `IMAGE_NAME`,
    ///   `IMAGE_TAG`, `POD_NAME`, `POD_NAMESPACE`). They can be referenced from the first `env`
    ///   entry on, like Kubernetes' service variables, and they win over an entry of the same
    ///   name: `PORT` is where the router sends traffic.
    /// - `base`: variables the process gets that cannot be referenced (`PATH`, `HOME`, `LANG`, or
    ///   the daemon's environment with `--pod-env-inherit`), as an image's own environment cannot be
    ///   in Kubernetes.
    ///
    /// Throws, as the kubelet refuses to start the container, when a ConfigMap, Secret or key that
    /// is not `optional` is missing, or a `fieldRef` names a field there is no value for.
    public init(
        arguments: [String], environmentFrom: [EnvFromSource] = [], containerEnvironment: [EnvironmentEntry],
        provided: [String: String], base: [String: String] = [:], fields: PodFields = PodFields(),
        lookup: @escaping ConfigurationLookup = { _, _ in nil }
    ) throws(PodEnvironmentError) {
        var reader = ConfigurationReader(lookup: lookup, namespace: fields.namespace)
        var defined: [String: String] = [:]
        for source in environmentFrom {
            let (kind, reference) =
                source.secretRef.map { (ConfigurationKind.secret, $0) } ?? (.configMap, source.configMapRef)
            guard let reference, let name = reference.name else { continue }
            guard let values = try reader.values(kind, name, optional: reference.optional ?? false) else { continue }
            // The kubelet skips keys that cannot be variable names; `=` is the one an environment cannot hold.
            for (key, value) in values.sorted(by: { $0.key < $1.key }) where !key.isEmpty && !key.contains("=") {
                defined[(source.prefix ?? "") + key] = value
            }
        }
        for entry in containerEnvironment {
            guard let source = entry.source else {
                defined[entry.name] = VariableExpansion.expand(entry.value) { provided[$0] ?? defined[$0] }
                continue
            }
            if let value = try reader.value(of: source, fields: fields, variable: entry.name) {
                defined[entry.name] = value
            }
        }
        defined.merge(provided) { _, provided in provided }
        self.arguments = arguments.map { VariableExpansion.expand($0, with: defined) }
        self.environment = base.merging(defined) { _, defined in defined }
    }
}

/// The fields of a pod a `fieldRef` can name.
public struct PodFields: Sendable, Hashable {
    /// `metadata.name` (also `metadata.uid`: a local pod's name is unique for its life).
    public var name: String
    /// `metadata.namespace`.
    public var namespace: String
    /// `metadata.labels`.
    public var labels: [String: String]
    /// `metadata.annotations`.
    public var annotations: [String: String]
    /// `status.podIP` and `status.hostIP`: the address the pod listens on.
    public var address: String
    /// `spec.nodeName`: the host's name.
    public var nodeName: String
    /// `spec.serviceAccountName`.
    public var serviceAccountName: String

    /// The fields of one pod.
    public init(
        name: String = "", namespace: String = "default", labels: [String: String] = [:],
        annotations: [String: String] = [:], address: String = "127.0.0.1", nodeName: String = "localhost",
        serviceAccountName: String = "default"
    ) {
        self.name = name
        self.namespace = namespace
        self.labels = labels
        self.annotations = annotations
        self.address = address
        self.nodeName = nodeName
        self.serviceAccountName = serviceAccountName
    }

    /// The value at `fieldPath`, as the downward API gives it: a missing label or annotation is
    /// empty, `metadata.labels` is every label as `key="value"` lines; nil for a path Kubernetes
    /// does not offer.
    public func value(at fieldPath: String) -> String? {
        switch fieldPath {
        case "metadata.name", "metadata.uid": return name
        case "metadata.namespace": return namespace
        case "metadata.labels": return Self.lines(labels)
        case "metadata.annotations": return Self.lines(annotations)
        case "status.podIP", "status.podIPs", "status.hostIP", "status.hostIPs": return address
        case "spec.nodeName": return nodeName
        case "spec.serviceAccountName": return serviceAccountName
        default:
            for (prefix, map) in [("metadata.labels['", labels), ("metadata.annotations['", annotations)]
            where fieldPath.hasPrefix(prefix) && fieldPath.hasSuffix("']") {
                return map[String(fieldPath.dropFirst(prefix.count).dropLast(2))] ?? ""
            }
            return nil
        }
    }

    private static func lines(_ map: [String: String]) -> String {
        map.sorted { $0.key < $1.key }.map { "\($0.key)=\"\($0.value)\"" }.joined(separator: "\n")
    }
}

/// Reads ConfigMaps and Secrets for one pod, each at most once.
private struct ConfigurationReader {
    let lookup: ConfigurationLookup
    let namespace: String
    var read: [String: [String: String]?] = [:]

    mutating func values(
        _ kind: ConfigurationKind, _ name: String, optional: Bool
    ) throws(PodEnvironmentError) -> [String: String]? {
        let cacheKey = "\(kind.rawValue)/\(name)"
        let values: [String: String]?
        if let known = read[cacheKey] {
            values = known
        } else {
            do {
                values = try lookup(kind, name)
            } catch {
                throw PodEnvironmentError("cannot read \(kind.rawValue.lowercased()) \"\(name)\": \(error)")
            }
            read[cacheKey] = values
        }
        if values == nil, !optional {
            throw PodEnvironmentError(
                "\(kind.rawValue.lowercased()) \"\(name)\" not found in namespace \"\(namespace)\"; "
                    + "apply it (aviary apply -f), or mark the reference optional: true")
        }
        return values
    }

    mutating func value(
        of source: EnvVarSource, fields: PodFields, variable: String
    ) throws(PodEnvironmentError) -> String? {
        if let field = source.fieldRef {
            guard let value = fields.value(at: field.fieldPath) else {
                throw PodEnvironmentError(
                    "env \(variable): fieldRef.fieldPath \"\(field.fieldPath)\" is not a field a pod offers; "
                        + "use metadata.name, metadata.namespace, metadata.labels['KEY'] or status.podIP")
            }
            return value
        }
        let (kind, selector) =
            source.secretKeyRef.map { (ConfigurationKind.secret, $0) } ?? (.configMap, source.configMapKeyRef)
        // resourceFieldRef: a process on this host has no container limits to read.
        guard let selector, let name = selector.name else { return nil }
        let optional = selector.optional ?? false
        guard let values = try values(kind, name, optional: optional) else { return nil }
        if let value = values[selector.key] { return value }
        if optional { return nil }
        throw PodEnvironmentError(
            "env \(variable): \(kind.rawValue.lowercased()) \"\(name)\" has no key \"\(selector.key)\"; "
                + "add it, or mark the reference optional: true")
    }
}
