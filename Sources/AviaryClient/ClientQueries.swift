import AviaryAPI
import AviaryModel
import Foundation

/// The calls the CLI verbs make, decoded into model values and the API's wire types.
extension APIClient {
    /// Applies a manifest (YAML or JSON, several documents allowed): what happened to each resource.
    ///
    /// `file` names the manifest in the daemon's messages; `strict` makes warnings refuse the apply.
    public func apply(_ manifest: Data, file: String? = nil, strict: Bool = false) async throws(Failure) -> ApplyResult {
        var query: [String] = []
        if let file, let encoded = file.addingPercentEncoding(withAllowedCharacters: Self.queryValueCharacters) {
            query.append("file=\(encoded)")
        }
        if strict { query.append("strict=true") }
        let path = "/api/v1/apply" + (query.isEmpty ? "" : "?" + query.joined(separator: "&"))
        let data = try await send(.POST, path, body: manifest, contentType: "application/yaml")
        return try Self.decode(ApplyResult.self, data, what: "apply")
    }

    /// What a query value may hold unescaped: the URL query characters but the separators.
    static let queryValueCharacters = CharacterSet.urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+?#;"))

    /// Sets the image of a rollout's container (`*`: every container), which starts a new revision.
    public func setImage(rollout: String, container: String, image: String, namespace: String?) async throws(Failure) {
        let body: Data
        do {
            body = try APIJSON.encoder().encode(SetImageRequest(container: container, image: image))
        } catch {
            throw Failure(status: nil, description: "cannot encode the image \"\(image)\": \(error)")
        }
        _ = try await send(
            .POST, Self.operationPath(rollout: rollout, operation: "image", namespace: namespace), body: body)
    }

    /// The pods of every rollout, or of the rollout named `rollout`.
    public func pods(rollout: String? = nil) async throws(Failure) -> [PodView] {
        let data = try await send(.GET, "/api/v1/pods" + (rollout.map { "?rollout=\($0)" } ?? ""))
        return try Self.decode(PodList.self, data, what: "pods").pods
    }

    /// The Services where they listen, with their ready endpoints (`namespace` nil: every namespace).
    public func serviceEndpoints(namespace: String? = nil) async throws(Failure) -> [ServiceEndpointsView] {
        let data = try await send(.GET, "/api/v1/endpoints" + (namespace.map { "?namespace=\($0)" } ?? ""))
        return try Self.decode(ServiceEndpointsList.self, data, what: "services").services
    }

    /// A rollout with its status.
    public func rollout(_ name: String, namespace: String) async throws(Failure) -> Rollout {
        let data = try await send(.GET, Self.resourcePath(.rollout, name: name, namespace: namespace))
        return try Self.decode(Rollout.self, data, what: "rollout \"\(name)\"")
    }

    /// A rollout from the JSON the daemon sends (an answer or a line of a watch stream).
    public static func rollout(from data: Data) throws(Failure) -> Rollout {
        try decode(Rollout.self, data, what: "a rollout")
    }

    /// Every rollout of a namespace (of all namespaces when nil).
    public func rollouts(namespace: String?) async throws(Failure) -> [Rollout] {
        try await items(Rollout.self, kind: .rollout, namespace: namespace)
    }

    /// Every AnalysisRun of a namespace (of all namespaces when nil); with `rollout`, only that
    /// rollout's (label `rollout`).
    public func analysisRuns(namespace: String?, rollout: String? = nil) async throws(Failure) -> [AnalysisRun] {
        let runs = try await items(AnalysisRun.self, kind: .analysisRun, namespace: namespace)
        return rollout.map { name in runs.filter { $0.metadata.labels?["rollout"] == name } } ?? runs
    }

    /// Every ConfigMap of a namespace (of all namespaces when nil).
    public func configMaps(namespace: String?) async throws(Failure) -> [ConfigMap] {
        try await items(ConfigMap.self, kind: .configMap, namespace: namespace)
    }

    /// Every Secret of a namespace (of all namespaces when nil).
    public func secrets(namespace: String?) async throws(Failure) -> [Secret] {
        try await items(Secret.self, kind: .secret, namespace: namespace)
    }

    /// One AnalysisRun.
    public func analysisRun(_ name: String, namespace: String) async throws(Failure) -> AnalysisRun {
        let data = try await send(.GET, Self.resourcePath(.analysisRun, name: name, namespace: namespace))
        return try Self.decode(AnalysisRun.self, data, what: "analysisrun \"\(name)\"")
    }

    /// A rollout's latest events (at most 100), oldest first.
    public func events(ofRollout name: String, namespace: String) async throws(Failure) -> [EventList.Event] {
        let data = try await send(.GET, Self.operationPath(rollout: name, operation: "events", namespace: namespace))
        return try Self.decode(EventList.self, data, what: "events of rollout \"\(name)\"").events
    }

