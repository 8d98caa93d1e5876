import AviaryJSON
import Foundation

/// How the server treats unknown fields in a write (`fieldValidation` query parameter).
enum FieldValidationMode: String, Sendable {
    case strict = "Strict"
    case warn = "Warn"
    case ignore = "Ignore"
}

/// The options of one write request.
struct WriteOptions: Sendable {
    var fieldValidation: FieldValidationMode = .warn
    var isDryRun = false
    var fieldManager = ""
    var propagationPolicy: String? = nil
}

/// What a write answers: the object as stored, warnings for `Warning` headers, and whether it was created.
struct WriteResult: Sendable {
    var object: JSONValue
    var warnings: [String] = []
    var isCreated = false
}

/// Everything the double holds, changed only under the cluster's lock: the served resources,
/// the objects, open watches, injected faults and the simulator's bookkeeping.
struct ClusterState: Sendable {
    var registry = ResourceRegistry()
    var store = ObjectStore()
    var hub = WatchHub()
    var faults = FaultInjection()
    /// Requests to resources by verb and resource (`list rollouts`, `patch rollouts/status`), faulted
    /// ones included; `GET /_double/requests` reads them.
    var requestCounts: [String: Int] = [:]
    /// ReplicaSets (namespace, name) whose pods crash-loop.
    var crashLoopingReplicaSets: Set<ObjectKey> = []
    /// When each pod (by uid) was created, on the monotonic clock, for `--pod-ready-after`.
    var podStartTimes: [String: ContinuousClock.Instant] = [:]
    /// When each crash-looping pod (by uid) last restarted.
    var lastRestarts: [String: ContinuousClock.Instant] = [:]
    /// Set while the simulator runs, so the writes it makes do not start it again.
    var isSimulating = false
    /// What the simulator has to look at: which ReplicaSets changed, which pods each owns.
    var simulation = SimulationIndex()
    /// The last configuration each field manager applied (server-side apply), by object.
    var appliedConfigurations: [AppliedKey: JSONValue] = [:]
    var generator = SystemRandomNumberGenerator()
    let podReadyAfter: Duration

    struct AppliedKey: Hashable, Sendable {
        var groupResource: GroupResource
        var key: ObjectKey
        var manager: String
    }

    init(podReadyAfter: Duration = .zero) {
        self.podReadyAfter = podReadyAfter
        for namespace in ["default", "kube-system", "kube-public", "kube-node-lease"] {
            let object: JSONValue = .object([
                "apiVersion": .string("v1"), "kind": .string("Namespace"),
                "metadata": .object(["name": .string(namespace)]),
            ])
            _ = try? create(registry.type(group: "", version: "v1", resource: "namespaces")!, namespace: nil,
                body: object, options: WriteOptions())
        }
    }

    // MARK: Reads

    func get(_ type: ResourceType, namespace: String?, name: String) throws(StatusError) -> JSONValue {
        guard let object = store.object(type.groupResource, ObjectKey(namespace: namespace ?? "", name: name)) else {
            throw .notFound(type, name: name)
        }
        return present(object, as: type)
    }

    /// The object as a client of `type`'s version sees it (`apiVersion` of the requested version).
    func present(_ object: JSONValue, as type: ResourceType) -> JSONValue {
        var shown = object
        shown["apiVersion"] = .string(type.apiVersion)
        shown["kind"] = .string(type.kind)
        return shown
    }

    // MARK: Writes

