import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// What the router changes in a message that an HTTP/2 client sent or receives: the fields it
/// adds on the way to an endpoint, and the conversions when the endpoint speaks HTTP/1.1. Pure.
enum HTTP2Messages {
    /// Fields of one HTTP/1.1 connection, which HTTP/2 forbids (RFC 9113, 8.2.2): dropped when a
    /// message crosses to HTTP/2, and not carried from HTTP/2 to HTTP/1.1 either.
    static let connectionFields: Set<String> = [
        "connection", "keep-alive", "proxy-connection", "transfer-encoding", "upgrade",
    ]

    /// The pseudo-fields of a request's header block.
    struct Target: Equatable {
        var method: String
        /// The path with its query.
        var path: String
        var authority: String?
        var scheme: String?

        /// The path without its query, as routes match it.
        var routedPath: Substring { path[..<(path.firstIndex(of: "?") ?? path.endIndex)] }
    }

    /// The request's method, path, authority and scheme; nil when `:method` or `:path` is missing
    /// (NIO has already refused blocks that break the other rules of RFC 9113).
    static func target(of headers: HPACKHeaders) -> Target? {
        var target = Target(method: "", path: "")
        for (name, value, _) in headers {
            guard name.first == ":" else { break }
            switch name {
            case ":method": target.method = value
            case ":path": target.path = value
            case ":authority": target.authority = value
            case ":scheme": target.scheme = value
            default: break
            }
        }
        guard !target.method.isEmpty, !target.path.isEmpty || target.method == "CONNECT" else { return nil }
        return target
    }

    /// Whether the request is gRPC (its answers then carry `grpc-status`).
    static func isGRPC(_ headers: HPACKHeaders) -> Bool {
        headers.first(name: "content-type")?.hasPrefix("application/grpc") == true
    }

    /// The request's regular fields for route matching.
    static func routingHeaders(_ headers: HPACKHeaders) -> HTTPHeaders {
        var fields = HTTPHeaders()
        for (name, value, _) in headers where name.first != ":" { fields.add(name: name, value: value) }
        return fields
    }

    /// The header block sent to an HTTP/2 endpoint: the client's with the client's address
    /// appended to `x-forwarded-for` and `x-forwarded-proto` set, as on HTTP/1.1.
    static func upstreamRequest(_ headers: HPACKHeaders, clientAddress: String?, isTLS: Bool) -> HPACKHeaders {
        var forwarded = HPACKHeaders()
        forwarded.reserveCapacity(headers.count + 2)
        var forwardedFor: String?
        for (name, value, indexing) in headers {
            switch name {
            case "x-forwarded-for": forwardedFor = forwardedFor.map { "\($0), \(value)" } ?? value
            case "x-forwarded-proto": continue
            default:
                if !connectionFields.contains(name) { forwarded.add(name: name, value: value, indexing: indexing) }
            }
        }
        if let clientAddress {
            forwarded.add(name: "x-forwarded-for", value: forwardedFor.map { "\($0), \(clientAddress)" } ?? clientAddress)
        } else if let forwardedFor {
            forwarded.add(name: "x-forwarded-for", value: forwardedFor)
        }
        forwarded.add(name: "x-forwarded-proto", value: isTLS ? "https" : "http")
        return forwarded
    }

    /// The HTTP/1.1 head of a request for an HTTP/1.1 endpoint: `Host` from `:authority` when the
    /// block has no `host`, the regular fields as they are (HTTP/2 cookie fields joined into
    /// one, RFC 9113 8.2.3), and the forwarding fields. `hasBody` false when the block ended the
    /// stream: the head then says `content-length: 0` for a method that may carry a body.
    static func http1Request(
        _ headers: HPACKHeaders, target: Target, clientAddress: String?, isTLS: Bool, hasBody: Bool
    ) -> HTTPRequestHead {
        var fields = HTTPHeaders()
        var cookies: [String] = []
        let regular = upstreamRequest(headers, clientAddress: clientAddress, isTLS: isTLS)
        for (name, value, _) in regular where name.first != ":" {
            if name == "cookie" { cookies.append(value) } else { fields.add(name: name, value: value) }
        }
        if !fields.contains(name: "host"), let authority = target.authority {
            fields.replaceOrAdd(name: "host", value: authority)
        }
        if !cookies.isEmpty { fields.add(name: "cookie", value: cookies.joined(separator: "; ")) }
        if !hasBody, !fields.contains(name: "content-length"), !["GET", "HEAD", "DELETE", "OPTIONS"].contains(target.method) {
            fields.add(name: "content-length", value: "0")
        }
        return HTTPRequestHead(version: .http1_1, method: HTTPMethod(rawValue: target.method), uri: target.path, headers: fields)
    }

