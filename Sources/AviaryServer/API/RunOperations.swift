import AviaryAPI
import AviaryModel
import AviaryStore
import Foundation

/// `terminate experiment|analysisrun` and `retry experiment`, as `kubectl argo rollouts` carries
/// them out: `spec.terminate: true`, or the experiment's status cleared so that it starts again.
/// The controller does the rest on its next reconcile.
struct RunOperations: Sendable {
    let store: AviaryStore
    let changed: @Sendable (ResourceKey) -> Void

    /// The operations a kind has, by the path segment that names the kind.
    static let operations = [
        "experiments": (ResourceKind.experiment, ["terminate", "retry"]), "analysisruns": (.analysisRun, ["terminate"]),
    ]

    /// Carries out `operation` on the resource; returns it as stored afterwards.
    func perform(
        _ operation: String, plural: String, namespace: String, name: String
    ) throws(APIError) -> StoredResource {
        guard let (kind, known) = Self.operations[plural] else {
            throw APIError(status: 404, message: "no operations on \(plural); experiments and analysisruns have some")
        }
        guard known.contains(operation) else {
            throw APIError(
                status: 404,
                message: "unknown operation \"\(operation)\" on \(plural); use \(known.joined(separator: " or "))")
        }
        let key = ResourceKey(kind: kind, namespace: namespace, name: name)
        for _ in 0..<20 {
            let resource: StoredResource
            do {
                guard let found = try store.resource(key) else {
                    throw APIError.notFound(kind, name: name, namespace: namespace)
                }
                resource = found
                let written: StoredResource?
                if operation == "terminate" {
                    var spec = RolloutOperations.object(resource.spec)
                    if spec["terminate"] as? Bool == true { return resource }
                    spec["terminate"] = true
                    written = try store.updateSpec(
                        key, spec: JSONSerialization.data(withJSONObject: spec, options: [.sortedKeys]))
                } else {
                    // Argo's retry clears the status: the experiment starts again from Pending.
                    written = try store.updateStatus(
                        key, status: Data("{}".utf8), expectedResourceVersion: resource.resourceVersion)
                }
                guard let written else { continue }
                changed(key)
                return written
            } catch let error as APIError {
                throw error
            } catch {
                throw APIError(storeError: error)
            }
        }
        throw APIError(
            status: 409, message: "\(kind.rawValue.lowercased()) \"\(name)\" changed while the operation ran; try again")
    }
}