    mutating func create(
        _ type: ResourceType, namespace: String?, body: JSONValue, options: WriteOptions
    ) throws(StatusError) -> WriteResult {
        guard body.objectValue != nil else {
            throw .badRequest("the body of the request must be a JSON object of kind \(type.kind)")
        }
        try checkKind(body, type)
        var object = body
        let namespace = try resolveNamespace(type, urlNamespace: namespace, body: body)
        let givenName = object[path: ["metadata", "name"]]?.stringValue ?? ""
        if givenName.isEmpty, let prefix = object[path: ["metadata", "generateName"]]?.stringValue, !prefix.isEmpty {
            object[path: ["metadata", "name"]] = .string(prefix + randomSuffix())
        }
        let name = object[path: ["metadata", "name"]]?.stringValue ?? ""
        let (pruned, warnings) = try FieldValidation.check(object, type: type, registry: registry, mode: options.fieldValidation)
        object = pruned
        try Validation.validateForCreate(object, type: type, name: name)
        let key = ObjectKey(namespace: namespace, name: name)
        if store.object(type.groupResource, key) != nil { throw .alreadyExists(type, name: name) }
        try Validation.validateSemantics(object, type: type, registry: registry)

        object["apiVersion"] = .string(type.apiVersion)
        object["kind"] = .string(type.kind)
        if type.isNamespaced { object[path: ["metadata", "namespace"]] = .string(namespace) }
        object[path: ["metadata", "uid"]] = .string(UUID().uuidString.lowercased())
        object[path: ["metadata", "creationTimestamp"]] = .string(Timestamp.now())
        object[path: ["metadata", "resourceVersion"]] = nil
        object[path: ["metadata", "deletionTimestamp"]] = nil
        if type.tracksGeneration { object[path: ["metadata", "generation"]] = .integer(1) }
        if type.hasStatusSubresource { object["status"] = nil }
        Defaults.applyOnCreate(&object, type: type, generator: &generator)
        if options.isDryRun {
            return WriteResult(object: present(object, as: type), warnings: warnings, isCreated: true)
        }
        let record = commit(.added, type, key, object: object, previous: nil)
        afterWrite(type, record)
        return WriteResult(object: present(record.object, as: type), warnings: warnings, isCreated: true)
    }

    /// PUT of the object or of its `/status`.
    mutating func update(
        _ type: ResourceType, namespace: String?, name: String, body: JSONValue, subresource: String?,
        options: WriteOptions
    ) throws(StatusError) -> WriteResult {
        guard body.objectValue != nil else {
            throw .badRequest("the body of the request must be a JSON object of kind \(type.kind)")
        }
        try checkKind(body, type)
        if let bodyName = body[path: ["metadata", "name"]]?.stringValue, bodyName != name {
            throw .badRequest("the name of the object (\(bodyName)) does not match the name on the URL (\(name))")
        }
        let key = ObjectKey(namespace: namespace ?? "", name: name)
        guard let current = store.object(type.groupResource, key) else { throw .notFound(type, name: name) }
        let requested = body[path: ["metadata", "resourceVersion"]]?.stringValue ?? ""
        if requested.isEmpty, type.isCustom {
            throw .invalid(
                type, name: name,
                causes: [.invalidValue("metadata.resourceVersion", value: "0x0", "must be specified for an update")])
        }
        if !requested.isEmpty, requested != current[path: ["metadata", "resourceVersion"]]?.stringValue {
            throw .conflict(type, name: name)
        }
        let (pruned, warnings) = try FieldValidation.check(body, type: type, registry: registry, mode: options.fieldValidation)
        let next = merge(current: current, incoming: pruned, type: type, subresource: subresource)
        try Validation.validateForUpdate(next, type: type, name: name)
        try Validation.validateSemantics(next, type: type, registry: registry)
        return finishUpdate(type, key, current: current, next: next, warnings: warnings, options: options)
    }

