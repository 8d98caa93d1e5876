import ArgumentParser
import AviaryAPI
import AviaryClient
import AviaryCore
import AviaryServer
import Foundation

/// `aviary notifications`: Argo's `kubectl argo rollouts notifications` commands, against the
/// daemon, plus the deliveries of a rollout.
struct Notifications: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Look at notification templates and triggers, try them on a rollout, and see what was sent.",
        discussion: """
            The configuration is Argo's own: the ConfigMap argo-rollouts-notification-configmap (templates, \
            triggers, services, subscriptions, defaultTriggers) and the Secret \
            argo-rollouts-notification-secret, applied with `aviary apply` to the default namespace, and \
            to a rollout's namespace to add or override keys there. A rollout subscribes with annotations \
            such as notifications.argoproj.io/subscribe.on-rollout-aborted.slack: my-channel.

            Examples:
              aviary notifications template get
              aviary notifications template notify rollout-paused web
              aviary notifications template notify rollout-paused web --recipient slack:releases
              aviary notifications trigger run on-rollout-aborted web -n shop
              aviary notifications list web

            With --kubeconfig, --context or --kubernetes, template get|notify and trigger get|run read the \
            ConfigMap and Secret from the cluster instead (in -n's namespace, laid over \
            --controller-namespace's), as Argo's `kubectl argo rollouts notifications` does; they render \
            and send nothing there (the controller's leader sends).
            """,
        subcommands: [NotificationTemplates.self, NotificationTriggers.self, NotificationDeliveries.self])
}

struct NotificationTemplates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "template", abstract: "List templates, or render one for a rollout.",
        subcommands: [GetTemplates.self, NotifyTemplate.self])
}

struct NotificationTriggers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "trigger", abstract: "List triggers, or run one against a rollout.",
        subcommands: [GetTriggers.self, RunTrigger.self])
}

/// `aviary notifications template get [NAME]`.
struct GetTemplates: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "List the templates (or one) with the services they have parts for.",
        discussion: """
            Example:
              aviary notifications template get rollout-aborted
            """)

    @Argument(help: "Only this template.")
    var name: String?

    @OptionGroup var options: ServerOptions

    @OptionGroup var cluster: NotificationClusterOptions

    func run() async throws {
        let config = try await notificationConfig(options, cluster)
        let templates = try selected(config.templates, \.name, name, what: "template")
        print(
            notificationTable(
                ["NAME", "SERVICES", "MESSAGE"],
                templates.map {
                    [
                        $0.name, $0.services.joined(separator: ","),
                        ($0.message ?? "").split(separator: "\n").first.map(String.init) ?? "",
                    ]
                }), terminator: "")
    }
}

/// `aviary notifications template notify TEMPLATE ROLLOUT [--recipient SERVICE:RECIPIENT]...`.
struct NotifyTemplate: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "notify", abstract: "Render a template for a rollout as it is now; send it with --recipient.",
        discussion: """
            Without --recipient nothing is sent: every part the template renders (message, email.subject, \
            slack.attachments, webhook.NAME.body, ...) is printed. With --recipient SERVICE:RECIPIENT (or \
            just SERVICE for a webhook), it is queued in the daemon's outbox and delivered like any other \
            notification (`aviary notifications list ROLLOUT` shows how it went).

            Examples:
              aviary notifications template notify rollout-completed web
              aviary notifications template notify rollout-completed web --recipient slack:releases --recipient audit
            """)

    @Argument(help: "The template (several as A,B).")
    var template: String

    @Argument(help: "The rollout.")
    var rollout: String

    @Option(name: .customLong("recipient"), help: "SERVICE:RECIPIENT to send to (repeatable).")
    var recipients: [String] = []

    @OptionGroup var options: ServerOptions

    @OptionGroup var cluster: NotificationClusterOptions

    func run() async throws {
        let preview = try await notificationPreview(
            options, cluster, rollout: rollout, templates: template.split(separator: ",").map(String.init),
            trigger: nil,
            recipients: recipients)
        print(renderPreview(preview), terminator: "")
    }
}

