import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// Carries one HTTP/1.1 exchange of a client connection on a stream of the router's HTTP/2
/// connection to an endpoint, for a Service that speaks only HTTP/2 (`protocol: h2c`).
///
/// It sits in the stream's channel under an `UpstreamHandler`, which writes and reads HTTP/1.1
/// bytes as it does on any endpoint's connection, so the client side of the proxy needs no
/// second path: the request bytes are read as a head and body and go out as a HEADERS frame
/// and DATA frames; the response's frames come back as HTTP/1.1 bytes, chunked when the
/// endpoint gave no `content-length`, with its trailers as the chunked trailer section. Every
/// response says `connection: close`, so the stream, which carries one exchange, is never
/// pooled (the client's connection stays open: the proxy decides that on its own).
final class HTTP1OverHTTP2Codec: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame.FramePayload
    typealias InboundOut = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = HTTP2Frame.FramePayload

    /// The request bytes or the response frames broke the rules of their protocol.
    struct ConversionError: Error, Equatable {
        var reason: String
    }

    private enum RequestState {
        case head
        case body(BodyFramer)
        case ended
    }

    private var requestState = RequestState.head
    private var requestHead = MessageHead()
    /// Request bytes written before the head was whole.
    private var heldRequest: ByteBuffer?
    private var requestWasHead = false
    /// Whether the final response head went, and whether its body is sent chunked.
    private var responseStarted = false
    private var chunked = false

    // MARK: Request: HTTP/1.1 bytes to frames

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        var bytes = unwrapOutboundIn(data)
        bytes.join(after: &heldRequest)
        do {
            var frames: [HTTP2Frame.FramePayload] = []
            try convertRequest(&bytes, into: &frames)
            if bytes.readableBytes > 0 { heldRequest = bytes }
            for frame in frames { context.write(wrapOutboundOut(frame), promise: nil) }
            promise?.succeed(())
        } catch {
            promise?.fail(error)
            context.fireErrorCaught(error)
        }
    }

    /// Reads what it can of the request from `bytes`: a whole head becomes a HEADERS frame, body
    /// data DATA frames, the last one ending the stream.
    private func convertRequest(_ bytes: inout ByteBuffer, into frames: inout [HTTP2Frame.FramePayload]) throws {
        while bytes.readableBytes > 0 {
            switch requestState {
            case .head:
                let parsed = try bytes.withUnsafeReadableBytes { raw in
                    try requestHead.parse(raw, isRequest: true, limit: UpstreamHandler.maximumHeadBytes)
                }
                guard case .complete(let length) = parsed else { return }
                let framer = BodyFramer.forBody(of: requestHead, isRequest: true)
                let block = bytes.withUnsafeReadableBytes { raw in
                    requestWasHead = raw[requestHead.method].elementsEqual("HEAD".utf8)
                    return Self.requestBlock(requestHead, raw)
                }
                bytes.moveReaderIndex(forwardBy: length)
                frames.append(.headers(.init(headers: block, endStream: framer == nil)))
                requestState = framer.map { .body($0) } ?? .ended
            case .body(var framer):
                var data: [Range<Int>] = []
                let consumed = try bytes.withUnsafeReadableBytes { raw in
                    try framer.consume(raw) { data.append($0) }
                }
                for range in data {
                    let slice = bytes.getSlice(at: bytes.readerIndex + range.lowerBound, length: range.count)!
                    frames.append(.data(.init(data: .byteBuffer(slice))))
                }
                bytes.moveReaderIndex(forwardBy: consumed)
                guard framer.isComplete else {
                    requestState = .body(framer)
                    return
                }
                requestState = .ended
                if case .data(var last) = frames.last, !data.isEmpty {
                    last.endStream = true
                    frames[frames.count - 1] = .data(last)
                } else {
                    frames.append(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
                }
            case .ended:
                throw ConversionError(reason: "bytes after the end of the request")
            }
        }
    }

    /// The header block of an HTTP/1.1 request head: the pseudo-fields from the request line and
    /// `Host`, then the fields, names in lower case, without those of one HTTP/1.1 connection
    /// (RFC 9113 8.2.2). An absolute-form target gives its authority and path.
    static func requestBlock(_ head: MessageHead, _ raw: UnsafeRawBufferPointer) -> HPACKHeaders {
        var block = HPACKHeaders()
        block.reserveCapacity(head.fields.count + 4)
        var target = String(decoding: raw[head.target], as: UTF8.self)
        var authority: String?
        // Origin-form (`/path`), the usual target, needs no look at a scheme.
        for scheme in ["http://", "https://"] where target.first != "/" && target.lowercased().hasPrefix(scheme) {
            let rest = target.dropFirst(scheme.count)
            let slash = rest.firstIndex(where: { $0 == "/" || $0 == "?" }) ?? rest.endIndex
            authority = String(rest[..<slash])
            target = rest[slash...].first == "/" ? String(rest[slash...]) : "/" + rest[slash...]
        }
        let method = String(decoding: raw[head.method], as: UTF8.self)
        block.add(name: ":method", value: method)
        block.add(name: ":scheme", value: "http")
        if authority == nil, let host = head.fields.first(where: { $0.role == .host }) {
            authority = String(decoding: raw[host.valueStart..<host.valueEnd], as: UTF8.self)
        }
        if let authority { block.add(name: ":authority", value: authority) }
        block.add(name: ":path", value: target)
        HTTP2Messages.addFields(of: head, raw, skippingHost: true, to: &block)
        return block
    }

    // MARK: Response: frames to HTTP/1.1 bytes

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var out = context.channel.allocator.buffer(capacity: 0)
        switch unwrapInboundIn(data) {
        case .headers(let headers) where !responseStarted:
            guard let status = headers.headers.first(name: ":status").flatMap(Int.init), (100...999).contains(status)
            else {
                context.fireErrorCaught(ConversionError(reason: "a response header block without a valid :status"))
                return
            }
            if status >= 200 { responseStarted = true }
            let framing = Self.writeResponseHead(
                status: status, headers.headers, endStream: headers.endStream, requestWasHead: requestWasHead,
                into: &out)
            chunked = framing == .chunked
        case .headers(let trailers):
            // Only a chunked body can carry trailers in HTTP/1.1; after a length they are dropped.
            guard chunked else { return }
            out.writeLastChunk(trailers: trailers.headers)
        case .data(let frame):
            guard case .byteBuffer(let bytes) = frame.data else { return }
            if chunked {
                out.writeChunk(bytes)
                if frame.endStream { out.writeLastChunk(trailers: nil) }
            } else {
                out = bytes
            }
        default:
            return
        }
        if out.readableBytes > 0 { context.fireChannelRead(wrapInboundOut(out)) }
    }

    /// How the body after a converted response head is framed.
    enum ResponseFraming: Equatable {
        /// None follows: an interim answer, or a block that ended the stream.
        case none
        /// As many bytes as the endpoint's `content-length` says.
        case length
        /// Chunked by the codec.
        case chunked
    }

    /// Writes the HTTP/1.1 head of a response whose header block is `block`, and says how its body
    /// follows. A final head that ends the stream and gives no length says `content-length: 0`
    /// (unless the answer cannot have a body); one that does not end it and gives no length is
    /// chunked.
    static func writeResponseHead(
        status: Int, _ block: HPACKHeaders, endStream: Bool, requestWasHead: Bool, into out: inout ByteBuffer
    ) -> ResponseFraming {
        out.writeString("HTTP/1.1 \(status) \(HTTPResponseStatus(statusCode: status).reasonPhrase)\r\n")
        out.writeFields(block)
        guard status >= 200 else {
            out.writeStaticString("\r\n")
            return .none
        }
        let mayHaveBody = !requestWasHead && status != 204 && status != 304
        let hasLength = block.contains(name: "content-length")
        let framing: ResponseFraming
        if endStream {
            if mayHaveBody && !hasLength { out.writeStaticString("content-length: 0\r\n") }
            framing = .none
        } else if hasLength || !mayHaveBody {
            framing = .length
        } else {
            out.writeStaticString("transfer-encoding: chunked\r\n")
            framing = .chunked
        }
        out.writeStaticString("connection: close\r\n\r\n")
        return framing
    }
}