    /// PATCH: the patch is applied to the stored object, and the result is written as an update is.
    mutating func patch(
        _ type: ResourceType, namespace: String?, name: String, patch: Data, contentType: String,
        subresource: String?, options: WriteOptions, force: Bool
    ) throws(StatusError) -> WriteResult {
        let key = ObjectKey(namespace: namespace ?? "", name: name)
        let mediaType = contentType.split(separator: ";").first.map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
        if mediaType == "application/apply-patch+yaml" {
            return try apply(type, namespace: namespace, name: name, body: patch, subresource: subresource,
                options: options)
        }
        guard let current = store.object(type.groupResource, key) else { throw .notFound(type, name: name) }
        let patchValue: JSONValue
        do { patchValue = try JSONValue(parsing: patch) } catch {
            throw .badRequest("error decoding patch: \(Self.describe(error))")
        }
        var patched: JSONValue
        switch mediaType {
        case "application/merge-patch+json":
            patched = Patch.merge(current, patchValue)
        case "application/json-patch+json":
            patched = try Patch.json(current, patchValue)
        case "application/strategic-merge-patch+json":
            guard !type.isCustom else { throw StatusError.unsupportedPatch }
            patched = try Patch.strategic(current, patchValue, path: [])
        default:
            throw StatusError.unsupportedPatch
        }
        if patched[path: ["metadata", "resourceVersion"]] != current[path: ["metadata", "resourceVersion"]] {
            throw .conflict(type, name: name)
        }
        let (pruned, warnings) = try FieldValidation.check(patched, type: type, registry: registry, mode: options.fieldValidation)
        patched = pruned
        let next = merge(current: current, incoming: patched, type: type, subresource: subresource)
        try Validation.validateForUpdate(next, type: type, name: name)
        try Validation.validateSemantics(next, type: type, registry: registry)
        return finishUpdate(type, key, current: current, next: next, warnings: warnings, options: options)
    }

    /// Server-side apply: creates the object when missing; otherwise merges the applied
    /// configuration and removes the fields this manager applied before and no longer does.
    private mutating func apply(
        _ type: ResourceType, namespace: String?, name: String, body: Data, subresource: String?,
        options: WriteOptions
    ) throws(StatusError) -> WriteResult {
        let applied: JSONValue
        do { applied = try JSONValue.parseYAMLOrJSON(body) } catch {
            throw .badRequest("error decoding YAML: \(Self.describe(error))")
        }
        guard !options.fieldManager.isEmpty else {
            throw .badRequest("PATCH, application/apply-patch+yaml requests must have a fieldManager query parameter")
        }
        let key = ObjectKey(namespace: namespace ?? "", name: name)
        let appliedKey = AppliedKey(groupResource: type.groupResource, key: key, manager: options.fieldManager)
        guard let current = store.object(type.groupResource, key) else {
            var object = applied
            object[path: ["metadata", "name"]] = .string(name)
            let result = try create(type, namespace: namespace, body: object, options: options)
            if !options.isDryRun { appliedConfigurations[appliedKey] = applied }
            return result
        }
        let (pruned, warnings) = try FieldValidation.check(applied, type: type, registry: registry, mode: options.fieldValidation)
        var merged = Patch.applyConfiguration(current, pruned, previous: appliedConfigurations[appliedKey], path: [])
        merged[path: ["metadata", "resourceVersion"]] = current[path: ["metadata", "resourceVersion"]]
        let next = merge(current: current, incoming: merged, type: type, subresource: subresource)
        try Validation.validateForUpdate(next, type: type, name: name)
        try Validation.validateSemantics(next, type: type, registry: registry)
        if !options.isDryRun { appliedConfigurations[appliedKey] = applied }
        return finishUpdate(type, key, current: current, next: next, warnings: warnings, options: options)
    }

    /// The object to store for a write: only status for `/status`, never status for the object
    /// itself when the kind has the status subresource; server-owned metadata kept.
    private func merge(current: JSONValue, incoming: JSONValue, type: ResourceType, subresource: String?) -> JSONValue {
        var next: JSONValue
        if subresource == "status" {
            next = current
            next["status"] = incoming["status"]
        } else {
            next = incoming
            if type.hasStatusSubresource { next["status"] = current["status"] }
            for field in ["uid", "creationTimestamp", "generation", "deletionTimestamp", "namespace", "name"] {
                next[path: ["metadata", field]] = current[path: ["metadata", field]]
            }
        }
        Defaults.applyOnWrite(&next, type: type)
        next["apiVersion"] = current["apiVersion"]
        next["kind"] = current["kind"]
        next[path: ["metadata", "resourceVersion"]] = current[path: ["metadata", "resourceVersion"]]
        if type.tracksGeneration, Self.specChanged(current, next, type: type) {
            let generation = current[path: ["metadata", "generation"]]?.integerValue ?? 1
            next[path: ["metadata", "generation"]] = .integer(generation + 1)
        }
        return next
    }

