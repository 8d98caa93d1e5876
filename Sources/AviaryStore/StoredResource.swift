import AviaryModel
import Foundation
import GRDB

/// Names one resource: its kind (`Rollout`, `Service`, ...), namespace and name.
public struct ResourceKey: Hashable, Sendable, Codable, CustomStringConvertible, Comparable {
    /// The resource's kind (`Rollout`, `AnalysisTemplate`, `Service`, ...).
    public var kind: ResourceKind
    /// The namespace; `default` when the manifest names none.
    public var namespace: String
    /// The resource's `metadata.name`.
    public var name: String

    /// Creates a key; an empty namespace means `default`.
    public init(kind: ResourceKind, namespace: String = "default", name: String) {
        self.kind = kind
        self.namespace = namespace.isEmpty ? "default" : namespace
        self.name = name
    }

    public var description: String { "\(kind) \(namespace)/\(name)" }

    public static func < (lhs: ResourceKey, rhs: ResourceKey) -> Bool {
        (lhs.kind, lhs.namespace, lhs.name) < (rhs.kind, rhs.namespace, rhs.name)
    }
}

/// A resource as stored: the manifest's parts as JSON plus the counters the store keeps.
///
/// `generation` counts changes of `spec` (as on Kubernetes); `resourceVersion` counts every write
/// of the resource, status writes included, and is unique across the whole store.
public struct StoredResource: Sendable, Equatable {
    /// Which resource this is.
    public var key: ResourceKey
    /// `apiVersion` of the manifest (`argoproj.io/v1alpha1`, `v1`).
    public var apiVersion: String
    /// Changes of `spec` since creation, starting at 1.
    public var generation: Int
    /// The store-wide write counter at the last write of this resource.
    public var resourceVersion: Int
    /// `metadata` as JSON (an object).
    public var metadata: Data
    /// `spec` as JSON (an object), or nil when the manifest has none.
    public var spec: Data?
    /// `status` as JSON (an object), or nil before the controller wrote one.
    public var status: Data?
    /// When the resource was first stored (RFC 3339).
    public var createdAt: String

    /// A resource from its parts (a store other than SQLite, such as an informer cache, builds one).
    public init(
        key: ResourceKey, apiVersion: String, generation: Int, resourceVersion: Int, metadata: Data, spec: Data?,
        status: Data?, createdAt: String
    ) {
        self.key = key
        self.apiVersion = apiVersion
        self.generation = generation
        self.resourceVersion = resourceVersion
        self.metadata = metadata
        self.spec = spec
        self.status = status
        self.createdAt = createdAt
    }

    /// `metadata` with `namespace`, `name`, `generation`, `resourceVersion` and
    /// `creationTimestamp` filled in from the stored columns.
    private func filledMetadata() -> [String: Any] {
        var metadataObject = (try? JSONSerialization.jsonObject(with: metadata)) as? [String: Any] ?? [:]
        metadataObject["namespace"] = key.namespace
        metadataObject["name"] = key.name
        metadataObject["generation"] = generation
        metadataObject["resourceVersion"] = String(resourceVersion)
        metadataObject["creationTimestamp"] = createdAt
        return metadataObject
    }

    /// The whole object as a client sees it: `apiVersion`, `kind`, `metadata` (with `generation`,
    /// `resourceVersion` and `creationTimestamp` filled in), `spec` and `status`.
    public func object() -> [String: Any] {
        let metadataObject = filledMetadata()
        var result: [String: Any] = ["apiVersion": apiVersion, "kind": key.kind.rawValue, "metadata": metadataObject]
        if let spec, let specObject = try? JSONSerialization.jsonObject(with: spec) {
            if key.kind.hasTopLevelBody, let body = specObject as? [String: Any] {
                result.merge(body) { kept, _ in kept }
            } else {
                result["spec"] = specObject
            }
        }
        if let status, let statusObject = try? JSONSerialization.jsonObject(with: status) {
            result["status"] = statusObject
        }
        return result
    }

    /// `object()` encoded as JSON: the same fields, with the top-level and `metadata` keys
    /// sorted. `spec` and `status` are the stored bytes as they are (valid JSON objects: the
    /// store checks them), so a large object costs no parse and no tree of untyped values.
    public func objectJSON() -> Data {
        var bytes: [UInt8] = []
        appendObjectJSON(to: &bytes)
        return Data(bytes)
    }

