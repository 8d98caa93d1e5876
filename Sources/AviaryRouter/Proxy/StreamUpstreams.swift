import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import NIOPosix

/// The endpoint side of one request that came on an HTTP/2 stream: a stream of an HTTP/2
/// connection to the endpoint, or an HTTP/1.1 connection of its own. Used on one event loop.
protocol StreamUpstream: AnyObject {
    var delegate: (any StreamUpstreamDelegate)? { get set }
    /// Sends the request's header block (the client's, as it came); `endStream` when the request
    /// has no body.
    func begin(headers: HeaderBlock, target: HTTP2Messages.Target, endStream: Bool, forwarding: Forwarding)
    /// Sends a data or trailers frame of the request, unflushed.
    func write(_ payload: HTTP2Frame.FramePayload)
    func flush()
    /// Whether it takes more of the request now.
    var isWritable: Bool { get }
    /// Reads again after its delegate held reads back.
    func resumeReads()
    /// Ends the exchange before the response ended (the client left, or the router answered).
    func cancel()
}

/// Who the router forwards for: added to each request as `x-forwarded-for` and `-proto`.
struct Forwarding {
    var clientAddress: String?
    var isTLS: Bool
}

/// What the endpoint side tells the client side.
protocol StreamUpstreamDelegate: AnyObject {
    /// A frame of the response: headers (interim, final or trailers) or data.
    func upstreamReceived(_ payload: HTTP2Frame.FramePayload)
    /// An HTTP/1.1 endpoint's response head (interim or final), already an HPACK block
    /// (`HTTP2Messages.writeResponseBlock`): it goes to the client as it is.
    func upstreamReceivedHead(status: Int, block: ByteBuffer, endStream: Bool)
    func upstreamReadComplete()
    func upstreamWritabilityChanged()
    /// The endpoint closed or reset the exchange before its response ended.
    func upstreamFailed()
    /// Whether the client can take more of the response now.
    var wantsUpstreamReads: Bool { get }
}

/// What both kinds of stream upstream share: the channel they write to, reads held back while
/// the client cannot take more, and the delegate told of what comes back. `In` is what the
/// channel reads, `Out` what it writes.
class StreamUpstreamHandler<In, Out>: ChannelDuplexHandler {
    typealias InboundIn = In
    typealias OutboundIn = Out
    typealias OutboundOut = Out

    weak var delegate: (any StreamUpstreamDelegate)?
    private(set) var context: ChannelHandlerContext?
    /// Whether the response's end has been read.
    var responseEnded = false
    private var readHeld = false

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
    }

    /// Each kind reads its own messages (declared here, so that the channel's calls reach the
    /// subclass's override).
    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        context.fireChannelRead(data)
    }

    func flush() {
        context?.flush()
    }

    var isWritable: Bool { context?.channel.isWritable ?? false }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func read(context: ChannelHandlerContext) {
        if delegate?.wantsUpstreamReads == false {
            readHeld = true
        } else {
            context.read()
        }
    }

    func resumeReads() {
        guard readHeld, let context else { return }
        readHeld = false
        context.read()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged()
    }

    /// Tells the delegate, if the response did not end, that the exchange failed.
    func channelInactive(context: ChannelHandlerContext) {
        self.context = nil
        let delegate = self.delegate
        self.delegate = nil
        if !responseEnded { delegate?.upstreamFailed() }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// One stream to an HTTP/2 endpoint: frames pass both ways as they are.
final class HTTP2UpstreamStream: StreamUpstreamHandler<HTTP2Frame.FramePayload, HTTP2Frame.FramePayload>,
    StreamUpstream
{
    func begin(headers: HeaderBlock, target: HTTP2Messages.Target, endStream: Bool, forwarding: Forwarding) {
        let block = HTTP2Messages.upstreamRequest(
            headers, clientAddress: forwarding.clientAddress, isTLS: forwarding.isTLS)
        write(.headers(.init(headers: block, endStream: endStream)))
    }

    func write(_ payload: HTTP2Frame.FramePayload) {
        context?.write(wrapOutboundOut(payload), promise: nil)
    }

    override func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let payload = unwrapInboundIn(data)
        switch payload {
        case .headers(let headers) where headers.endStream: responseEnded = true
        case .data(let data) where data.endStream: responseEnded = true
        default: break
        }
        delegate?.upstreamReceived(payload)
    }

    func cancel() {
        delegate = nil
        // An open stream is reset (RST_STREAM CANCEL); a finished one is already gone.
        context?.close(promise: nil)
    }
}