    private static func specChanged(_ old: JSONValue, _ new: JSONValue, type: ResourceType) -> Bool {
        var oldBody = old
        var newBody = new
        oldBody["metadata"] = nil
        newBody["metadata"] = nil
        if type.hasStatusSubresource {
            oldBody["status"] = nil
            newBody["status"] = nil
        }
        return oldBody != newBody
    }

    private mutating func finishUpdate(
        _ type: ResourceType, _ key: ObjectKey, current: JSONValue, next: JSONValue, warnings: [String],
        options: WriteOptions
    ) -> WriteResult {
        if next == current || options.isDryRun {
            return WriteResult(object: present(next, as: type), warnings: warnings)
        }
        let finalizers = next[path: ["metadata", "finalizers"]]?.arrayValue ?? []
        if next[path: ["metadata", "deletionTimestamp"]] != nil, finalizers.isEmpty {
            let record = commit(.deleted, type, key, object: next, previous: current)
            afterWrite(type, record)
            return WriteResult(object: present(record.object, as: type), warnings: warnings)
        }
        let record = commit(.modified, type, key, object: next, previous: current)
        afterWrite(type, record)
        return WriteResult(object: present(record.object, as: type), warnings: warnings)
    }

    /// DELETE of one object: an object with finalizers only gets its `deletionTimestamp`;
    /// otherwise it goes, and its dependents go with it (or are orphaned).
    mutating func delete(
        _ type: ResourceType, namespace: String?, name: String, options: WriteOptions
    ) throws(StatusError) -> JSONValue {
        let key = ObjectKey(namespace: namespace ?? "", name: name)
        guard let current = store.object(type.groupResource, key) else { throw .notFound(type, name: name) }
        if options.isDryRun { return present(current, as: type) }
        if !(current[path: ["metadata", "finalizers"]]?.arrayValue ?? []).isEmpty {
            if current[path: ["metadata", "deletionTimestamp"]] != nil { return present(current, as: type) }
            var marked = current
            marked[path: ["metadata", "deletionTimestamp"]] = .string(Timestamp.now())
            marked[path: ["metadata", "deletionGracePeriodSeconds"]] = .integer(0)
            let record = commit(.modified, type, key, object: marked, previous: current)
            return present(record.object, as: type)
        }
        let record = commit(.deleted, type, key, object: current, previous: current)
        afterWrite(type, record, propagationPolicy: options.propagationPolicy)
        return present(record.object, as: type)
    }

    /// Deletes through the storage layer, for the garbage collector and the simulator.
    mutating func deleteStored(_ groupResource: GroupResource, _ key: ObjectKey, propagationPolicy: String? = nil) {
        guard let type = registry.anyVersion(of: groupResource) else { return }
        _ = try? delete(
            type, namespace: key.namespace, name: key.name, options: WriteOptions(propagationPolicy: propagationPolicy))
    }

    /// Writes an object through the storage layer (simulator and garbage collector writes).
    @discardableResult
    mutating func writeStored(_ groupResource: GroupResource, _ key: ObjectKey, object: JSONValue) -> JSONValue? {
        guard let current = store.object(groupResource, key), let type = registry.anyVersion(of: groupResource) else {
            return nil
        }
        if current == object { return current }
        let record = commit(.modified, type, key, object: object, previous: current)
        afterWrite(type, record)
        return record.object
    }

    /// Creates an object through the storage layer (the simulator's pods).
    mutating func createStored(_ groupResource: GroupResource, namespace: String, object: JSONValue) -> JSONValue? {
        guard let type = registry.anyVersion(of: groupResource) else { return nil }
        return try? create(type, namespace: namespace, body: object, options: WriteOptions(fieldValidation: .ignore)).object
    }

    // MARK: Commit and hooks

    private mutating func commit(
        _ event: WatchEventType, _ type: ResourceType, _ key: ObjectKey, object: JSONValue, previous: JSONValue?
    ) -> WatchRecord {
        let record = store.commit(event, type.groupResource, key, object: object, previous: previous)
        simulation.note(record)
        hub.publish(record)
        return record
    }

