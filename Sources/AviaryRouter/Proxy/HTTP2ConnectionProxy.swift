import NIOCore
import NIOHTTP2

/// The streams of one HTTP/2 client connection, frame by frame: it sits after the HTTP/2
/// handler (which parses and checks every frame, keeps the streams' states and answers
/// SETTINGS, PING and the abuse limits) and hands each stream's HEADERS and DATA frames to that
/// stream's `HTTP2StreamProxy`, made when its first header block arrives.
///
/// There is no channel per stream (NIO's multiplexer would make one, with its pipeline, for
/// every request), so the flow control the multiplexer did is done here, from the handler's
/// events: the connection's window is reopened as the client uses it, a stream's only while its
/// upstream takes more (so a slow endpoint holds its own client back and no one else), and a
/// stream reads its upstream only while the client's window and connection can take more.
final class HTTP2ConnectionProxy: ChannelDuplexHandler {
    typealias InboundIn = HTTP2Frame
    typealias OutboundIn = HTTP2Frame
    typealias OutboundOut = HTTP2Frame

    private let core: ProxyCore
    private let pool: UpstreamPool
    private let listenerAddress: String
    private let forwarding: Forwarding
    /// The window the router offers the client, per stream and for the connection; reopened to
    /// this once half of it is used.
    private let targetWindow: Int
    private var context: ChannelHandlerContext?
    private var streams: [HTTP2StreamID: HTTP2StreamProxy] = [:]
    /// The client's SETTINGS_INITIAL_WINDOW_SIZE: a new stream's outbound window.
    private var clientInitialWindow = 65_535
    private var isReading = false
    private var needsFlush = false
    /// The streams that wrote to their upstream during this read, flushed once at its end.
    private var upstreamFlushes: [HTTP2StreamProxy] = []
    private var flushScheduled = false

    init(core: ProxyCore, pool: UpstreamPool, listenerAddress: String, forwarding: Forwarding, targetWindow: Int) {
        self.core = core
        self.pool = pool
        self.listenerAddress = listenerAddress
        self.forwarding = forwarding
        self.targetWindow = targetWindow
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        closeAll()
        self.context = nil
    }

    // MARK: What the streams use

    var allocator: ByteBufferAllocator { context?.channel.allocator ?? ByteBufferAllocator() }

    /// Whether the client's connection takes more now.
    var isWritable: Bool { context?.channel.isWritable ?? false }

    /// Writes a frame of `streamID`'s response (unflushed).
    func write(_ payload: HTTP2Frame.FramePayload, on streamID: HTTP2StreamID, promise: EventLoopPromise<Void>? = nil) {
        context?.write(wrapOutboundOut(HTTP2Frame(streamID: streamID, payload: payload)), promise: promise)
    }

    /// A promise for a write, while the connection is open.
    func makePromise() -> EventLoopPromise<Void>? {
        context?.eventLoop.makePromise()
    }

    /// Flushes what the streams wrote: at the end of the client's read when in one, else once
    /// at the end of this turn of the loop (many upstream reads end in one turn).
    func flush() {
        if isReading {
            needsFlush = true
            return
        }
        guard !flushScheduled, let context else { return }
        flushScheduled = true
        context.eventLoop.assumeIsolated().execute {
            self.flushScheduled = false
            self.context?.flush()
        }
    }

    /// Has `stream`'s upstream flushed at the end of this read, or now outside one.
    func flushUpstream(of stream: HTTP2StreamProxy) {
        if isReading {
            upstreamFlushes.append(stream)
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

    // MARK: The client's frames

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        isReading = true
        let frame = unwrapInboundIn(data)
        switch frame.payload {
        case .headers, .data:
            if let stream = streams[frame.streamID] {
                stream.received(frame.payload)
            } else if case .headers = frame.payload {
                // The handler passes a header block on an unknown stream only when it opens one.
                let stream = HTTP2StreamProxy(
                    streamID: frame.streamID, connection: self, core: core, pool: pool,
                    listenerAddress: listenerAddress, forwarding: forwarding, outboundWindow: clientInitialWindow)
                streams[frame.streamID] = stream
                stream.received(frame.payload)
            }
        case .settings(.settings(let settings)):
            for setting in settings where setting.parameter == .initialWindowSize {
                clientInitialWindow = setting.value
            }
        default:
            // PING, RST_STREAM, GOAWAY, WINDOW_UPDATE and the rest are the handler's; what they
            // change reaches the streams as events.
            break
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        isReading = false
        let flushes = upstreamFlushes
        upstreamFlushes.removeAll(keepingCapacity: true)
        for stream in flushes { stream.flushUpstream() }
        if needsFlush {
            needsFlush = false
            context.flush()
        }
        context.fireChannelReadComplete()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        switch event {
        case let event as NIOHTTP2WindowUpdatedEvent:
            windowChanged(event, context: context)
        case let event as StreamClosedEvent:
            streams.removeValue(forKey: event.streamID)?.closed()
        case let event as NIOHTTP2StreamCreatedEvent:
            if let window = event.localInitialWindowSize { streams[event.streamID]?.outboundWindow = Int(window) }
        case let event as NIOHTTP2BulkStreamWindowChangeEvent:
            for stream in streams.values {
                stream.outboundWindow += event.delta
                if stream.outboundWindow > 0 { stream.clientBecameWritable() }
            }
        default:
            context.fireUserInboundEventTriggered(event)
        }
    }

    private func windowChanged(_ event: NIOHTTP2WindowUpdatedEvent, context: ChannelHandlerContext) {
        if event.streamID == .rootStream {
            // The connection's window: reopened as it is used, whatever the streams do.
            if let inbound = event.inboundWindowSize, inbound <= targetWindow / 2 {
                write(.windowUpdate(windowSizeIncrement: targetWindow - inbound), on: .rootStream)
                flush()
            }
            return
        }
        guard let stream = streams[event.streamID] else { return }
        if let outbound = event.outboundWindowSize {
            let wasClosed = stream.outboundWindow <= 0
            stream.outboundWindow = outbound
            if wasClosed, outbound > 0 { stream.clientBecameWritable() }
        }
        if let inbound = event.inboundWindowSize {
            stream.inboundWindow = inbound
            if inbound <= targetWindow / 2 {
                if stream.holdsRequest {
                    stream.windowOwed = true
                } else {
                    reopenWindow(of: stream)
                    flush()
                }
            }
        }
    }

    private func reopenWindow(of stream: HTTP2StreamProxy) {
        guard stream.isOpen, stream.inboundWindow < targetWindow else { return }
        write(.windowUpdate(windowSizeIncrement: targetWindow - stream.inboundWindow), on: stream.streamID)
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            for stream in streams.values where stream.outboundWindow > 0 { stream.clientBecameWritable() }
        }
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        // A frame the router wrote for a stream that had just closed: the handler dropped it, and
        // the stream is ended already. Anything else is the connection's (see `ConnectionErrorCloser`).
        if error is NIOHTTP2Errors.StreamError { return }
        context.fireErrorCaught(error)
    }

    func channelInactive(context: ChannelHandlerContext) {
        closeAll()
        context.fireChannelInactive()
    }

    private func closeAll() {
        let open = streams.values
        streams.removeAll()
        for stream in open { stream.closed() }
    }
}
