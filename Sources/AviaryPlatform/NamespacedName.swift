/// The key of a namespaced object on a platform (a ReplicaSet, a Service, a Rollout's split):
/// what Kubernetes calls a `NamespacedName`.
public struct NamespacedName: Hashable, Sendable, Codable, Comparable, CustomStringConvertible {
    /// The namespace (`metadata.namespace`).
    public var namespace: String
    /// The name within it (`metadata.name`).
    public var name: String

    /// Creates a key.
    public init(namespace: String, name: String) {
        self.namespace = namespace
        self.name = name
    }

    /// `namespace/name`.
    public var description: String { "\(namespace)/\(name)" }

    /// Namespace first, then name.
    public static func < (lhs: NamespacedName, rhs: NamespacedName) -> Bool {
        (lhs.namespace, lhs.name) < (rhs.namespace, rhs.name)
    }
}

extension NamespacedName: ExpressibleByStringLiteral {
    /// `"namespace/name"`, or `"name"` in the `default` namespace (as `kubectl` reads it).
    public init(stringLiteral text: String) {
        if let slash = text.firstIndex(of: "/") {
            self.init(namespace: String(text[..<slash]), name: String(text[text.index(after: slash)...]))
        } else {
            self.init(namespace: "default", name: text)
        }
    }
}
