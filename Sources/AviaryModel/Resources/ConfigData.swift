import AviaryMeta
import Foundation

/// A core `v1` ConfigMap: named strings a pod reads through `envFrom.configMapRef` or
/// `env[].valueFrom.configMapKeyRef`. Locally it is stored by the daemon and read when a pod's
/// process starts, as the kubelet reads it when a container starts.
public struct ConfigMap: Codable, Sendable, Hashable {
    /// `v1`.
    public var apiVersion: String
    /// `ConfigMap`.
    public var kind: String
    /// Name, namespace and labels.
    public var metadata: ObjectMeta
    /// UTF-8 values by key.
    public var data: [String: String]?
    /// Base64 values by key.
    public var binaryData: [String: String]?
    /// Whether the values may no longer change.
    public var immutable: Bool?

    /// A ConfigMap holding `data`.
    public init(metadata: ObjectMeta, data: [String: String]) {
        apiVersion = "v1"
        kind = ResourceKind.configMap.rawValue
        self.metadata = metadata
        self.data = data
    }

    /// Every value by key: `data`, then `binaryData` decoded (bytes that are not UTF-8 are
    /// replaced, as an environment variable must be text).
    public var values: [String: String] {
        (data ?? [:]).merging(decodedBase64(binaryData)) { _, binary in binary }
    }
}

/// A core `v1` Secret: like a ConfigMap, with its values base64 in `data` (or plain in
/// `stringData`, which Kubernetes folds into `data` on write and Aviary reads the same way).
public struct Secret: Codable, Sendable, Hashable {
    /// `v1`.
    public var apiVersion: String
    /// `Secret`.
    public var kind: String
    /// Name, namespace and labels.
    public var metadata: ObjectMeta
    /// Base64 values by key.
    public var data: [String: String]?
    /// Plain values by key; they win over `data` for the same key.
    public var stringData: [String: String]?
    /// `Opaque` (default) or a Kubernetes type such as `kubernetes.io/basic-auth`.
    public var type: String?
    /// Whether the values may no longer change.
    public var immutable: Bool?

    /// A Secret holding `stringData`.
    public init(metadata: ObjectMeta, stringData: [String: String]) {
        apiVersion = "v1"
        kind = ResourceKind.secret.rawValue
        self.metadata = metadata
        self.stringData = stringData
    }

    /// Every value by key, decoded: `data` from base64, then `stringData` over it.
    public var values: [String: String] {
        decodedBase64(data).merging(stringData ?? [:]) { _, plain in plain }
    }
}

/// Base64 values decoded as text (bytes that are not UTF-8 replaced); a value that is not base64
/// is left out (validation refuses such a manifest).
private func decodedBase64(_ encoded: [String: String]?) -> [String: String] {
    (encoded ?? [:]).compactMapValues { Data(base64Encoded: $0).map { String(decoding: $0, as: UTF8.self) } }
}
