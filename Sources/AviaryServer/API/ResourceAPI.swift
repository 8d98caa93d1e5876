import AviaryModel
import AviaryStore
import Foundation

/// An answer of the API that is not a success: an HTTP status and a message naming the input,
/// the field and the fix.
public struct APIError: Error, Equatable, CustomStringConvertible {
    /// The HTTP status code (4xx for bad input, 5xx for the daemon's own trouble).
    public var status: Int
    /// The message.
    public var message: String
    /// Manifest diagnostics, one line each, when the input was a manifest.
    public var diagnostics: [String]

    /// Creates an error.
    public init(status: Int, message: String, diagnostics: [String] = []) {
        self.status = status
        self.message = message
        self.diagnostics = diagnostics
    }

    public var description: String { ([message] + diagnostics).joined(separator: "\n") }

    /// The daemon's own storage failed: 507 Insufficient Storage for a full disk, 503 for a
    /// state directory that became read-only, 500 otherwise; the message is the store's, which
    /// names the path and the fix.
    public init(storeError: any Error) {
        switch storeError as? StoreError {
        case .diskFull?: self.init(status: 507, message: "\(storeError)")
        case .notWritable?: self.init(status: 503, message: "\(storeError)")
        default: self.init(status: 500, message: "\(storeError)")
        }
    }

    /// The JSON body: `{"error": ..., "diagnostics": [...]}`.
    public var body: [String: Any] {
        diagnostics.isEmpty ? ["error": message] : ["error": message, "diagnostics": diagnostics]
    }
}

/// The resource kinds the API serves, by the plural lowercase name used in URLs.
public enum ResourceKind {
    /// URL name → manifest kind.
    public static let byPlural: [String: String] = [
        "rollouts": "Rollout", "services": "Service", "analysistemplates": "AnalysisTemplate",
        "clusteranalysistemplates": "ClusterAnalysisTemplate", "analysisruns": "AnalysisRun",
        "experiments": "Experiment",
    ]

    /// The manifest kind for a URL name (plural or singular, any case), or an error listing the known ones.
    public static func kind(for urlName: String) throws(APIError) -> String {
        let lowered = urlName.lowercased()
        if let kind = byPlural[lowered] ?? byPlural[lowered + "s"] { return kind }
        throw APIError(
            status: 404,
            message: "unknown resource type \"\(urlName)\"; known: \(byPlural.keys.sorted().joined(separator: ", "))")
    }
}

/// Apply, get, list and delete resources: the logic behind the HTTP routes, as plain functions
/// that return values (the routes only encode them).
public struct ResourceAPI: Sendable {
    /// The largest manifest body the API reads.
    public static let maximumBodyBytes = 8 * 1024 * 1024

    let store: AviaryStore
    /// Called with the key of every resource that changed.
    let changed: @Sendable (ResourceKey) -> Void

    /// Creates the API over a store.
    public init(store: AviaryStore, changed: @escaping @Sendable (ResourceKey) -> Void) {
        self.store = store
        self.changed = changed
    }

    /// What `apply` did to one resource.
    public struct Applied: Sendable, Equatable {
        /// The resource.
        public var key: ResourceKey
        /// created, configured or unchanged.
        public var outcome: ApplyOutcome
        /// Its generation after the apply.
        public var generation: Int
    }

    /// Applies every document of a manifest (YAML or JSON, multi-document). Nothing is stored
    /// unless every document is valid.
    public func apply(_ body: Data, file: String = "request body") throws(APIError) -> [Applied] {
        guard !body.isEmpty else {
            throw APIError(
                status: 400, message: "\(file): empty body; send a Rollout, Service or AnalysisTemplate manifest")
        }
        let decoded = ManifestDecoder().decode(body, file: file)
        if decoded.hasErrors {
            throw APIError(
                status: 422, message: "\(file): invalid manifest, nothing was applied",
                diagnostics: decoded.diagnostics.filter(\.isError).map(\.description))
        }
        let resources = decoded.resources
        guard !resources.isEmpty else {
            throw APIError(status: 422, message: "\(file): no resource in the manifest, nothing was applied")
        }
        var manifests: [Data] = []
        for resource in resources {
            do {
                manifests.append(try ManifestEncoder.json(resource))
            } catch {
                throw APIError(status: 422, message: "\(file): \(resource.reference): \(error)")
            }
        }
        // One transaction for the whole file: a full or read-only disk stores none of it.
        let applied: [Applied]
        do {
            applied = try store.apply(manifests).map { stored, outcome in
                Applied(key: stored.key, outcome: outcome, generation: stored.generation)
            }
        } catch {
            throw APIError(storeError: error)
        }
        for entry in applied where entry.outcome != .unchanged { changed(entry.key) }
        return applied
    }

    /// One resource as JSON (with status), or 404 naming it.
    public func get(kind urlName: String, namespace: String, name: String) throws(APIError) -> StoredResource {
        let key = ResourceKey(kind: try ResourceKind.kind(for: urlName), namespace: namespace, name: name)
        let resource: StoredResource?
        do {
            resource = try store.resource(key)
        } catch {
            throw APIError(storeError: error)
        }
        guard let resource else {
            throw APIError(
                status: 404, message: "\(key.kind.lowercased()) \"\(name)\" not found in namespace \"\(namespace)\"")
        }
        return resource
    }

    /// All resources of a kind, in one namespace or all.
    public func list(kind urlName: String, namespace: String?) throws(APIError) -> [StoredResource] {
        let kind = try ResourceKind.kind(for: urlName)
        do {
            return try store.resources(kind: kind, namespace: namespace)
        } catch {
            throw APIError(storeError: error)
        }
    }

    /// Deletes a resource, or 404 naming it.
    public func delete(kind urlName: String, namespace: String, name: String) throws(APIError) {
        let key = ResourceKey(kind: try ResourceKind.kind(for: urlName), namespace: namespace, name: name)
        let existed: Bool
        do {
            existed = try store.delete(key)
        } catch {
            throw APIError(storeError: error)
        }
        guard existed else {
            throw APIError(
                status: 404, message: "\(key.kind.lowercased()) \"\(name)\" not found in namespace \"\(namespace)\"")
        }
        changed(key)
    }
}
