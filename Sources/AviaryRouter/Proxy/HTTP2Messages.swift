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

    /// The pseudo-fields of a request's header block (read by `HTTP2Wire.checkRequest`).
    struct Target: Equatable {
        var method: String
        /// The path with its query.
        var path: String
        var authority: String?
        var scheme: String?

        /// Whether the method is HEAD (by length first: a string comparison that fails is slow).
        var isHead: Bool { method.utf8.count == 4 && method == "HEAD" }

        /// The path without its query, as routes match it.
        var routedPath: Substring { path[..<(path.firstIndex(of: "?") ?? path.endIndex)] }

        /// Whether the method and path can stand in an HTTP/1.1 request line as they are: no
        /// space, control character or DEL (HTTP/2 allows more in a field value than there).
        var isHTTP1Safe: Bool {
            func safe(_ text: String) -> Bool { text.utf8.allSatisfy { $0 > 0x20 && $0 != 0x7F } }
            return safe(method) && safe(path)
        }
    }

    /// The request's regular fields for route matching.
    static func routingHeaders(_ block: HeaderBlock) -> HTTPHeaders {
        var fields = HTTPHeaders()
        for field in block.fields where field.kind.role != .pseudo { fields.add(name: field.name, value: field.value) }
        return fields
    }

    /// The header block sent to an HTTP/2 endpoint: the client's with the client's address
    /// appended to `x-forwarded-for` and `x-forwarded-proto` set, as on HTTP/1.1.
    static func upstreamRequest(_ block: HeaderBlock, clientAddress: String?, isTLS: Bool) -> HPACKHeaders {
        var forwarded = HPACKHeaders()
        forwarded.reserveCapacity(block.fields.count + 2)
        var forwardedFor: String?
        for field in block.fields {
            switch field.kind.role {
            case .forwardedFor: forwardedFor = forwardedFor.map { "\($0), \(field.value)" } ?? field.value
            case .forwardedProto, .connectionSpecific: continue
            default: forwarded.add(name: field.name, value: field.value, indexing: field.indexing)
            }
        }
        if let clientAddress {
            forwarded.add(
                name: "x-forwarded-for", value: forwardedFor.map { "\($0), \(clientAddress)" } ?? clientAddress)
        } else if let forwardedFor {
            forwarded.add(name: "x-forwarded-for", value: forwardedFor)
        }
        forwarded.add(name: "x-forwarded-proto", value: isTLS ? "https" : "http")
        return forwarded
    }

    /// Writes the HTTP/1.1 head of a request for an HTTP/1.1 endpoint into `head`: `Host` from
    /// `:authority` when the block has no `host`, the regular fields as they are (HTTP/2 cookie
    /// fields joined into one, RFC 9113 8.2.3), and the forwarding fields. `hasBody` false when
    /// the block ended the stream: the head then says `content-length: 0` for a method that may
    /// carry a body. Returns whether the body must go chunked: it has one, and no length.
    ///
    /// The block was checked by the HTTP/2 handler (lower-case names, no CR, LF or NUL in a
    /// value), so its fields go out as they are; a method or path that could not stand in a
    /// request line was refused before (`Target.isHTTP1Safe`).
    static func writeHTTP1Request(
        _ block: HeaderBlock, target: Target, clientAddress: String?, isTLS: Bool, hasBody: Bool,
        into head: inout ByteBuffer
    ) -> Bool {
        head.writeLine(target.method, " ", target.path, " HTTP/1.1\r\n")
        var hasHost = false
        var hasLength = false
        var cookies: String?
        var forwardedFor: String?
        for field in block.fields {
            // By the kind the field was given when decoded: no string comparisons.
            switch field.kind.role {
            case .pseudo, .forwardedProto, .connectionSpecific:
                continue
            case .host: hasHost = true
            case .contentLength: hasLength = true
            case .cookie:
                cookies = cookies.map { "\($0); \(field.value)" } ?? field.value
                continue
            case .forwardedFor:
                forwardedFor = forwardedFor.map { "\($0), \(field.value)" } ?? field.value
                continue
            default: break
            }
            head.writeField(field.name, field.value)
        }
        if !hasHost, let authority = target.authority { head.writeField("host", authority) }
        if let cookies { head.writeField("cookie", cookies) }
        if let clientAddress { forwardedFor = forwardedFor.map { "\($0), \(clientAddress)" } ?? clientAddress }
        if let forwardedFor { head.writeField("x-forwarded-for", forwardedFor) }
        head.writeField("x-forwarded-proto", isTLS ? "https" : "http")
        var chunked = false
        if !hasBody {
            switch target.method {
            case "GET", "HEAD", "DELETE", "OPTIONS": break
            default: if !hasLength { head.writeField("content-length", "0") }
            }
        } else if !hasLength {
            chunked = true
            head.writeField("transfer-encoding", "chunked")
        }
        head.writeStaticString("\r\n")
        return chunked
    }

    /// The header block of an HTTP/1.1 endpoint's response head (`head` parsed from the readable
    /// bytes of `bytes`), written as HPACK straight from those bytes (`HTTP2Wire.encodeField`):
    /// `:status` and the fields, names in lower case, without the fields of the one connection
    /// (`Connection` and what it names, `Keep-Alive`, `Transfer-Encoding`…). No strings.
    static func writeResponseBlock(_ head: MessageHead, bytes: ByteBuffer, into block: inout ByteBuffer) {
        HTTP2Wire.encodeStatus(head.status, into: &block)
        bytes.withUnsafeReadableBytes { raw in
            for field in head.fields where crosses(field, skippingHost: false) {
                HTTP2Wire.encodeField(
                    name: UnsafeRawBufferPointer(rebasing: raw[field.lineStart..<field.nameEnd]),
                    value: UnsafeRawBufferPointer(rebasing: raw[field.valueStart..<field.valueEnd]), into: &block)
            }
        }
    }

    /// Whether a field of an HTTP/1.1 head goes on into HTTP/2: not one of the one connection's
    /// (RFC 9113 8.2.2), nor `Host` when `skippingHost`. `X-Forwarded-For` does: the proxy wrote it.
    private static func crosses(_ field: HeaderField, skippingHost: Bool) -> Bool {
        switch field.role {
        case .transferEncoding, .connection, .hopByHop, .upgrade: false
        case .host where skippingHost: false
        case .forwardedFor: true
        default: !field.isDropped
        }
    }

    /// Adds the fields of an HTTP/1.1 head (parsed from `raw`) to `block`: names in lower case,
    /// without those of one HTTP/1.1 connection (RFC 9113 8.2.2), and without `Host` when
    /// `skippingHost` (a request's is its `:authority`). `X-Forwarded-For` stays: the proxy wrote it.
    static func addFields(
        of head: MessageHead, _ raw: UnsafeRawBufferPointer, skippingHost: Bool, to block: inout HPACKHeaders
    ) {
        for field in head.fields where crosses(field, skippingHost: skippingHost) {
            block.add(
                name: lowercased(raw, field.lineStart..<field.nameEnd),
                value: String(
                    decoding: UnsafeRawBufferPointer(rebasing: raw[field.valueStart..<field.valueEnd]), as: UTF8.self))
        }
    }

    /// The trailer fields of a chunked HTTP/1.1 body (its trailer lines as they came, each with
    /// its CRLF; checked by `BodyFramer`) as a trailers block: names in lower case, values
    /// trimmed, and none of the fields that only frame a message.
    static func http2Trailers(lines: ByteBuffer) -> HPACKHeaders {
        var block = HPACKHeaders()
        lines.withUnsafeReadableBytes { raw in
            var lineStart = 0
            while let lineFeed = raw[lineStart...].firstIndex(of: .lf) {
                defer { lineStart = lineFeed + 1 }
                let line = lineStart..<(lineFeed > lineStart && raw[lineFeed - 1] == .cr ? lineFeed - 1 : lineFeed)
                guard let colon = raw[line].firstIndex(of: UInt8(ascii: ":")), colon > line.lowerBound else { continue }
                var valueStart = colon + 1
                var valueEnd = line.upperBound
                while valueStart < valueEnd, raw[valueStart] == .space || raw[valueStart] == .tab { valueStart += 1 }
                while valueEnd > valueStart, raw[valueEnd - 1] == .space || raw[valueEnd - 1] == .tab { valueEnd -= 1 }
                let name = lowercased(raw, line.lowerBound..<colon)
                guard !connectionFields.contains(name), name != "content-length", name != "trailer", name != "te" else {
                    continue
                }
                block.add(
                    name: name,
                    value: String(decoding: UnsafeRawBufferPointer(rebasing: raw[valueStart..<valueEnd]), as: UTF8.self)
                )
            }
        }
        return block
    }

    /// The ASCII bytes in `range`, in lower case.
    private static func lowercased(_ raw: UnsafeRawBufferPointer, _ range: Range<Int>) -> String {
        String(unsafeUninitializedCapacity: range.count) { out in
            for (offset, byte) in raw[range].enumerated() {
                out[offset] = byte >= UInt8(ascii: "A") && byte <= UInt8(ascii: "Z") ? byte | 0x20 : byte
            }
            return range.count
        }
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

extension ByteBuffer {
    /// Writes one `name: value` line of an HTTP/1.1 head.
    mutating func writeField(_ name: String, _ value: String) {
        writeLine(name, ": ", value, "\r\n")
    }

    /// Writes `first`, `separator`, `second` and `end` in one copy each and one capacity check
    /// (four ByteBuffer writes cost four).
    mutating func writeLine(_ first: String, _ separator: StaticString, _ second: String, _ end: StaticString) {
        var first = first
        var second = second
        first.withUTF8 { first in
            second.withUTF8 { second in
                let count = first.count + separator.utf8CodeUnitCount + second.count + end.utf8CodeUnitCount
                writeWithUnsafeMutableBytes(minimumWritableBytes: count) { out in
                    var at = out.baseAddress!
                    func put(_ start: UnsafeRawPointer?, _ count: Int) {
                        guard let start, count > 0 else { return }
                        at.copyMemory(from: start, byteCount: count)
                        at += count
                    }
                    put(first.baseAddress, first.count)
                    put(separator.utf8Start, separator.utf8CodeUnitCount)
                    put(second.baseAddress, second.count)
                    put(end.utf8Start, end.utf8CodeUnitCount)
                    return count
                }
            }
        }
    }

    /// Writes the regular fields of a header block as HTTP/1.1 field lines, without the fields of
    /// one connection.
    mutating func writeFields(_ block: HPACKHeaders) {
        for (name, value, _) in block where name.first != ":" && !HTTP2Messages.connectionFields.contains(name) {
            writeField(name, value)
        }
    }

    /// Writes `bytes` as one chunk of a chunked body; nothing when there are none (an empty chunk
    /// would end the body).
    mutating func writeChunk(_ bytes: ByteBuffer) {
        guard bytes.readableBytes > 0 else { return }
        var bytes = bytes
        writeString(String(bytes.readableBytes, radix: 16))
        writeStaticString("\r\n")
        writeBuffer(&bytes)
        writeStaticString("\r\n")
    }

    /// Writes the last chunk of a chunked body and its trailer section (`trailers`' fields).
    mutating func writeLastChunk(trailers: HPACKHeaders?) {
        writeStaticString("0\r\n")
        if let trailers { writeFields(trailers) }
        writeStaticString("\r\n")
    }
}
