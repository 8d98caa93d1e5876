import Foundation

/// The body of every answer that is not a success (`APIError.body`).
public struct ErrorBody: Codable, Sendable, Equatable {
    /// What was wrong, where, and what to do.
    public var error: String
    /// Manifest diagnostics, one line each; absent when there are none.
    public var diagnostics: [String]?

    /// Creates an error body.
    public init(error: String, diagnostics: [String]? = nil) {
        self.error = error
        self.diagnostics = diagnostics
    }
}

/// `POST /api/v1/apply`: what happened to each resource of the manifest, in its order.
public struct ApplyResult: Codable, Sendable, Equatable {
    /// One resource of an applied manifest.
    public struct Entry: Codable, Sendable, Equatable {
        /// Its manifest kind (`Rollout`).
        public var kind: String
        /// Its namespace.
        public var namespace: String
        /// Its name.
        public var name: String
        /// `created`, `configured` or `unchanged`.
        public var outcome: String
        /// Its generation after the apply.
        public var generation: Int

        /// Creates an entry.
        public init(kind: String, namespace: String, name: String, outcome: String, generation: Int) {
            self.kind = kind
            self.namespace = namespace
            self.name = name
            self.outcome = outcome
            self.generation = generation
        }
    }

    /// The resources, in the manifest's order.
    public var applied: [Entry]
    /// What was applied but is probably not what the author meant (unknown fields, a template or
    /// Service not applied yet), one line each naming the file, the document and the field;
    /// absent when there is none.
    public var warnings: [String]?

    /// Creates a result.
    public init(applied: [Entry], warnings: [String]? = nil) {
        self.applied = applied
        self.warnings = warnings
    }
}

/// `DELETE /api/v1/{kind}/{name}`: the name of what was deleted.
public struct DeleteResult: Codable, Sendable, Equatable {
    /// The deleted resource's name.
    public var deleted: String

    /// Creates a result.
    public init(deleted: String) {
        self.deleted = deleted
    }
}

/// `GET /api/v1/{kind}` and each line of `GET /api/v1/watch/{kind}`: `{"items": [...]}` of
/// resource objects (`apiVersion`, `kind`, `metadata`, `spec`, `status`).
public struct ItemList<Item: Decodable>: Decodable {
    /// The resources, by namespace and name.
    public var items: [Item]
}

/// `GET /api/v1/rollouts/{name}/events`: the rollout's latest events (at most 100), oldest first.
public struct EventList: Codable, Sendable, Equatable {
    /// One event about a resource.
    public struct Event: Codable, Sendable, Equatable {
        /// `Normal` or `Warning`.
        public var type: String
        /// A CamelCase reason such as `RolloutPaused`.
        public var reason: String
        /// A sentence for people.
        public var message: String
        /// When it happened (RFC 3339).
        public var time: String

        /// Creates an event.
        public init(type: String, reason: String, message: String, time: String) {
            self.type = type
            self.reason = reason
            self.message = message
            self.time = time
        }
    }

    /// The events, oldest first.
    public var events: [Event]

    /// Creates a list.
    public init(events: [Event]) {
        self.events = events
    }
}

/// `GET /api/v1/rollouts/{name}/notifications`: the rollout's notifications in the outbox,
/// newest first: the pending ones and the last delivered or failed ones.
public struct NotificationList: Codable, Sendable, Equatable {
    /// One notification and how its delivery went.
    public struct Notification: Codable, Sendable, Equatable {
        /// The trigger (`on-rollout-aborted`).
        public var trigger: String
        /// The service's name.
        public var service: String
        /// The recipient, empty for a webhook.
        public var recipient: String
        /// `pending`, `delivered` or `failed`.
        public var state: String
        /// Attempts made.
        public var attempts: Int
        /// The last failure.
        public var lastError: String?
        /// When it was enqueued (RFC 3339).
        public var createdAt: String
        /// When it was delivered or given up (RFC 3339).
        public var finishedAt: String?
        /// When a pending one is tried next (RFC 3339).
        public var nextAttemptAt: String?

        /// A notification; see the properties.
        public init(
            trigger: String, service: String, recipient: String, state: String, attempts: Int, lastError: String?,
            createdAt: String, finishedAt: String?, nextAttemptAt: String?
        ) {
            self.trigger = trigger
            self.service = service
            self.recipient = recipient
            self.state = state
            self.attempts = attempts
            self.lastError = lastError
            self.createdAt = createdAt
            self.finishedAt = finishedAt
            self.nextAttemptAt = nextAttemptAt
        }
    }

    /// Newest first.
    public var notifications: [Notification]

    /// A list.
    public init(notifications: [Notification]) {
        self.notifications = notifications
    }
}

/// The body of `POST /api/v1/rollouts/{name}/image`.
public struct SetImageRequest: Codable, Sendable, Equatable {
    /// The container's name, or `*` for every container.
    public var container: String
    /// The new image.
    public var image: String

    /// Creates a request.
    public init(container: String, image: String) {
        self.container = container
        self.image = image
    }
}

/// `GET /api/v1/notifications?namespace=NS`: the notification configuration rollouts of a
/// namespace see (Argo's ConfigMap in `default`, with the namespace's own laid over it).
public struct NotificationConfigSummary: Codable, Sendable, Equatable {
    /// A template: its name, the services it has parts for, its message as written.
    public struct Template: Codable, Sendable, Equatable {
        public var name: String
        public var services: [String]
        public var message: String?

        public init(name: String, services: [String], message: String?) {
            self.name = name
            self.services = services
            self.message = message
        }
    }

    /// A trigger and the templates its first condition sends.
    public struct Trigger: Codable, Sendable, Equatable {
        public var name: String
        public var send: [String]

        public init(name: String, send: [String]) {
            self.name = name
            self.send = send
        }
    }

    /// A service and its type.
    public struct Service: Codable, Sendable, Equatable {
        public var name: String
        public var type: String

        public init(name: String, type: String) {
            self.name = name
            self.type = type
        }
    }

    public var templates: [Template]
    public var triggers: [Trigger]
    public var services: [Service]
    public var defaultTriggers: [String]

    public init(templates: [Template], triggers: [Trigger], services: [Service], defaultTriggers: [String]) {
        self.templates = templates
        self.triggers = triggers
        self.services = services
        self.defaultTriggers = defaultTriggers
    }
}

/// `POST /api/v1/rollouts/{name}/notifications/render`: templates (or a trigger's templates)
/// rendered for the rollout as it is now; queued for delivery when recipients were given.
public struct NotificationPreview: Codable, Sendable, Equatable {
    /// One rendered part (`message`, `email.subject`, `slack.attachments`, `webhook.NAME.body`, ...).
    public struct Part: Codable, Sendable, Equatable {
        public var name: String
        public var text: String

        public init(name: String, text: String) {
            self.name = name
            self.text = text
        }
    }

    /// The trigger asked about, if one was.
    public var trigger: String?
    /// The templates rendered.
    public var templates: [String]
    /// What they rendered.
    public var parts: [Part]
    /// Where it goes: the recipients given, or (for a trigger) who is subscribed to it.
    public var destinations: [String]
    /// How many notifications were put in the outbox (0 for a dry run).
    public var queued: Int

    public init(trigger: String?, templates: [String], parts: [Part], destinations: [String], queued: Int) {
        self.trigger = trigger
        self.templates = templates
        self.parts = parts
        self.destinations = destinations
        self.queued = queued
    }
}