/// The HTTP/2 connections of HTTP/2 clients' streams on one event loop: one per HTTP/2
/// endpoint, carrying every stream (streams to HTTP/1.1 endpoints lease the pooled connections of
/// the HTTP/1.1 path, see `HTTP1ExchangeUpstream`), and the sweep of the streams' deadlines.
/// Used only on its loop.
final class StreamUpstreams {
    /// HTTP/2 settings of the router's connections to endpoints (and of its clients'): a 1 MiB
    /// window per stream and connection, so one stream is not held to 64 KiB in flight.
    static let windowSize = 1 << 20

    private final class Connection {
        var multiplexer: NIOHTTP2Handler.StreamMultiplexer?
        var channel: (any Channel)?
        var waiters: [(Result<NIOHTTP2Handler.StreamMultiplexer, any Error>) -> Void] = []
    }

    let eventLoop: any EventLoop
    private var connections: [String: Connection] = [:]
    /// The HTTP/2 client connections with streams that have a deadline, which the sweep checks
    /// (watched per connection, not per stream: a request costs no table operation here).
    private var watched: [ObjectIdentifier: HTTP2ConnectionProxy] = [:]
    /// One task per loop, every `sweepInterval` while there is anything to check: deadlines
    /// and idle connections cost no scheduled task each (NIO's timer heap removes a cancelled
    /// task by a linear search, and one per request made the heap the router's top cost).
    private var sweep: Scheduled<Void>?
    static let sweepInterval = TimeAmount.milliseconds(50)

    init(eventLoop: any EventLoop) {
        self.eventLoop = eventLoop
    }

    /// Opens a stream to an HTTP/2 endpoint, on its connection (made first when there is none).
    func openStream(
        to endpoint: UpstreamEndpoint, connectTimeout: TimeAmount,
        _ completion: @escaping (Result<HTTP2UpstreamStream, any Error>) -> Void
    ) {
        openStream(to: endpoint, connectTimeout: connectTimeout, completion) { pipeline in
            try pipeline.addHandler(HTTP2UpstreamStream())
        }
    }

    /// Opens a stream to an HTTP/2 endpoint that carries one HTTP/1.1 exchange of a client
    /// connection: the `UpstreamHandler` it gives reads and writes HTTP/1.1, and
    /// `HTTP1OverHTTP2Codec` under it converts.
    func openExchangeStream(
        to endpoint: UpstreamEndpoint, connectTimeout: TimeAmount, stats: RouterStats,
        _ completion: @escaping (Result<UpstreamHandler, any Error>) -> Void
    ) {
        let key = endpoint.key
        openStream(to: endpoint, connectTimeout: connectTimeout, completion) { pipeline in
            try pipeline.addHandler(HTTP1OverHTTP2Codec())
            try pipeline.addHandler(UpstreamHandler(endpointKey: key, stats: stats, carriesOneExchange: true))
        }
    }

