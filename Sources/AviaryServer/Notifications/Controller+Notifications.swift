import AviaryCore
import AviaryGoTemplate
import AviaryModel
import AviaryStore
import Foundation

extension Controller {
    /// The outbox entries a rollout's events trigger: for each event, the destinations subscribed
    /// to its trigger get the trigger's templates rendered with the rollout as `.rollout`.
    func notifications(for events: [StoredEvent], rollout: Rollout, key: ResourceKey, time: Date)
        -> [StoredNotification]
    {
        guard !events.isEmpty, let config = notificationSettings?.config(namespace: key.namespace) else { return [] }
        let annotations = rollout.metadata.annotations ?? [:]
        guard
            !config.subscriptions.isEmpty
                || annotations.keys.contains(where: { $0.hasPrefix(Subscriptions.annotationPrefix) })
        else { return [] }
        let value: GoValue
        do {
            value = try GoValue(json: JSONEncoder().encode(rollout))
        } catch {
            logger.error("cannot render notifications of \(key): \(error)")
            return []
        }
        let pending = Notifier.notifications(
            reasons: events.filter { $0.key == key }.map(\.reason), rollout: value, annotations: annotations,
            labels: rollout.metadata.labels ?? [:], config: config)
        return pending.map { entry in
            StoredNotification(
                rollout: key, trigger: entry.trigger, service: entry.destination.service,
                recipient: entry.destination.recipient,
                payload: (try? JSONEncoder().encode(entry.notification)) ?? Data("{}".utf8), createdAt: time,
                failure: entry.failure)
        }
    }
}