    /// The header block of an HTTP/1.1 endpoint's response: `:status` and the fields, names in
    /// lower case, without the connection fields.
    static func http2Response(_ head: HTTPResponseHead) -> HPACKHeaders {
        var block = HPACKHeaders()
        block.reserveCapacity(head.headers.count + 1)
        block.add(name: ":status", value: String(head.status.code))
        for (name, value) in head.headers {
            let lower = name.lowercased()
            if !connectionFields.contains(lower) { block.add(name: lower, value: value) }
        }
        return block
    }

    /// Trailer fields for an HTTP/2 client, names in lower case.
    static func http2Trailers(_ trailers: HTTPHeaders) -> HPACKHeaders {
        HPACKHeaders(trailers.map { ($0.name.lowercased(), $0.value) })
    }

    /// Trailer fields for an HTTP/1.1 endpoint.
    static func http1Trailers(_ trailers: HPACKHeaders) -> HTTPHeaders {
        HTTPHeaders(trailers.filter { $0.name.first != ":" }.map { ($0.name, $0.value) })
    }

    /// `grpc-timeout` (1 to 8 digits and a unit: `H`, `M`, `S`, `m`, `u`, `n`) as a duration;
    /// nil when it is not one.
    static func grpcTimeout(_ value: String) -> TimeAmount? {
        guard let unit = value.last, (2...9).contains(value.count),
            let amount = Int64(value.dropLast()), amount >= 0
        else { return nil }
        switch unit {
        case "H": return .hours(amount)
        case "M": return .minutes(amount)
        case "S": return .seconds(amount)
        case "m": return .milliseconds(amount)
        case "u": return .microseconds(amount)
        case "n": return .nanoseconds(amount)
        default: return nil
        }
    }

    /// gRPC's status codes that the router's own answers use.
    enum GRPCStatus: Int {
        case deadlineExceeded = 4
        case resourceExhausted = 8
        case `internal` = 13
        case unavailable = 14
        case unimplemented = 12
    }

    /// The router's own answer to a request: for gRPC, a trailers-only response (`:status` 200,
    /// `grpc-status` and `grpc-message` in one block that ends the stream), as gRPC clients
    /// read it; otherwise the status with a one-line text body.
    static func localAnswer(
        status: HTTPResponseStatus, reason: String, grpc: GRPCStatus?, allocator: ByteBufferAllocator
    ) -> [HTTP2Frame.FramePayload] {
        if let grpc {
            let block = HPACKHeaders([
                (":status", "200"), ("content-type", "application/grpc"), ("grpc-status", String(grpc.rawValue)),
                ("grpc-message", percentEncoded(reason)),
            ])
            return [.headers(.init(headers: block, endStream: true))]
        }
        let body = allocator.buffer(string: "\(status.code) \(status.reasonPhrase): \(reason)\n")
        let block = HPACKHeaders([
            (":status", String(status.code)), ("content-type", "text/plain; charset=utf-8"),
            ("content-length", String(body.readableBytes)),
        ])
        return [.headers(.init(headers: block)), .data(.init(data: .byteBuffer(body), endStream: true))]
    }

    /// `grpc-message` is percent-encoded outside printable ASCII and `%`.
    static func percentEncoded(_ text: String) -> String {
        var encoded = ""
        for byte in text.utf8 {
            if byte >= 0x20, byte <= 0x7E, byte != UInt8(ascii: "%") {
                encoded.unicodeScalars.append(Unicode.Scalar(byte))
            } else {
                encoded += "%" + String(byte, radix: 16, uppercase: true).leftPadded(to: 2)
            }
        }
        return encoded
    }
}

extension String {
    fileprivate func leftPadded(to width: Int) -> String {
        count >= width ? self : String(repeating: "0", count: width - count) + self
    }
}
