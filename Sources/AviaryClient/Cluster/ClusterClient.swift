import AviaryAPI
import AviaryJSON
import AviaryKubernetes
import AviaryModel
import Foundation

/// A cluster-mode verb that failed: one line naming the server, the verb, the object and the cause,
/// and what to do about it.
public struct ClusterFailure: Error, CustomStringConvertible, Sendable {
    /// What to tell the user.
    public var description: String
    /// The rollout asked for does not exist (the API server answered 404 for it).
    public var isNotFound = false

    /// A failure saying `description`.
    public init(_ description: String, isNotFound: Bool = false) {
        self.description = description
        self.isNotFound = isNotFound
    }
}

/// Argo `argoproj.io/v1alpha1` AnalysisRuns.
let analysisRunsResource = GroupVersionResource(group: "argoproj.io", version: "v1alpha1", resource: "analysisruns")

/// What the CLI's verbs do on a cluster (`--kubeconfig`, `--context`, `--kubernetes`): read a Rollout and
/// what it owns straight from the API server, and write exactly what Argo's `kubectl argo rollouts`
/// plugin writes (``RolloutPatches``), so the CLI drives a cluster whether Aviary's controller or
/// Argo's runs there.
public final class ClusterClient: Sendable {
    /// The REST client.
    public let kubernetes: KubernetesClient
    /// The namespace the verbs act in: `-n`, else the context's, else `default`.
    public let namespace: String

    /// The API server's URL.
    public var server: String { kubernetes.configuration.server }

    /// A client of `kubernetes` acting in `namespace`.
    public init(kubernetes: KubernetesClient, namespace: String) {
        self.kubernetes = kubernetes
        self.namespace = namespace
    }

    /// Loads the kubeconfig as kubectl does (`kubeconfig` is `--kubeconfig`, else `KUBECONFIG`, else
    /// `~/.kube/config`) and resolves `context` (else the current one); `namespace` overrides the
    /// context's. Call ``shutdown()`` when done.
    public static func connect(
        kubeconfig: String?, context: String?, namespace: String?,
        environment: [String: String] = ProcessInfo.processInfo.environment
    ) throws(ClusterFailure) -> ClusterClient {
        let configuration: ClientConfiguration
        do throws(KubeconfigError) {
            configuration = try ClientConfiguration.fromKubeconfig(
                explicitPath: kubeconfig, context: context, environment: environment)
        } catch {
            throw ClusterFailure(error.description)
        }
        do {
            // A person waits on each call: client-go's rate limit is kubectl's, and no retry hides a
            // server that is down.
            let client = try KubernetesClient(configuration: configuration, policy: RequestPolicy(maxRetries: 2))
            return ClusterClient(kubernetes: client, namespace: namespace ?? configuration.namespace)
        } catch {
            throw ClusterFailure(
                "\(configuration.origin): the TLS settings of server \(configuration.server) cannot be used "
                    + "(\(error)); fix the certificate entries of the kubeconfig")
        }
    }

    /// Closes the connections.
    public func shutdown() async {
        try? await kubernetes.shutdown()
    }

    // MARK: Reads

    /// The Rollout as stored.
    public func rolloutObject(_ name: String) async throws(ClusterFailure) -> KubernetesObject {
        do throws(KubernetesError) {
            return try await kubernetes.get(.rollouts, namespace: namespace, name: name)
        } catch {
            throw failure(error, rollout: name)
        }
    }

    /// The Rollout, decoded.
    public func rollout(_ name: String) async throws(ClusterFailure) -> Rollout {
        try Self.decodeRollout(try await rolloutObject(name))
    }

