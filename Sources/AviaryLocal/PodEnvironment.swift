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

/// What a pod's process is started with: its arguments and its whole environment, resolved as the
/// kubelet resolves a container's.
public struct ResolvedPodProcess: Sendable, Hashable {
    /// `command` + `args`, with references expanded.
    public var arguments: [String]
    /// The process's entire environment.
    public var environment: [String: String]

    /// Resolves a pod's process.
    ///
    /// - `provided`: the variables Aviary gives every pod (`PORT`, `IMAGE`, `IMAGE_NAME`,
    ///   `IMAGE_TAG`, `POD_NAME`, `POD_NAMESPACE`). They can be referenced from the first `env`
    ///   entry on, like Kubernetes' service variables, and they win over an `env` entry of the same
    ///   name: `PORT` is where the router sends traffic.
    /// - `containerEnvironment`: the container's `env`, in order; each value may reference the
    ///   provided variables and the entries before it.
    /// - `base`: variables the process gets that cannot be referenced (`PATH`, `HOME`, `LANG`, or
    ///   the daemon's environment with `--pod-env-inherit`), as an image's own environment cannot be
    ///   in Kubernetes.
    public init(
        arguments: [String], containerEnvironment: [EnvironmentEntry], provided: [String: String],
        base: [String: String] = [:]
    ) {
        var defined: [String: String] = [:]
        for entry in containerEnvironment {
            let value = VariableExpansion.expand(entry.value) { provided[$0] ?? defined[$0] }
            defined[entry.name] = value
        }
        defined.merge(provided) { _, provided in provided }
        self.arguments = arguments.map { VariableExpansion.expand($0, with: defined) }
        self.environment = base.merging(defined) { _, defined in defined }
    }
}
