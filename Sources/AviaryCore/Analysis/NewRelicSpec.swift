import AviaryJSON
import AviaryModel

/// A New Relic metric (`provider.newRelic`) as Argo Rollouts reads it: an NRQL `query` sent
/// through NerdGraph for the account of the Secret `profile` (default `newrelic`, in the
/// controller's namespace: `personal-api-key`, `account-id`, optionally `region` us|eu and
/// `base-url-nerdgraph`), bounded by `timeout` seconds (default 5).
public struct NewRelicSpec: Sendable, Equatable {
    public var profile: String
    public var query: String
    public var timeoutSeconds: Int

    /// The Secret read when `profile` names none (Argo's).
    public static let defaultProfile = "newrelic"
    /// The fields Argo's NewRelicMetric has.
    public static let fields = ["profile", "query", "timeout"]

    /// Reads `provider.newRelic`; the error names the field and the fix. With `allowTemplates`,
    /// a `timeout` still holding `{{args.x}}` is accepted (lint, before the run resolves it).
    public init(provider value: JSONValue?, allowTemplates: Bool = false) throws(ProviderSpecError) {
        let fields = value?.objectValue ?? [:]
        guard let query = fields["query"]?.stringValue, !query.isEmpty else {
            throw ProviderSpecError("newRelic", "query", "required; give the NRQL query, SELECT ... FROM ...")
        }
        self.query = query
        profile = fields["profile"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 } ?? Self.defaultProfile
        switch fields["timeout"] {
        case nil, .null?: timeoutSeconds = 5
        case .integer(let seconds)?:
            guard seconds >= 0 else {
                throw ProviderSpecError("newRelic", "timeout", "timeout value needs to be a positive value, got \(seconds)")
            }
            timeoutSeconds = Int(seconds)
        case .string(let text)? where allowTemplates && text.contains("{{"):
            timeoutSeconds = 5
        case let other?:
            throw ProviderSpecError("newRelic", "timeout", "must be a number of seconds, got \(other.kindDescription)")
        }
    }
}

/// What is wrong with a metric provider's fields: the provider, the field and the problem.
public struct ProviderSpecError: Error, Sendable, Equatable, CustomStringConvertible {
    public var provider: String
    public var field: String
    public var problem: String
    init(_ provider: String, _ field: String, _ problem: String) {
        self.provider = provider
        self.field = field
        self.problem = problem
    }
    public var description: String { "provider.\(provider).\(field): \(problem)" }
}
