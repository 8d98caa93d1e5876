import AviaryJSON
import AviaryModel

/// An InfluxDB metric (`provider.influxdb`) as Argo Rollouts reads it: a Flux `query` sent to
/// InfluxDB 2's query API with the organisation, address and token of the Secret `profile`
/// (default `influxdb`, in the controller's namespace: `authToken`, `org`, `address`).
public struct InfluxDBSpec: Sendable, Equatable {
    public var profile: String
    public var query: String

    /// The Secret read when `profile` names none (Argo's).
    public static let defaultProfile = "influxdb"
    /// The fields Argo's InfluxdbMetric has.
    public static let fields = ["profile", "query"]

    /// Reads `provider.influxdb`; the error names the field and the fix.
    public init(provider value: JSONValue?) throws(ProviderSpecError) {
        let fields = value?.objectValue ?? [:]
        guard let query = fields["query"]?.stringValue, !query.isEmpty else {
            throw ProviderSpecError("influxdb", "query", "required; give the Flux query, from(bucket: ...) |> ...")
        }
        self.query = query
        profile = fields["profile"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultProfile
    }
}