/// `aviary notifications trigger get [NAME]`.
struct GetTriggers: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "get", abstract: "List the triggers (or one) and the templates they send.",
        discussion: """
            A trigger fires when the rollout records the event of the same name: on-rollout-paused on \
            RolloutPaused, on-analysis-run-failed on AnalysisRunFailed, and so on.

            Example:
              aviary notifications trigger get
            """)

    @Argument(help: "Only this trigger.")
    var name: String?

    @OptionGroup var options: ServerOptions

    @OptionGroup var cluster: NotificationClusterOptions

    func run() async throws {
        let config = try await notificationConfig(options, cluster)
        let triggers = try selected(config.triggers, \.name, name, what: "trigger")
        print(
            notificationTable(
                ["NAME", "TEMPLATES", "DEFAULT"],
                triggers.map {
                    [$0.name, $0.send.joined(separator: ","), config.defaultTriggers.contains($0.name) ? "yes" : ""]
                }), terminator: "")
    }
}

/// `aviary notifications trigger run TRIGGER ROLLOUT`.
struct RunTrigger: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run", abstract: "Show what a trigger would send for a rollout now, and to whom; sends nothing.",
        discussion: """
            Example:
              aviary notifications trigger run on-rollout-aborted web
            """)

    @Argument(help: "The trigger.")
    var trigger: String

    @Argument(help: "The rollout.")
    var rollout: String

    @OptionGroup var options: ServerOptions

    @OptionGroup var cluster: NotificationClusterOptions

    func run() async throws {
        let preview = try await notificationPreview(
            options, cluster, rollout: rollout, templates: [], trigger: trigger, recipients: [])
        print(renderPreview(preview), terminator: "")
    }
}

/// `aviary notifications list ROLLOUT`.
struct NotificationDeliveries: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "list", abstract: "Show a rollout's notifications, newest first, and how their delivery went.",
        discussion: """
            A pending notification is retried with backoff (1 s doubling up to 60 s) until \
            `aviary serve --notification-retry-for` has passed; a receiver's 4xx answer fails it at once. \
            Each rollout's notifications are delivered in order.

            Example:
              aviary notifications list web
            """)

    @Argument(help: "The rollout.")
    var rollout: String

    @OptionGroup var options: ServerOptions

    func run() async throws {
        let list: [NotificationList.Notification]
        do {
            list = try await options.client.notificationList(ofRollout: rollout, namespace: options.namespace)
        } catch {
            throw fail(error)
        }
        guard !list.isEmpty else {
            print("No notifications for rollout \(rollout) yet.")
            return
        }
        print(
            notificationTable(
                ["CREATED", "TRIGGER", "DESTINATION", "STATE", "ATTEMPTS", "LAST ERROR"],
                list.map {
                    [
                        $0.createdAt, $0.trigger, $0.recipient.isEmpty ? $0.service : "\($0.service):\($0.recipient)",
                        $0.state, String($0.attempts), $0.lastError ?? "",
                    ]
                }), terminator: "")
    }
}

/// The notification configuration the namespace's rollouts see, from the daemon or (cluster mode) the
/// cluster; an error is printed as one line.
func notificationConfig(
    _ options: ServerOptions, _ cluster: NotificationClusterOptions
) async throws -> NotificationConfigSummary {
    if cluster.cluster.isClusterMode {
        try cluster.cluster.validate(with: options)
        return try await cluster.cluster.run(options) { client throws(ClusterFailure) in
            NotificationQueries.summary(try await cluster.config(client))
        }
    }
    do {
        return try await options.client.notificationConfig(namespace: options.namespace)
    } catch {
        throw fail(error)
    }
}

