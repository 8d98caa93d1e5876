/// A request the API server refused, or could not be reached for: names the server, the verb, the resource
/// and the status on one line.
public struct KubernetesError: Error, Sendable, CustomStringConvertible {
    /// What went wrong.
    public enum Cause: Sendable {
        /// The server answered with an error status; `status` is its Status object when it sent one.
        case status(code: Int, Status?)
        /// The server could not be reached, or the connection broke (`reason` says how).
        case transport(String)
        /// The server's answer could not be decoded.
        case malformedResponse(String)
        /// The credentials could not be obtained (an exec plugin failed, a token file vanished).
        case credentials(String)
    }

    /// The server's base URL.
    public var server: String
    /// The verb, as kubectl names it: get, list, watch, create, update, patch, delete.
    public var verb: String
    /// The resource, for example `configmaps "default/app"` or `leases in namespace "kube-system"`.
    public var resource: String
    /// What went wrong.
    public var cause: Cause

    /// An error.
    public init(server: String, verb: String, resource: String, cause: Cause) {
        self.server = server
        self.verb = verb
        self.resource = resource
        self.cause = cause
    }

    /// The HTTP status code, when the server answered.
    public var code: Int? {
        if case .status(let code, _) = cause { return code }
        return nil
    }

    /// The Status reason (`NotFound`, `Conflict`, `AlreadyExists`, `Expired`, ...), when the server sent one.
    public var reason: String? {
        if case .status(_, let status) = cause { return status?.reason }
        return nil
    }

    /// 404: the object does not exist.
    public var isNotFound: Bool { code == 404 }
    /// 409 with reason `AlreadyExists`: a create found the name taken.
    public var isAlreadyExists: Bool { code == 409 && reason == "AlreadyExists" }
    /// 409 other than `AlreadyExists`: an update carried a stale resourceVersion.
    public var isConflict: Bool { code == 409 && reason != "AlreadyExists" }
    /// 410: the resourceVersion or continue token is too old; relist.
    public var isGone: Bool { code == 410 }

    /// `VERB RESOURCE on SERVER: STATUS`.
    public var description: String {
        let what: String
        switch cause {
        case .status(let code, let status):
            var text = "\(code) \(status?.reason ?? Self.reasonPhrase(code))"
            if let message = status?.message, !message.isEmpty { text += ": \(oneLine(message))" }
            if code == 401 { text += " (check the token or client certificate of the kubeconfig user)" }
            if code == 403 { text += " (the user lacks RBAC permission for this verb)" }
            what = text
        case .transport(let reason): what = "unreachable: \(reason)"
        case .malformedResponse(let reason): what = "malformed response: \(reason)"
        case .credentials(let reason): what = "no credentials: \(reason)"
        }
        return "\(verb) \(resource) on \(server): \(what)"
    }

    static func reasonPhrase(_ code: Int) -> String {
        switch code {
        case 400: "BadRequest"
        case 401: "Unauthorized"
        case 403: "Forbidden"
        case 404: "NotFound"
        case 405: "MethodNotAllowed"
        case 409: "Conflict"
        case 410: "Gone"
        case 415: "UnsupportedMediaType"
        case 422: "Invalid"
        case 429: "TooManyRequests"
        case 500: "InternalError"
        case 503: "ServiceUnavailable"
        case 504: "Timeout"
        default: "HTTP error"
        }
    }
}

/// Valid JSON in a shape the API server does not send (a list whose `items` is not an array).
struct UnexpectedShape: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}
