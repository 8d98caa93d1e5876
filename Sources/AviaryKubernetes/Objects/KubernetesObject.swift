import AviaryJSON
import AviaryMeta
import Foundation

/// Any Kubernetes object, held as JSON, with its metadata decoded once.
///
/// The informer caches and the REST client pass objects in this form; ``decoded(as:)`` turns one into a
/// typed value (a ``Lease``, or a Codable struct of a custom resource such as a Rollout).
public struct KubernetesObject: Sendable, Hashable {
    /// The whole object as the server sent it.
    public private(set) var json: JSONValue
    /// The decoded `metadata`.
    public private(set) var metadata: ObjectMeta

    /// Wraps a JSON object; fails when `metadata` is present but malformed.
    public init(json: JSONValue) throws {
        self.json = json
        if let metadata = json["metadata"] {
            self.metadata = try metadata.decoded(as: ObjectMeta.self)
        } else {
            self.metadata = ObjectMeta()
        }
    }

    /// Encodes a typed object (one with `apiVersion`, `kind`, `metadata`).
    public init<T: Encodable>(encoding value: T) throws {
        try self.init(json: JSONValue(encoding: value))
    }

    /// The object's `apiVersion`.
    public var apiVersion: String? { json["apiVersion"]?.stringValue }
    /// The object's `kind`.
    public var kind: String? { json["kind"]?.stringValue }
    /// `namespace/name`, or `name` for a cluster-scoped object: the informer's key.
    public var key: String { ObjectKey(namespace: metadata.namespace, name: metadata.name ?? "").description }

    /// Decodes the object as `type`.
    public func decoded<T: Decodable>(as type: T.Type = T.self) throws -> T { try json.decoded(as: type) }

    /// The object without `metadata.managedFields` (server-side apply's bookkeeping).
    public func removingManagedFields() -> KubernetesObject {
        guard case .object(var members) = json, case .object(var metadata)? = members["metadata"],
            metadata["managedFields"] != nil
        else { return self }
        metadata.removeValue(forKey: "managedFields")
        members["metadata"] = .object(metadata)
        var trimmed = self
        trimmed.json = .object(members)
        return trimmed
    }

    /// The object keeping only the members `kept` names, at any depth: `kept` maps a member to
    /// what to keep inside it (nil: all of it). Arrays keep the shape for each element.
    public func keeping(_ kept: KeptFields) -> KubernetesObject {
        var trimmed = self
        trimmed.json = kept.apply(to: json)
        return trimmed
    }

    /// Replaces the metadata (and its JSON) with `metadata`.
    public mutating func setMetadata(_ metadata: ObjectMeta) throws {
        self.metadata = metadata
        json["metadata"] = try JSONValue(encoding: metadata)
    }
}

/// The key of an object in a cache and a work queue: `namespace/name`, or `name` when cluster-scoped.
public struct ObjectKey: Sendable, Hashable, CustomStringConvertible {
    /// The namespace, nil for cluster-scoped objects.
    public var namespace: String?
    /// The name.
    public var name: String

    /// A key.
    public init(namespace: String?, name: String) {
        self.namespace = namespace?.isEmpty == true ? nil : namespace
        self.name = name
    }

    /// Parses `namespace/name` or `name`.
    public init(parsing key: String) {
        if let slash = key.firstIndex(of: "/") {
            self.init(namespace: String(key[..<slash]), name: String(key[key.index(after: slash)...]))
        } else {
            self.init(namespace: nil, name: key)
        }
    }

    /// `namespace/name` or `name`.
    public var description: String { namespace.map { "\($0)/\(name)" } ?? name }
}

/// A list of objects with the list's metadata.
public struct ObjectList: Sendable {
    /// The items.
    public var items: [KubernetesObject]
    /// The list metadata (resourceVersion, continue token).
    public var metadata: ListMeta

    /// A list.
    public init(items: [KubernetesObject], metadata: ListMeta) {
        self.items = items
        self.metadata = metadata
    }
}

/// Which members of an object to keep (`KubernetesObject.keeping(_:)`): a tree of member names,
/// where a leaf keeps the whole value.
public indirect enum KeptFields: Sendable {
    /// The whole value.
    case all
    /// Only these members of an object (or of each object of an array), each trimmed in turn.
    case members([String: KeptFields])

    func apply(to value: JSONValue) -> JSONValue {
        switch (self, value) {
        case (.all, _):
            return value
        case (.members(let kept), .object(let members)):
            var result: [String: JSONValue] = [:]
            for (name, inner) in kept { if let member = members[name] { result[name] = inner.apply(to: member) } }
            return .object(result)
        case (.members, .array(let elements)):
            return .array(elements.map { apply(to: $0) })
        case (.members, _):
            return value
        }
    }
}
