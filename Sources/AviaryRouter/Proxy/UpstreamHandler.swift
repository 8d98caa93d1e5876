import NIOCore
import Synchronization

/// What an upstream connection reports to whoever leased it (a client exchange or a mirror).
protocol UpstreamDelegate: AnyObject {
    /// Whether the upstream may be read from: false while the client cannot take more bytes.
    var wantsUpstreamReads: Bool { get }
    /// A response head arrived, interim (1xx) ones included; the offsets of `head` are into
    /// the readable bytes of `bytes`, which hold the head as it came.
    func upstreamReceivedHead(_ head: MessageHead, bytes: ByteBuffer, from upstream: UpstreamHandler)
    /// Body bytes arrived: as they came (chunked framing included), or only the data when the
    /// delegate set `unchunksBody`.
    func upstreamReceivedBody(_ bytes: ByteBuffer, from upstream: UpstreamHandler)
    /// The trailer lines of a chunked body, as they came (in pieces, each with its CRLF); only
    /// when the delegate set `unchunksBody`.
    func upstreamReceivedTrailers(_ bytes: ByteBuffer, from upstream: UpstreamHandler)
    /// A final response whose `Content-Length` body came in the same read as its head:
    /// `message` holds both as they came (the offsets of `head` are into it). Returns whether
    /// the delegate took the whole message; when it did not, it has handled the head as
    /// `upstreamReceivedHead` does and the body follows as usual.
    func upstreamReceivedWhole(_ head: MessageHead, message: ByteBuffer, from upstream: UpstreamHandler) -> Bool
    /// The response ended; `reusable` says whether the connection can carry another request.
    func upstreamReceivedEnd(from upstream: UpstreamHandler, reusable: Bool)
    /// A read burst ended: a good moment to flush what was written to the client.
    func upstreamReadComplete()
    /// The upstream can take more (or no more) request bytes.
    func upstreamWritabilityChanged(_ upstream: UpstreamHandler)
    /// The connection closed or failed while leased.
    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?)
}

extension UpstreamDelegate {
    /// Trailers are dropped unless the delegate reads them.
    func upstreamReceivedTrailers(_ bytes: ByteBuffer, from upstream: UpstreamHandler) {}

    /// The head alone, then the body: for a delegate that has no use for the whole message.
    func upstreamReceivedWhole(_ head: MessageHead, message: ByteBuffer, from upstream: UpstreamHandler) -> Bool {
        upstreamReceivedHead(
            head, bytes: message.getSlice(at: message.readerIndex, length: head.length)!, from: upstream)
        return false
    }
}

/// An upstream answered with bytes that are not a valid HTTP/1 response.
struct UpstreamProtocolError: Error {}