    /// Every Rollout of the namespace, or of all namespaces.
    public func rollouts(allNamespaces: Bool) async throws(ClusterFailure) -> [Rollout] {
        let list: ObjectList
        do throws(KubernetesError) {
            list = try await kubernetes.listAll(.rollouts, namespace: allNamespaces ? nil : namespace)
        } catch {
            throw failure(error)
        }
        var rollouts: [Rollout] = []
        for object in list.items { rollouts.append(try Self.decodeRollout(object)) }
        return rollouts.sorted {
            ($0.metadata.namespace ?? "", $0.metadata.name ?? "") < (
                $1.metadata.namespace ?? "", $1.metadata.name ?? ""
            )
        }
    }

    /// The ReplicaSets a Rollout controls (owner reference with `controller: true` and its uid).
    func ownedReplicaSets(of rollout: KubernetesObject) async throws(ClusterFailure) -> [KubernetesObject] {
        try await list(.replicaSets).filter { $0.isControlled(by: rollout) }
    }

    /// Everything `get rollout` draws, read now: the Rollout, its ReplicaSets, their pods, its
    /// AnalysisRuns (none when the cluster serves no AnalysisRuns).
    public func snapshot(of name: String) async throws(ClusterFailure) -> RolloutSnapshot {
        let object = try await rolloutObject(name)
        let rollout = try Self.decodeRollout(object)
        let replicaSets = try await ownedReplicaSets(of: object)
        let pods = try await list(.pods)
        var runs: [KubernetesObject] = []
        do throws(KubernetesError) {
            runs = try await kubernetes.listAll(analysisRunsResource, namespace: namespace).items
        } catch  where error.isNotFound {
            runs = []
        } catch {
            throw failure(error)
        }
        var analysisRuns: [AnalysisRun] = []
        for run in runs where run.isControlled(by: object) {
            analysisRuns.append(try Self.decode(AnalysisRun.self, run, what: "AnalysisRun"))
        }
        return RolloutSnapshot(
            rollout: rollout, replicaSets: replicaSets.map { ClusterViews.replicaSet($0, rollout: name) },
            pods: pods.compactMap { pod in
                replicaSets.first { pod.isControlled(by: $0) }.map {
                    ClusterViews.pod(pod, replicaSet: $0, rollout: name)
                }
            },
            analysisRuns: analysisRuns)
    }

    /// The values of a ConfigMap or a Secret of `namespace` (`ConfigMap.values`, `Secret.values`);
    /// nil when there is none of that name.
    public func configurationValues(
        secret: Bool, name: String, namespace: String
    ) async throws(ClusterFailure) -> [String: String]? {
        let object: KubernetesObject
        do throws(KubernetesError) {
            object = try await kubernetes.get(secret ? .secrets : .configMaps, namespace: namespace, name: name)
        } catch {
            if error.isNotFound { return nil }
            throw failure(error)
        }
        return secret
            ? try Self.decode(Secret.self, object, what: "Secret").values
            : try Self.decode(ConfigMap.self, object, what: "ConfigMap").values
    }

    /// A Rollout's latest Kubernetes Events (at most 100, by `involvedObject`), oldest first; none
    /// when they cannot be read (events are a courtesy: a page or a view never fails for them).
    public func events(ofRollout name: String) async -> [EventList.Event] {
        let events = GroupVersionResource(group: "", version: "v1", resource: "events")
        guard
            let list = try? await kubernetes.list(
                events, namespace: namespace, fieldSelector: "involvedObject.kind=Rollout,involvedObject.name=\(name)")
        else { return [] }
        let shown = list.items.map { event in
            let json = event.json
            let time =
                json["lastTimestamp"]?.stringValue ?? json["eventTime"]?.stringValue
                ?? json["firstTimestamp"]?.stringValue ?? event.metadata.creationTimestamp ?? ""
            return EventList.Event(
                type: json["type"]?.stringValue ?? "Normal", reason: json["reason"]?.stringValue ?? "",
                message: json["message"]?.stringValue ?? "", time: time)
        }
        return Array(shown.sorted { $0.time < $1.time }.suffix(100))
    }

