import AviaryJSON
import AviaryKubernetes
import AviaryPlatform
/// Why a traffic router's object cannot carry a rollout's split, in Argo's words so that a team
/// searching for the message finds Argo's documentation. The rollout's reconcile is retried with
/// backoff, and the message is shown on the rollout.
public struct TrafficObjectError: BlockedAction, Equatable {
    /// The message, as Argo's controller gives it.
    public var description: String
    /// Argo's event reason for it.
    public var reason: String { "TrafficRoutingError" }

    init(_ description: String) { self.description = description }
}

extension JSONValue {
    /// The members of an object, or none.
    var members: [String: JSONValue] { objectValue ?? [:] }
    /// The elements of an array, or none.
    var elements: [JSONValue] { arrayValue ?? [] }
}

/// Kubernetes label and annotation maps as strings.
func stringMap(_ value: JSONValue?) -> [String: String] {
    (value?.objectValue ?? [:]).compactMapValues(\.stringValue)
}

/// A string map as a JSON object.
func jsonObject(_ map: [String: String]) -> JSONValue {
    .object(map.mapValues { .string($0) })
}
