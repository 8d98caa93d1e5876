import AviaryAPI
import AviaryCore
import AviaryLocal
import AviaryModel
import AviaryPlatform
import AviaryStore
import Foundation
import Synchronization

extension APIError {
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
}

/// Apply, get, list and delete resources: the logic behind the HTTP routes, as plain functions
/// that return values (the routes only encode them).
public struct ResourceAPI: Sendable {
    /// The largest manifest body the API reads.
    public static let maximumBodyBytes = 8 * 1024 * 1024

    let store: AviaryStore
    /// Called with the key of every resource that changed.
    let changed: @Sendable (ResourceKey) -> Void

    /// Serialises applies (see `apply`).
    let applyGate = ApplyGate()

    /// How this host places Services (the rules an apply of a Service must keep).
    let servicePlacement: LocalPlatformRules.ServicePlacement

    /// Creates the API over a store.
    public init(
        store: AviaryStore, servicePlacement: LocalPlatformRules.ServicePlacement = .init(),
        changed: @escaping @Sendable (ResourceKey) -> Void
    ) {
        self.store = store
        self.servicePlacement = servicePlacement
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
        try applyChecked(body, file: file).applied
    }

    /// Applies every document of a manifest, refusing (422, nothing stored) what `aviary lint`
    /// refuses, with the stored templates and Services the documents name standing in for the
    /// files lint would be given (`AdmissionChecks`); returns what was applied and the warnings
    /// (unknown fields, a template or Service not applied yet), which `strict` turns into a refusal.
    public func applyChecked(
        _ body: Data, file: String = "request body", strict: Bool = false
    ) throws(APIError) -> (applied: [Applied], warnings: [String]) {
        let (manifests, decodingWarnings) = try APIRequestDecoding.decodedApply(body, file: file)
        // The check and the write happen under one lock, so two applies cannot both take a
        // name or a port that was free when each looked.
        let result = try applyGate.lock.withLock { _ throws(APIError) -> (applied: [Applied], warnings: [String]) in
            let diagnostics: [Diagnostic]
            do {
                diagnostics = try AdmissionChecks.check(manifests.map(\.resource), file: file, lookup: storedResources)
            } catch {
                throw APIError(storeError: error)
            }
            let notes =
                decodingWarnings + diagnostics.filter { !$0.isError }
                + Self.oneHostNotes(manifests.map(\.resource), file: file)
            let warnings = notes.map(\.description)
            let errors = diagnostics.filter(\.isError).map(\.description)
            let notificationProblems = notificationProblems(manifests.map(\.resource))
            guard errors.isEmpty && notificationProblems.isEmpty else {
                throw APIError(
                    status: 422, message: "\(file): invalid manifest, nothing was applied",
                    diagnostics: errors + notificationProblems)
            }
            // A skipped kind is said, not refused: --strict is about fields that may be misspelt.
            guard !notes.contains(where: \.isWarning) || !strict else {
                throw APIError(
                    status: 422, message: "\(file): warnings with --strict, nothing was applied", diagnostics: warnings)
            }
            return (try store(manifests, file: file), warnings)
        }
        for entry in result.applied where entry.outcome != .unchanged { changed(entry.key) }
        return result
    }

    /// Info lines for what only a cluster acts on: kept, and said, never silently ignored.
    static func oneHostNotes(_ resources: [AnyResource], file: String) -> [Diagnostic] {
        resources.compactMap { resource in
            if case .workload(let workload) = resource, let kind = workload.kind, Workload.hasSpecTemplate(kind) {
                return Diagnostic(
                    severity: .info, file: file, resource: resource.reference, path: "",
                    message:
                        "kept for the Rollouts whose workloadRef names it: one host runs no \(kind)'s own pods "
                        + "(the Rollout runs its template)"
                        + (kind == ResourceKind.deployment.rawValue ? ", and workloadRef.scaleDown sets its spec.replicas here" : ""))
            }
            guard case .rollout(let rollout) = resource else { return nil }
            let path =
                rollout.spec.strategy.canary?.antiAffinity != nil
                ? "spec.strategy.canary.antiAffinity"
                : rollout.spec.strategy.blueGreen?.antiAffinity != nil ? "spec.strategy.blueGreen.antiAffinity" : nil
            return path.map {
                Diagnostic(
                    severity: .info, file: file, resource: "Rollout/\(rollout.metadata.name ?? "")", path: $0,
                    message:
                        "every pod runs on this one host, so anti-affinity has nothing to spread here; it is kept, "
                        + "and on a cluster a new version's pods avoid the stable pods' nodes")
            }
        }
    }

