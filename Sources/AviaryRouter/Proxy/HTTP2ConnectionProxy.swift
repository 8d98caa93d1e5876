import NIOCore
import NIOHPACK
import NIOHTTP2

/// One HTTP/2 client connection, from its bytes: it parses the client's frames (RFC 9113),
/// keeps the streams' states and both directions' flow control, answers SETTINGS and PING,
/// enforces the abuse limits, and hands each stream's request head, body and trailers to that
/// stream's `HTTP2StreamProxy`, whose answer it frames and writes back.
///
/// The router is only ever the server side of these connections, and relays what it reads, so
/// this is the part of HTTP/2 a proxy needs and no more: no stream channels, no frame objects
/// between handlers, and the frames of every stream that wrote during one read (or one turn of
/// the loop) leave in one buffer and one write. The client's header blocks are decoded by
/// `NIOHPACK`; the router's are written by `HTTP2Wire.encode`, without a dynamic table.
///
/// Flow control: the connection's window is reopened as the client uses it; a stream's only
/// while its upstream takes more, so a slow endpoint holds back its own client and no one else.
/// A stream reads its upstream only while its window and the connection's are open and nothing
/// of it waits to be sent; what does not fit the client's windows waits in the stream's queue.
///
/// Limits, as NIO's handler kept them before: at most 250 open streams (one more is a
/// PROTOCOL_ERROR for the connection); more than 200 RST_STREAM, 200 PING/SETTINGS/PRIORITY
/// frames or 200 malformed streams in 30 seconds, or a second empty DATA frame in a row, is
/// ENHANCE_YOUR_CALM; header blocks larger than the table's header limit end the connection.
final class HTTP2ConnectionProxy: ChannelInboundHandler, TurnEndFlushing {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    private let core: ProxyCore
    private let pool: UpstreamPool
    private let listenerAddress: String
    private let forwarding: Forwarding
    /// The window the router offers the client, per stream and for the connection; reopened to
    /// this once half of it is used.
    private let targetWindow: Int
    private let maxHeaderBytes: Int
    private var context: ChannelHandlerContext?
    private(set) var allocator = ByteBufferAllocator()
    /// Whether the client's connection takes more, as its last writability change said (read
    /// for every stream's every upstream read, so kept here rather than asked of the channel).
    private var clientWritable = true

    private var streams: [UInt32: HTTP2StreamProxy] = [:]
    /// The route table's generation that the listener's routes and the limits below come from:
    /// a stream reads them here (`routesAndLimits`), and the table is read again only when it
    /// changed.
    private var tableGeneration = -1
    private var cachedListener: CompiledListener?
    private var cachedLimits = ResolvedLimits(nil)
    /// Whether the loop's sweep checks this connection's streams' deadlines (`watchDeadlines`).
    private var watchingDeadlines = false
    /// The highest stream the client opened.
    private var lastStreamID: UInt32 = 0
    /// Bytes read that do not make a whole frame yet.
    private var unread: ByteBuffer?
    private var prefaceRead = false
    private var settingsRead = false
    /// A header block whose CONTINUATION frames are still to come.
    private var partialBlock: (stream: UInt32, endStream: Bool, bytes: ByteBuffer, frames: Int)?
    private var decoder: HPACKRequestDecoder
    /// The table size the client last set below the default, to be signalled at the start of the
    /// next block the router writes (its own table is always empty: see `HTTP2Wire.encode`).
    private var tableSizeUpdate: Int?

    /// What the client may still send on the connection before the router reopens it.
    private var connectionInboundWindow = 65_535
    /// What the router may still send on the connection.
    private var connectionOutboundWindow = 65_535
    /// The client's SETTINGS_INITIAL_WINDOW_SIZE: a new stream's outbound window.
    private var clientInitialWindow = 65_535
    private var clientMaxFrameSize = HTTP2Wire.maxFrameSize
    /// Streams with frames waiting for the client's windows to open.
    private var blocked: [HTTP2StreamProxy] = []

    private var resets = HTTP2Wire.RateWindow()
    private var controlFrames = HTTP2Wire.RateWindow()
    private var malformedStreams = HTTP2Wire.RateWindow()
    private var emptyDataFrames = 0
    /// The client sent GOAWAY: the connection ends once its streams have.
    private var clientGoingAway = false
    /// The router sent GOAWAY and is closing.
    private var closing = false

