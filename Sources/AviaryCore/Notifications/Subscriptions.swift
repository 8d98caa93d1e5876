import AviaryModel
import Foundation

/// One condition of a trigger (`trigger.<name>` is a list of them).
public struct TriggerCondition: Sendable, Equatable {
    /// The templates it sends.
    public var send: [String]
    /// Argo CD's condition; Argo Rollouts fires its triggers on events and does not read it.
    public var when: String?
    /// What it is for.
    public var description: String?

    static func list(yaml: String) throws -> [TriggerCondition] {
        guard let items = try YAMLText.load(yaml) as? [Any], !items.isEmpty else {
            throw YAMLShapeError(expected: "a list of conditions such as `- send: [rollout-paused]`")
        }
        return try items.map { item in
            guard let map = item as? [String: Any] else {
                throw YAMLShapeError(expected: "each condition to be a map with send")
            }
            let send = (map["send"] as? [Any] ?? []).compactMap(YAMLValue.scalarText)
            guard !send.isEmpty else {
                throw YAMLShapeError(expected: "send to list at least one template, e.g. `send: [rollout-paused]`")
            }
            return TriggerCondition(
                send: send, when: YAMLValue.scalarText(map["when"]),
                description: YAMLValue.scalarText(map["description"]))
        }
    }
}

/// Where a notification goes: a service and a recipient (a Slack channel, an email address;
/// empty for a webhook).
public struct Destination: Codable, Sendable, Hashable, Comparable {
    /// The service's name.
    public var service: String
    /// The recipient, empty when the service has none.
    public var recipient: String

    /// A destination.
    public init(service: String, recipient: String) {
        self.service = service
        self.recipient = recipient
    }

    public static func < (lhs: Destination, rhs: Destination) -> Bool {
        (lhs.service, lhs.recipient) < (rhs.service, rhs.recipient)
    }
}

/// An entry of the ConfigMap's `subscriptions`: recipients (`slack:my-channel`) of some
/// triggers (the default ones when none is named) for rollouts whose labels match a selector.
public struct GlobalSubscription: Sendable, Equatable {
    /// `service:recipient` (or just `service`).
    public var recipients: [String]
    /// The triggers; empty means the default triggers.
    public var triggers: [String]
    /// A label selector (`app=web,tier!=db`); empty matches every rollout.
    public var selector: String

    /// A subscription; see the properties.
    public init(recipients: [String], triggers: [String], selector: String) {
        self.recipients = recipients
        self.triggers = triggers
        self.selector = selector
    }

    static func list(yaml: String) throws -> [GlobalSubscription] {
        guard let loaded = try YAMLText.load(yaml) else { return [] }
        guard let items = loaded as? [Any] else {
            throw YAMLShapeError(expected: "a list of subscriptions with recipients, triggers and selector")
        }
        return try items.map { item in
            guard let map = item as? [String: Any] else {
                throw YAMLShapeError(expected: "each subscription to be a map with recipients")
            }
            let selector = YAMLValue.scalarText(map["selector"]) ?? ""
            _ = try SubscriptionSelector(selector)
            return GlobalSubscription(
                recipients: (map["recipients"] as? [Any] ?? []).compactMap(YAMLValue.scalarText),
                triggers: (map["triggers"] as? [Any] ?? []).compactMap(YAMLValue.scalarText),
                selector: selector)
        }
    }
}

/// A set-based label selector in its string form: `k=v`, `k==v`, `k!=v`, `k`, `!k`, comma-separated.
struct SubscriptionSelector {
    enum Requirement {
        case equals(String, String)
        case notEquals(String, String)
        case exists(String)
        case absent(String)
    }

    var requirements: [Requirement]

    init(_ text: String) throws {
        requirements = try text.split(separator: ",").map { raw in
            let part = raw.trimmingCharacters(in: .whitespaces)
            if let range = part.range(of: "!=") {
                return .notEquals(Self.trim(part[..<range.lowerBound]), Self.trim(part[range.upperBound...]))
            }
            if let range = part.range(of: "==") ?? part.range(of: "=") {
                return .equals(Self.trim(part[..<range.lowerBound]), Self.trim(part[range.upperBound...]))
            }
            if part.hasPrefix("!") { return .absent(Self.trim(part.dropFirst())) }
            guard !part.isEmpty, !part.contains(" ") else {
                throw YAMLShapeError(expected: "a label selector such as `app=web,tier!=db`, not `\(text)`")
            }
            return .exists(part)
        }
    }

    private static func trim(_ text: Substring) -> String { text.trimmingCharacters(in: .whitespaces) }

    func matches(_ labels: [String: String]) -> Bool {
        requirements.allSatisfy { requirement in
            switch requirement {
            case .equals(let key, let value): labels[key] == value
            case .notEquals(let key, let value): labels[key] != value
            case .exists(let key): labels[key] != nil
            case .absent(let key): labels[key] == nil
            }
        }
    }
}

/// Who is subscribed to what: the ConfigMap's `subscriptions` for the rollout's labels, and
/// the rollout's own annotations, as Argo's notifications engine reads them.
public enum Subscriptions {
    /// The annotations' prefix.
    public static let annotationPrefix = "notifications.argoproj.io/"

