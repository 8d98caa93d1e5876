import NIOCore

/// The first handler of a client connection (after TLS, if the listener terminates it): it reads
/// the first bytes and sets the connection up for what the client speaks, then leaves. HTTP/2
/// clients begin with the connection preface (`PRI * HTTP/2.0…`): cleartext clients by prior
/// knowledge (h2c, as gRPC clients do), TLS clients after ALPN chose `h2`. Anything else is
/// HTTP/1.1. Every HTTP/1.1 request starts with a method other than `PRI`, so the choice is
/// made on the first byte or three, and costs an HTTP/1.1 connection nothing after it.
final class ProtocolSniffer: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = ByteBuffer
    typealias InboundOut = ByteBuffer

    /// RFC 9113, 3.4.
    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8)

    /// What a prefix of the first bytes says.
    enum Verdict: Equatable {
        case http1
        case http2
        case undecided
    }

    /// HTTP/2 when `bytes` begin with the whole preface, HTTP/1.1 as soon as they differ from it.
    static func verdict(_ bytes: some Collection<UInt8>) -> Verdict {
        for (byte, expected) in zip(bytes, preface) where byte != expected { return .http1 }
        return bytes.count >= preface.count ? .http2 : .undecided
    }

    private let core: ProxyCore
    private let listenerAddress: String
    private let isTLS: Bool
    private var buffered: ByteBuffer?

    init(core: ProxyCore, listenerAddress: String, isTLS: Bool) {
        self.core = core
        self.listenerAddress = listenerAddress
        self.isTLS = isTLS
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        var bytes = unwrapInboundIn(data)
        if var earlier = buffered {
            earlier.writeBuffer(&bytes)
            bytes = earlier
        }
        let verdict = bytes.withUnsafeReadableBytes { Self.verdict($0) }
        switch verdict {
        case .undecided:
            buffered = bytes
        case .http1:
            buffered = nil
            do {
                try context.pipeline.syncOperations.addHandler(
                    ProxyServerHandler(
                        core: core, pool: core.pool(for: context.eventLoop), listenerAddress: listenerAddress,
                        isTLS: isTLS),
                    position: .after(self))
            } catch {
                context.close(promise: nil)
                return
            }
            handOver(bytes, context: context)
        case .http2:
            buffered = nil
            do {
                try configureHTTP2(context: context)
            } catch {
                context.close(promise: nil)
                return
            }
            handOver(bytes, context: context)
        }
    }

    /// Passes the bytes read so far to the handlers just added, and leaves the pipeline.
    private func handOver(_ bytes: ByteBuffer, context: ChannelHandlerContext) {
        context.fireChannelRead(wrapInboundOut(bytes))
        context.pipeline.syncOperations.removeHandler(context: context, promise: nil)
    }

    private func configureHTTP2(context: ChannelHandlerContext) throws {
        let snapshot = core.store.snapshot().table
        let forwarding = Forwarding(clientAddress: context.channel.remoteAddress?.ipAddress, isTLS: isTLS)
        try context.pipeline.syncOperations.addHandler(
            HTTP2ConnectionProxy(
                core: core, pool: core.pool(for: context.eventLoop), listenerAddress: listenerAddress,
                forwarding: forwarding, targetWindow: StreamUpstreams.windowSize,
                maxHeaderBytes: snapshot.limits.maxHeaderBytes),
            position: .last)
        // An error of the transport (TLS) closes the connection.
        try context.pipeline.syncOperations.addHandler(ConnectionErrorCloser(), position: .last)
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        // A client that half-closes before it said which protocol it speaks gets nothing.
        if case .some(ChannelEvent.inputClosed) = event as? ChannelEvent {
            context.close(promise: nil)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }
}

/// Closes a connection on an error that reaches the end of its pipeline.
final class ConnectionErrorCloser: ChannelInboundHandler {
    typealias InboundIn = Any

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// Merges the flushes of one turn of the event loop into one, on an HTTP/2 connection: it
/// carries many streams, and each stream's answer (or request, to an endpoint) ends in a flush
/// of its own, often from another connection's read. One by one they would cost a `writev` and
/// a wakeup of the peer each; merged, the frames of every stream that had something to send in
/// this turn leave in one write, after the loop has handled the turn's I/O. A close waits for
/// nothing: what is pending is flushed first (a GOAWAY must go out before the connection ends).
final class FlushCoalescer: ChannelOutboundHandler {
    typealias OutboundIn = Any

    private var isPending = false

    func flush(context: ChannelHandlerContext) {
        guard !isPending else { return }
        isPending = true
        context.eventLoop.assumeIsolated().execute {
            guard self.isPending else { return }
            self.isPending = false
            context.flush()
        }
    }

    func close(context: ChannelHandlerContext, mode: CloseMode, promise: EventLoopPromise<Void>?) {
        if isPending {
            isPending = false
            context.flush()
        }
        context.close(mode: mode, promise: promise)
    }
}