    /// Frames written and not yet handed to the channel.
    private var output: ByteBuffer
    private var isReading = false
    /// When the bytes being read arrived: the clock is read once for all the requests of one read.
    private var readAt: NIODeadline?
    private var needsFlush = false
    private var flushScheduled = false
    /// The streams that wrote to their upstream during this read, flushed once at its end.
    private var upstreamFlushes: [HTTP2StreamProxy] = []

    init(
        core: ProxyCore, pool: UpstreamPool, listenerAddress: String, forwarding: Forwarding, targetWindow: Int,
        maxHeaderBytes: Int
    ) {
        self.core = core
        self.pool = pool
        self.listenerAddress = listenerAddress
        self.forwarding = forwarding
        self.targetWindow = targetWindow
        self.maxHeaderBytes = maxHeaderBytes
        let allocator = ByteBufferAllocator()
        decoder = HPACKRequestDecoder(maxListSize: max(maxHeaderBytes, 1))
        output = allocator.buffer(capacity: 0)
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
        clientWritable = context.channel.isWritable
        output = allocator.buffer(capacity: 1024)
        // The router's SETTINGS, then the connection's window opened to the target.
        let settings: [(UInt16, Int)] = [
            (HTTP2Wire.Setting.maxConcurrentStreams, HTTP2Wire.maxConcurrentStreams),
            (HTTP2Wire.Setting.maxHeaderListSize, maxHeaderBytes),
            (HTTP2Wire.Setting.initialWindowSize, targetWindow),
            (HTTP2Wire.Setting.enablePush, 0),
        ]
        HTTP2Wire.writeFrameHeader(
            length: 6 * settings.count, type: HTTP2Wire.FrameType.settings, flags: 0, stream: 0, into: &output)
        for (parameter, value) in settings {
            output.writeInteger(parameter)
            output.writeInteger(UInt32(truncatingIfNeeded: value))
        }
        writeWindowUpdate(stream: 0, increment: targetWindow - connectionInboundWindow)
        connectionInboundWindow = targetWindow
        flush()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeAll()
        self.context = nil
    }

    // MARK: What the streams use

    /// Whether `stream` may read more of its answer: its window and the connection's are open,
    /// nothing of it waits, and the client's connection takes more.
    func takesMore(_ stream: HTTP2StreamProxy) -> Bool {
        stream.queued.isEmpty && stream.outboundWindow > 0 && connectionOutboundWindow > 0
            && clientWritable
    }

    /// Writes a frame of `stream`'s answer: a header block, data, or a reset. Data beyond the
    /// client's windows, and what follows it, waits in the stream's queue.
    func write(_ payload: HTTP2Frame.FramePayload, on stream: HTTP2StreamProxy) {
        guard stream.isOpen, !stream.localEnded, !closing else { return }
        switch payload {
        case .rstStream(let code):
            reset(stream, code: code)
        case .headers, .data:
            send(.frame(payload), on: stream)
        default:
            break
        }
    }

    /// Writes a header block already encoded for the client (`HTTP2Wire`), as `write` does.
    func writeBlock(_ block: ByteBuffer, endStream: Bool, on stream: HTTP2StreamProxy) {
        guard stream.isOpen, !stream.localEnded, !closing else { return }
        send(.block(block, endStream: endStream), on: stream)
    }

    private func send(_ part: HTTP2StreamProxy.AnswerPart, on stream: HTTP2StreamProxy) {
        if stream.queued.isEmpty {
            if let rest = sendWhatFits(part, on: stream) { enqueue(rest, on: stream) }
        } else {
            stream.queued.append(part)
        }
    }

    /// Flushes what the streams wrote once, at the end of this turn of the loop (many reads end
    /// in one turn), with the loop's other flushes (`TickFlusher`).
    func flush() {
        if isReading {
            needsFlush = true
            return
        }
        guard !flushScheduled, context != nil else { return }
        flushScheduled = true
        pool.flusher.flush(self)
    }

    /// The loop's turn ended (`TickFlusher`): what was written goes.
    func flushAtTurnEnd() {
        flushScheduled = false
        flushNow()
    }

    /// Has `stream`'s upstream flushed at the end of this read, or now outside one.
    func flushUpstream(of stream: HTTP2StreamProxy) {
        if isReading {
            if !stream.upstreamFlushPending {
                stream.upstreamFlushPending = true
                upstreamFlushes.append(stream)
            }
        } else {
            stream.flushUpstream()
        }
    }