    /// What is wrong with the notification ConfigMap (checked with the Secret applied with it, or
    /// the stored one) or with a rollout's subscription annotations among `resources`.
    private func notificationProblems(_ resources: [AnyResource]) -> [String] {
        var problems = NotificationSettings(store: store).problem(incoming: resources).map { [$0] } ?? []
        for resource in resources {
            guard case .rollout(let rollout) = resource else { continue }
            problems += Subscriptions.problems(annotations: rollout.metadata.annotations ?? [:]).map {
                "Rollout/\(rollout.metadata.name ?? ""): \($0)"
            }
        }
        return problems
    }

    /// The stored templates and Services among `references`, decoded.
    private func storedResources(_ references: [ResourceReference]) throws -> [AnyResource] {
        let keys = references.map { ResourceKey(kind: $0.kind, namespace: $0.namespace, name: $0.name) }
        return try store.resources(keys).values.flatMap {
            ManifestDecoder().decode($0.objectJSON(), file: "stored").resources
        }
    }

    /// Checks the platform's rules and stores the manifests (under the apply lock).
    private func store(_ manifests: [(resource: AnyResource, json: Data)], file: String) throws(APIError) -> [Applied] {
        let problems: [String]
        do {
            let incoming = manifests.map(\.resource)
            problems = try LocalPlatformRules.problems(
                incoming: incoming, storedServices: relevantServices(incoming), placement: servicePlacement,
                storedSecretKeys: { namespace, name in
                    try store.configurationValues(.secret, namespace: namespace, name: name).map { Set($0.keys) }
                },
                namespacesHolding: { kind, name in try store.namespaces(ofKind: kind, named: name) })
        } catch {
            throw APIError(storeError: error)
        }
        guard problems.isEmpty else {
            throw APIError(
                status: 409, message: "\(file): conflicts with what the host already runs, nothing was applied",
                diagnostics: problems)
        }
        // One transaction for the whole file: a full or read-only disk stores none of it.
        do {
            return try store.apply(manifests.map(\.json)).map { stored, outcome in
                Applied(key: stored.key, outcome: outcome, generation: stored.generation)
            }
        } catch {
            throw APIError(storeError: error)
        }
    }

    /// The stored Services the port rule needs to judge `incoming`, sorted by namespace and name:
    /// those listening on a port an incoming Service asks for, and the incoming Services' stored
    /// selves (whose old port a move frees). The rule gives the same answer over these as over
    /// every stored Service, and finding them is an index lookup per Service rather than a read
    /// and decode of all of them.
    private func relevantServices(_ incoming: [AnyResource]) throws(StoreError) -> [LocalPlatformRules.StoredService] {
        var ports: [Int] = []
        var keys: [ResourceKey] = []
        for resource in incoming {
            guard case .service(let service) = resource else { continue }
            keys.append(
                ResourceKey(kind: .service, namespace: resource.metadata.namespaceOrDefault, name: resource.name))
            if let port = service.spec.ports?.first?.port { ports.append(port) }
        }
        guard !keys.isEmpty else { return [] }
        var found: [ResourceKey: StoredResource] = try store.resources(keys)
        for service in try store.services(listeningOn: ports) { found[service.key] = service }
        return found.values.sorted { ($0.key.namespace, $0.key.name) < ($1.key.namespace, $1.key.name) }.map { stored in
            LocalPlatformRules.StoredService(
                service: NamespacedName(namespace: stored.key.namespace, name: stored.key.name),
                port: StoredServiceSpec.decode(stored.spec)?.port)
        }
    }

    /// One resource as JSON (with status), or 404 naming it.
    public func get(kind urlName: String, namespace: String, name: String) throws(APIError) -> StoredResource {
        let key = ResourceKey(kind: try ResourceKind(named: urlName), namespace: namespace, name: name)
        let resource: StoredResource?
        do {
            resource = try store.resource(key)
        } catch {
            throw APIError(storeError: error)
        }
        guard let resource else {
            throw APIError.notFound(key.kind, name: name, namespace: namespace)
        }
        return resource
    }

    /// All resources of a kind, in one namespace or all.
    public func list(kind urlName: String, namespace: String?) throws(APIError) -> [StoredResource] {
        let kind = try ResourceKind(named: urlName)
        do {
            return try store.resources(kind: kind, namespace: namespace)
        } catch {
            throw APIError(storeError: error)
        }
    }

    /// Deletes a resource, or 404 naming it.
    public func delete(kind urlName: String, namespace: String, name: String) throws(APIError) {
        let key = ResourceKey(kind: try ResourceKind(named: urlName), namespace: namespace, name: name)
        let existed: Bool
        do {
            existed = try store.delete(key)
        } catch {
            throw APIError(storeError: error)
        }
        guard existed else {
            throw APIError.notFound(key.kind, name: name, namespace: namespace)
        }
        changed(key)
    }
}

/// The lock every copy of one `ResourceAPI` shares.
final class ApplyGate: Sendable {
    let lock = Mutex(())
}
