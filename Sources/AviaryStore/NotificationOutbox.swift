import AviaryModel
import Foundation
import GRDB

/// A notification in the outbox: put there in the transaction that records the event which
/// triggered it, taken out only once it is delivered or has failed for good, so a daemon killed
/// at any instant loses none and repeats at most the one in flight.
public struct StoredNotification: Sendable, Equatable, Codable {
    /// Where it is in its life.
    public enum State: String, Sendable, Codable {
        /// Waiting for its (next) attempt.
        case pending
        /// The receiver took it.
        case delivered
        /// It will not be sent: the receiver refused it, or retries ran out.
        case failed
    }

    /// Its row id (0 before it is stored): the delivery order within a rollout.
    public var id: Int64
    /// The rollout it is about.
    public var rollout: ResourceKey
    /// The trigger (`on-rollout-aborted`).
    public var trigger: String
    /// The service's name.
    public var service: String
    /// The recipient (a channel; empty for a webhook).
    public var recipient: String
    /// What to send (the rendered notification, JSON).
    public var payload: Data
    /// Sent with every attempt, so a receiver can drop a repeat.
    public var idempotencyKey: String
    /// When it was enqueued (RFC 3339).
    public var createdAt: String
    /// Where it is in its life.
    public var state: State
    /// How many attempts were made.
    public var attempts: Int
    /// When the next attempt is due.
    public var nextAttemptAt: Date
    /// The last failure.
    public var lastError: String?
    /// When it was delivered or failed for good (RFC 3339).
    public var finishedAt: String?

    /// A new pending notification (or a failed one, with `failure`, that is only shown).
    public init(
        rollout: ResourceKey, trigger: String, service: String, recipient: String, payload: Data,
        createdAt: Date, failure: String? = nil
    ) {
        id = 0
        self.rollout = rollout
        self.trigger = trigger
        self.service = service
        self.recipient = recipient
        self.payload = payload
        idempotencyKey = UUID().uuidString.lowercased()
        self.createdAt = AviaryStore.timestamp(createdAt)
        state = failure == nil ? .pending : .failed
        attempts = 0
        nextAttemptAt = createdAt
        lastError = failure
        finishedAt = failure == nil ? nil : self.createdAt
    }
}

extension AviaryStore {
    /// How many finished notifications of one rollout are kept to be shown.
    public static let finishedNotificationsKept = 20

    static func createNotificationOutbox(_ db: Database) throws {
        try db.execute(
            sql: """
                CREATE TABLE notifications (
                    id INTEGER PRIMARY KEY AUTOINCREMENT,
                    namespace TEXT NOT NULL, rollout TEXT NOT NULL,
                    trigger TEXT NOT NULL, service TEXT NOT NULL, recipient TEXT NOT NULL,
                    payload TEXT NOT NULL, idempotencyKey TEXT NOT NULL, createdAt TEXT NOT NULL,
                    state TEXT NOT NULL, attempts INTEGER NOT NULL, nextAttemptAt REAL NOT NULL,
                    lastError TEXT, finishedAt TEXT);
                CREATE INDEX notifications_by_rollout ON notifications (namespace, rollout, state, id);
                CREATE INDEX notifications_pending ON notifications (state, id);
                """)
    }

    static func enqueue(_ db: Database, _ notifications: [StoredNotification]) throws {
        for notification in notifications {
            try db.execute(
                sql: """
                    INSERT INTO notifications (namespace, rollout, trigger, service, recipient, payload,
                        idempotencyKey, createdAt, state, attempts, nextAttemptAt, lastError, finishedAt)
                    VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
                    """,
                arguments: [
                    notification.rollout.namespace, notification.rollout.name, notification.trigger,
                    notification.service, notification.recipient, String(decoding: notification.payload, as: UTF8.self),
                    notification.idempotencyKey, notification.createdAt, notification.state.rawValue,
                    notification.attempts, notification.nextAttemptAt.timeIntervalSince1970, notification.lastError,
                    notification.finishedAt,
                ])
        }
        for rollout in Set(notifications.filter { $0.state != .pending }.map(\.rollout)) {
            try pruneFinished(db, rollout)
        }
    }

    /// Puts notifications in the outbox on their own (tests, and triggers with no status to write).
    public func enqueue(_ notifications: [StoredNotification]) throws(StoreError) {
        try write { db in try Self.enqueue(db, notifications) }
    }

