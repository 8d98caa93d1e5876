import AviaryModel
import Foundation

// Everything the API decodes from a request (paths, query strings, bodies) as pure functions,
// so that scripts/fuzz api can drive them without a server. Only AviaryModel and Foundation:
// the fuzz build compiles this target's files on their own.

/// An answer of the API that is not a success: an HTTP status and a message naming the input,
/// the field and the fix.
public struct APIError: Error, Equatable, CustomStringConvertible {
    /// The HTTP status code (4xx for bad input, 5xx for the daemon's own trouble).
    public var status: Int
    /// The message.
    public var message: String
    /// Manifest diagnostics, one line each, when the input was a manifest.
    public var diagnostics: [String]

    /// Creates an error.
    public init(status: Int, message: String, diagnostics: [String] = []) {
        self.status = status
        self.message = message
        self.diagnostics = diagnostics
    }

    public var description: String { ([message] + diagnostics).joined(separator: "\n") }

    /// The 404 for a resource that is not there: `rollout "web" not found in namespace "default"`.
    public static func notFound(_ kind: ResourceKind, name: String, namespace: String) -> APIError {
        APIError(status: 404, message: "\(kind.rawValue.lowercased()) \"\(name)\" not found in namespace \"\(namespace)\"")
    }

    /// The JSON body: `{"error": ..., "diagnostics": [...]}`.
    public var body: ErrorBody {
        ErrorBody(error: message, diagnostics: diagnostics.isEmpty ? nil : diagnostics)
    }
}

extension ResourceKind {
    /// The kind a URL names (plural or singular, any case: `rollouts`, `rollout`), or a 404 that
    /// lists the known ones.
    public init(named urlName: String) throws(APIError) {
        guard let kind = ResourceKind(urlName: urlName) else {
            let known = ResourceKind.allCases.map(\.plural).sorted().joined(separator: ", ")
            throw APIError(status: 404, message: "unknown resource type \"\(urlName)\"; known: \(known)")
        }
        self = kind
    }
}

/// One operation on a rollout (`POST /api/v1/rollouts/{name}/{operation}`).
public enum RolloutOperation: Sendable, Equatable {
    /// `promote`: leave the current pause (or skip the current step); `full` skips all remaining steps.
    case promote(full: Bool)
    /// `abort`: back to stable, Degraded.
    case abort
    /// `retry`: clear an abort, start the steps over.
    case retry
    /// `pause`: `spec.paused = true`.
    case pause
    /// `resume`: `spec.paused = false`.
    case resume
    /// `restart [--in DURATION]`: `spec.restartAt = now + inSeconds`.
    case restart(inSeconds: Double)
    /// `set image CONTAINER=IMAGE` (`*` for every container).
    case setImage(container: String, image: String)
    /// `undo [--to-revision N]`: the pod template of revision N (0: the one before the current).
    case undo(toRevision: Int)
}

/// The decoding of API requests.
public enum APIRequestDecoding {
    /// The largest body of `set image`.
    public static let maximumOperationBodyBytes = 64 * 1024

    /// Compares an `Authorization` header with the expected one without leaking where the first
    /// difference is: every byte of the longer one is visited, whatever the contents.
    public static func constantTimeEqual(_ lhs: String, _ rhs: String) -> Bool {
        let left = Array(lhs.utf8)
        let right = Array(rhs.utf8)
        var difference = left.count ^ right.count
        for index in 0..<max(left.count, right.count) {
            let leftByte = index < left.count ? left[index] : 0
            let rightByte = index < right.count ? right[index] : 0
            difference |= Int(leftByte ^ rightByte)
        }
        return difference == 0
    }

    /// Decodes `POST /api/v1/rollouts/{name}/{operation}`: `query` looks up a query parameter,
    /// `body` is the request body (read only for `image`).
    public static func operation(
        _ name: String, query: (String) -> String?, body: Data
    ) throws(APIError) -> RolloutOperation {
        switch name {
        case "promote": return .promote(full: query("full") == "true")
        case "abort": return .abort
        case "retry": return .retry
        case "pause": return .pause
        case "resume": return .resume
        case "restart":
            guard let delay = Double(query("inSeconds") ?? "0"), delay >= 0, delay.isFinite else {
                throw APIError(status: 400, message: "inSeconds must be a number of seconds, 0 or more")
            }
            return .restart(inSeconds: delay)
        case "undo":
            guard let revision = Int(query("toRevision") ?? "0"), revision >= 0 else {
                throw APIError(status: 400, message: "toRevision must be a revision number (0 for the previous one)")
            }
            return .undo(toRevision: revision)
        case "image":
            guard let request = try? JSONDecoder().decode(SetImageRequest.self, from: body), !request.image.isEmpty
            else {
                throw APIError(
                    status: 400, message: #"set image needs a JSON body {"container": "NAME", "image": "IMAGE"}"#)
            }
            return .setImage(container: request.container, image: request.image)
        default:
            throw APIError(
                status: 404,
                message:
                    "unknown operation \"\(name)\"; known: promote, abort, retry, pause, resume, restart, undo, image")
        }
    }

    /// Decodes an apply body (YAML or JSON, multi-document) into one JSON manifest per resource,
    /// or a 400/422 naming `file` and every problem. Nothing is stored here.
    public static func manifests(_ body: Data, file: String) throws(APIError) -> [Data] {
        try resources(body, file: file).map(\.json)
    }

    /// Like `manifests`, with each document's decoded resource beside its JSON.
    public static func resources(_ body: Data, file: String) throws(APIError) -> [(resource: AnyResource, json: Data)] {
        try decodedApply(body, file: file).manifests
    }

    /// Like `resources`, with the decoder's warnings (unknown fields, each naming the file, the
    /// document and the field).
    public static func decodedApply(
        _ body: Data, file: String
    ) throws(APIError) -> (manifests: [(resource: AnyResource, json: Data)], warnings: [Diagnostic]) {
        guard !body.isEmpty else {
            throw APIError(
                status: 400, message: "\(file): empty body; send a Rollout, Service or AnalysisTemplate manifest")
        }
        let decoded = ManifestDecoder().decode(body, file: file)
        if decoded.hasErrors {
            throw APIError(
                status: 422, message: "\(file): invalid manifest, nothing was applied",
                diagnostics: decoded.diagnostics.filter(\.isError).map(\.description))
        }
        let resources = decoded.resources
        guard !resources.isEmpty else {
            throw APIError(
                status: 422, message: "\(file): no resource in the manifest, nothing was applied",
                diagnostics: decoded.diagnostics.map(\.description))
        }
        var manifests: [(resource: AnyResource, json: Data)] = []
        for resource in resources {
            do {
                manifests.append((resource, try ManifestEncoder.json(resource)))
            } catch {
                throw APIError(status: 422, message: "\(file): \(resource.reference): \(error)")
            }
        }
        return (manifests, decoded.diagnostics.filter { !$0.isError })
    }
}
