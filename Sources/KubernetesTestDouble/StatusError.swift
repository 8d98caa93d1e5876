import AviaryJSON
import Foundation

/// An API error as the real server sends it: a `Status` object whose `reason`, `code`,
/// `message` and `details` clients (kubectl, client-go, the Python client) read and print.
public struct StatusError: Error, Sendable {
    /// The HTTP status code, also the Status object's `code`.
    public var code: Int
    /// The machine-readable reason (`NotFound`, `AlreadyExists`, `Conflict`, `Invalid`, ...).
    public var reason: String
    /// The text kubectl prints after `Error from server (Reason):`.
    public var message: String
    /// The Status object's `details` (name, group, kind, causes), if any.
    public var details: JSONValue?
    /// Extra response headers (e.g. `Retry-After`).
    public var headers: [(String, String)] = []

    /// The `Status` object sent as the response body.
    public var statusObject: JSONValue {
        var status: JSONValue = .object([
            "kind": .string("Status"),
            "apiVersion": .string("v1"),
            "metadata": .object([:]),
            "status": .string("Failure"),
            "message": .string(message),
            "reason": .string(reason),
            "code": .integer(Int64(code)),
        ])
        if let details { status["details"] = details }
        return status
    }

    static func notFound(_ resource: ResourceType, name: String) -> StatusError {
        StatusError(
            code: 404, reason: "NotFound", message: "\(resource.qualifiedName) \"\(name)\" not found",
            details: detailsObject(name: name, group: resource.group, kind: resource.resource))
    }

    static func namespaceNotFound(_ namespace: String) -> StatusError {
        StatusError(
            code: 404, reason: "NotFound", message: "namespaces \"\(namespace)\" not found",
            details: detailsObject(name: namespace, group: "", kind: "namespaces"))
    }

    static func alreadyExists(_ resource: ResourceType, name: String) -> StatusError {
        StatusError(
            code: 409, reason: "AlreadyExists", message: "\(resource.qualifiedName) \"\(name)\" already exists",
            details: detailsObject(name: name, group: resource.group, kind: resource.resource))
    }

    static func conflict(_ resource: ResourceType, name: String) -> StatusError {
        StatusError(
            code: 409, reason: "Conflict",
            message: "Operation cannot be fulfilled on \(resource.qualifiedName) \"\(name)\": "
                + "the object has been modified; please apply your changes to the latest version and try again",
            details: detailsObject(name: name, group: resource.group, kind: resource.resource))
    }

    static func badRequest(_ message: String) -> StatusError {
        StatusError(code: 400, reason: "BadRequest", message: message)
    }

    static func methodNotAllowed(_ message: String = "the server does not allow this method on the requested resource")
        -> StatusError
    {
        StatusError(code: 405, reason: "MethodNotAllowed", message: message)
    }

    static func pageNotFound(_ path: String) -> StatusError {
        StatusError(code: 404, reason: "NotFound", message: "the server could not find the requested resource")
    }

    static func gone(_ message: String) -> StatusError {
        StatusError(code: 410, reason: "Expired", message: message)
    }

    static let unsupportedPatch = StatusError(
        code: 415, reason: "UnsupportedMediaType",
        message: "the body of the request was in an unknown format - accepted media types include: "
            + "application/json-patch+json, application/merge-patch+json, application/apply-patch+yaml")

    /// A 422 Invalid whose causes each name a field, as the real server's field validation does;
    /// kubectl prints it as `The Kind "name" is invalid: field: message`.
    static func invalid(_ resource: ResourceType, name: String, causes: [FieldError]) -> StatusError {
        let listed = causes.map { "\($0.field): \($0.message)" }
        let summary = listed.count == 1 ? listed[0] : "[" + listed.joined(separator: ", ") + "]"
        var details = detailsObject(name: name, group: resource.group, kind: resource.kind)
        details["causes"] = .array(
            causes.map {
                .object(["reason": .string($0.reason), "message": .string($0.message), "field": .string($0.field)])
            })
        return StatusError(
            code: 422, reason: "Invalid",
            message: "\(resource.qualifiedKind) \"\(name)\" is invalid: \(summary)",
            details: details)
    }

    private static func detailsObject(name: String, group: String, kind: String) -> JSONValue {
        var details: JSONValue = .object(["name": .string(name), "kind": .string(kind)])
        if !group.isEmpty { details["group"] = .string(group) }
        return details
    }
}

/// One invalid field: the `causes` entry of an Invalid Status.
struct FieldError: Sendable {
    var field: String
    var reason: String
    var message: String

    static func invalidValue(_ field: String, value: String, _ detail: String) -> FieldError {
        FieldError(field: field, reason: "FieldValueInvalid", message: "Invalid value: \"\(value)\": \(detail)")
    }

    static func required(_ field: String, _ detail: String = "Required value") -> FieldError {
        FieldError(field: field, reason: "FieldValueRequired", message: detail)
    }

    static func tooLong(_ field: String, limit: Int) -> FieldError {
        FieldError(field: field, reason: "FieldValueTooLong", message: "Too long: must have at most \(limit) bytes")
    }
}