    /// The notifications to send now: of each rollout, its oldest pending one (so a rollout's
    /// notifications arrive in order), if its attempt is due; oldest first.
    public func dueNotifications(at time: Date, limit: Int = 32) throws(StoreError) -> [StoredNotification] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: """
                    SELECT * FROM notifications WHERE id IN (
                        SELECT MIN(id) FROM notifications WHERE state = 'pending' GROUP BY namespace, rollout)
                    AND nextAttemptAt <= ? ORDER BY id LIMIT ?
                    """,
                arguments: [time.timeIntervalSince1970, limit]
            ).map(Self.notification)
        }
    }

    /// When the next pending notification falls due, nil when none is pending.
    public func nextNotificationDue() throws(StoreError) -> Date? {
        try read { db in
            try Double.fetchOne(
                db,
                sql: """
                    SELECT MIN(nextAttemptAt) FROM notifications WHERE id IN (
                        SELECT MIN(id) FROM notifications WHERE state = 'pending' GROUP BY namespace, rollout)
                    """
            ).map { Date(timeIntervalSince1970: $0) }
        }
    }

    /// How many notifications are pending.
    public func pendingNotificationCount() throws(StoreError) -> Int {
        try read { db in try Int.fetchOne(db, sql: "SELECT COUNT(*) FROM notifications WHERE state = 'pending'") ?? 0 }
    }

    /// Records an attempt: `state` delivered or failed finishes it; pending keeps it for `nextAttemptAt`.
    public func recordAttempt(
        _ id: Int64, state: StoredNotification.State, error: String?, nextAttemptAt: Date, at time: Date
    ) throws(StoreError) {
        try write { db in
            try db.execute(
                sql: """
                    UPDATE notifications SET state = ?, attempts = attempts + 1, lastError = ?, nextAttemptAt = ?,
                        finishedAt = ? WHERE id = ?
                    """,
                arguments: [
                    state.rawValue, error, nextAttemptAt.timeIntervalSince1970,
                    state == .pending ? nil : Self.timestamp(time), id,
                ])
            if state != .pending,
                let row = try Row.fetchOne(db, sql: "SELECT namespace, rollout FROM notifications WHERE id = ?", arguments: [id])
            {
                let rollout = ResourceKey(kind: .rollout, namespace: row[0], name: row[1])
                try Self.pruneFinished(db, rollout)
                // A deleted rollout's last notifications are not kept to be shown.
                if try Self.fetch(db, rollout) == nil {
                    try db.execute(sql: "DELETE FROM notifications WHERE id = ?", arguments: [id])
                }
            }
        }
    }

    /// A rollout's notifications, newest first: the pending ones and the last finished ones.
    public func notifications(of rollout: ResourceKey, limit: Int = 20) throws(StoreError) -> [StoredNotification] {
        try read { db in
            try Row.fetchAll(
                db,
                sql: "SELECT * FROM notifications WHERE namespace = ? AND rollout = ? ORDER BY id DESC LIMIT ?",
                arguments: [rollout.namespace, rollout.name, limit]
            ).map(Self.notification)
        }
    }

    /// Keeps the last `finishedNotificationsKept` finished notifications of a rollout.
    private static func pruneFinished(_ db: Database, _ rollout: ResourceKey) throws {
        try db.execute(
            sql: """
                DELETE FROM notifications WHERE namespace = ? AND rollout = ? AND state != 'pending' AND id <= (
                    SELECT id FROM notifications WHERE namespace = ? AND rollout = ? AND state != 'pending'
                    ORDER BY id DESC LIMIT 1 OFFSET ?)
                """,
            arguments: [
                rollout.namespace, rollout.name, rollout.namespace, rollout.name, finishedNotificationsKept,
            ])
    }

    private static func notification(_ row: Row) -> StoredNotification {
        var notification = StoredNotification(
            rollout: ResourceKey(kind: .rollout, namespace: row["namespace"], name: row["rollout"]),
            trigger: row["trigger"], service: row["service"], recipient: row["recipient"],
            payload: Data((row["payload"] as String).utf8),
            createdAt: Date(timeIntervalSince1970: row["nextAttemptAt"]))
        notification.id = row["id"]
        notification.idempotencyKey = row["idempotencyKey"]
        notification.createdAt = row["createdAt"]
        notification.state = StoredNotification.State(rawValue: row["state"]) ?? .failed
        notification.attempts = row["attempts"]
        notification.lastError = row["lastError"]
        notification.finishedAt = row["finishedAt"]
        return notification
    }
}
