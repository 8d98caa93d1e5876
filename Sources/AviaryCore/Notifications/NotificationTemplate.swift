import AviaryGoTemplate
import AviaryModel
import Foundation

/// One `template.<name>` of the ConfigMap: a message and what each kind of service sends, every
/// text in it a Go template over `.rollout` (compiled when the configuration is read).
public struct NotificationTemplate: Sendable {
    /// The template's name (`rollout-paused`).
    public var name: String
    /// The message as written (a Go template).
    public var messageSource: String?
    var message: GoTemplate?
    var emailSubject: GoTemplate?
    var emailBody: GoTemplate?
    var slack: Slack?
    var webhooks: [String: Webhook]
    var alertmanager: Alertmanager?

    struct Slack: Sendable {
        var attachments: GoTemplate?
        var blocks: GoTemplate?
        var groupingKey: GoTemplate?
        var notifyBroadcast: Bool
    }

    struct Webhook: Sendable {
        var method: String?
        var path: GoTemplate?
        var body: GoTemplate?
    }

    struct Alertmanager: Sendable {
        var labels: [String: GoTemplate]
        var annotations: [String: GoTemplate]
        var generatorURL: GoTemplate?
    }

    /// The kinds of service it has a part for (`email`, `slack`, `webhook.NAME`, `alertmanager`).
    public var services: [String] {
        var result: [String] = []
        if emailSubject != nil || emailBody != nil { result.append("email") }
        if slack != nil { result.append("slack") }
        result += webhooks.keys.sorted().map { "webhook.\($0)" }
        if alertmanager != nil { result.append("alertmanager") }
        return result
    }

    /// Reads and compiles the YAML under `template.<name>`.
    public init(name: String, yaml: String) throws(NotificationConfigError) {
        let key = "template.\(name)"
        let loaded: Any?
        do {
            loaded = try YAMLText.load(yaml)
        } catch {
            throw NotificationConfigError(key: key, reason: NotificationConfig.describe(error))
        }
        guard let map = loaded as? [String: Any] else {
            throw NotificationConfigError(
                key: key, reason: "expected a map with message and per-service fields (email, slack, webhook, ...)")
        }
        let field = Compiler(name: name)
        self.name = name
        message = try field.compile(map["message"], "message")
        messageSource = YAMLValue.scalarText(map["message"])
        let email = map["email"] as? [String: Any]
        emailSubject = try field.compile(email?["subject"], "email.subject")
        emailBody = try field.compile(email?["body"], "email.body")
        if let slack = map["slack"] as? [String: Any] {
            self.slack = Slack(
                attachments: try field.compile(slack["attachments"], "slack.attachments"),
                blocks: try field.compile(slack["blocks"], "slack.blocks"),
                groupingKey: try field.compile(slack["groupingKey"], "slack.groupingKey"),
                notifyBroadcast: slack["notifyBroadcast"] as? Bool ?? false)
        }
        var webhooks: [String: Webhook] = [:]
        for (service, value) in map["webhook"] as? [String: Any] ?? [:] {
            let request = value as? [String: Any] ?? [:]
            webhooks[service] = Webhook(
                method: YAMLValue.scalarText(request["method"]),
                path: try field.compile(request["path"], "webhook.\(service).path"),
                body: try field.compile(request["body"], "webhook.\(service).body"))
        }
        self.webhooks = webhooks
        if let alert = map["alertmanager"] as? [String: Any] {
            alertmanager = Alertmanager(
                labels: try field.compileMap(alert["labels"], "alertmanager.labels"),
                annotations: try field.compileMap(alert["annotations"], "alertmanager.annotations"),
                generatorURL: try field.compile(alert["generatorURL"], "alertmanager.generatorURL"))
        }
    }

    /// Renders every part of the template for `vars` (`{"rollout": ...}`) into `notification`;
    /// a later template of the same trigger overwrites the parts it also has, as Argo's do.
    public func render(_ vars: GoValue, into notification: inout RenderedNotification) throws(NotificationRenderError) {
        let run = Renderer(template: name, vars: vars)
        if let message { notification.message = try run(message, "message") }
        if let emailSubject { notification.emailSubject = try run(emailSubject, "email.subject") }
        if let emailBody { notification.emailBody = try run(emailBody, "email.body") }
        if let slack {
            var rendered = notification.slack ?? RenderedNotification.Slack()
            if let attachments = slack.attachments {
                rendered.attachments = try run(attachments, "slack.attachments")
            }
            if let blocks = slack.blocks { rendered.blocks = try run(blocks, "slack.blocks") }
            if let groupingKey = slack.groupingKey { rendered.groupingKey = try run(groupingKey, "slack.groupingKey") }
            rendered.notifyBroadcast = slack.notifyBroadcast
            notification.slack = rendered
        }
        for (service, webhook) in webhooks {
            notification.webhooks[service] = RenderedNotification.Webhook(
                method: webhook.method,
                path: try webhook.path.map { template throws(NotificationRenderError) in
                    try run(template, "webhook.\(service).path")
                },
                body: try webhook.body.map { template throws(NotificationRenderError) in
                    try run(template, "webhook.\(service).body")
                })
        }
        if let alertmanager {
            var rendered = RenderedNotification.Alert()
            for (label, template) in alertmanager.labels {
                rendered.labels[label] = try run(template, "alertmanager.labels.\(label)")
            }
            for (annotation, template) in alertmanager.annotations {
                rendered.annotations[annotation] = try run(template, "alertmanager.annotations.\(annotation)")
            }
            if let url = alertmanager.generatorURL {
                rendered.generatorURL = try run(url, "alertmanager.generatorURL")
            }
            notification.alertmanager = rendered
        }
    }