/// The only handler of an upstream connection: reads responses from the raw bytes (see
/// `MessageHead` and `BodyFramer`), passes them to its delegate, and reads only while the
/// delegate can take more (backpressure towards the upstream).
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = ByteBuffer
    typealias OutboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The largest response head read.
    static let maximumHeadBytes = 65_536

    /// Where the response in flight is.
    private enum State {
        /// No request sent: bytes now answer nothing and make the connection unusable.
        case idle
        /// Waiting for the (next) response head.
        case head
        /// Reading the body.
        case body(BodyFramer)
        /// Switched protocols (101 to an upgrade the request asked for): every byte goes to the
        /// delegate as it came, until the connection closes. Never pooled again.
        case tunnel
    }

    /// The endpoint this connection goes to, the pool's key.
    let endpointKey: String
    /// Who gets the response; set while leased, nil while pooled. Strong on purpose: a mirror
    /// lives only through its connection; every path that ends a lease sets it back to nil.
    var delegate: (any UpstreamDelegate)?
    /// Whether body bytes reach the delegate without their chunked framing (for an HTTP/1.0
    /// client); set by the delegate when the head arrives.
    var unchunksBody = false
    /// How the body of the response whose head was just delivered is framed; nil when it has
    /// none. Set before `upstreamReceivedHead` is called.
    private(set) var responseBodyMode: BodyFramer.Mode?
    /// The pool that holds the connection while it is idle, nil while leased. Strong, not weak:
    /// the pool's idle list holds the handler anyway while this is set, and a weak reference
    /// would move every retain and release of the handler to the slow side-table path.
    var pool: UpstreamPool?
    /// The pool's idle list of this connection's endpoint, found on the first release.
    var idleList: UpstreamPool.IdleList?
    /// The pending idle timer, if any (see `UpstreamPool.release`).
    var idleTimer: Scheduled<Void>?
    /// When the connection, if still idle, is closed.
    var idleDeadline = NIODeadline.uptimeNanoseconds(0)
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private var lastError: (any Error)?
    private var state = State.idle
    private var requestWasHead = false
    private var requestAsksUpgrade = false
    private var isKeepAlive = false
    /// Response bytes received but not read yet (a head cut across reads).
    private var received: ByteBuffer?
    private var head = MessageHead()

    private let stats: RouterStats
    private var isCounted = false
    /// Whether this is a stream of an HTTP/2 connection carrying one exchange (see
    /// `HTTP1OverHTTP2Codec`): not a connection of its own, so neither counted nor pooled.
    let carriesOneExchange: Bool

    init(endpointKey: String, stats: RouterStats, carriesOneExchange: Bool = false) {
        self.endpointKey = endpointKey
        self.stats = stats
        self.carriesOneExchange = carriesOneExchange
    }

    /// Whether the connection is open: kept from the channel's events, on its own loop, so the
    /// check on every lease and release reads no atomic through the channel.
    private(set) var isActive = false
    /// Whether the connection switched protocols and carries raw bytes both ways.
    var isTunnel: Bool { if case .tunnel = state { true } else { false } }
    /// Whether the connection can take more request bytes now.
    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive {
            isActive = true
            countOpen()
        }
    }

    func channelActive(context: ChannelHandlerContext) {
        isActive = true
        countOpen()
        context.fireChannelActive()
    }

    private func countOpen() {
        guard !isCounted, !carriesOneExchange else { return }
        isCounted = true
        stats.openUpstreamConnections.add(1, ordering: .relaxed)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Starts an exchange: the next bytes are the response to a request about to be written.
    /// A request that `asksUpgrade` may be answered 101, which turns the connection into a
    /// tunnel (`isTunnel`).
    func begin(requestWasHead: Bool, asksUpgrade: Bool = false) {
        self.requestWasHead = requestWasHead
        self.requestAsksUpgrade = asksUpgrade
        state = .head
        unchunksBody = false
        received = nil
    }

    /// Writes request bytes (flushed by `flush()`).
    func write(_ bytes: ByteBuffer) {
        context?.write(wrapOutboundOut(bytes), promise: nil)
    }

    /// Flushes written bytes.
    func flush() {
        context?.flush()
    }

    /// Flushes written bytes at the end of the event loop's turn.
    func flush(with flusher: TickFlusher) {
        if let context { flusher.flush(context) }
    }

    /// Closes the connection; a leased connection's delegate must have been cleared first when
    /// it does not want to hear about it (see `abandon`).
    func close() {
        context?.close(promise: nil)
    }

    /// Closes the sending side only (a tunnel whose client stopped sending); the upstream may
    /// still answer. Closes the whole connection if the socket cannot half-close.
    func closeOutput() {
        guard let context else { return }
        let promise = context.eventLoop.makePromise(of: Void.self)
        context.close(mode: .output, promise: promise)
        promise.futureResult.assumeIsolated().whenFailure { _ in self.close() }
    }

    /// Closes the connection without a word to its delegate: the lease ends here.
    func abandon() {
        delegate = nil
        close()
    }

    /// Reads again if a read was held back while the delegate could not take more.
    func resumeReadsIfPending() {
        guard pendingRead, let context else { return }
        pendingRead = false
        context.read()
    }

    func read(context: ChannelHandlerContext) {
        if let delegate, !delegate.wantsUpstreamReads {
            pendingRead = true
        } else {
            context.read()
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        bytes.join(after: &received)
        guard let delegate else {
            // Bytes on an idle connection answer nothing we sent: the connection is unusable.
            context.close(promise: nil)
            return
        }
        do {
            try read(&bytes, for: delegate)
        } catch {
            fail(error, context: context)
        }
    }

    /// Reads responses from `bytes` while the same delegate holds the lease.
    private func read(_ bytes: inout ByteBuffer, for delegate: any UpstreamDelegate) throws {
        while bytes.readableBytes > 0, self.delegate === delegate {
            switch state {
            case .idle:
                throw UpstreamProtocolError()
            case .head:
                let parsed = try bytes.withUnsafeReadableBytes { raw in
                    try head.parse(raw, isRequest: false, limit: Self.maximumHeadBytes)
                }
                guard case .complete(let length) = parsed else {
                    received = bytes
                    return
                }
                let framer =
                    head.status < 200
                    ? nil : BodyFramer.forBody(of: head, isRequest: false, requestWasHead: requestWasHead)
                if let framer, case .length(let bodyLength) = framer.mode, bytes.readableBytes - length >= bodyLength {
                    // The whole response is here: the client may get it in one write.
                    responseBodyMode = framer.mode
                    isKeepAlive = head.isKeepAlive
                    let message = bytes.getSlice(at: bytes.readerIndex, length: length + bodyLength)!
                    if delegate.upstreamReceivedWhole(head, message: message, from: self) {
                        bytes.moveReaderIndex(forwardBy: length + bodyLength)
                        end(leftover: bytes.readableBytes, delegate)
                        return
                    }
                    bytes.moveReaderIndex(forwardBy: length)
                    state = .body(framer)
                    continue
                }
                let headBytes = bytes.readSlice(length: length)!
                if head.status == 101 {
                    // Only an upgrade the request asked for may be switched to.
                    guard requestAsksUpgrade, head.asksUpgrade else { throw UpstreamProtocolError() }
                    state = .tunnel
                    responseBodyMode = nil
                    delegate.upstreamReceivedHead(head, bytes: headBytes, from: self)
                    continue
                }
                if head.status < 200 {
                    delegate.upstreamReceivedHead(head, bytes: headBytes, from: self)
                    continue
                }
                responseBodyMode = framer?.mode
                isKeepAlive = head.isKeepAlive && framer?.mode != .untilClose
                delegate.upstreamReceivedHead(head, bytes: headBytes, from: self)
                if let framer {
                    state = .body(framer)
                } else {
                    end(leftover: bytes.readableBytes, delegate)
                    return
                }
            case .body(var framer):
                let consumed: Int
                if unchunksBody, case .chunked = framer.mode {
                    var data: [Range<Int>] = []
                    var trailers: [Range<Int>] = []
                    consumed = try bytes.withUnsafeReadableBytes { raw in
                        try framer.consume(raw, onData: { data.append($0) }, onTrailers: { trailers.append($0) })
                    }
                    for range in data {
                        delegate.upstreamReceivedBody(
                            bytes.getSlice(at: bytes.readerIndex + range.lowerBound, length: range.count)!, from: self)
                    }
                    for range in trailers {
                        delegate.upstreamReceivedTrailers(
                            bytes.getSlice(at: bytes.readerIndex + range.lowerBound, length: range.count)!, from: self)
                    }
                    bytes.moveReaderIndex(forwardBy: consumed)
                } else {
                    consumed = try bytes.withUnsafeReadableBytes { raw in try framer.consume(raw) { _ in } }
                    delegate.upstreamReceivedBody(bytes.readSlice(length: consumed)!, from: self)
                }
                if framer.isComplete {
                    end(leftover: bytes.readableBytes, delegate)
                    return
                }
                state = .body(framer)
            case .tunnel:
                delegate.upstreamReceivedBody(bytes.readSlice(length: bytes.readableBytes)!, from: self)
            }
        }
    }

    /// The response ended; bytes after it answer nothing and make the connection unusable.
    private func end(leftover: Int, _ delegate: any UpstreamDelegate) {
        state = .idle
        delegate.upstreamReceivedEnd(from: self, reusable: isKeepAlive && leftover == 0)
    }

    private func fail(_ error: any Error, context: ChannelHandlerContext) {
        lastError = error
        state = .idle
        context.close(promise: nil)
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        delegate?.upstreamReadComplete()
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        delegate?.upstreamWritabilityChanged(self)
        context.fireChannelWritabilityChanged()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        lastError = error
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        if isCounted {
            isCounted = false
            stats.openUpstreamConnections.subtract(1, ordering: .relaxed)
        }
        idleTimer?.cancel()
        idleTimer = nil
        pool?.remove(self)
        if let delegate {
            // A body that runs until the connection closes has just ended.
            if case .body(let framer) = state, framer.mode == .untilClose, lastError == nil {
                isKeepAlive = false
                end(leftover: 0, delegate)
            }
            if let delegate = self.delegate {
                self.delegate = nil
                delegate.upstreamClosed(self, error: lastError)
            }
        }
        context.fireChannelInactive()
    }
}

extension ByteBuffer {
    /// Puts the bytes held back from earlier reads (a head cut across reads, pipelined requests)
    /// in front of `self`, and takes them.
    mutating func join(after held: inout ByteBuffer?) {
        guard var earlier = held else { return }
        held = nil
        earlier.writeBuffer(&self)
        self = earlier
    }
}
