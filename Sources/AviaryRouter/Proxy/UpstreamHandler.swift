import NIOCore
import NIOHTTP1
import Synchronization

/// What an upstream connection reports to whoever leased it (a client exchange or a mirror).
protocol UpstreamDelegate: AnyObject {
    /// Whether the upstream may be read from: false while the client cannot take more bytes.
    var wantsUpstreamReads: Bool { get }
    /// A response part arrived.
    func upstreamReceived(_ part: HTTPClientResponsePart, from upstream: UpstreamHandler)
    /// A read burst ended: a good moment to flush what was written to the client.
    func upstreamReadComplete()
    /// The upstream can take more (or no more) request bytes.
    func upstreamWritabilityChanged(_ upstream: UpstreamHandler)
    /// The connection closed or failed while leased.
    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?)
}

/// The last handler of an upstream connection: passes response parts to its delegate and
/// reads only while the delegate can take them (backpressure towards the upstream).
final class UpstreamHandler: ChannelDuplexHandler {
    typealias InboundIn = HTTPClientResponsePart
    typealias OutboundIn = HTTPClientRequestPart
    typealias OutboundOut = HTTPClientRequestPart

    /// The endpoint this connection goes to, the pool's key.
    let endpointKey: String
    /// Who gets the response; set while leased, nil while pooled. Strong on purpose: a mirror
    /// lives only through its connection; every path that ends a lease sets it back to nil.
    var delegate: (any UpstreamDelegate)?
    /// The pool that owns the connection while it is idle.
    weak var pool: UpstreamPool?
    /// The pending idle timer, if any (see `UpstreamPool.release`).
    var idleTimer: Scheduled<Void>?
    /// When the connection, if still idle, is closed.
    var idleDeadline = NIODeadline.uptimeNanoseconds(0)
    private var context: ChannelHandlerContext?
    private var pendingRead = false
    private var lastError: (any Error)?

    private let stats: RouterStats
    private var isCounted = false

    init(endpointKey: String, stats: RouterStats) {
        self.endpointKey = endpointKey
        self.stats = stats
    }

    /// Whether the connection is open.
    var isActive: Bool { context?.channel.isActive ?? false }
    /// Whether the connection can take more request bytes now.
    var isWritable: Bool { context?.channel.isWritable ?? false }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        if context.channel.isActive { countOpen() }
    }

    func channelActive(context: ChannelHandlerContext) {
        countOpen()
        context.fireChannelActive()
    }

    private func countOpen() {
        guard !isCounted else { return }
        isCounted = true
        stats.openUpstreamConnections.add(1, ordering: .relaxed)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
    }

    /// Writes a request part (flushed by `flush()`).
    func write(_ part: HTTPClientRequestPart) {
        context?.write(wrapOutboundOut(part), promise: nil)
    }

    /// Flushes written parts.
    func flush() {
        context?.flush()
    }

    /// Closes the connection; a leased connection's delegate must have been cleared first when
    /// it does not want to hear about it.
    func close() {
        context?.close(promise: nil)
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
        let part = unwrapInboundIn(data)
        if let delegate {
            delegate.upstreamReceived(part, from: self)
        } else {
            // Bytes on an idle connection answer nothing we sent: the connection is unusable.
            context.close(promise: nil)
        }
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
        if isCounted {
            isCounted = false
            stats.openUpstreamConnections.subtract(1, ordering: .relaxed)
        }
        idleTimer?.cancel()
        idleTimer = nil
        pool?.remove(self)
        if let delegate {
            self.delegate = nil
            delegate.upstreamClosed(self, error: lastError)
        }
        context.fireChannelInactive()
    }
}