    /// Compiles the fields of one template, naming the key and field of what does not parse.
    private struct Compiler {
        var name: String

        func compile(_ value: Any?, _ field: String) throws(NotificationConfigError) -> GoTemplate? {
            guard let value else { return nil }
            guard let text = YAMLValue.scalarText(value) else {
                throw NotificationConfigError(key: "template.\(name)", reason: "\(field) must be text")
            }
            do {
                return try GoTemplate(name: name, text: text)
            } catch {
                throw NotificationConfigError(key: "template.\(name)", reason: "\(field): \(error)")
            }
        }

        func compileMap(_ value: Any?, _ field: String) throws(NotificationConfigError) -> [String: GoTemplate] {
            guard let value else { return [:] }
            guard let map = value as? [String: Any] else {
                throw NotificationConfigError(key: "template.\(name)", reason: "\(field) must be a map of text")
            }
            var result: [String: GoTemplate] = [:]
            for (key, item) in map { result[key] = try compile(item, "\(field).\(key)") }
            return result
        }
    }

    /// Renders one field, naming the template and field of a failure.
    private struct Renderer {
        var template: String
        var vars: GoValue

        func callAsFunction(_ text: GoTemplate, _ field: String) throws(NotificationRenderError) -> String {
            do {
                return try text.render(vars)
            } catch {
                throw NotificationRenderError(template: template, field: field, error: error)
            }
        }
    }
}

/// A template that failed to render for a rollout (a Go template execution error).
public struct NotificationRenderError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The template's name.
    public var template: String
    /// The field, e.g. `slack.attachments`.
    public var field: String
    /// The Go template's error, with its line and column.
    public var error: GoTemplateError

    /// `template rollout-paused, field message: ...`.
    public var description: String { "template \(template), field \(field): \(error)" }
}

/// What a trigger's templates rendered for one rollout: the text each kind of service sends.
public struct RenderedNotification: Codable, Sendable, Equatable {
    /// The message (Slack's text, an email's body when it has none of its own).
    public var message: String = ""
    /// An email's subject.
    public var emailSubject: String?
    /// An email's body.
    public var emailBody: String?
    /// Slack's parts.
    public var slack: Slack?
    /// Each webhook's request, by the webhook service's name.
    public var webhooks: [String: Webhook] = [:]
    /// An Alertmanager alert.
    public var alertmanager: Alert?

    /// Slack's parts: attachments and blocks are JSON text.
    public struct Slack: Codable, Sendable, Equatable {
        public var attachments: String?
        public var blocks: String?
        public var groupingKey: String?
        public var notifyBroadcast = false

        /// Slack's parts.
        public init(attachments: String? = nil, blocks: String? = nil, groupingKey: String? = nil, notifyBroadcast: Bool = false) {
            self.attachments = attachments
            self.blocks = blocks
            self.groupingKey = groupingKey
            self.notifyBroadcast = notifyBroadcast
        }
    }

    /// A webhook's request: the path is appended to the service's URL.
    public struct Webhook: Codable, Sendable, Equatable {
        public var method: String?
        public var path: String?
        public var body: String?

        /// A request.
        public init(method: String?, path: String?, body: String?) {
            self.method = method
            self.path = path
            self.body = body
        }
    }

    /// An alert's labels, annotations and link.
    public struct Alert: Codable, Sendable, Equatable {
        public var labels: [String: String] = [:]
        public var annotations: [String: String] = [:]
        public var generatorURL: String?

        /// An alert.
        public init(labels: [String: String] = [:], annotations: [String: String] = [:], generatorURL: String? = nil) {
            self.labels = labels
            self.annotations = annotations
            self.generatorURL = generatorURL
        }
    }

    /// An empty notification.
    public init() {}

    /// Every part that was rendered, named as in the template (`message`, `email.subject`,
    /// `slack.attachments`, `webhook.NAME.body`, `alertmanager.labels.NAME`, ...), in that order.
    public var parts: [(name: String, text: String)] {
        var result: [(String, String)] = [("message", message)]
        if let emailSubject { result.append(("email.subject", emailSubject)) }
        if let emailBody { result.append(("email.body", emailBody)) }
        if let slack {
            if let attachments = slack.attachments { result.append(("slack.attachments", attachments)) }
            if let blocks = slack.blocks { result.append(("slack.blocks", blocks)) }
            if let groupingKey = slack.groupingKey { result.append(("slack.groupingKey", groupingKey)) }
        }
        for (name, webhook) in webhooks.sorted(by: { $0.key < $1.key }) {
            if let method = webhook.method { result.append(("webhook.\(name).method", method)) }
            if let path = webhook.path { result.append(("webhook.\(name).path", path)) }
            if let body = webhook.body { result.append(("webhook.\(name).body", body)) }
        }
        if let alertmanager {
            for (name, value) in alertmanager.labels.sorted(by: { $0.key < $1.key }) {
                result.append(("alertmanager.labels.\(name)", value))
            }
            for (name, value) in alertmanager.annotations.sorted(by: { $0.key < $1.key }) {
                result.append(("alertmanager.annotations.\(name)", value))
            }
            if let url = alertmanager.generatorURL { result.append(("alertmanager.generatorURL", url)) }
        }
        return result
    }
}