/// Templates rendered for a rollout, by the daemon (which queues them to `recipients`) or (cluster
/// mode) here from the cluster's ConfigMap and Rollout.
func notificationPreview(
    _ options: ServerOptions, _ cluster: NotificationClusterOptions, rollout: String, templates: [String],
    trigger: String?, recipients: [String]
) async throws -> NotificationPreview {
    guard cluster.cluster.isClusterMode else {
        do {
            return try await options.client.renderNotification(
                rollout: rollout, namespace: options.namespace, templates: templates, trigger: trigger,
                recipients: recipients)
        } catch {
            throw fail(error)
        }
    }
    try cluster.cluster.validate(with: options)
    guard recipients.isEmpty else {
        throw ValidationError(
            "--recipient sends through the daemon's outbox; on a cluster the controller's leader sends, "
                + "so drop --recipient to see what would be sent")
    }
    return try await cluster.cluster.run(options) { client throws(ClusterFailure) in
        let config = try await cluster.config(client)
        let object = try await client.rollout(rollout)
        do {
            return try NotificationQueries.preview(
                config: config, rollout: object, templates: templates, trigger: trigger, recipients: []
            ).preview
        } catch {
            throw ClusterFailure("\(error)")
        }
    }
}

/// Cluster mode of `aviary notifications`: the ConfigMap and Secret read from the API server.
struct NotificationClusterOptions: ParsableArguments {
    @OptionGroup(title: "Cluster mode") var cluster: ClusterOptions

    @Option(
        help: """
            Cluster mode: the controller's namespace; its ConfigMap and Secret are read first and -n's laid \
            over them, as the controller reads them (default: -n's only).
            """)
    var controllerNamespace: String?

    /// The configuration `client`'s namespace sees: the controller namespace's ConfigMap and Secret
    /// with the namespace's own laid over them key by key.
    func config(_ client: ClusterClient) async throws(ClusterFailure) -> NotificationConfig {
        let namespaces = [controllerNamespace, client.namespace].compactMap { $0 }
        var layers: [NotificationConfig.Layer] = []
        for namespace in namespaces.reduce(into: [String](), { if !$0.contains($1) { $0.append($1) } }) {
            layers.append(
                (
                    try await client.configurationValues(
                        secret: false, name: NotificationConfig.configMapName, namespace: namespace),
                    try await client.configurationValues(
                        secret: true, name: NotificationConfig.secretName, namespace: namespace)
                ))
        }
        let (data, secret) = NotificationConfig.layered(layers)
        guard let data else {
            throw ClusterFailure(
                "no ConfigMap \(NotificationConfig.configMapName) in namespace "
                    + namespaces.joined(separator: " or ") + " on \(client.server): apply Argo's "
                    + "notifications-install.yaml there, or name the controller's namespace with --controller-namespace"
            )
        }
        do {
            return try NotificationConfig(data: data, secret: secret)
        } catch {
            throw ClusterFailure("\(error)")
        }
    }
}

/// The entries named `name` (all of them without one); none is an error listing the names there are.
func selected<Entry>(_ entries: [Entry], _ key: KeyPath<Entry, String>, _ name: String?, what: String) throws -> [Entry]
{
    let chosen = entries.filter { name == nil || $0[keyPath: key] == name }
    if let name, chosen.isEmpty {
        printError("no \(what) \(name): the \(what)s are " + entries.map { $0[keyPath: key] }.joined(separator: ", "))
        throw ExitCode.failure
    }
    return chosen
}

/// A rendered notification: where it goes, then each part under its name.
func renderPreview(_ preview: NotificationPreview) -> String {
    var lines: [String] = []
    if let trigger = preview.trigger { lines.append("Trigger:      \(trigger)") }
    lines.append("Templates:    " + preview.templates.joined(separator: ", "))
    let destinations =
        preview.destinations.isEmpty ? "(nobody is subscribed)" : preview.destinations.joined(separator: ", ")
    lines.append((preview.queued > 0 ? "Queued to:    " : "Destinations: ") + destinations)
    for part in preview.parts {
        lines.append("")
        lines.append("\(part.name):")
        lines += part.text.split(separator: "\n", omittingEmptySubsequences: false).map { "  " + $0 }
    }
    return lines.joined(separator: "\n") + "\n"
}

/// Columns padded to their widest cell.
func notificationTable(_ header: [String], _ rows: [[String]]) -> String {
    let all = [header] + rows
    let widths = header.indices.map { column in all.map { $0[column].count }.max() ?? 0 }
    return all.map { row in
        row.enumerated().map { index, cell in
            index == row.count - 1 ? cell : cell.padding(toLength: widths[index] + 3, withPad: " ", startingAt: 0)
        }.joined()
    }.joined(separator: "\n") + "\n"
}