    /// A rollout's notifications, newest first (none from a daemon that predates them).
    public func notifications(ofRollout name: String, namespace: String) async -> [NotificationList.Notification] {
        guard
            let data = try? await send(
                .GET, Self.operationPath(rollout: name, operation: "notifications", namespace: namespace))
        else { return [] }
        return (try? Self.decode(NotificationList.self, data, what: "notifications")).map(\.notifications) ?? []
    }

    /// The notification configuration a namespace's rollouts see.
    public func notificationConfig(namespace: String) async throws(Failure) -> NotificationConfigSummary {
        let data = try await send(.GET, "/api/v1/notifications?namespace=\(namespace)")
        return try Self.decode(NotificationConfigSummary.self, data, what: "notification configuration")
    }

    /// A rollout's notifications, newest first, failing as the daemon does.
    public func notificationList(ofRollout name: String, namespace: String) async throws(Failure)
        -> [NotificationList.Notification]
    {
        let data = try await send(
            .GET, Self.operationPath(rollout: name, operation: "notifications", namespace: namespace))
        return try Self.decode(NotificationList.self, data, what: "notifications of rollout \"\(name)\"").notifications
    }

    /// Templates (or a trigger's templates) rendered for a rollout as it is now; queued to
    /// `recipients` (`SERVICE:RECIPIENT`) when there are any.
    public func renderNotification(
        rollout: String, namespace: String, templates: [String], trigger: String?, recipients: [String]
    ) async throws(Failure) -> NotificationPreview {
        var query = ["namespace=\(namespace)"]
        if !templates.isEmpty { query.append("template=" + Self.escape(templates.joined(separator: ","))) }
        if let trigger { query.append("trigger=" + Self.escape(trigger)) }
        if !recipients.isEmpty { query.append("recipients=" + Self.escape(recipients.joined(separator: ","))) }
        let data = try await send(
            .POST, "/api/v1/rollouts/\(rollout)/notifications/render?" + query.joined(separator: "&"), body: Data())
        return try Self.decode(NotificationPreview.self, data, what: "rendered notification")
    }

    private static func escape(_ text: String) -> String {
        text.addingPercentEncoding(withAllowedCharacters: .urlQueryAllowed.subtracting(CharacterSet(charactersIn: "&=+"))) ?? text
    }

    /// The ReplicaSets of every rollout, or of the rollout named `rollout`; of one namespace or all.
    public func replicaSets(rollout: String? = nil, namespace: String? = nil) async throws(Failure) -> [ReplicaSetView]
    {
        let query = [rollout.map { "rollout=\($0)" }, namespace.map { "namespace=\($0)" }].compactMap { $0 }
        let data = try await send(
            .GET, "/api/v1/replicasets" + (query.isEmpty ? "" : "?" + query.joined(separator: "&")))
        return try Self.decode(ReplicaSetList.self, data, what: "replicasets").replicaSets
    }

    /// Everything `get rollout` draws, read now.
    public func snapshot(of name: String, namespace: String) async throws(Failure) -> RolloutSnapshot {
        // The reads go out together: one round trip of waiting instead of five.
        async let rolloutRead = rollout(name, namespace: namespace)
        async let replicaSetRead = replicaSets(rollout: name, namespace: namespace)
        async let podRead = pods(rollout: name)
        async let runRead = analysisRuns(namespace: namespace, rollout: name)
        async let experimentRead = items(Experiment.self, kind: .experiment, namespace: namespace)
        async let notificationRead = notifications(ofRollout: name, namespace: namespace)
        let rollout: Rollout
        let replicaSets: [ReplicaSetView]
        let pods: [PodView]
        let runs: [AnalysisRun]
        let experiments: [Experiment]
        do {
            (rollout, replicaSets, pods, runs, experiments) = try await (
                rolloutRead, replicaSetRead, podRead, runRead, experimentRead
            )
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(status: nil, description: "\(error)")
        }
        return RolloutSnapshot(
            rollout: rollout, replicaSets: replicaSets, pods: pods.filter { $0.namespace == namespace },
            analysisRuns: runs, experiments: experiments.filter { $0.metadata.owningRollout == name },
            notifications: await notificationRead)
    }

    func items<T: Decodable>(_ type: T.Type, kind: ResourceKind, namespace: String?) async throws(Failure) -> [T] {
        let data = try await send(.GET, Self.resourcePath(kind, namespace: namespace))
        return try Self.decode(ItemList<T>.self, data, what: kind.plural).items
    }

    static func decode<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws(Failure) -> T {
        do {
            return try APIJSON.decoder().decode(T.self, from: data)
        } catch {
            throw Failure(status: nil, description: "the daemon's answer for \(what) cannot be read: \(error)")
        }
    }
}