    /// Calls `onChange` whenever a Rollout, ReplicaSet, pod or AnalysisRun (only a Rollout with
    /// `rolloutsOnly`) of the namespace (all namespaces when `allNamespaces`) changes, and whenever a
    /// watch ends; until the task is cancelled. Each resource is watched on its own connection, opened
    /// again a second after it ends or fails.
    public func followChanges(
        rolloutsOnly: Bool = false, allNamespaces: Bool = false, onChange: @escaping @Sendable () -> Void
    ) async {
        let namespace = allNamespaces ? nil : namespace
        let resources: [GroupVersionResource] =
            rolloutsOnly ? [.rollouts] : [.rollouts, .replicaSets, .pods, analysisRunsResource]
        await withTaskGroup(of: Void.self) { group in
            for resource in resources {
                group.addTask { [kubernetes] in
                    while !Task.isCancelled {
                        do {
                            let events = try await kubernetes.watch(
                                resource, namespace: namespace, resourceVersion: nil)
                            for try await _ in events { onChange() }
                        } catch {
                            // Drawn as the frame's error, if the reads fail too.
                        }
                        onChange()
                        try? await Task.sleep(for: .seconds(1))
                    }
                }
            }
        }
    }

    /// Calls `onUpdate` with the Rollout as it is now and after each change, until it returns false.
    /// A watch that ends is opened again; a Rollout that is deleted, a 403 or a 401 end it with a
    /// failure.
    public func followRollout(_ name: String, onUpdate: (Rollout) async -> Bool) async throws(ClusterFailure) {
        guard await onUpdate(try await rollout(name)) else { return }
        while !Task.isCancelled {
            let events: AsyncThrowingStream<WatchEvent, any Error>
            do throws(KubernetesError) {
                events = try await kubernetes.watch(.rollouts, namespace: namespace, resourceVersion: nil)
            } catch {
                if case .transport = error.cause {
                    try? await Task.sleep(for: .seconds(1))
                    continue
                }
                throw failure(error, rollout: name)
            }
            do {
                for try await event in events where event.object["metadata"]?["name"]?.stringValue == name {
                    switch event.type {
                    case .deleted:
                        throw ClusterFailure(
                            "rollout \"\(name)\" was deleted from namespace \"\(namespace)\" on \(server)")
                    case .added, .modified:
                        guard await onUpdate(try Self.decodeRollout(try KubernetesObject(json: event.object))) else {
                            return
                        }
                    case .bookmark, .error:
                        continue
                    }
                }
            } catch let failure as ClusterFailure {
                throw failure
            } catch {
                // A dropped watch: open it again.
            }
            try? await Task.sleep(for: .milliseconds(200))
        }
    }

    // MARK: Writes (the plugin's patches)

    /// `promote [--full]`: the writes ``RolloutPatches/promote(_:full:)`` computes from the Rollout as read
    /// now; returns them (empty when there was nothing to do).
    @discardableResult
    public func promote(_ name: String, full: Bool) async throws(ClusterFailure) -> RolloutPatches.Writes {
        let writes = RolloutPatches.promote(try await rolloutObject(name).json, full: full)
        try await write(writes, to: name)
        return writes
    }

    /// `abort`, `retry rollout`, `pause`, `restart`: writes `writes` to a Rollout that exists.
    public func write(_ writes: RolloutPatches.Writes, to name: String) async throws(ClusterFailure) {
        if writes.isEmpty {
            _ = try await rolloutObject(name)
            return
        }
        // As the plugin: the status subresource first, then the object.
        if let status = writes.status { try await patch(name, status, subresource: "status") }
        if let spec = writes.spec { try await patch(name, spec, subresource: nil) }
    }

    /// What `undo` did.
    public enum UndoOutcome: Sendable, Equatable {
        /// The Rollout's template was replaced by this revision's.
        case restored(revision: Int)
        /// The template already was this revision's; nothing was written.
        case alreadyCurrent(revision: Int)
    }

