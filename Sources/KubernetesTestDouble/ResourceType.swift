import AviaryJSON
import Foundation

/// One served resource of one group version: what discovery lists and what URLs address.
public struct ResourceType: Sendable, Equatable {
    public var group: String
    public var version: String
    /// The plural, lower-case name used in URLs (`rollouts`).
    public var resource: String
    public var singular: String
    public var kind: String
    public var listKind: String
    public var isNamespaced: Bool
    public var shortNames: [String] = []
    public var categories: [String] = []
    /// Whether the kind has the `/status` subresource: then writes to the object never change
    /// its status, and writes to `/status` change nothing else.
    public var hasStatusSubresource: Bool
    /// Whether the kind was registered by a CustomResourceDefinition (merge patch only, schema from the CRD).
    public var isCustom: Bool = false
    /// The CRD's `openAPIV3Schema` for this version, if it has one.
    public var schema: JSONValue? = nil

    /// `resource` or `resource.group`, as error messages name it (`rollouts.argoproj.io`).
    public var qualifiedName: String { group.isEmpty ? resource : "\(resource).\(group)" }
    /// `Kind` or `Kind.group`, as Invalid messages name it.
    public var qualifiedKind: String { group.isEmpty ? kind : "\(kind).\(group)" }
    /// `v1` or `group/version`.
    public var apiVersion: String { group.isEmpty ? version : "\(group)/\(version)" }
    /// The storage key of the resource, shared by all its versions.
    var groupResource: GroupResource { GroupResource(group: group, resource: resource) }

    var verbs: [String] {
        ["create", "delete", "deletecollection", "get", "list", "patch", "update", "watch"]
    }

    static func builtIn(
        _ group: String, _ version: String, _ resource: String, kind: String, namespaced: Bool,
        shortNames: [String] = [], categories: [String] = [], status: Bool
    ) -> ResourceType {
        ResourceType(
            group: group, version: version, resource: resource, singular: kind.lowercased(), kind: kind,
            listKind: kind + "List", isNamespaced: namespaced, shortNames: shortNames, categories: categories,
            hasStatusSubresource: status)
    }

    /// The kinds every cluster serves before any CRD is created.
    static let builtIns: [ResourceType] = [
        .builtIn("", "v1", "namespaces", kind: "Namespace", namespaced: false, shortNames: ["ns"], status: true),
        .builtIn("", "v1", "pods", kind: "Pod", namespaced: true, shortNames: ["po"], categories: ["all"], status: true),
        .builtIn(
            "", "v1", "services", kind: "Service", namespaced: true, shortNames: ["svc"], categories: ["all"],
            status: true),
        .builtIn("", "v1", "configmaps", kind: "ConfigMap", namespaced: true, shortNames: ["cm"], status: false),
        .builtIn("", "v1", "secrets", kind: "Secret", namespaced: true, status: false),
        .builtIn("", "v1", "events", kind: "Event", namespaced: true, shortNames: ["ev"], status: false),
        // Written by the test that plays the endpoints controller (nothing here fills them in).
        .builtIn("", "v1", "endpoints", kind: "Endpoints", namespaced: true, shortNames: ["ep"], status: false),
        .builtIn("", "v1", "podtemplates", kind: "PodTemplate", namespaced: true, status: false),
        .builtIn(
            "apps", "v1", "replicasets", kind: "ReplicaSet", namespaced: true, shortNames: ["rs"],
            categories: ["all"], status: true),
        .builtIn(
            "apps", "v1", "deployments", kind: "Deployment", namespaced: true, shortNames: ["deploy"],
            categories: ["all"], status: true),
        .builtIn("batch", "v1", "jobs", kind: "Job", namespaced: true, categories: ["all"], status: true),
        .builtIn(
            "networking.k8s.io", "v1", "ingresses", kind: "Ingress", namespaced: true, shortNames: ["ing"],
            status: true),
        .builtIn("coordination.k8s.io", "v1", "leases", kind: "Lease", namespaced: true, status: false),
        // Stored so that an install's manifests apply; nothing enforces RBAC here.
        .builtIn("", "v1", "serviceaccounts", kind: "ServiceAccount", namespaced: true, shortNames: ["sa"], status: false),
        .builtIn("rbac.authorization.k8s.io", "v1", "clusterroles", kind: "ClusterRole", namespaced: false, status: false),
        .builtIn(
            "rbac.authorization.k8s.io", "v1", "clusterrolebindings", kind: "ClusterRoleBinding", namespaced: false,
            status: false),
        .builtIn("rbac.authorization.k8s.io", "v1", "roles", kind: "Role", namespaced: true, status: false),
        .builtIn("rbac.authorization.k8s.io", "v1", "rolebindings", kind: "RoleBinding", namespaced: true, status: false),
        .builtIn(
            "apiextensions.k8s.io", "v1", "customresourcedefinitions", kind: "CustomResourceDefinition",
            namespaced: false, shortNames: ["crd", "crds"], categories: ["api-extensions"], status: true),
    ]
}

/// A resource regardless of version: objects are stored under it.
struct GroupResource: Hashable, Sendable {
    var group: String
    var resource: String

    static let namespaces = GroupResource(group: "", resource: "namespaces")
    static let pods = GroupResource(group: "", resource: "pods")
    static let replicaSets = GroupResource(group: "apps", resource: "replicasets")
    static let customResourceDefinitions = GroupResource(
        group: "apiextensions.k8s.io", resource: "customresourcedefinitions")
}

/// The served resources: the built-in ones and those CRDs added.
struct ResourceRegistry: Sendable {
    private(set) var types: [ResourceType] = ResourceType.builtIns

    /// The type served at `group/version` under `resource`, if any.
    func type(group: String, version: String, resource: String) -> ResourceType? {
        types.first { $0.group == group && $0.version == version && $0.resource == resource }
    }

    /// Any served version of a resource (for storage-level work such as garbage collection).
    func anyVersion(of groupResource: GroupResource) -> ResourceType? {
        types.first { $0.groupResource == groupResource }
    }

    /// The type of an object by its `apiVersion` and `kind`, e.g. for owner references.
    func type(apiVersion: String, kind: String) -> ResourceType? {
        types.first { $0.apiVersion == apiVersion && $0.kind == kind }
    }

    /// The group versions served, in discovery order (`v1` first).
    var groupVersions: [(group: String, version: String)] {
        var seen: [(String, String)] = []
        for type in types where !seen.contains(where: { $0 == (type.group, type.version) }) {
            seen.append((type.group, type.version))
        }
        return seen
    }

    /// Registers (or re-registers) the versions a CRD serves.
    mutating func register(_ crdTypes: [ResourceType], forGroupResource groupResource: GroupResource) {
        types.removeAll { $0.isCustom && $0.groupResource == groupResource }
        types.append(contentsOf: crdTypes)
    }

    /// Removes a CRD's resource when the CRD is deleted.
    mutating func unregister(_ groupResource: GroupResource) {
        types.removeAll { $0.isCustom && $0.groupResource == groupResource }
    }
}
