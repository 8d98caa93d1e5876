import AviaryJSON
import AviaryKubernetes
import AviaryStore
import Foundation
import Logging

/// The notification outbox of `aviary serve --platform kubernetes`, held by the leader: the queue
/// in memory (`NotificationQueue`, the same rules as the SQLite outbox of one host), and each
/// pending notification also in the ConfigMap `aviary-notification-outbox` of the controller's
/// namespace until it is delivered or has failed for good. A leader that dies leaves its pending
/// notifications there; the next one loads them when its term starts (`load`) and sends them,
/// with their idempotency keys, so a receiver sees at most the one that was in flight twice.
/// Argo's controller sends in-process and forgets what it could not send.
///
/// A ConfigMap write that fails (the API server is down) is kept and sent with the next one; the
/// notification is delivered from memory meanwhile. At most `persistedLimit` pending
/// notifications are kept in the ConfigMap (well under its 1 MiB), the rest in memory only.
public actor ClusterNotificationOutbox: NotificationOutbox {
    /// The ConfigMap's name.
    public static let configMapName = "aviary-notification-outbox"
    /// How many pending notifications the ConfigMap holds at most.
    public static let persistedLimit = 200

    public let changes = StoreChanges()
    let client: KubernetesClient
    let namespace: String
    let rolloutExists: @Sendable (ResourceKey) -> Bool
    let logger: Logger
    private var queue = NotificationQueue()
    /// The ids in the ConfigMap (as far as this leader knows).
    private var persisted: Set<Int64> = []
    /// Changes to the ConfigMap's `data` not written yet (a value of null removes the key).
    private var unsaved: [String: JSONValue] = [:]
    private var warnedFull = false
    /// Whether a save is under way (saves go one after another, so the ConfigMap sees them in order).
    private var saving = false
    /// Whether the last save failed (logged once until one succeeds).
    private var failing = false

    /// An outbox kept in `namespace`; `rolloutExists` says whether a rollout is still there (the
    /// finished notifications of one that is gone are not kept).
    public init(
        client: KubernetesClient, namespace: String, rolloutExists: @escaping @Sendable (ResourceKey) -> Bool,
        logger: Logger
    ) {
        self.client = client
        self.namespace = namespace
        self.rolloutExists = rolloutExists
        self.logger = logger
    }

    /// Reads what an earlier leader left pending. A missing ConfigMap is an empty outbox; an entry
    /// that does not decode is dropped (and removed) with a log line.
    public func load() async {
        let object: KubernetesObject
        do {
            object = try await client.get(.configMaps, namespace: namespace, name: Self.configMapName)
        } catch {
            if !error.isNotFound { logger.error("cannot read the notification outbox: \(error)") }
            return
        }
        var pending: [StoredNotification] = []
        for (key, value) in object.json["data"]?.objectValue ?? [:] {
            guard let text = value.stringValue,
                let notification = try? JSONDecoder().decode(StoredNotification.self, from: Data(text.utf8)),
                String(notification.id) == key
            else {
                logger.error(
                    "ConfigMap \(namespace)/\(Self.configMapName): entry \(key) is not a notification; dropped")
                unsaved[key] = .null
                continue
            }
            pending.append(notification)
        }
        queue = NotificationQueue(pending: pending)
        persisted = Set(pending.map(\.id))
        if !pending.isEmpty {
            logger.info("\(pending.count) notifications left pending by an earlier leader are sent")
            changes.notify()
        }
    }

    public func enqueue(_ notifications: [StoredNotification]) async {
        guard !notifications.isEmpty else { return }
        for notification in queue.enqueue(notifications) where notification.state == .pending {
            guard persisted.count < Self.persistedLimit else {
                if !warnedFull {
                    logger.warning(
                        "more than \(Self.persistedLimit) notifications pending; the rest are kept in memory only")
                    warnedFull = true
                }
                continue
            }
            guard let data = try? JSONEncoder().encode(notification) else { continue }
            persisted.insert(notification.id)
            unsaved[String(notification.id)] = .string(String(decoding: data, as: UTF8.self))
        }
        await save()
        changes.notify()
    }

    public func dueNotifications(at time: Date, limit: Int) async -> [StoredNotification] {
        if !unsaved.isEmpty { await save() }
        return queue.due(at: time, limit: limit)
    }

    public func nextNotificationDue() -> Date? { queue.nextDue }

    public func recordAttempt(
        _ id: Int64, state: StoredNotification.State, error: String?, nextAttemptAt: Date, at time: Date
    ) async {
        queue.recordAttempt(
            id, state: state, error: error, nextAttemptAt: nextAttemptAt, at: time, rolloutExists: rolloutExists)
        guard state != .pending, persisted.remove(id) != nil else { return }
        unsaved[String(id)] = .null
        await save()
    }

    public func notifications(of rollout: ResourceKey, limit: Int) -> [StoredNotification] {
        queue.notifications(of: rollout, limit: limit)
    }

    /// Writes the changes not written yet as merge patches of the ConfigMap's `data` (creating the
    /// ConfigMap the first time), one after another; on failure they stay for the next call.
    private func save() async {
        // A save under way writes what is added meanwhile too.
        guard !saving else { return }
        saving = true
        defer { saving = false }
        while !unsaved.isEmpty {
            let change = unsaved
            do {
                try await write(change)
            } catch {
                if !failing {
                    logger.error(
                        "cannot write ConfigMap \(namespace)/\(Self.configMapName) (what a next leader would send): \(error); trying again with the next notification"
                    )
                }
                failing = true
                return
            }
            if failing { logger.info("ConfigMap \(namespace)/\(Self.configMapName) is written again") }
            failing = false
            for (key, value) in change where unsaved[key] == value { unsaved[key] = nil }
        }
    }

    private func write(_ change: [String: JSONValue]) async throws {
        do {
            _ = try await client.patch(
                .configMaps, namespace: namespace, name: Self.configMapName, type: .merge,
                body: ["data": .object(change)])
            return
        } catch {
            guard error.isNotFound else { throw error }
        }
        let body: JSONValue = [
            "apiVersion": "v1", "kind": "ConfigMap",
            "metadata": [
                "name": .string(Self.configMapName), "namespace": .string(namespace),
                "labels": ["app.kubernetes.io/managed-by": "aviary"],
            ],
            "data": .object(change.filter { $0.value != .null }),
        ]
        _ = try await client.create(.configMaps, namespace: namespace, try KubernetesObject(json: body))
    }
}
