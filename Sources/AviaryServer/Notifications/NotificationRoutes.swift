import AviaryAPI
import AviaryCore
import AviaryGoTemplate
import AviaryModel
import AviaryStore
import Foundation
import Hummingbird

/// The notification routes, what `aviary notifications` reads:
/// - `GET /api/v1/notifications?namespace=NS`: the configuration a namespace's rollouts see
/// - `GET /api/v1/rollouts/{name}/notifications`: its notifications in the outbox, newest first
/// - `POST /api/v1/rollouts/{name}/notifications/render?template=A,B|trigger=T[&recipients=S:R,...]`:
///   the templates rendered for the rollout as it is now; with recipients, also queued to them
func addNotificationRoutes(to router: Router<BasicRequestContext>, store: AviaryStore, settings: NotificationSettings) {
    router.get("/api/v1/notifications") { request, _ in
        let namespace = request.uri.queryParameters.get("namespace") ?? "default"
        do {
            return jsonResponse(
                .ok, NotificationQueries.summary(try NotificationQueries.config(settings, namespace: namespace)))
        } catch {
            return errorResponse(error)
        }
    }
    router.get("/api/v1/rollouts/{name}/notifications") { request, context in
        let namespace = request.uri.queryParameters.get("namespace") ?? "default"
        let key = ResourceKey(kind: .rollout, namespace: namespace, name: context.parameters.get("name") ?? "")
        do {
            return notificationListResponse(
                try store.notifications(of: key, limit: AviaryStore.finishedNotificationsKept + 20))
        } catch {
            return errorResponse(error)
        }
    }
    router.post("/api/v1/rollouts/{name}/notifications/render") { request, context in
        let query = request.uri.queryParameters
        let namespace = query.get("namespace") ?? "default"
        let key = ResourceKey(kind: .rollout, namespace: namespace, name: context.parameters.get("name") ?? "")
        do {
            return jsonResponse(
                .ok,
                try NotificationQueries.render(
                    store: store, settings: settings, rollout: key, templates: commaList(query.get("template")),
                    trigger: query.get("trigger").flatMap { $0.isEmpty ? nil : $0 },
                    recipients: commaList(query.get("recipients"))))
        } catch {
            return errorResponse(error)
        }
    }
}

/// `GET /api/v1/rollouts/{name}/notifications`' answer: the notifications, newest first.
func notificationListResponse(_ stored: [StoredNotification]) -> Response {
    jsonResponse(
        .ok,
        NotificationList(
            notifications: stored.map {
                NotificationList.Notification(
                    trigger: $0.trigger, service: $0.service, recipient: $0.recipient, state: $0.state.rawValue,
                    attempts: $0.attempts, lastError: $0.lastError, createdAt: $0.createdAt,
                    finishedAt: $0.finishedAt,
                    nextAttemptAt: $0.state == .pending ? AviaryStore.timestamp($0.nextAttemptAt) : nil)
            }))
}

/// `a, b,c` as `[a, b, c]`; nil or empty as none.
private func commaList(_ text: String?) -> [String] {
    (text ?? "").split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
}

/// What the notification routes compute; the CLI's cluster mode computes the same from the
/// ConfigMap and Secret it reads (`summary`, `preview`).
public enum NotificationQueries {
    /// The templates, triggers, services and default triggers of a configuration.
    public static func summary(_ config: NotificationConfig) -> NotificationConfigSummary {
        NotificationConfigSummary(
            templates: config.templates.values.sorted { $0.name < $1.name }.map {
                .init(name: $0.name, services: $0.services, message: $0.messageSource)
            },
            triggers: config.triggers.keys.sorted().map {
                .init(name: $0, send: config.triggers[$0]?.first?.send ?? [])
            },
            services: config.services.keys.sorted().map { .init(name: $0, type: config.services[$0]?.type ?? "") },
            defaultTriggers: config.defaultTriggers)
    }