    /// `undo [--to-revision N]`: copies the pod template of the ReplicaSet of revision `revision` (nil: the
    /// one before the newest) into `spec.template`, without its `rollouts-pod-template-hash` label, with a
    /// JSON patch `replace /spec/template` as the plugin does.
    public func undo(_ name: String, toRevision revision: Int?) async throws(ClusterFailure) -> UndoOutcome {
        let object = try await rolloutObject(name)
        let history = try await ownedReplicaSets(of: object).map { ($0.revision, $0) }.sorted { $0.0 > $1.0 }
        let known = history.map { String($0.0) }.joined(separator: ", ")
        let chosen: (Int, KubernetesObject)
        if let revision {
            guard let match = history.first(where: { $0.0 == revision }) else {
                throw ClusterFailure(
                    "rollout \"\(name)\" in namespace \"\(namespace)\" has no revision \(revision) "
                        + (history.isEmpty ? "(it owns no ReplicaSets)" : "(its ReplicaSets have revisions \(known))")
                        + "; pass one of them to --to-revision")
            }
            chosen = match
        } else {
            guard history.count >= 2 else {
                throw ClusterFailure(
                    "rollout \"\(name)\" in namespace \"\(namespace)\" has no earlier revision to go back to "
                        + (history.isEmpty ? "(it owns no ReplicaSets)" : "(only revision \(known))"))
            }
            chosen = history[1]
        }
        var template = chosen.1.json["spec"]?["template"] ?? .object([:])
        var labels = template["metadata"]?["labels"]?.objectValue ?? [:]
        labels["rollouts-pod-template-hash"] = nil
        if template["metadata"] != nil { template["metadata"]?["labels"] = labels.isEmpty ? nil : .object(labels) }
        if (object.json["spec"]?["template"] ?? .object([:])).isDerivative(of: template) {
            return .alreadyCurrent(revision: chosen.0)
        }
        let operation: JSONValue = ["op": "replace", "path": "/spec/template", "value": template]
        do throws(KubernetesError) {
            _ = try await kubernetes.patch(
                .rollouts, namespace: namespace, name: name, type: .json, body: .array([operation]))
        } catch {
            throw failure(error, rollout: name)
        }
        return .restored(revision: chosen.0)
    }

    /// `set image ROLLOUT CONTAINER=IMAGE` (`*` for every container): sets the image of the matching
    /// init, app and ephemeral containers of `spec.template` and writes the Rollout back with its
    /// resourceVersion, retried on a conflict (as the plugin: up to five reads and writes).
    public func setImage(_ name: String, container: String, image: String) async throws(ClusterFailure) {
        for attempt in 1...5 {
            let object = try await rolloutObject(name)
            var json = object.json
            var found = false
            var names: [String] = []
            for list in ["initContainers", "containers", "ephemeralContainers"] {
                guard var containers = json["spec"]?["template"]?["spec"]?[list]?.arrayValue else { continue }
                for index in containers.indices {
                    let containerName = containers[index]["name"]?.stringValue ?? ""
                    names.append(containerName)
                    if containerName == container || container == "*" {
                        containers[index]["image"] = .string(image)
                        found = true
                    }
                }
                json["spec"]?["template"]?["spec"]?[list] = .array(containers)
            }
            if !found, json["spec"]?["template"] == nil, let reference = json["spec"]?["workloadRef"] {
                let kind = reference["kind"]?.stringValue ?? "Deployment"
                let workload = reference["name"]?.stringValue ?? ""
                let command =
                    kind == "Deployment"
                    ? "kubectl set image deployment/\(workload) \(container)=\(image) -n \(namespace)"
                    : "kubectl edit \(kind.lowercased())/\(workload) -n \(namespace)"
                throw ClusterFailure(
                    "rollout \"\(name)\" in namespace \"\(namespace)\" takes its pod template from \(kind) "
                        + "\(workload) (spec.workloadRef): change the image there (\(command)); the rollout takes "
                        + "the new template through its steps")
            }
            guard found else {
                throw ClusterFailure(
                    "rollout \"\(name)\" in namespace \"\(namespace)\" has no container \"\(container)\" in "
                        + "spec.template (its containers: \(names.isEmpty ? "none" : names.joined(separator: ", "))); "
                        + "name one of them, or use *=IMAGE for all")
            }
            do {
                _ = try await kubernetes.update(.rollouts, namespace: namespace, try KubernetesObject(json: json))
                return
            } catch let error as KubernetesError where error.isConflict && attempt < 5 {
                continue
            } catch let error as KubernetesError {
                throw failure(error, rollout: name)
            } catch {
                throw ClusterFailure("rollout \"\(name)\": \(error)")
            }
        }
    }

