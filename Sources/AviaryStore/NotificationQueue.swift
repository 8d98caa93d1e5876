import Foundation

/// Where the notification dispatcher takes what to send and records how each attempt went: the
/// seam between delivery and where the outbox lives. The SQLite store holds it on one host
/// (written in the transaction of the event that triggered it); on Kubernetes the leader holds it
/// in memory and keeps the pending part in a ConfigMap, so the next leader sends what this one
/// could not (`ClusterNotificationOutbox`).
public protocol NotificationOutbox: Sendable {
    /// Counts the outbox's writes; a dispatcher with nothing due waits on it for the next one.
    var changes: StoreChanges { get }
    /// Puts notifications in the outbox (a failed one is only kept to be shown).
    func enqueue(_ notifications: [StoredNotification]) async throws
    /// Of each rollout, its oldest pending notification if its attempt is due; oldest first.
    func dueNotifications(at time: Date, limit: Int) async throws -> [StoredNotification]
    /// When the next pending notification falls due, nil when none is pending.
    func nextNotificationDue() async throws -> Date?
    /// Records an attempt: `state` delivered or failed finishes it; pending keeps it for `nextAttemptAt`.
    func recordAttempt(
        _ id: Int64, state: StoredNotification.State, error: String?, nextAttemptAt: Date, at time: Date
    ) async throws
    /// A rollout's notifications, newest first: the pending ones and the last finished ones.
    func notifications(of rollout: ResourceKey, limit: Int) async throws -> [StoredNotification]
}

extension AviaryStore: NotificationOutbox {}

/// The outbox's rules as a value, for an outbox held in memory: ids in the order notifications
/// were enqueued, each rollout's oldest pending one the only one of it that is due, at most
/// `finishedNotificationsKept` finished ones kept per rollout, and none of a rollout that is gone.
/// The same rules the SQLite outbox keeps in its queries.
public struct NotificationQueue: Sendable, Equatable {
    /// Pending notifications by id.
    public private(set) var pending: [Int64: StoredNotification] = [:]
    /// Each rollout's finished notifications, oldest first.
    private var finished: [ResourceKey: [StoredNotification]] = [:]
    private var lastID: Int64 = 0

    /// An empty queue.
    public init() {}

    /// A queue holding `pending` (as a previous holder left them), with their ids kept.
    public init(pending: [StoredNotification]) {
        for notification in pending where notification.state == .pending {
            self.pending[notification.id] = notification
            lastID = max(lastID, notification.id)
        }
    }

    /// Gives each notification the next id and keeps it; returns them as kept.
    public mutating func enqueue(_ notifications: [StoredNotification]) -> [StoredNotification] {
        notifications.map { notification in
            var notification = notification
            lastID += 1
            notification.id = lastID
            if notification.state == .pending {
                pending[notification.id] = notification
            } else {
                finish(notification)
            }
            return notification
        }
    }

    /// Each rollout's oldest pending notification.
    private var heads: [StoredNotification] {
        var heads: [ResourceKey: StoredNotification] = [:]
        for notification in pending.values where notification.id < (heads[notification.rollout]?.id ?? .max) {
            heads[notification.rollout] = notification
        }
        return heads.values.sorted { $0.id < $1.id }
    }

    /// Of each rollout, its oldest pending notification if its attempt is due; oldest first.
    public func due(at time: Date, limit: Int) -> [StoredNotification] {
        Array(heads.filter { $0.nextAttemptAt <= time }.prefix(limit))
    }

    /// When the next pending notification falls due.
    public var nextDue: Date? { heads.map(\.nextAttemptAt).min() }

    /// Records an attempt; returns the notification as it is now, nil when no pending one has the id.
    /// `rolloutExists` says whether the rollout is still there: a finished notification of one that
    /// is gone is not kept.
    @discardableResult
    public mutating func recordAttempt(
        _ id: Int64, state: StoredNotification.State, error: String?, nextAttemptAt: Date, at time: Date,
        rolloutExists: (ResourceKey) -> Bool = { _ in true }
    ) -> StoredNotification? {
        guard var notification = pending[id] else { return nil }
        notification.attempts += 1
        notification.state = state
        notification.lastError = error
        notification.nextAttemptAt = nextAttemptAt
        guard state != .pending else {
            pending[id] = notification
            return notification
        }
        pending[id] = nil
        notification.finishedAt = AviaryStore.timestamp(time)
        if rolloutExists(notification.rollout) {
            finish(notification)
        } else {
            finished[notification.rollout] = nil
        }
        return notification
    }

    private mutating func finish(_ notification: StoredNotification) {
        var kept = finished[notification.rollout, default: []]
        kept.append(notification)
        finished[notification.rollout] = Array(kept.suffix(AviaryStore.finishedNotificationsKept))
    }

    /// A rollout's notifications, newest first: the pending ones and the last finished ones.
    public func notifications(of rollout: ResourceKey, limit: Int) -> [StoredNotification] {
        let all = pending.values.filter { $0.rollout == rollout } + finished[rollout, default: []]
        return Array(all.sorted { $0.id > $1.id }.prefix(limit))
    }

    /// How many finished notifications are kept, over all rollouts.
    public var finishedCount: Int { finished.values.reduce(0) { $0 + $1.count } }
}
