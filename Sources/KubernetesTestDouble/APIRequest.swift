import AviaryJSON
import Foundation

/// One HTTP request as the API layer sees it, apart from the socket.
public struct APIRequest: Sendable {
    public var method: String
    public var path: String
    public var query: [String: String]
    public var headers: [(String, String)]
    public var body: Data

    public init(method: String, uri: String, headers: [(String, String)], body: Data) {
        self.method = method
        self.headers = headers
        self.body = body
        let parts = uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        path = String(parts.first ?? "").removingPercentEncoding ?? String(parts.first ?? "")
        var query: [String: String] = [:]
        if parts.count > 1 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1, omittingEmptySubsequences: false)
                let decode = { (text: Substring) -> String in
                    text.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? String(text)
                }
                query[decode(keyValue[0])] = keyValue.count > 1 ? decode(keyValue[1]) : ""
            }
        }
        self.query = query
    }

    /// The first value of a header, matched case-insensitively.
    public func header(_ name: String) -> String? {
        headers.first { $0.0.lowercased() == name.lowercased() }?.1
    }

    /// A boolean query parameter (`1`, `true`).
    func flag(_ name: String) -> Bool? {
        guard let value = query[name] else { return nil }
        return value == "1" || value.lowercased() == "true"
    }
}

/// What the API layer answers: a whole response, or a watch stream the HTTP layer opens.
public enum APIResponse: Sendable {
    case full(status: Int, headers: [(String, String)], body: Data)
    case watch(WatchStream)

    static func json(_ value: JSONValue, status: Int = 200, headers: [(String, String)] = []) -> APIResponse {
        .full(status: status, headers: [("Content-Type", "application/json")] + headers, body: value.serialized())
    }

    static func error(_ error: StatusError) -> APIResponse {
        json(error.statusObject, status: error.code, headers: error.headers)
    }
}

/// A watch the HTTP layer streams: `start` registers the sink (nil when the watch ended at
/// once, e.g. with a 410 ERROR event); the stream ends after `timeout` when one was asked for.
public struct WatchStream: Sendable {
    let start: @Sendable (any WatchSink) -> Int?
    let timeout: Duration?
    let sendsBookmarks: Bool
}

extension APIRequest {
    /// The request as a client's audit log names it: Kubernetes' verb and the resource, with its
    /// subresource (`list rollouts`, `watch replicasets`, `patch rollouts/status`, `update leases`);
    /// nil for discovery, OpenAPI and health paths.
    var auditKey: String? {
        var segments = path.split(separator: "/").map(String.init)
        switch segments.first {
        case "api" where segments.count >= 3: segments.removeFirst(2)
        case "apis" where segments.count >= 4: segments.removeFirst(3)
        default: return nil
        }
        if segments.first == "namespaces", segments.count >= 3 { segments.removeFirst(2) }
        guard let resource = segments.first else { return nil }
        let named = segments.count >= 2
        let subresource = segments.count >= 3 ? "/" + segments[2] : ""
        let verb: String
        switch method {
        case "GET": verb = query["watch"] == "true" || query["watch"] == "1" ? "watch" : named ? "get" : "list"
        case "POST": verb = "create"
        case "PUT": verb = "update"
        case "PATCH": verb = "patch"
        case "DELETE": verb = named ? "delete" : "deletecollection"
        default: verb = method.lowercased()
        }
        return "\(verb) \(resource)\(subresource)"
    }
}