    // MARK: Helpers

    private func patch(_ name: String, _ body: JSONValue, subresource: String?) async throws(ClusterFailure) {
        do throws(KubernetesError) {
            _ = try await kubernetes.patch(
                .rollouts, namespace: namespace, name: name, type: .merge, body: body, subresource: subresource)
        } catch {
            throw failure(error, rollout: name)
        }
    }

    private func list(_ resource: GroupVersionResource) async throws(ClusterFailure) -> [KubernetesObject] {
        do throws(KubernetesError) {
            return try await kubernetes.listAll(resource, namespace: namespace).items
        } catch {
            throw failure(error)
        }
    }

    /// One line for a failed request: a missing rollout names itself and the namespace; a missing
    /// Rollout resource says to install the CRDs; an unreachable server names the kubeconfig it came
    /// from; 401 and 403 keep the verb and resource the request named.
    func failure(_ error: KubernetesError, rollout: String? = nil) -> ClusterFailure {
        if error.isNotFound, let rollout {
            guard case .status(_, let status) = error.cause, status?.details?.name == rollout else {
                return ClusterFailure(
                    "\(error.description); the cluster serves no Rollouts: install the CRDs with "
                        + "`aviary install kubernetes | kubectl apply -f -` (or Argo Rollouts' own)")
            }
            return ClusterFailure(
                "rollout \"\(rollout)\" not found in namespace \"\(namespace)\" on \(server); "
                    + "`aviary list rollouts -n \(namespace) --kubeconfig ...` lists what is there, -n picks another namespace",
                isNotFound: true)
        }
        if case .transport = error.cause {
            return ClusterFailure(
                "\(error.description) (the API server of \(kubernetes.configuration.origin) does not answer: "
                    + "check that it runs and that the kubeconfig's server is right)")
        }
        return ClusterFailure(error.description)
    }

    static func decodeRollout(_ object: KubernetesObject) throws(ClusterFailure) -> Rollout {
        try decode(Rollout.self, object, what: "Rollout")
    }

    static func decode<T: Decodable>(
        _ type: T.Type, _ object: KubernetesObject, what: String
    ) throws(ClusterFailure)
        -> T
    {
        do {
            return try APIJSON.decoder().decode(T.self, from: object.json.serialized())
        } catch let error as DecodingError {
            throw ClusterFailure(
                "\(what) \"\(object.key)\" cannot be read: \(ClusterViews.describe(error)); fix that field "
                    + "(`kubectl edit \(what.lowercased()) \(object.metadata.name ?? "")`)")
        } catch {
            throw ClusterFailure("\(what) \"\(object.key)\" cannot be read: \(error)")
        }
    }
}

extension KubernetesObject {
    /// Whether `owner` is this object's controller (an owner reference with `controller: true` and its uid).
    func isControlled(by owner: KubernetesObject) -> Bool {
        guard let uid = owner.metadata.uid else { return false }
        return metadata.ownerReferences?.contains { $0.uid == uid && $0.controller == true } ?? false
    }

    /// The `rollout.argoproj.io/revision` annotation; 0 when absent or not a number.
    var revision: Int { Int(metadata.annotations?["rollout.argoproj.io/revision"] ?? "") ?? 0 }
}
