import Foundation

/// The `metadata` of a list response.
public struct ListMeta: Codable, Sendable, Hashable {
    /// The version of the collection when it was read; a watch starts from it.
    public var resourceVersion: String?
    /// The token of the next page, empty or nil on the last page.
    public var `continue`: String?
    /// The server's estimate of the items not yet returned.
    public var remainingItemCount: Int64?
}

/// The `Status` object the API server sends with an error (and for some successful deletes).
public struct Status: Codable, Sendable, Hashable {
    /// `Failure` or `Success`.
    public var status: String?
    /// A human-readable description.
    public var message: String?
    /// A machine-readable reason, for example `NotFound`, `Conflict`, `Expired`, `TooManyRequests`.
    public var reason: String?
    /// The HTTP status code the error corresponds to.
    public var code: Int?
    /// Extra detail, for example `retryAfterSeconds`.
    public var details: StatusDetails?

    /// A status.
    public init(status: String? = nil, message: String? = nil, reason: String? = nil, code: Int? = nil) {
        self.status = status
        self.message = message
        self.reason = reason
        self.code = code
    }
}

/// `Status.details`.
public struct StatusDetails: Codable, Sendable, Hashable {
    /// The name of the object concerned.
    public var name: String?
    /// The kind of the object concerned.
    public var kind: String?
    /// How long the client should wait before retrying.
    public var retryAfterSeconds: Int?
}