    /// What follows a committed write: CRDs register their resources, deletions cascade.
    private mutating func afterWrite(_ type: ResourceType, _ record: WatchRecord, propagationPolicy: String? = nil) {
        if type.groupResource == .customResourceDefinitions {
            CustomResources.afterWrite(record, state: &self)
        }
        if record.type == .deleted {
            appliedConfigurations = appliedConfigurations.filter {
                !($0.key.groupResource == record.groupResource && $0.key.key == record.key)
            }
            if type.groupResource == .pods, let uid = record.object[path: ["metadata", "uid"]]?.stringValue {
                podStartTimes[uid] = nil
            }
            if type.groupResource == .namespaces { deleteContents(ofNamespace: record.key.name) }
            GarbageCollector.collect(owner: record.object, policy: propagationPolicy, state: &self)
        }
        if !simulation.changed.isEmpty { ReplicaSetSimulator.reconcileChanged(state: &self, now: .now) }
    }

    private mutating func deleteContents(ofNamespace namespace: String) {
        for (groupResource, objects) in store.objects {
            for key in objects.keys where key.namespace == namespace && !key.namespace.isEmpty {
                deleteStored(groupResource, key)
            }
        }
    }

    /// Updates the status of a stored object without other changes (CRD conditions, simulator).
    mutating func setStatus(_ groupResource: GroupResource, _ key: ObjectKey, _ status: JSONValue) {
        guard var object = store.object(groupResource, key) else { return }
        object["status"] = status
        writeStored(groupResource, key, object: object)
    }

    // MARK: Helpers

    private func checkKind(_ body: JSONValue, _ type: ResourceType) throws(StatusError) {
        if let kind = body["kind"]?.stringValue, !kind.isEmpty, kind != type.kind {
            throw .badRequest("the kind in the data (\(kind)) does not match the expected kind (\(type.kind))")
        }
        if let apiVersion = body["apiVersion"]?.stringValue, !apiVersion.isEmpty, apiVersion != type.apiVersion {
            throw .badRequest(
                "the API version in the data (\(apiVersion)) does not match the expected API version (\(type.apiVersion))")
        }
    }

    private func resolveNamespace(_ type: ResourceType, urlNamespace: String?, body: JSONValue) throws(StatusError)
        -> String
    {
        guard type.isNamespaced else { return "" }
        let bodyNamespace = body[path: ["metadata", "namespace"]]?.stringValue ?? ""
        let namespace = urlNamespace ?? bodyNamespace
        if !bodyNamespace.isEmpty, bodyNamespace != namespace {
            throw .badRequest("the namespace of the provided object does not match the namespace sent on the request")
        }
        guard store.object(.namespaces, ObjectKey(namespace: "", name: namespace)) != nil else {
            throw .namespaceNotFound(namespace)
        }
        return namespace
    }

    mutating func randomSuffix() -> String {
        let alphabet = Array("bcdfghjklmnpqrstvwxz2456789")
        return String((0..<5).map { _ in alphabet[Int.random(in: 0..<alphabet.count, using: &generator)] })
    }

    static func describe(_ error: any Error) -> String {
        if let decoding = error as? DecodingError {
            switch decoding {
            case .dataCorrupted(let context): return context.underlyingError.map { "\($0)" } ?? context.debugDescription
            default: return "\(decoding)"
            }
        }
        return "\(error)"
    }
}

extension ResourceType {
    /// Kinds whose `metadata.generation` the real server maintains.
    var tracksGeneration: Bool {
        group == "apps" || group == "batch" || isCustom || groupResource == .customResourceDefinitions
    }
}

/// RFC 3339 timestamps with second precision, as `creationTimestamp` is written.
enum Timestamp {
    static func now() -> String { string(Date()) }

    static func string(_ date: Date) -> String {
        let formatter = ISO8601DateFormatter()
        formatter.formatOptions = [.withInternetDateTime]
        formatter.timeZone = TimeZone(identifier: "UTC")
        return formatter.string(from: date)
    }
}
