import AviaryJSON
import AviaryModel
import Foundation

/// A Datadog metric (`provider.datadog`) as Argo Rollouts reads it: `apiVersion` v1 (the CRD's
/// default) sends `query` to `/api/v1/query` over the last `interval`; v2 sends `query`, or
/// `queries` with a `formula`, to `/api/v2/query/scalar` reduced by `aggregator` (default
/// `last`). The API and application keys come from a Secret (`secretRef`, else `datadog` in the
/// controller's namespace, else the `DD_API_KEY`/`DD_APP_KEY`/`DD_ADDRESS` variables).
public struct DatadogSpec: Sendable, Equatable {
    /// The API version the query goes to.
    public enum APIVersion: String, Sendable {
        case v1, v2
    }

    public var apiVersion: APIVersion
    /// The window the query covers, ending now (Argo's `interval`, default 5m).
    public var intervalSeconds: Int
    /// `query` (v1, or v2 as the single query named `query`).
    public var query: String?
    /// `queries` by name (v2 only), combined by `formula`.
    public var queries: [String: String]
    public var formula: String?
    /// v2's reduction of each series to one number (default `last`).
    public var aggregator: String
    /// How long the request may take (`requestTimeout`, default 10s).
    public var requestTimeout: Duration
    /// `secretRef.name`: the Secret holding `api-key`, `app-key` and optionally `address`.
    public var secretName: String?
    /// `secretRef.namespaced`: the Secret is in the AnalysisRun's namespace, not the controller's.
    public var namespaced: Bool

    /// The aggregators Argo's CRD allows.
    public static let aggregators = ["avg", "min", "max", "sum", "last", "percentile", "mean", "l2norm", "area"]
    /// The fields Argo's DatadogMetric has.
    static let fields = ["interval", "query", "queries", "formula", "apiVersion", "aggregator", "secretRef", "requestTimeout"]

    /// The name of the Secret read when `secretRef` names none (Argo's).
    public static let defaultSecretName = "datadog"

    /// Reads `provider.datadog` with Argo's rules; the error names the field and the fix. With
    /// `allowTemplates`, an `interval` or `requestTimeout` still holding `{{args.x}}` is accepted
    /// (lint, before the run resolves it).
    public init(provider value: JSONValue?, allowTemplates: Bool = false) throws(ProviderSpecError) {
        let fields = value?.objectValue ?? [:]
        func text(_ name: String) throws(ProviderSpecError) -> String? {
            guard let field = fields[name], field != .null else { return nil }
            guard let string = field.stringValue else { throw ProviderSpecError("datadog", name, "must be a string") }
            return string.isEmpty ? nil : string
        }
        func duration(_ name: String, default seconds: Double) throws(ProviderSpecError) -> Double {
            guard let written = try text(name) else { return seconds }
            if allowTemplates, written.contains("{{") { return seconds }
            guard let parsed = try? ArgoDuration(written), parsed.seconds > 0 else {
                throw ProviderSpecError("datadog", name, "must be a positive duration such as 30s or 5m, got \"\(written)\"")
            }
            return parsed.seconds
        }
        switch try text("apiVersion") {
        case nil, "v1": apiVersion = .v1
        case "v2": apiVersion = .v2
        case let other?: throw ProviderSpecError("datadog", "apiVersion", "must be v1 or v2, got \"\(other)\"")
        }
        intervalSeconds = Int(try duration("interval", default: 300))
        requestTimeout = .milliseconds(Int64(try duration("requestTimeout", default: 10) * 1000))
        query = try text("query")
        var queries: [String: String] = [:]
        if let map = fields["queries"], map != .null {
            guard let object = map.objectValue else { throw ProviderSpecError("datadog", "queries", "must map names to queries") }
            for (name, query) in object {
                guard let query = query.stringValue, !query.isEmpty else {
                    throw ProviderSpecError("datadog", "queries.\(name)", "must be a non-empty query")
                }
                queries[name] = query
            }
        }
        self.queries = queries
        formula = try text("formula")
        let aggregator = try text("aggregator")
        if let aggregator, !Self.aggregators.contains(aggregator) {
            throw ProviderSpecError("datadog", "aggregator", "must be one of \(Self.aggregators.joined(separator: ", ")), got \"\(aggregator)\"")
        }
        self.aggregator = aggregator ?? "last"
        let secretRef = fields["secretRef"]?.objectValue ?? [:]
        secretName = secretRef["name"]?.stringValue.flatMap { $0.isEmpty ? nil : $0 }
        if case .bool(let value)? = secretRef["namespaced"] { namespaced = value } else { namespaced = false }
        // Argo's rules (validateIncomingProps), each with the field it is about.
        if query == nil && queries.isEmpty {
            throw ProviderSpecError("datadog", "query", "required: give query, or queries (with apiVersion: v2)")
        }
        if query != nil && !queries.isEmpty {
            throw ProviderSpecError("datadog", "queries", "cannot be given with query; keep one of them")
        }
        if apiVersion == .v1 && query == nil {
            throw ProviderSpecError("datadog", "queries", "needs apiVersion: v2; v1 takes a single query")
        }
        if formula != nil && queries.isEmpty {
            throw ProviderSpecError("datadog", "formula", "is only used with queries; name the queries it combines")
        }
        if formula == nil && queries.count > 1 {
            throw ProviderSpecError("datadog", "formula", "required when several queries are given, e.g. formula: a / b")
        }
        if apiVersion == .v1 && aggregator != nil {
            throw ProviderSpecError("datadog", "aggregator", "is not supported by apiVersion v1; use apiVersion: v2")
        }
        if namespaced && secretName == nil {
            throw ProviderSpecError("datadog", "secretRef.name", "required with secretRef.namespaced: name the Secret")
        }
    }
}