    /// `stream`'s upstream takes more again: its window is reopened if that waited for it.
    func requestMayFlow(_ stream: HTTP2StreamProxy) {
        guard stream.windowOwed else { return }
        stream.windowOwed = false
        reopenWindow(of: stream)
        flush()
    }

    // MARK: Reading

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if var earlier = unread {
            unread = nil
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        guard !closing else { return }
        isReading = true
        readAt = nil
        if !prefaceRead {
            guard bytes.readableBytes >= ProtocolSniffer.preface.count else {
                unread = bytes
                return
            }
            let preface = bytes.readBytes(length: ProtocolSniffer.preface.count)
            guard preface == ProtocolSniffer.preface else {
                fail(.protocolError)
                return
            }
            prefaceRead = true
        }
        while !closing, bytes.readableBytes >= HTTP2Wire.headerLength {
            let start = bytes.readerIndex
            let length =
                Int(bytes.getInteger(at: start, as: UInt8.self)!) << 16
                | Int(bytes.getInteger(at: start + 1, as: UInt16.self)!)
            guard length <= HTTP2Wire.maxFrameSize else {
                fail(.frameSizeError)
                return
            }
            guard bytes.readableBytes >= HTTP2Wire.headerLength + length else { break }
            let type = bytes.getInteger(at: start + 3, as: UInt8.self)!
            let flags = bytes.getInteger(at: start + 4, as: UInt8.self)!
            let stream = bytes.getInteger(at: start + 5, as: UInt32.self)! & 0x7FFF_FFFF
            bytes.moveReaderIndex(forwardBy: HTTP2Wire.headerLength)
            let payload = bytes.readSlice(length: length)!
            received(type: type, flags: flags, stream: stream, payload: payload)
        }
        if !closing, bytes.readableBytes > 0 {
            // Kept in a buffer of its own, so the channel's read buffer can be reused.
            var rest = allocator.buffer(capacity: max(bytes.readableBytes, 1024))
            rest.writeBuffer(&bytes)
            unread = rest
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        isReading = false
        let flushes = upstreamFlushes
        upstreamFlushes.removeAll(keepingCapacity: true)
        for stream in flushes {
            stream.upstreamFlushPending = false
            stream.flushUpstream()
        }
        if needsFlush {
            needsFlush = false
            if pool.flusher.batchesConnections { flush() } else { flushNow() }
        }
        context.fireChannelReadComplete()
    }

    private func received(type: UInt8, flags: UInt8, stream: UInt32, payload: ByteBuffer) {
        if let block = partialBlock {
            guard type == HTTP2Wire.FrameType.continuation, stream == block.stream else {
                fail(.protocolError)
                return
            }
            continued(block, flags: flags, payload: payload)
            return
        }
        guard settingsRead || type == HTTP2Wire.FrameType.settings else {
            // The client's preface ends with a SETTINGS frame (RFC 9113, 3.4).
            fail(.protocolError)
            return
        }
        switch type {
        case HTTP2Wire.FrameType.data: receivedData(flags: flags, stream: stream, payload: payload)
        case HTTP2Wire.FrameType.headers: receivedHeaders(flags: flags, stream: stream, payload: payload)
        case HTTP2Wire.FrameType.priority:
            guard stream != 0 else { return fail(.protocolError) }
            guard payload.readableBytes == 5 else { return streamError(stream, .frameSizeError) }
            guard controlFrames.record(at: .now()) else { return fail(.enhanceYourCalm) }
        case HTTP2Wire.FrameType.rstStream: receivedReset(stream: stream, payload: payload)
        case HTTP2Wire.FrameType.settings: receivedSettings(flags: flags, stream: stream, payload: payload)
        case HTTP2Wire.FrameType.ping: receivedPing(flags: flags, stream: stream, payload: payload)
        case HTTP2Wire.FrameType.goAway:
            guard stream == 0 else { return fail(.protocolError) }
            clientGoingAway = true
            if streams.isEmpty { close() }
        case HTTP2Wire.FrameType.windowUpdate: receivedWindowUpdate(stream: stream, payload: payload)
        case HTTP2Wire.FrameType.pushPromise, HTTP2Wire.FrameType.continuation:
            // A client never pushes; a CONTINUATION must follow a HEADERS frame.
            fail(.protocolError)
        default:
            // Unknown frame types are ignored (RFC 9113, 4.1).
            break
        }
    }

    private func receivedHeaders(flags: UInt8, stream: UInt32, payload: ByteBuffer) {
        guard stream != 0, stream & 1 == 1 else { return fail(.protocolError) }
        guard var block = HTTP2Wire.unpadded(payload, flags: flags) else { return fail(.protocolError) }
        if flags & HTTP2Wire.Flag.priority != 0 {
            // Stream dependency and weight: priorities are not kept.
            guard block.readableBytes >= 5 else { return fail(.frameSizeError) }
            block.moveReaderIndex(forwardBy: 5)
        }
        let endStream = flags & HTTP2Wire.Flag.endStream != 0
        if flags & HTTP2Wire.Flag.endHeaders == 0 {
            var bytes = allocator.buffer(capacity: block.readableBytes * 2)
            bytes.writeBuffer(&block)
            partialBlock = (stream, endStream, bytes, 1)
            return
        }
        headerBlock(block, stream: stream, endStream: endStream)
    }

    private func continued(
        _ block: (stream: UInt32, endStream: Bool, bytes: ByteBuffer, frames: Int), flags: UInt8,
        payload: ByteBuffer
    ) {
        var block = block
        var payload = payload
        partialBlock = nil
        block.bytes.writeBuffer(&payload)
        block.frames += 1
        // A block may be as long as the header limit plus a frame, in as many frames as that
        // takes in 8 KiB ones (at least 128); longer, or more, is a CONTINUATION flood (empty
        // CONTINUATION frames would never reach the length).
        let longest = max(maxHeaderBytes, HTTP2Wire.maxFrameSize) + HTTP2Wire.maxFrameSize
        guard block.bytes.readableBytes <= longest, block.frames <= max(128, longest / 8192) else {
            return fail(.enhanceYourCalm)
        }
        if flags & HTTP2Wire.Flag.endHeaders == 0 {
            partialBlock = block
        } else {
            headerBlock(block.bytes, stream: block.stream, endStream: block.endStream)
        }
    }

    /// The listener's compiled routes (nil when the table has none for it) and the limits, from
    /// the current route table.
    func routesAndLimits() -> (listener: CompiledListener?, limits: ResolvedLimits) {
        let current = core.store.generation
        if current != tableGeneration {
            let snapshot = core.store.snapshot()
            tableGeneration = snapshot.generation
            cachedListener = snapshot.table.listeners[listenerAddress]
            cachedLimits = snapshot.table.limits
        }
        return (cachedListener, cachedLimits)
    }

    /// When the bytes being read arrived: a new stream's start, for its latency and deadline.
    /// The clock is read by the first request of a read only: a read often holds many.
    private func readTime() -> NIODeadline {
        if let readAt { return readAt }
        let now = NIODeadline.now()
        readAt = now
        return now
    }

    /// A whole header block: a new stream's request head, or a stream's trailers.
    private func headerBlock(_ block: ByteBuffer, stream id: UInt32, endStream: Bool) {
        // Decoded even for a stream that is gone, to keep the compression context in step.
        let headers: HeaderBlock
        do {
            headers = try decoder.decode(block)
        } catch {
            return fail(.compressionError)
        }
        emptyDataFrames = 0
        if let stream = streams[id] {
            guard !stream.remoteEnded else { return streamError(id, .streamClosed) }
            // Trailers: they end the request.
            guard endStream, case .trailers = HTTP2Wire.checkTrailers(headers) else {
                return streamError(id, .protocolError)
            }
            guard stream.expectedLength == nil || stream.expectedLength == 0 else {
                return streamError(id, .protocolError)
            }
            stream.remoteEnded = true
            stream.received(.headers(.init(headers: headers.hpackHeaders, endStream: true)))
            closeIfDone(stream)
            return
        }
        // A frame for a stream that closed (the client may not have seen its end yet) is ignored.
        guard id > lastStreamID else { return }
        lastStreamID = id
        guard !clientGoingAway else { return }
        guard streams.count < HTTP2Wire.maxConcurrentStreams else { return fail(.protocolError) }
        guard case .request(let request) = HTTP2Wire.checkRequest(headers),
            !endStream || request.contentLength == nil || request.contentLength == 0
        else {
            return streamError(id, .protocolError)
        }
        let stream = HTTP2StreamProxy(
            streamID: HTTP2StreamID(Int32(id)), connection: self, pool: pool,
            listenerAddress: listenerAddress, forwarding: forwarding, outboundWindow: clientInitialWindow,
            startedAt: readTime())
        stream.inboundWindow = targetWindow
        stream.expectedLength = request.contentLength
        stream.remoteEnded = endStream
        streams[id] = stream
        stream.start(request, headers: headers, endStream: endStream)
        closeIfDone(stream)
    }

    private func receivedData(flags: UInt8, stream id: UInt32, payload: ByteBuffer) {
        guard id != 0 else { return fail(.protocolError) }
        let flowed = payload.readableBytes
        connectionInboundWindow -= flowed
        guard connectionInboundWindow >= 0 else { return fail(.flowControlError) }
        if connectionInboundWindow <= targetWindow / 2 {
            // The connection's window: reopened as it is used, whatever the streams do.
            writeWindowUpdate(stream: 0, increment: targetWindow - connectionInboundWindow)
            connectionInboundWindow = targetWindow
            flush()
        }
        guard let data = HTTP2Wire.unpadded(payload, flags: flags) else { return fail(.protocolError) }
        let endStream = flags & HTTP2Wire.Flag.endStream != 0
        if endStream {
            emptyDataFrames = 0
        } else if data.readableBytes == 0 {
            emptyDataFrames += 1
            guard emptyDataFrames <= 1 else { return fail(.enhanceYourCalm) }
        }
        guard let stream = streams[id] else {
            // A stream never opened is a PROTOCOL_ERROR; a closed one's data is dropped.
            if id > lastStreamID { fail(.protocolError) }
            return
        }
        guard !stream.remoteEnded else { return streamError(id, .streamClosed) }
        stream.inboundWindow -= flowed
        guard stream.inboundWindow >= 0 else { return streamError(id, .flowControlError) }
        if let expected = stream.expectedLength {
            // A body longer or shorter than its content-length would be another request, or half
            // of one, to an HTTP/1.1 endpoint.
            let left = expected - data.readableBytes
            guard left >= 0, !endStream || left == 0 else { return streamError(id, .protocolError) }
            stream.expectedLength = left
        }
        if endStream { stream.remoteEnded = true }
        stream.received(.data(.init(data: .byteBuffer(data), endStream: endStream)))
        if stream.isOpen, !stream.remoteEnded, stream.inboundWindow <= targetWindow / 2 {
            if stream.holdsRequest {
                stream.windowOwed = true
            } else {
                reopenWindow(of: stream)
                flush()
            }
        }
        closeIfDone(stream)
    }

    private func receivedReset(stream id: UInt32, payload: ByteBuffer) {
        guard payload.readableBytes == 4 else { return fail(.frameSizeError) }
        guard id != 0, id <= lastStreamID else { return fail(.protocolError) }
        guard resets.record(at: .now()) else { return fail(.enhanceYourCalm) }
        if let stream = streams[id] { close(stream) }
    }

    private func receivedSettings(flags: UInt8, stream: UInt32, payload: ByteBuffer) {
        guard stream == 0 else { return fail(.protocolError) }
        if flags & HTTP2Wire.Flag.ack != 0 {
            guard payload.readableBytes == 0 else { return fail(.frameSizeError) }
            return
        }
        guard payload.readableBytes % 6 == 0 else { return fail(.frameSizeError) }
        guard controlFrames.record(at: .now()) else { return fail(.enhanceYourCalm) }
        settingsRead = true
        var payload = payload
        while let parameter = payload.readInteger(as: UInt16.self), let raw = payload.readInteger(as: UInt32.self) {
            let value = Int(raw)
            switch parameter {
            case HTTP2Wire.Setting.headerTableSize:
                if value < HPACKEncoder.defaultDynamicTableSize { tableSizeUpdate = value }
            case HTTP2Wire.Setting.enablePush:
                guard value <= 1 else { return fail(.protocolError) }
            case HTTP2Wire.Setting.initialWindowSize:
                guard value <= HTTP2Wire.maxWindow else { return fail(.flowControlError) }
                let delta = value - clientInitialWindow
                clientInitialWindow = value
                for stream in streams.values {
                    stream.outboundWindow += delta
                    guard stream.outboundWindow <= HTTP2Wire.maxWindow else { return fail(.flowControlError) }
                }
            case HTTP2Wire.Setting.maxFrameSize:
                guard value >= HTTP2Wire.maxFrameSize, value <= 16_777_215 else { return fail(.protocolError) }
                clientMaxFrameSize = min(value, 1 << 20)
            default:
                // MAX_CONCURRENT_STREAMS and MAX_HEADER_LIST_SIZE bound what the router would
                // open or send unasked, which it never does; unknown settings are ignored.
                break
            }
        }
        HTTP2Wire.writeFrameHeader(
            length: 0, type: HTTP2Wire.FrameType.settings, flags: HTTP2Wire.Flag.ack, stream: 0, into: &output)
        windowsOpened()
        flush()
    }

    private func receivedPing(flags: UInt8, stream: UInt32, payload: ByteBuffer) {
        guard payload.readableBytes == 8 else { return fail(.frameSizeError) }
        guard stream == 0 else { return fail(.protocolError) }
        guard flags & HTTP2Wire.Flag.ack == 0 else { return }
        guard controlFrames.record(at: .now()) else { return fail(.enhanceYourCalm) }
        var payload = payload
        HTTP2Wire.writeFrameHeader(
            length: 8, type: HTTP2Wire.FrameType.ping, flags: HTTP2Wire.Flag.ack, stream: 0, into: &output)
        output.writeBuffer(&payload)
        flush()
    }

    private func receivedWindowUpdate(stream id: UInt32, payload: ByteBuffer) {
        guard payload.readableBytes == 4 else { return fail(.frameSizeError) }
        let increment = Int(payload.getInteger(at: payload.readerIndex, as: UInt32.self)! & 0x7FFF_FFFF)
        if id == 0 {
            guard increment > 0 else { return fail(.protocolError) }
            connectionOutboundWindow += increment
            guard connectionOutboundWindow <= HTTP2Wire.maxWindow else { return fail(.flowControlError) }
            windowsOpened()
            return
        }
        guard let stream = streams[id] else {
            if id > lastStreamID { fail(.protocolError) }
            return
        }
        guard increment > 0 else { return streamError(id, .protocolError) }
        let wasClosed = stream.outboundWindow <= 0
        stream.outboundWindow += increment
        guard stream.outboundWindow <= HTTP2Wire.maxWindow else { return streamError(id, .flowControlError) }
        if !stream.queued.isEmpty {
            windowsOpened()
        } else if wasClosed, stream.outboundWindow > 0, takesMore(stream) {
            stream.clientBecameWritable()
        }
    }

    // MARK: Writing

    /// Sends what the client's windows take of `part` now; returns the rest, if any.
    private func sendWhatFits(
        _ part: HTTP2StreamProxy.AnswerPart, on stream: HTTP2StreamProxy
    ) -> HTTP2StreamProxy.AnswerPart? {
        let id = UInt32(Int32(stream.streamID))
        switch part {
        case .block(var block, let endStream):
            writeHeaders(stream: id, endStream: endStream) { $0.writeBuffer(&block) }
            if endStream { ended(stream) }
        case .frame(.headers(let headers)):
            writeHeaders(stream: id, endStream: headers.endStream) { HTTP2Wire.encode(headers.headers, into: &$0) }
            if headers.endStream { ended(stream) }
        case .frame(.data(let data)):
            guard case .byteBuffer(var bytes) = data.data else { return nil }
            while true {
                let room = min(stream.outboundWindow, connectionOutboundWindow, clientMaxFrameSize)
                if bytes.readableBytes <= room || bytes.readableBytes == 0 {
                    stream.outboundWindow -= bytes.readableBytes
                    connectionOutboundWindow -= bytes.readableBytes
                    writeData(&bytes, stream: id, endStream: data.endStream)
                    if data.endStream { ended(stream) }
                    return nil
                }
                guard room > 0 else { return .frame(.data(.init(data: .byteBuffer(bytes), endStream: data.endStream))) }
                var part = bytes.readSlice(length: room)!
                stream.outboundWindow -= room
                connectionOutboundWindow -= room
                writeData(&part, stream: id, endStream: false)
            }
        default:
            break
        }
        return nil
    }

    /// `part` waits for the client's windows, behind what waits already.
    private func enqueue(_ part: HTTP2StreamProxy.AnswerPart, on stream: HTTP2StreamProxy) {
        stream.queued.append(part)
        if !stream.isBlocked {
            stream.isBlocked = true
            blocked.append(stream)
        }
    }

    /// Writes a header block (`encode` writes it) as HEADERS, and CONTINUATION frames when it is
    /// longer than the client's largest frame.
    private func writeHeaders(stream: UInt32, endStream: Bool, _ encode: (inout ByteBuffer) -> Void) {
        let endFlag = endStream ? HTTP2Wire.Flag.endStream : 0
        let start = output.writerIndex
        output.moveWriterIndex(forwardBy: HTTP2Wire.headerLength)
        if let tableSizeUpdate {
            // After the client lowered its table size, the next block says so first.
            HTTP2Wire.writeInteger(tableSizeUpdate, prefix: 5, flags: 0x20, into: &output)
            self.tableSizeUpdate = nil
        }
        encode(&output)
        let length = output.writerIndex - start - HTTP2Wire.headerLength
        if length <= clientMaxFrameSize {
            HTTP2Wire.setFrameHeader(
                length: length, type: HTTP2Wire.FrameType.headers, flags: HTTP2Wire.Flag.endHeaders | endFlag,
                stream: stream, at: start, in: &output)
            return
        }
        // A block longer than a frame: HEADERS, then CONTINUATION frames.
        var block = output.getSlice(at: start + HTTP2Wire.headerLength, length: length)!
        block = ByteBuffer(buffer: block)
        output.moveWriterIndex(to: start)
        var type = HTTP2Wire.FrameType.headers
        var flags = endFlag
        while block.readableBytes > 0 {
            var part = block.readSlice(length: min(block.readableBytes, clientMaxFrameSize))!
            if block.readableBytes == 0 { flags |= HTTP2Wire.Flag.endHeaders }
            HTTP2Wire.writeFrameHeader(
                length: part.readableBytes, type: type, flags: flags, stream: stream, into: &output)
            output.writeBuffer(&part)
            type = HTTP2Wire.FrameType.continuation
            flags = 0
        }
    }

    private func writeData(_ bytes: inout ByteBuffer, stream: UInt32, endStream: Bool) {
        HTTP2Wire.writeFrameHeader(
            length: bytes.readableBytes, type: HTTP2Wire.FrameType.data,
            flags: endStream ? HTTP2Wire.Flag.endStream : 0, stream: stream, into: &output)
        if bytes.readableBytes <= 4096 {
            output.writeBuffer(&bytes)
        } else {
            // A large part goes as it is, after what was written before it.
            handOver()
            context?.write(wrapOutboundOut(bytes), promise: nil)
        }
    }

    private func writeWindowUpdate(stream: UInt32, increment: Int) {
        HTTP2Wire.writeFrameHeader(
            length: 4, type: HTTP2Wire.FrameType.windowUpdate, flags: 0, stream: stream, into: &output)
        output.writeInteger(UInt32(truncatingIfNeeded: increment))
    }

    private func writeReset(stream: UInt32, code: HTTP2ErrorCode) {
        HTTP2Wire.writeFrameHeader(
            length: 4, type: HTTP2Wire.FrameType.rstStream, flags: 0, stream: stream, into: &output)
        output.writeInteger(UInt32(code.networkCode))
    }

    /// Hands the frames written so far to the channel (unflushed).
    private func handOver() {
        guard output.readableBytes > 0, let context else { return }
        context.write(wrapOutboundOut(output), promise: nil)
        output = allocator.buffer(capacity: 1024)
    }

    private func flushNow() {
        handOver()
        context?.flush()
    }

    /// The client's windows opened (a WINDOW_UPDATE or its SETTINGS): what waited goes, and
    /// streams that stopped reading their upstream read again.
    private func windowsOpened() {
        let waiting = blocked
        blocked = []
        for stream in waiting {
            // Closed meanwhile: `close` emptied its queue.
            guard stream.isOpen, stream.isBlocked else { continue }
            while let next = stream.queued.first, stream.isOpen {
                stream.queued.removeFirst()
                if let rest = sendWhatFits(next, on: stream) {
                    stream.queued.insert(rest, at: 0)
                    break
                }
            }
            if stream.isOpen, !stream.queued.isEmpty {
                blocked.append(stream)
            } else {
                stream.isBlocked = false
            }
        }
        flush()
        guard connectionOutboundWindow > 0, clientWritable else { return }
        for stream in streams.values where takesMore(stream) { stream.clientBecameWritable() }
    }

    // MARK: Streams' ends

    /// The router wrote the stream's last frame.
    private func ended(_ stream: HTTP2StreamProxy) {
        stream.localEnded = true
        if !stream.remoteEnded {
            // Answered before the request ended: the client is asked to stop sending it (RFC
            // 9113, 8.1), which also frees the stream.
            writeReset(stream: UInt32(Int32(stream.streamID)), code: .noError)
        }
        close(stream)
    }

    private func closeIfDone(_ stream: HTTP2StreamProxy) {
        if stream.remoteEnded, stream.localEnded { close(stream) }
    }

    /// Resets `stream` with `code` and closes it.
    private func reset(_ stream: HTTP2StreamProxy, code: HTTP2ErrorCode) {
        writeReset(stream: UInt32(Int32(stream.streamID)), code: code)
        close(stream)
        flush()
    }

    /// A malformed or misused stream (RFC 9113, 5.4.2): reset, counted, and a connection that
    /// makes too many of them is cut off.
    private func streamError(_ id: UInt32, _ code: HTTP2ErrorCode) {
        guard malformedStreams.record(at: .now()) else { return fail(.enhanceYourCalm) }
        writeReset(stream: id, code: code)
        if let stream = streams[id] { close(stream) }
        flush()
    }

    private func close(_ stream: HTTP2StreamProxy) {
        let id = UInt32(Int32(stream.streamID))
        guard streams.removeValue(forKey: id) != nil else { return }
        stream.queued.removeAll()
        if stream.isBlocked {
            stream.isBlocked = false
            blocked.removeAll { $0 === stream }
        }
        stream.closed()
        if streams.isEmpty {
            stopWatchingDeadlines()
            if clientGoingAway { close() }
        }
    }

    /// A stream of the connection has a deadline: the loop's sweep checks the connection's
    /// streams until none is left.
    func watchDeadlines() {
        guard !watchingDeadlines else { return }
        watchingDeadlines = true
        pool.streams.watch(self)
    }

    private func stopWatchingDeadlines() {
        guard watchingDeadlines else { return }
        watchingDeadlines = false
        pool.streams.unwatch(self)
    }

    /// Times out the streams whose deadline is `now` or before (the loop's sweep calls it from a
    /// stream's first deadline until the connection has no stream left).
    func timeOutStreams(dueBy now: NIODeadline) {
        for stream in streams.values where stream.deadline.map({ $0 <= now }) ?? false {
            stream.timedOut()
        }
    }

    /// A connection error (RFC 9113, 5.4.1): GOAWAY with `code`, then the connection closes.
    private func fail(_ code: HTTP2ErrorCode) {
        guard !closing else { return }
        HTTP2Wire.writeFrameHeader(length: 8, type: HTTP2Wire.FrameType.goAway, flags: 0, stream: 0, into: &output)
        output.writeInteger(lastStreamID)
        output.writeInteger(UInt32(code.networkCode))
        close()
    }

    private func close() {
        guard !closing else { return }
        closing = true
        flushNow()
        context?.close(promise: nil)
        closeAll()
    }

    // MARK: The connection

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        clientWritable = context.channel.isWritable
        if clientWritable, connectionOutboundWindow > 0 {
            for stream in streams.values where takesMore(stream) { stream.clientBecameWritable() }
        }
        context.fireChannelWritabilityChanged()
    }

    func channelInactive(context: ChannelHandlerContext) {
        closing = true
        closeAll()
        context.fireChannelInactive()
    }

    private func reopenWindow(of stream: HTTP2StreamProxy) {
        guard stream.isOpen, !stream.remoteEnded, stream.inboundWindow < targetWindow else { return }
        writeWindowUpdate(stream: UInt32(Int32(stream.streamID)), increment: targetWindow - stream.inboundWindow)
        stream.inboundWindow = targetWindow
    }

    private func closeAll() {
        let open = streams.values
        streams.removeAll()
        stopWatchingDeadlines()
        blocked.removeAll()
        for stream in open { stream.closed() }
    }
}