    /// Opens a stream whose pipeline `setUp` fills; `completion` gets its handler of type `Handler`.
    private func openStream<Handler: ChannelHandler>(
        to endpoint: UpstreamEndpoint, connectTimeout: TimeAmount,
        _ completion: @escaping (Result<Handler, any Error>) -> Void,
        setUp: @escaping @Sendable (ChannelPipeline.SynchronousOperations) throws -> Void
    ) {
        multiplexer(of: endpoint, connectTimeout: connectTimeout) { result in
            switch result {
            case .failure(let error):
                completion(.failure(error))
            case .success(let multiplexer):
                multiplexer.createStreamChannel { stream in
                    stream.eventLoop.makeCompletedFuture { try setUp(stream.pipeline.syncOperations) }
                }.assumeIsolated().whenComplete { result in
                    completion(
                        result.flatMap { stream in
                            Result { try stream.pipeline.syncOperations.handler(type: Handler.self) }
                        })
                }
            }
        }
    }

    private func multiplexer(
        of endpoint: UpstreamEndpoint, connectTimeout: TimeAmount,
        _ completion: @escaping (Result<NIOHTTP2Handler.StreamMultiplexer, any Error>) -> Void
    ) {
        if let connection = connections[endpoint.key] {
            if let multiplexer = connection.multiplexer {
                completion(.success(multiplexer))
            } else {
                connection.waiters.append(completion)
            }
            return
        }
        let connection = Connection()
        connection.waiters.append(completion)
        connections[endpoint.key] = connection
        let key = endpoint.key
        bootstrap(connectTimeout: connectTimeout) { channel in
            var settings = NIOHTTP2Handler.ConnectionConfiguration()
            settings.initialSettings = [
                HTTP2Setting(parameter: .maxConcurrentStreams, value: 100),
                HTTP2Setting(parameter: .initialWindowSize, value: Self.windowSize),
                HTTP2Setting(parameter: .enablePush, value: 0),
            ]
            settings.targetWindowSize = Self.windowSize
            var stream = NIOHTTP2Handler.StreamConfiguration()
            stream.targetWindowSize = Self.windowSize
            // The requests of many streams to the endpoint leave in one write per turn of the loop.
            try channel.pipeline.syncOperations.addHandler(FlushCoalescer())
            _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                mode: .client, connectionConfiguration: settings, streamConfiguration: stream,
                inboundStreamInitializer: { stream in stream.close() })
        }
        .connect(to: endpoint.address)
        .assumeIsolated()
        .whenComplete { result in
            let outcome = result.flatMap { channel in
                Result {
                    (channel, try channel.pipeline.syncOperations.handler(type: NIOHTTP2Handler.self).syncMultiplexer())
                }
            }
            let waiters = connection.waiters
            connection.waiters = []
            switch outcome {
            case .success(let (channel, multiplexer)):
                connection.channel = channel
                connection.multiplexer = multiplexer
                channel.closeFuture.assumeIsolated().whenComplete { _ in
                    if self.connections[key] === connection { self.connections[key] = nil }
                }
                for waiter in waiters { waiter(.success(multiplexer)) }
            case .failure(let error):
                if self.connections[key] === connection { self.connections[key] = nil }
                for waiter in waiters { waiter(.failure(error)) }
            }
        }
    }

    /// A TCP connection to a pod, without Nagle's delay, whose pipeline `configure` sets up.
    private func bootstrap(
        connectTimeout: TimeAmount, _ configure: @escaping @Sendable (any Channel) throws -> Void
    ) -> ClientBootstrap {
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in channel.eventLoop.makeCompletedFuture { try configure(channel) } }
    }

    /// Has the sweep check the deadlines of `connection`'s streams until `unwatch`.
    func watch(_ connection: HTTP2ConnectionProxy) {
        watched[ObjectIdentifier(connection)] = connection
        armSweep()
    }

    func unwatch(_ connection: HTTP2ConnectionProxy) {
        watched[ObjectIdentifier(connection)] = nil
    }

    private func armSweep() {
        guard sweep == nil else { return }
        sweep = eventLoop.assumeIsolated().scheduleTask(in: Self.sweepInterval) {
            self.sweep = nil
            self.runSweep()
        }
    }

    /// Times out the streams past their deadline.
    private func runSweep() {
        let now = NIODeadline.now()
        for connection in watched.values { connection.timeOutStreams(dueBy: now) }
        if !watched.isEmpty { armSweep() }
    }

    /// Closes the connections to endpoints not in `endpointKeys` (open HTTP/2 streams end with them).
    func close(notIn endpointKeys: Set<String>) {
        for (key, connection) in connections where !endpointKeys.contains(key) {
            connections[key] = nil
            connection.channel?.close(promise: nil)
        }
    }

    /// Closes every connection.
    func closeAll() {
        close(notIn: [])
    }
}

