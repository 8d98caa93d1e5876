import AviaryGoTemplate
import Foundation

/// A notification decided for one event and one destination: rendered when the event
/// happened (so it says what was true then), sent later by the outbox.
public struct PendingNotification: Codable, Sendable, Equatable {
    /// The trigger that fired (`on-rollout-paused`).
    public var trigger: String
    /// Where it goes.
    public var destination: Destination
    /// What the trigger's templates rendered.
    public var notification: RenderedNotification
    /// Why it cannot be sent (a template that failed to render); it is stored as failed.
    public var failure: String?

    /// A notification; see the properties.
    public init(trigger: String, destination: Destination, notification: RenderedNotification, failure: String? = nil) {
        self.trigger = trigger
        self.destination = destination
        self.notification = notification
        self.failure = failure
    }
}

/// Decides what to send for a rollout's events, as Argo Rollouts' controller does: each event's
/// reason names a trigger; every destination subscribed to it gets the trigger's templates
/// rendered with the rollout as `.rollout`.
public enum Notifier {
    /// The notifications for `reasons` (in the order the events happened), for a rollout whose
    /// JSON object is `rollout`.
    public static func notifications(
        reasons: [String], rollout: GoValue, annotations: [String: String], labels: [String: String],
        config: NotificationConfig
    ) -> [PendingNotification] {
        let destinations = Subscriptions.destinations(annotations: annotations, labels: labels, config: config)
        guard !destinations.isEmpty else { return [] }
        let vars = GoValue.object(["rollout": rollout])
        var result: [PendingNotification] = []
        for reason in reasons {
            let trigger = triggerName(forReason: reason)
            guard let targets = destinations[trigger], let templates = config.templates(ofTrigger: trigger) else {
                continue
            }
            var rendered = RenderedNotification()
            var failure: String?
            do {
                for template in templates { try template.render(vars, into: &rendered) }
            } catch {
                failure = "\(error)"
            }
            for destination in targets {
                var failure = failure
                if failure == nil, config.services[destination.service] == nil {
                    failure = "no service \(destination.service) in \(NotificationConfig.configMapName): add service.\(destination.service) (or service.webhook.\(destination.service)), or fix the subscription"
                }
                result.append(
                    PendingNotification(
                        trigger: trigger, destination: destination, notification: rendered, failure: failure))
            }
        }
        return result
    }
}
