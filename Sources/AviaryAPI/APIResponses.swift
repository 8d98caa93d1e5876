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
