import AviaryJSON
import AviaryMeta

/// An `apps/v1` Deployment or ReplicaSet, or a `v1` PodTemplate: what a Rollout's `workloadRef`
/// takes its pod template (and, from a Deployment or ReplicaSet, its selector) from. On Kubernetes it is the cluster's object;
/// on one host it is applied to the daemon like any manifest and kept for the Rollouts that name
/// it: one host runs no Deployment's pods (the Rollout runs them), and `workloadRef.scaleDown`
/// sets the kept Deployment's `spec.replicas` as Argo sets the real one's.
public struct Workload: Codable, Sendable, Hashable {
    /// `apps/v1` or `v1`.
    public var apiVersion: String?
    /// `Deployment`, `ReplicaSet` or `PodTemplate`.
    public var kind: String?
    /// The object's metadata.
    public var metadata: ObjectMeta
    /// A Deployment's or ReplicaSet's `spec`, kept whole: `replicas`, `selector` and `template` are read; its
    /// strategy and the rest are the Deployment's own, which the Rollout replaces.
    public var spec: JSONValue?
    /// A PodTemplate's `template`.
    public var template: PodTemplateSpec?

    /// The kind a `workloadRef` may name that `kind` spells, or nil.
    public static func kind(_ kind: String?) -> ResourceKind? {
        kind.flatMap(ResourceKind.init(rawValue:)).flatMap { $0.isWorkload ? $0 : nil }
    }

    /// Whether its pod template is `spec.template` (a Deployment's or ReplicaSet's) rather than a
    /// PodTemplate's top-level `template`.
    public static func hasSpecTemplate(_ kind: String?) -> Bool { Self.kind(kind).map { $0 != .podTemplate } ?? false }

    /// A workload of `kind`; see the properties.
    public init(
        apiVersion: String? = nil, kind: String, metadata: ObjectMeta, spec: JSONValue? = nil,
        template: PodTemplateSpec? = nil
    ) {
        self.apiVersion = apiVersion ?? Self.kind(kind)?.apiVersion
        self.kind = kind
        self.metadata = metadata
        self.spec = spec
        self.template = template
    }
}