    /// Appends `objectJSON()` to `bytes`: a listing of thousands of resources is written into one
    /// buffer, without a `[String: Any]` per resource (which at 10,000 rollouts took the daemon
    /// from about 200 MB to 900 MB).
    public func appendObjectJSON(to bytes: inout [UInt8]) {
        let metadataObject = filledMetadata()
        let metadataJSON =
            (try? JSONSerialization.data(withJSONObject: metadataObject, options: [.sortedKeys])) ?? Data("{}".utf8)
        bytes.append(contentsOf: #"{"apiVersion":"#.utf8)
        Self.appendString(apiVersion, to: &bytes)
        bytes.append(contentsOf: #","kind":"#.utf8)
        Self.appendString(key.kind.rawValue, to: &bytes)
        bytes.append(contentsOf: #","metadata":"#.utf8)
        bytes.append(contentsOf: metadataJSON)
        if let spec {
            if key.kind.hasTopLevelBody {
                // The stored object's members, without its braces; an empty one adds nothing.
                let members = spec.dropFirst().dropLast()
                if members.contains(where: { !Character(UnicodeScalar($0)).isWhitespace }) {
                    bytes.append(UInt8(ascii: ","))
                    bytes.append(contentsOf: members)
                }
            } else {
                bytes.append(contentsOf: #","spec":"#.utf8)
                bytes.append(contentsOf: spec)
            }
        }
        if let status {
            bytes.append(contentsOf: #","status":"#.utf8)
            bytes.append(contentsOf: status)
        }
        bytes.append(UInt8(ascii: "}"))
    }

    /// A JSON string literal of `value` (as JSONSerialization writes it, fragments allowed).
    private static func appendString(_ value: String, to bytes: inout [UInt8]) {
        let encoded =
            (try? JSONSerialization.data(withJSONObject: value, options: [.fragmentsAllowed])) ?? Data("\"\"".utf8)
        bytes.append(contentsOf: encoded)
    }
}

/// A summary of the resources of one kind in one namespace (`AviaryStore.stamp(kind:namespace:)`):
/// equal stamps mean none of them was created, written or deleted in between.
public struct ResourceStamp: Sendable, Hashable {
    /// How many there are.
    public var count: Int
    /// The highest resource version among them (0 when there are none).
    public var latestResourceVersion: Int

    /// Creates a stamp.
    public init(count: Int, latestResourceVersion: Int) {
        self.count = count
        self.latestResourceVersion = latestResourceVersion
    }
}

/// One status write of `AviaryStore.updateStatuses(_:)`; the fields are
/// `updateStatus(_:status:events:expectedResourceVersion:)`'s.
public struct StatusUpdate: Sendable, Equatable {
    /// The resource.
    public var key: ResourceKey
    /// The new status (a JSON object).
    public var status: Data
    /// Events stored with it.
    public var events: [StoredEvent]
    /// Written only if the resource still has this version.
    public var expectedResourceVersion: Int?
    /// Notifications the events trigger, put in the outbox in the same transaction.
    public var notifications: [StoredNotification]

    /// Makes an update; see the properties.
    public init(
        key: ResourceKey, status: Data, events: [StoredEvent] = [], expectedResourceVersion: Int? = nil,
        notifications: [StoredNotification] = []
    ) {
        self.key = key
        self.status = status
        self.events = events
        self.expectedResourceVersion = expectedResourceVersion
        self.notifications = notifications
    }
}

/// What `apply` did.
public enum ApplyOutcome: String, Sendable, Equatable {
    /// The resource did not exist and was created.
    case created
    /// The resource existed and its manifest changed.
    case configured
    /// The resource existed with the same manifest: nothing was written.
    case unchanged
}

/// One event recorded against a resource (as `kubectl describe` shows them).
public struct StoredEvent: Sendable, Equatable, Codable {
    /// The resource the event is about.
    public var key: ResourceKey
    /// `Normal` or `Warning`.
    public var type: String
    /// A CamelCase reason such as `RolloutPaused`.
    public var reason: String
    /// A sentence for people.
    public var message: String
    /// When it happened (RFC 3339).
    public var time: String

    /// Creates an event.
    public init(key: ResourceKey, type: String = "Normal", reason: String, message: String, time: String) {
        self.key = key
        self.type = type
        self.reason = reason
        self.message = message
        self.time = time
    }
}

/// One revision of a rollout's pod template.
public struct StoredRevision: Sendable, Equatable {
    /// The rollout.
    public var rollout: ResourceKey
    /// The revision number (`rollout.argoproj.io/revision`), starting at 1.
    public var revision: Int
    /// The pod-template hash of this revision.
    public var podTemplateHash: String
    /// The pod template as JSON.
    public var template: Data
    /// When this revision was first recorded (RFC 3339).
    public var createdAt: String

    /// Creates a revision record.
    public init(rollout: ResourceKey, revision: Int, podTemplateHash: String, template: Data, createdAt: String) {
        self.rollout = rollout
        self.revision = revision
        self.podTemplateHash = podTemplateHash
        self.template = template
        self.createdAt = createdAt
    }
}

/// One measurement of one metric of an AnalysisRun.
public struct StoredMeasurement: Sendable, Equatable {
    /// The AnalysisRun.
    public var analysisRun: ResourceKey
    /// The metric's name.
    public var metric: String
    /// The measurement as JSON (phase, value, startedAt, finishedAt, message).
    public var measurement: Data

    /// Creates a measurement record.
    public init(analysisRun: ResourceKey, metric: String, measurement: Data) {
        self.analysisRun = analysisRun
        self.metric = metric
        self.measurement = measurement
    }
}

/// A kind is stored as its manifest name (`Rollout`), the `kind` column's text.
extension ResourceKind: DatabaseValueConvertible {}
