import NIOCore
import NIOHTTP1

/// How the proxy rewrites message heads between client and upstream (RFC 9110 §7.6).
enum HTTPForwarding {
    /// Headers that describe one connection, never forwarded (RFC 9110 §7.6.1 and the
    /// `Proxy-Connection` and `Keep-Alive` headers of old clients).
    static let hopByHopHeaders: [String] = [
        "connection", "keep-alive", "proxy-connection", "te", "trailer", "transfer-encoding", "upgrade",
        "proxy-authenticate", "proxy-authorization",
    ]

    /// The request head sent upstream: hop-by-hop headers (and those the client's `Connection`
    /// header names) dropped, `X-Forwarded-For` extended with the client address,
    /// `X-Forwarded-Proto` set when absent, HTTP/1.1 with keep-alive, chunked framing kept.
    static func upstreamRequestHead(_ head: HTTPRequestHead, clientAddress: String?) -> HTTPRequestHead {
        var headers = head.headers
        let isChunked = isChunked(headers)
        removeHopByHop(from: &headers)
        if let clientAddress {
            if let existing = headers.first(name: "x-forwarded-for") {
                headers.replaceOrAdd(name: "x-forwarded-for", value: "\(existing), \(clientAddress)")
            } else {
                headers.add(name: "x-forwarded-for", value: clientAddress)
            }
        }
        if !headers.contains(name: "x-forwarded-proto") {
            headers.add(name: "x-forwarded-proto", value: "http")
        }
        if isChunked && !headers.contains(name: "content-length") {
            headers.add(name: "transfer-encoding", value: "chunked")
        }
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: headers)
    }

    /// The response head sent to the client: hop-by-hop headers dropped, chunked framing kept,
    /// and `Connection` set from whether the client connection stays open.
    static func clientResponseHead(
        _ head: HTTPResponseHead, requestVersion: HTTPVersion, keepAlive: Bool
    )
        -> HTTPResponseHead
    {
        var headers = head.headers
        let isChunked = isChunked(headers)
        removeHopByHop(from: &headers)
        if isChunked && !headers.contains(name: "content-length") && requestVersion >= .http1_1 {
            headers.add(name: "transfer-encoding", value: "chunked")
        }
        if !keepAlive {
            headers.add(name: "connection", value: "close")
        } else if requestVersion < .http1_1 {
            headers.add(name: "connection", value: "keep-alive")
        }
        return HTTPResponseHead(version: requestVersion, status: head.status, headers: headers)
    }

    /// The size of a request head on the wire: request line and header lines.
    static func headSize(_ head: HTTPRequestHead) -> Int {
        var size = head.method.rawValue.utf8.count + head.uri.utf8.count + 12
        for (name, value) in head.headers {
            size += name.utf8.count + value.utf8.count + 4
        }
        return size
    }

    /// Whether a request head announces a body.
    static func hasBody(_ head: HTTPRequestHead) -> Bool {
        if isChunked(head.headers) { return true }
        return head.headers.first(name: "content-length").flatMap { Int($0) }.map { $0 > 0 } ?? false
    }

    /// Methods a proxy may send twice (RFC 9110 §9.2.2).
    static func isIdempotent(_ method: HTTPMethod) -> Bool {
        switch method {
        case .GET, .HEAD, .OPTIONS, .PUT, .DELETE, .TRACE: return true
        default: return false
        }
    }

    private static func isChunked(_ headers: HTTPHeaders) -> Bool {
        headers["transfer-encoding"].contains { $0.lowercased().contains("chunked") }
    }

    private static func removeHopByHop(from headers: inout HTTPHeaders) {
        for named in headers["connection"] {
            for token in named.split(separator: ",") {
                headers.remove(name: token.trimmingCharacters(in: .whitespaces))
            }
        }
        for name in hopByHopHeaders {
            headers.remove(name: name)
        }
    }
}

extension HTTPVersion: @retroactive Comparable {
    public static func < (lhs: HTTPVersion, rhs: HTTPVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}
