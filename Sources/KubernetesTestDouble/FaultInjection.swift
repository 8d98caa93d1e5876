import Foundation

/// A fault the control API injected into API requests (`POST /_double/faults`).
struct FaultInjection: Sendable {
    /// The HTTP status API requests answer with, while `remaining` lasts.
    var status: Int? = nil
    var retryAfterSeconds: Int? = nil
    /// How many more requests get the fault; nil means until cleared.
    var remaining: Int? = nil
    /// Only requests of this verb and resource get the status (`patch rollouts/status`, as
    /// `GET /_double/requests` names them); nil: every API request.
    var onlyRequest: String? = nil
    /// Only requests whose `User-Agent` starts with this get the status (`aviary`, `kubectl`); nil: any.
    var onlyAgent: String? = nil
    /// Whether API requests get no answer until the faults are cleared.
    var isHanging = false
    /// The requests held back while hanging; they are answered once the faults are cleared.
    var heldRequests: [@Sendable () -> Void] = []

    /// The injected error for the next API request, if any (counting it against `remaining`).
    mutating func nextError(for request: String?, agent: String?) -> StatusError? {
        guard let status else { return nil }
        if let onlyRequest, onlyRequest != request { return nil }
        if let onlyAgent, !(agent ?? "").hasPrefix(onlyAgent) { return nil }
        if let remaining {
            if remaining <= 0 {
                self.status = nil
                return nil
            }
            self.remaining = remaining - 1
        }
        var error = Self.error(for: status)
        if let retryAfterSeconds {
            error.headers.append(("Retry-After", String(retryAfterSeconds)))
            error.details = .object(["retryAfterSeconds": .integer(Int64(retryAfterSeconds))])
        }
        return error
    }

    /// The Status the real server sends for a code, with its reason and wording.
    static func error(for status: Int) -> StatusError {
        switch status {
        case 400: return StatusError(code: 400, reason: "BadRequest", message: "the server rejected our request for an unknown reason (injected fault)")
        case 401: return StatusError(code: 401, reason: "Unauthorized", message: "Unauthorized")
        case 403: return StatusError(code: 403, reason: "Forbidden", message: "forbidden: injected fault")
        case 404: return StatusError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
        case 409: return StatusError(code: 409, reason: "Conflict", message: "the object has been modified; please apply your changes to the latest version and try again")
        case 410: return StatusError(code: 410, reason: "Expired", message: "too old resource version (injected fault)")
        case 429: return StatusError(code: 429, reason: "TooManyRequests", message: "Too many requests, please try again later.")
        case 503: return StatusError(code: 503, reason: "ServiceUnavailable", message: "the server is currently unable to handle the request")
        case 504: return StatusError(code: 504, reason: "Timeout", message: "the server was unable to return a response in the time allotted, but may still be processing the request")
        default: return StatusError(code: status, reason: status >= 500 ? "InternalError" : "BadRequest", message: "Internal error occurred: injected fault (HTTP \(status))")
        }
    }
}
