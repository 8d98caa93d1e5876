import Foundation

/// A resource type on the API server: group, version and the plural resource name.
public struct GroupVersionResource: Sendable, Hashable, CustomStringConvertible {
    /// The API group; empty for the core group (`v1` Pods, ConfigMaps, Services).
    public var group: String
    /// The version, for example `v1` or `v1alpha1`.
    public var version: String
    /// The plural, lower-case resource name, for example `configmaps` or `rollouts`.
    public var resource: String

    /// A resource type.
    public init(group: String, version: String, resource: String) {
        self.group = group
        self.version = version
        self.resource = resource
    }

    /// Core `v1` ConfigMaps.
    public static let configMaps = GroupVersionResource(group: "", version: "v1", resource: "configmaps")
    /// Core `v1` Pods.
    public static let pods = GroupVersionResource(group: "", version: "v1", resource: "pods")
    /// Core `v1` Secrets.
    public static let secrets = GroupVersionResource(group: "", version: "v1", resource: "secrets")
    /// Core `v1` Services.
    public static let services = GroupVersionResource(group: "", version: "v1", resource: "services")
    /// `apps/v1` Deployments.
    public static let deployments = GroupVersionResource(group: "apps", version: "v1", resource: "deployments")
    /// Core `v1` PodTemplates.
    public static let podTemplates = GroupVersionResource(group: "", version: "v1", resource: "podtemplates")
    /// `apps/v1` ReplicaSets.
    public static let replicaSets = GroupVersionResource(group: "apps", version: "v1", resource: "replicasets")
    /// `batch/v1` Jobs.
    public static let jobs = GroupVersionResource(group: "batch", version: "v1", resource: "jobs")
    /// Argo `argoproj.io/v1alpha1` Rollouts.
    public static let rollouts = GroupVersionResource(group: "argoproj.io", version: "v1alpha1", resource: "rollouts")

    /// `resource.group` or `resource` for the core group, as kubectl prints it.
    public var description: String { group.isEmpty ? resource : "\(resource).\(group)" }

    /// The URL path of the collection or of one object, with an optional subresource (`status`).
    func path(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        var path = group.isEmpty ? "/api/\(version)" : "/apis/\(group)/\(version)"
        if let namespace, !namespace.isEmpty { path += "/namespaces/\(escape(namespace))" }
        path += "/\(resource)"
        if let name { path += "/\(escape(name))" }
        if let subresource { path += "/\(subresource)" }
        return path
    }

    /// How an error message names the object or collection.
    func describe(namespace: String?, name: String? = nil, subresource: String? = nil) -> String {
        let sub = subresource.map { "/\($0)" } ?? ""
        if let name {
            let key = ObjectKey(namespace: namespace, name: name).description
            return "\(description)\(sub) \"\(key)\""
        }
        if let namespace, !namespace.isEmpty { return "\(description) in namespace \"\(namespace)\"" }
        return "\(description) in all namespaces"
    }

    private func escape(_ segment: String) -> String {
        segment.addingPercentEncoding(withAllowedCharacters: .urlPathAllowed.subtracting(.init(charactersIn: "/")))
            ?? segment
    }
}
