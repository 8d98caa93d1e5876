/// Secrets for `valueFrom.secretKeyRef` arguments: Secret name → key → value.
///
/// On the local platform they come from `secrets.yaml` in the state directory (read by
/// `AviaryMetrics.SecretsFile`); on Kubernetes from the run's namespace's Secrets. A value is used
/// to build requests and is replaced by `*****` in every message, log line and output.
public struct SecretStore: Sendable, Equatable {
    /// The secrets by name, then key.
    public var secrets: [String: [String: String]]
    /// What the message about a missing Secret or key tells the user to do.
    public var remedy: String

    /// The remedy when only the secrets file is read.
    public static let secretsFileRemedy = "add it to secrets.yaml in the state directory"

    /// The remedy on the local platform, where applied Secrets are read too.
    public static let localRemedy =
        "apply a Secret holding it (aviary apply -f), or add it to secrets.yaml in the state directory"

    /// A store holding `secrets`.
    public init(_ secrets: [String: [String: String]] = [:], remedy: String = SecretStore.secretsFileRemedy) {
        self.secrets = secrets
        self.remedy = remedy
    }

    /// The value of `key` in Secret `name`, nil when either is missing.
    public func value(name: String, key: String) -> String? { secrets[name]?[key] }

    /// Every value, for redaction.
    public var allValues: [String] { secrets.values.flatMap(\.values) }
}
