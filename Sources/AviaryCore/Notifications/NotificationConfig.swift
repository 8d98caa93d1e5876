import AviaryGoTemplate
import AviaryModel
import Foundation

/// Argo Rollouts' notification configuration, read unchanged from its ConfigMap
/// (`argo-rollouts-notification-configmap`) and Secret (`argo-rollouts-notification-secret`):
/// the services to send through, the templates that say what to send, the triggers that name
/// the templates, and the default subscriptions.
///
/// Parsing compiles every template, so a configuration that parses renders without a syntax
/// error; what is wrong is reported with the ConfigMap key it is under.
public struct NotificationConfig: Sendable {
    /// The ConfigMap Argo reads.
    public static let configMapName = "argo-rollouts-notification-configmap"
    /// The Secret whose keys `$name` in a service's options refer to.
    public static let secretName = "argo-rollouts-notification-secret"

    /// Services by the name subscriptions use: `service.slack` is `slack`, `service.webhook.github` is `github`.
    public var services: [String: NotificationService]
    /// Templates by name (`template.rollout-paused` is `rollout-paused`).
    public var templates: [String: NotificationTemplate]
    /// Triggers by name (`trigger.on-rollout-paused`), each a list of conditions.
    public var triggers: [String: [TriggerCondition]]
    /// The triggers a subscription without one gets (`defaultTriggers`).
    public var defaultTriggers: [String]
    /// Per service, the triggers a subscription to it without one gets (`defaultTriggers.<service>`).
    public var serviceDefaultTriggers: [String: [String]]
    /// Subscriptions of every rollout whose labels match (`subscriptions`).
    public var subscriptions: [GlobalSubscription]

    /// A configuration with nothing in it.
    public init() {
        services = [:]
        templates = [:]
        triggers = [:]
        defaultTriggers = []
        serviceDefaultTriggers = [:]
        subscriptions = []
    }

    /// One namespace's notification ConfigMap `data` and Secret values (nil: not there).
    public typealias Layer = (data: [String: String]?, secret: [String: String]?)

    /// Argo's self-service layering: each layer's ConfigMap and Secret laid over the ones before
    /// it, key by key (the controller namespace's first, the rollout namespace's last). `data` is
    /// nil when no layer has a ConfigMap. Example: `[(["a": "1", "b": "2"], nil), (["b": "3"],
    /// ["k": "v"])]` gives `(["a": "1", "b": "3"], ["k": "v"])`.
    public static func layered(_ layers: [Layer]) -> (data: [String: String]?, secret: [String: String]) {
        var data: [String: String]?
        var secret: [String: String] = [:]
        for layer in layers {
            if let values = layer.data { data = (data ?? [:]).merging(values) { _, later in later } }
            if let values = layer.secret { secret.merge(values) { _, later in later } }
        }
        return (data, secret)
    }

    /// Reads the ConfigMap's `data` with the Secret's values (`$key` in a service's options is
    /// the Secret's `key`; with `secret` nil, unknown, `$key` is left as written). Keys Argo does
    /// not read (`context` and others) are ignored, as Argo does. `partial` is a namespace's own
    /// ConfigMap read alone: its triggers may send templates of the global one.
    public init(
        data: [String: String], secret: [String: String]?, partial: Bool = false
    ) throws(NotificationConfigError) {
        self.init()
        for (key, value) in data.sorted(by: { $0.key < $1.key }) {
            do {
                try read(key: key, value: value, secret: secret)
            } catch let error as NotificationConfigError {
                throw error
            } catch {
                throw NotificationConfigError(key: key, reason: Self.describe(error))
            }
        }
        for (name, conditions) in triggers where !partial {
            for template in conditions.flatMap(\.send) where templates[template] == nil {
                throw NotificationConfigError(
                    key: "trigger.\(name)",
                    reason: "sends template \(template), which has no key template.\(template): add it or remove it from send")
            }
        }
    }

    private mutating func read(key: String, value: String, secret: [String: String]?) throws {
        let parts = key.split(separator: ".", omittingEmptySubsequences: false).map(String.init)
        switch parts[0] {
        case "template" where parts.count >= 2:
            let name = parts.dropFirst().joined(separator: ".")
            templates[name] = try NotificationTemplate(name: name, yaml: value)
        case "trigger" where parts.count >= 2:
            let name = parts.dropFirst().joined(separator: ".")
            triggers[name] = try TriggerCondition.list(yaml: value)
        case "service":
            guard parts.count == 2 || parts.count == 3 else {
                throw NotificationConfigError(
                    key: key, reason: "a service key is service.<type> or service.<type>.<name>")
            }
            let name = parts.count == 3 ? parts[2] : parts[1]
            services[name] = try NotificationService(type: parts[1], name: name, yaml: value, secret: secret)
        case "defaultTriggers" where parts.count == 1:
            defaultTriggers = try Self.strings(yaml: value, what: "a list of trigger names")
        case "defaultTriggers":
            let service = parts.dropFirst().joined(separator: ".")
            serviceDefaultTriggers[service] = try Self.strings(yaml: value, what: "a list of trigger names")
        case "subscriptions" where parts.count == 1:
            subscriptions = try GlobalSubscription.list(yaml: value)
        default:
            break
        }
    }

    /// The templates a trigger sends: those of its first condition, as Argo Rollouts sends them
    /// (its triggers fire on events, so `when` is not evaluated).
    public func templates(ofTrigger trigger: String) -> [NotificationTemplate]? {
        guard let condition = triggers[trigger]?.first else { return nil }
        return condition.send.compactMap { templates[$0] }
    }

    static func strings(yaml: String, what: String) throws -> [String] {
        let value = try YAMLText.load(yaml)
        if value == nil { return [] }
        guard let list = value as? [Any] else { throw YAMLShapeError(expected: what) }
        return try list.map { item in
            guard let text = YAMLValue.scalarText(item) else { throw YAMLShapeError(expected: what) }
            return text
        }
    }

    static func describe(_ error: any Error) -> String {
        return "\(error)"
    }
}

/// What is wrong with the notification ConfigMap: the key and the reason.
public struct NotificationConfigError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The ConfigMap key at fault, e.g. `template.rollout-paused`.
    public var key: String
    /// What is wrong, with the fix where there is one.
    public var reason: String

    /// An error about `key`.
    public init(key: String, reason: String) {
        self.key = key
        self.reason = reason
    }

    /// `ConfigMap argo-rollouts-notification-configmap, key template.x: reason`.
    public var description: String { "ConfigMap \(NotificationConfig.configMapName), key \(key): \(reason)" }
}

/// A YAML value of the wrong shape.
struct YAMLShapeError: Error, CustomStringConvertible {
    var expected: String
    var description: String { "expected \(expected)" }
}

/// Reading values Yams loaded (`Any`) as the strings Argo's Go structs would take.
enum YAMLValue {
    /// A scalar as text (`3` and `true` as written), nil for a map or list.
    static func scalarText(_ value: Any?) -> String? {
        switch value {
        case let text as String: text
        case let flag as Bool: flag ? "true" : "false"
        case let number as Int: String(number)
        case let number as Double: String(number)
        default: nil
        }
    }

    /// A map of scalars (`headers`, `labels`), or nil for anything else.
    static func stringMap(_ value: Any?) -> [String: String]? {
        guard let map = value as? [String: Any] else { return nil }
        var result: [String: String] = [:]
        for (key, item) in map {
            guard let text = scalarText(item) else { return nil }
            result[key] = text
        }
        return result
    }
}
