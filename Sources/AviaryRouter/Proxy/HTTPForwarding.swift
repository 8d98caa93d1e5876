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
        let forwarded = ForwardedHeaders(head.headers)
        var headers = forwarded.headers
        if let clientAddress {
            if let existing = forwarded.forwardedFor {
                headers.replaceOrAdd(name: "x-forwarded-for", value: "\(existing), \(clientAddress)")
            } else {
                headers.add(name: "x-forwarded-for", value: clientAddress)
            }
        }
        if !forwarded.hasForwardedProto {
            headers.add(name: "x-forwarded-proto", value: "http")
        }
        if forwarded.isChunked && !forwarded.hasContentLength {
            headers.add(name: "transfer-encoding", value: "chunked")
        }
        return HTTPRequestHead(version: .http1_1, method: head.method, uri: head.uri, headers: headers)
    }

    /// The response head sent to the client: hop-by-hop headers dropped, chunked framing kept,
    /// and `Connection` set from whether the client connection stays open. The upstream's head
    /// itself when nothing changes, so the common answer costs no copy.
    static func clientResponseHead(
        _ head: HTTPResponseHead, requestVersion: HTTPVersion, keepAlive: Bool
    )
        -> HTTPResponseHead
    {
        let forwarded = ForwardedHeaders(head.headers)
        let addsChunked = forwarded.isChunked && !forwarded.hasContentLength && requestVersion >= .http1_1
        let addsConnection = !keepAlive || requestVersion < .http1_1
        if !forwarded.droppedAny && !addsChunked && !addsConnection && head.version == requestVersion {
            return head
        }
        var headers = forwarded.headers
        if addsChunked {
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

    /// Whether `name` is one of `hopByHopHeaders`, in any case; by length first, as this runs
    /// for every header of every message.
    static func isHopByHop(_ name: String) -> Bool {
        switch name.utf8.count {
        case 2: return name.isEqualIgnoringASCIICase("te")
        case 7: return name.isEqualIgnoringASCIICase("trailer") || name.isEqualIgnoringASCIICase("upgrade")
        case 10: return name.isEqualIgnoringASCIICase("connection") || name.isEqualIgnoringASCIICase("keep-alive")
        case 16: return name.isEqualIgnoringASCIICase("proxy-connection")
        case 17: return name.isEqualIgnoringASCIICase("transfer-encoding")
        case 18: return name.isEqualIgnoringASCIICase("proxy-authenticate")
        case 19: return name.isEqualIgnoringASCIICase("proxy-authorization")
        default: return false
        }
    }
}

/// A message's headers without the hop-by-hop ones, and what the proxy needs to know about
/// them, found in two passes over the headers (none of the per-name lookups the general
/// `HTTPHeaders` API would make). Headers named by `Connection` are dropped too.
struct ForwardedHeaders {
    /// The headers to forward; the original storage when nothing was dropped.
    var headers: HTTPHeaders
    /// Whether a header was dropped.
    var droppedAny = false
    /// Whether `Transfer-Encoding` includes `chunked`.
    var isChunked = false
    /// Whether a `Content-Length` is kept.
    var hasContentLength = false
    /// The first `X-Forwarded-For` value kept.
    var forwardedFor: String?
    /// Whether an `X-Forwarded-Proto` is kept.
    var hasForwardedProto = false

    init(_ source: HTTPHeaders) {
        var connectionTokens: [Substring] = []
        for (name, value) in source where HTTPForwarding.isHopByHop(name) {
            droppedAny = true
            if name.isEqualIgnoringASCIICase("connection") {
                connectionTokens += value.split(separator: ",").map { $0.trimmingASCIISpaces() }
            } else if name.isEqualIgnoringASCIICase("transfer-encoding"), value.lowercased().contains("chunked") {
                isChunked = true
            }
        }
        if droppedAny {
            var kept: [(String, String)] = []
            kept.reserveCapacity(source.count)
            for (name, value) in source where !HTTPForwarding.isHopByHop(name) {
                if connectionTokens.contains(where: { name.isEqualIgnoringASCIICase($0) }) { continue }
                kept.append((name, value))
            }
            headers = HTTPHeaders(kept)
        } else {
            headers = source
        }
        for (name, value) in headers {
            switch name.utf8.count {
            case 14 where name.isEqualIgnoringASCIICase("content-length"): hasContentLength = true
            case 15 where forwardedFor == nil && name.isEqualIgnoringASCIICase("x-forwarded-for"): forwardedFor = value
            case 17 where name.isEqualIgnoringASCIICase("x-forwarded-proto"): hasForwardedProto = true
            default: break
            }
        }
    }
}

extension StringProtocol {
    /// Whether the two are equal when ASCII letters are compared without case.
    func isEqualIgnoringASCIICase(_ other: some StringProtocol) -> Bool {
        utf8.elementsEqual(other.utf8) { a, b in
            a == b || (a | 0x20 == b | 0x20 && (a | 0x20) >= UInt8(ascii: "a") && (a | 0x20) <= UInt8(ascii: "z"))
        }
    }

    /// The text without leading and trailing spaces and tabs.
    func trimmingASCIISpaces() -> SubSequence {
        let isSpace: (Character) -> Bool = { $0 == " " || $0 == "\t" }
        guard let first = firstIndex(where: { !isSpace($0) }), let last = lastIndex(where: { !isSpace($0) }) else {
            return self[endIndex...]
        }
        return self[first...last]
    }
}

extension HTTPVersion: @retroactive Comparable {
    public static func < (lhs: HTTPVersion, rhs: HTTPVersion) -> Bool {
        (lhs.major, lhs.minor) < (rhs.major, rhs.minor)
    }
}