    static func config(_ settings: NotificationSettings, namespace: String) throws(APIError) -> NotificationConfig {
        guard let config = settings.config(namespace: namespace) else {
            throw APIError(
                status: 404,
                message:
                    "no \(NotificationConfig.configMapName) in namespace \(settings.globalNamespace)"
                    + (namespace == settings.globalNamespace ? "" : " or \(namespace)")
                    + ": apply Argo's notifications-install.yaml and add a service to it")
        }
        return config
    }

    static func render(
        store: AviaryStore, settings: NotificationSettings, rollout key: ResourceKey, templates names: [String],
        trigger: String?, recipients: [String]
    ) throws -> NotificationPreview {
        let config = try config(settings, namespace: key.namespace)
        guard let stored = try store.resource(key) else {
            throw APIError.notFound(.rollout, name: key.name, namespace: key.namespace)
        }
        let rollout = try JSONDecoder().decode(Rollout.self, from: stored.objectJSON())
        let (preview, destinations, rendered) = try Self.preview(
            config: config, rollout: rollout, templates: names, trigger: trigger, recipients: recipients)
        if !destinations.isEmpty {
            let payload = try JSONEncoder().encode(rendered)
            try store.enqueue(
                destinations.map {
                    StoredNotification(
                        rollout: key, trigger: trigger ?? preview.templates.joined(separator: ","), service: $0.service,
                        recipient: $0.recipient, payload: payload, createdAt: Date())
                })
        }
        return preview
    }

    /// The templates `names` (or those `trigger` sends) rendered for `rollout` as it is, with whom
    /// they would go to: `recipients` (SERVICE:RECIPIENT, checked against the services), else the
    /// trigger's subscribers. Sends nothing: the caller queues `destinations` if it sends.
    public static func preview(
        config: NotificationConfig, rollout: Rollout, templates names: [String], trigger: String?, recipients: [String]
    ) throws -> (preview: NotificationPreview, destinations: [Destination], rendered: RenderedNotification) {
        var templateNames = names
        if let trigger {
            guard let condition = config.triggers[trigger]?.first else {
                throw APIError(
                    status: 404,
                    message: "no trigger \(trigger): the triggers are "
                        + config.triggers.keys.sorted().joined(separator: ", "))
            }
            templateNames = condition.send
        }
        guard !templateNames.isEmpty else {
            throw APIError(status: 400, message: "name a template (template=NAME) or a trigger (trigger=NAME)")
        }
        var rendered = RenderedNotification()
        let vars = GoValue.object(["rollout": try GoValue(json: JSONEncoder().encode(rollout))])
        for name in templateNames {
            guard let template = config.templates[name] else {
                throw APIError(
                    status: 404,
                    message: "no template \(name): the templates are "
                        + config.templates.keys.sorted().joined(separator: ", "))
            }
            do {
                try template.render(vars, into: &rendered)
            } catch {
                throw APIError(status: 422, message: "\(error)")
            }
        }
        var destinations: [Destination] = []
        for recipient in recipients {
            let parts = recipient.split(separator: ":", maxSplits: 1).map(String.init)
            guard let service = parts.first, config.services[service] != nil else {
                let known =
                    config.services.isEmpty
                    ? "no service is configured: add a service.TYPE key to \(NotificationConfig.configMapName)"
                    : "the services are " + config.services.keys.sorted().joined(separator: ", ")
                throw APIError(
                    status: 422,
                    message:
                        "recipient \(recipient): no service \(parts.first ?? "") (\(known)); write SERVICE:RECIPIENT")
            }
            destinations.append(Destination(service: service, recipient: parts.count > 1 ? parts[1] : ""))
        }
        let shown =
            recipients.isEmpty
            ? trigger.map {
                Subscriptions.destinations(
                    annotations: rollout.metadata.annotations ?? [:], labels: rollout.metadata.labels ?? [:],
                    config: config)[$0] ?? []
            } ?? [] : destinations
        let preview = NotificationPreview(
            trigger: trigger, templates: templateNames,
            parts: rendered.parts.map { .init(name: $0.name, text: $0.text) },
            destinations: shown.map { $0.recipient.isEmpty ? $0.service : "\($0.service):\($0.recipient)" },
            queued: destinations.count)
        return (preview, destinations, rendered)
    }
}