    /// Destinations by trigger. Annotations are `notifications.argoproj.io/subscribe.<trigger>.<service>:
    /// recipient;recipient` (without a trigger, the service's or the global default triggers),
    /// and `notifications.argoproj.io/subscriptions` (or Argo's older `subscribe_yaml`) holding
    /// a YAML list of `{trigger: [...], destinations: [{service, recipients: [...]}]}`.
    public static func destinations(
        annotations: [String: String], labels: [String: String], config: NotificationConfig
    ) -> [String: [Destination]] {
        var result: [String: [Destination]] = [:]
        func add(_ trigger: String, _ destination: Destination) {
            if result[trigger]?.contains(destination) != true { result[trigger, default: []].append(destination) }
        }
        for subscription in config.subscriptions {
            guard (try? SubscriptionSelector(subscription.selector))?.matches(labels) == true else { continue }
            let triggers = subscription.triggers.isEmpty ? config.defaultTriggers : subscription.triggers
            for trigger in triggers {
                for recipient in subscription.recipients {
                    let parts = recipient.split(separator: ":", maxSplits: 1).map(String.init)
                    add(trigger, Destination(service: parts.first ?? "", recipient: parts.count > 1 ? parts[1] : ""))
                }
            }
        }
        for (key, value) in annotations.sorted(by: { $0.key < $1.key }) where key.hasPrefix(annotationPrefix) {
            let name = key.dropFirst(annotationPrefix.count)
            if name.hasPrefix("subscribe.") {
                let parts = name.dropFirst("subscribe.".count).split(separator: ".", maxSplits: 1).map(String.init)
                let recipients = value.isEmpty ? [""] : recipients(value)
                let triggers: [String]
                let service: String
                if parts.count == 2 {
                    (triggers, service) = ([parts[0]], parts[1])
                } else {
                    service = parts.first ?? ""
                    triggers = config.serviceDefaultTriggers[service] ?? config.defaultTriggers
                }
                for trigger in triggers {
                    for recipient in recipients { add(trigger, Destination(service: service, recipient: recipient)) }
                }
            } else if name == "subscriptions" || name.hasPrefix("subscribe_yaml") {
                for entry in (try? annotationList(value)) ?? [] {
                    for trigger in entry.triggers {
                        for destination in entry.destinations { add(trigger, destination) }
                    }
                }
            }
        }
        return result
    }

    /// What is wrong with a rollout's subscription annotations, for `aviary lint` and apply:
    /// a YAML list that does not parse.
    public static func problems(annotations: [String: String]) -> [String] {
        annotations.sorted(by: { $0.key < $1.key }).compactMap { key, value in
            guard key == annotationPrefix + "subscriptions" || key.hasPrefix(annotationPrefix + "subscribe_yaml")
            else { return nil }
            do {
                _ = try annotationList(value)
                return nil
            } catch {
                return "annotation \(key): \(NotificationConfig.describe(error))"
            }
        }
    }

    private static func recipients(_ value: String) -> [String] {
        value.split(separator: ";").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    private static func annotationList(_ yaml: String) throws -> [(triggers: [String], destinations: [Destination])] {
        guard let loaded = try YAMLText.load(yaml) else { return [] }
        guard let items = loaded as? [Any] else {
            throw YAMLShapeError(expected: "a list of {trigger: [...], destinations: [{service, recipients}]}")
        }
        return try items.map { item in
            guard let map = item as? [String: Any] else {
                throw YAMLShapeError(expected: "each subscription to be a map with trigger and destinations")
            }
            let triggers = (map["trigger"] as? [Any] ?? map["triggers"] as? [Any] ?? []).compactMap(YAMLValue.scalarText)
            var destinations: [Destination] = []
            for entry in map["destinations"] as? [Any] ?? [] {
                guard let destination = entry as? [String: Any], let service = YAMLValue.scalarText(destination["service"])
                else { throw YAMLShapeError(expected: "each destination to have a service") }
                let recipients = (destination["recipients"] as? [Any] ?? []).compactMap(YAMLValue.scalarText)
                for recipient in recipients.isEmpty ? [""] : recipients {
                    destinations.append(Destination(service: service, recipient: recipient))
                }
            }
            return (triggers, destinations)
        }
    }
}

/// Argo's trigger of an event: `on-` and the reason in kebab case (`RolloutStepCompleted` is
/// `on-rollout-step-completed`).
public func triggerName(forReason reason: String) -> String {
    let characters = Array(reason)
    var result = ""
    for (index, character) in characters.enumerated() {
        if character.isUppercase && index > 0 {
            let previous = characters[index - 1]
            let nextIsLower = index + 1 < characters.count && characters[index + 1].isLowercase
            // A new word: after a lower-case letter or digit, or the last capital of an acronym
            // followed by a lower-case letter (`HTTPServer` is `http-server`).
            if previous.isLowercase || previous.isNumber || (previous.isUppercase && nextIsLower) {
                result.append("-")
            }
        }
        result.append(contentsOf: character.lowercased())
    }
    return "on-" + result
}
