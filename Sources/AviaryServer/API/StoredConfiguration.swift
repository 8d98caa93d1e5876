import AviaryModel
import AviaryStore
import Foundation

extension ResourceStore {
    /// The values of the stored ConfigMap or Secret (`kind`) named `name` in `namespace`, decoded
    /// (a Secret's from base64); nil when there is none. What a pod's `envFrom` and `valueFrom`
    /// read on the local platform, and an AnalysisRun's `secretKeyRef`.
    func configurationValues(_ kind: ResourceKind, namespace: String, name: String) throws -> [String: String]? {
        guard let stored = try resource(ResourceKey(kind: kind, namespace: namespace, name: name)) else { return nil }
        let json = stored.objectJSON()
        return kind == .secret
            ? try JSONDecoder().decode(Secret.self, from: json).values
            : try JSONDecoder().decode(ConfigMap.self, from: json).values
    }
}
