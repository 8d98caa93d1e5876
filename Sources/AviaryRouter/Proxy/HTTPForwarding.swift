import NIOCore
import NIOHTTP1

/// How the proxy rewrites message heads between client and upstream (RFC 9110 §7.6), byte to
/// byte: fields are copied from the received head as they came, so a head costs one buffer and
/// no strings.
enum HTTPForwarding {
    /// Writes the request head sent upstream: the request line with `HTTP/1.1`, every field
    /// but the hop-by-hop ones (and those the client's `Connection` names), `X-Forwarded-For`
    /// as one field with the client address appended, `X-Forwarded-Proto` (`http`, or `https`
    /// where the router terminated TLS) when absent.
    /// `Transfer-Encoding` is kept: a chunked body is forwarded with its framing as it came.
    /// With `upgrade` (a request the proxy carries as a tunnel once it is answered 101), its
    /// `Upgrade` field and `Connection: Upgrade` go too.
    static func writeUpstreamRequest(
        _ head: MessageHead, _ bytes: UnsafeRawBufferPointer, added: AddedFields, upgrade: Bool = false,
        into out: inout ByteBuffer
    ) {
        if !head.dropsBeyondKeepAlive && head.minorVersion == 1 {
            // The common request: copied whole, with the added fields before its empty line. A
            // `Connection: keep-alive` stays: the upstream connection is kept alive as well.
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.start..<head.length - 2]))
        } else {
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.start..<head.target.upperBound]))
            out.writeStaticString(" HTTP/1.1\r\n")
            for field in head.fields where !field.isDropped || field.role == .transferEncoding {
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.lineStart..<field.lineEnd]))
            }
        }
        if upgrade { writeUpgradeFields(head, bytes, into: &out) }
        if !head.hasForwardedFor && !head.hasForwardedProto {
            // The common request: the added fields and the final empty line in one write.
            added.commonTail.withUnsafeBytes { out.writeBytes($0) }
            return
        }
        let clientAddress = added.clientAddress
        if head.hasForwardedFor || clientAddress != nil {
            out.writeStaticString("X-Forwarded-For: ")
            var separator = false
            for field in head.fields where field.role == .forwardedFor && field.valueEnd > field.valueStart {
                if separator { out.writeStaticString(", ") }
                out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.valueStart..<field.valueEnd]))
                separator = true
            }
            if let clientAddress {
                if separator { out.writeStaticString(", ") }
                out.writeString(clientAddress)
            }
            out.writeStaticString("\r\n")
        }
        if !head.hasForwardedProto {
            out.writeString(added.forwardedProto)
        }
        out.writeStaticString("\r\n")
    }

    /// What the proxy adds to the requests of one client connection, made once per connection.
    struct AddedFields {
        /// The client's address, appended to `X-Forwarded-For`.
        let clientAddress: String?
        /// The `X-Forwarded-Proto` line: `https` on a connection the router terminated TLS on.
        let forwardedProto: String
        /// `X-Forwarded-For`, `X-Forwarded-Proto` and the head's final empty line, as written
        /// for a request that carries neither field.
        let commonTail: [UInt8]

        init(clientAddress: String?, isTLS: Bool = false) {
            self.clientAddress = clientAddress
            forwardedProto = isTLS ? "X-Forwarded-Proto: https\r\n" : "X-Forwarded-Proto: http\r\n"
            let forwardedFor = clientAddress.map { "X-Forwarded-For: \($0)\r\n" } ?? ""
            commonTail = Array((forwardedFor + forwardedProto + "\r\n").utf8)
        }
    }

    /// Whether a response head goes to the client exactly as it came: nothing to drop, nothing
    /// to add, the same version, framing the client reads as is.
    static func isForwardedUnchanged(_ head: MessageHead, clientMinorVersion: Int, keepAlive: Bool) -> Bool {
        !head.dropsBeyondKeepAlive && keepAlive && clientMinorVersion == 1 && head.minorVersion == 1
            && !(head.hasTransferEncoding && head.contentLength != nil)
    }

    /// Writes the response head sent to the client: the status line in the client's version,
    /// every field but the hop-by-hop ones (`Transfer-Encoding` kept unless `unchunks`, for an
    /// HTTP/1.0 client that gets the data alone), and `Connection` saying whether the client
    /// connection stays open.
    ///
    /// A 101 that switches the connection to a tunnel (`upgrade`) keeps its `Upgrade` field
    /// and says `Connection: Upgrade`. `added` is a whole field line of the router's own (a
    /// sticky session's `Set-Cookie`), written after the upstream's fields.
    static func writeClientResponse(
        _ head: MessageHead, _ bytes: UnsafeRawBufferPointer, clientMinorVersion: Int, keepAlive: Bool,
        unchunks: Bool, upgrade: Bool = false, added: [UInt8]? = nil, into out: inout ByteBuffer
    ) {
        out.writeStaticString(clientMinorVersion == 1 ? "HTTP/1.1" : "HTTP/1.0")
        out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[head.start + 8..<head.startLineEnd]))
        for field in head.fields {
            switch field.role {
            case .transferEncoding where unchunks: continue
            case .transferEncoding: break
            case .contentLength where head.hasTransferEncoding: continue
            default: if field.isDropped { continue }
            }
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.lineStart..<field.lineEnd]))
        }
        if let added { out.writeBytes(added) }
        if upgrade {
            writeUpgradeFields(head, bytes, into: &out)
        } else if !keepAlive {
            out.writeStaticString("Connection: close\r\n")
        } else if clientMinorVersion == 0 {
            out.writeStaticString("Connection: keep-alive\r\n")
        }
        out.writeStaticString("\r\n")
    }

    /// The hop-by-hop fields of an upgrade the proxy carries: the message's own `Upgrade` field
    /// as it came, and `Connection: Upgrade`.
    private static func writeUpgradeFields(
        _ head: MessageHead, _ bytes: UnsafeRawBufferPointer, into out: inout ByteBuffer
    ) {
        if let index = head.upgradeField {
            let field = head.fields[index]
            out.writeBytes(UnsafeRawBufferPointer(rebasing: bytes[field.lineStart..<field.lineEnd]))
        }
        out.writeStaticString("Connection: Upgrade\r\n")
    }

    /// Methods a proxy may send twice (RFC 9110 §9.2.2).
    static func isIdempotent(_ method: some Collection<UInt8>) -> Bool {
        switch method.count {
        case 3: return method.elementsEqual("GET".utf8) || method.elementsEqual("PUT".utf8)
        case 4: return method.elementsEqual("HEAD".utf8)
        case 5: return method.elementsEqual("TRACE".utf8)
        case 6: return method.elementsEqual("DELETE".utf8)
        case 7: return method.elementsEqual("OPTIONS".utf8)
        default: return false
        }
    }

    /// The fields of a request head as `HTTPHeaders`, for routes that match on headers.
    static func headers(of head: MessageHead, _ bytes: UnsafeRawBufferPointer) -> HTTPHeaders {
        var headers = HTTPHeaders()
        for field in head.fields {
            headers.add(
                name: String(
                    decoding: UnsafeRawBufferPointer(rebasing: bytes[field.lineStart..<field.nameEnd]), as: UTF8.self),
                value: String(
                    decoding: UnsafeRawBufferPointer(rebasing: bytes[field.valueStart..<field.valueEnd]), as: UTF8.self)
            )
        }
        return headers
    }
}