/// A copy of one HTTP/2 client stream sent to a mirror service; its answer is read and dropped.
/// It never slows or fails the client: frames are kept only until the upstream is ready (at
/// most `MirrorExchange.maximumBufferedBytes`), and a mirror that cannot take the next frame
/// at once is cancelled.
final class HTTP2Mirror: StreamUpstreamDelegate {
    private let service: CompiledService
    private var upstream: (any StreamUpstream)?
    private var pending: [HTTP2Frame.FramePayload] = []
    private var pendingBytes = 0
    private var finished = false
    /// The event loop's set of counters (`UpstreamPool.shard`).
    private let shard: Int

    /// Opens the copy to the next endpoint of `service` and sends the request's header block.
    init(
        service: CompiledService, headers: HeaderBlock, target: HTTP2Messages.Target, endStream: Bool,
        forwarding: Forwarding, pool: UpstreamPool, limits: ResolvedLimits
    ) {
        self.service = service
        self.shard = pool.shard
        guard let endpoint = service.nextEndpoint() else {
            fail()
            return
        }
        service.stats[shard].mirrored.add(1, ordering: .relaxed)
        let attach: (Result<any StreamUpstream, any Error>) -> Void = { result in
            guard case .success(let upstream) = result, !self.finished else {
                if case .success(let upstream) = result { upstream.cancel() }
                self.fail()
                return
            }
            self.upstream = upstream
            upstream.delegate = self
            upstream.begin(headers: headers, target: target, endStream: endStream, forwarding: forwarding)
            for payload in self.pending { upstream.write(payload) }
            self.pending = []
            upstream.flush()
        }
        pool.openStreamUpstream(to: endpoint, of: service, limits: limits, attach)
    }

    /// Copies a data or trailers frame of the request.
    func copy(_ payload: HTTP2Frame.FramePayload) {
        guard !finished else { return }
        if let upstream {
            guard upstream.isWritable else {
                fail()
                return
            }
            upstream.write(payload)
            upstream.flush()
        } else {
            if case .data(let data) = payload, case .byteBuffer(let bytes) = data.data {
                pendingBytes += bytes.readableBytes
            }
            guard pendingBytes <= MirrorExchange.maximumBufferedBytes else {
                fail()
                return
            }
            pending.append(payload)
        }
    }

    /// Gives up on the copy (counted as a mirror failure).
    func fail() {
        guard !finished else { return }
        finished = true
        service.stats[shard].mirrorFailures.add(1, ordering: .relaxed)
        let upstream = self.upstream
        self.upstream = nil
        pending = []
        upstream?.delegate = nil
        upstream?.cancel()
    }

    func upstreamReceived(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers(let headers) where headers.endStream: answerEnded()
        case .data(let data) where data.endStream: answerEnded()
        default: return
        }
    }

    func upstreamReceivedHead(status: Int, block: ByteBuffer, endStream: Bool) {
        if endStream { answerEnded() }
    }

    private func answerEnded() {
        finished = true
        upstream?.delegate = nil
        upstream = nil
    }

    func upstreamReadComplete() {}

    func upstreamWritabilityChanged() {}

    func upstreamFailed() {
        upstream = nil
        fail()
    }

    var wantsUpstreamReads: Bool { true }
}
