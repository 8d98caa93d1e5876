import NIOCore
import NIOHPACK
import NIOHTTP2

extension UpstreamPool {
    /// The exchange of one HTTP/2 client stream on an idle pooled connection to an HTTP/1.1
    /// `endpoint`, if there is one: what `openStreamUpstream` does at once, without a callback.
    func leaseIdleExchange(
        to endpoint: UpstreamEndpoint, of service: CompiledService, limits: ResolvedLimits
    ) -> HTTP1ExchangeUpstream? {
        guard !service.speaksHTTP2, let connection = leaseIdle(endpoint) else { return nil }
        return HTTP1ExchangeUpstream(connection: connection, pool: self, idleTimeout: limits.upstreamIdleTimeout)
    }

    /// The upstream of one HTTP/2 client stream: a new stream of the router's connection to an
    /// HTTP/2 endpoint, or a pooled connection to an HTTP/1.1 one (the pool the HTTP/1.1 path
    /// leases from, so both kinds of client share the idle connections).
    func openStreamUpstream(
        to endpoint: UpstreamEndpoint, of service: CompiledService, limits: ResolvedLimits,
        _ completion: @escaping (Result<any StreamUpstream, any Error>) -> Void
    ) {
        if service.speaksHTTP2 {
            streams.openStream(to: endpoint, connectTimeout: limits.connectTimeout) { completion($0.map { $0 }) }
            return
        }
        if let exchange = leaseIdleExchange(to: endpoint, of: service, limits: limits) {
            completion(.success(exchange))
            return
        }
        connect(endpoint, of: service, connectTimeout: limits.connectTimeout) { result in
            completion(
                result.map {
                    HTTP1ExchangeUpstream(connection: $0, pool: self, idleTimeout: limits.upstreamIdleTimeout)
                })
        }
    }
}

/// One HTTP/2 stream's exchange with an HTTP/1.1 endpoint, on a connection leased from the
/// HTTP/1.1 path's pool (`UpstreamHandler`, which reads responses from the raw bytes):
/// - the request's header block is written straight as an HTTP/1.1 head
///   (`HTTP2Messages.writeHTTP1Request`), its data frames as the body, chunked when the block gave
///   no length, and its trailers as the chunked trailer section;
/// - the response's head becomes a header block written straight from its bytes
///   (`HTTP2Messages.writeResponseBlock`), its body (unchunked) data frames, and its chunked
///   trailers a trailers block that ends the stream.
///
/// The connection goes back to the pool when both the request and the response ended cleanly;
/// it is closed when the exchange is cancelled or the response ended before the request did.
final class HTTP1ExchangeUpstream: StreamUpstream, UpstreamDelegate {
    /// The stream. Strong, not weak: a weak reference would put every retain and release of the
    /// stream on the slow side-table path for good. The cycle with the stream's `upstream` ends
    /// when either lets go: the exchange when it is done, cancelled or its connection closed,
    /// the stream when its answer ended, it failed, or it closed.
    var delegate: (any StreamUpstreamDelegate)?
    private let connection: UpstreamHandler
    private let pool: UpstreamPool
    private let idleTimeout: TimeAmount
    private var chunked = false
    private var requestEnded = false
    private var responseEnded = false
    /// Whether the response's end left the connection fit for another request.
    private var reusable = false
    /// Whether the lease ended (the connection pooled again or closed).
    private var isDone = false
    private var trailerLines: ByteBuffer?
    /// The last part of the response read, held back until the next one or the end of the read
    /// (see `hold`).
    private var held: Part?

    /// A part of the response: its head (as an HPACK block) or body bytes.
    private enum Part {
        case head(status: Int, block: ByteBuffer)
        case data(ByteBuffer)
    }

    init(connection: UpstreamHandler, pool: UpstreamPool, idleTimeout: TimeAmount) {
        self.connection = connection
        self.pool = pool
        self.idleTimeout = idleTimeout
    }

    // MARK: The request

    func begin(headers: HeaderBlock, target: HTTP2Messages.Target, endStream: Bool, forwarding: Forwarding) {
        connection.delegate = self
        connection.begin(requestWasHead: target.isHead)
        var head = ByteBufferAllocator().buffer(capacity: 512)
        chunked = HTTP2Messages.writeHTTP1Request(
            headers, target: target, clientAddress: forwarding.clientAddress, isTLS: forwarding.isTLS,
            hasBody: !endStream, into: &head)
        connection.write(head)
        if endStream { requestEnded = true }
    }

    func write(_ payload: HTTP2Frame.FramePayload) {
        guard !requestEnded, !isDone else { return }
        switch payload {
        case .data(let data):
            if case .byteBuffer(let bytes) = data.data, bytes.readableBytes > 0 {
                if chunked {
                    var chunk = ByteBuffer()
                    chunk.writeChunk(bytes)
                    connection.write(chunk)
                } else {
                    connection.write(bytes)
                }
            }
            if data.endStream { endRequest(trailers: nil) }
        case .headers(let trailers):
            endRequest(trailers: trailers.headers)
        default:
            break
        }
    }

    /// The request's end: the last chunk and the trailers when chunked (a request with a length
    /// has no room for trailers, and loses them).
    private func endRequest(trailers: HPACKHeaders?) {
        requestEnded = true
        if chunked {
            var end = ByteBuffer()
            end.writeLastChunk(trailers: trailers)
            connection.write(end)
        }
        finishIfDone()
    }

    func flush() {
        if !isDone { connection.flush() }
    }

    var isWritable: Bool { connection.isWritable }

    func resumeReads() {
        connection.resumeReadsIfPending()
    }

    func cancel() {
        delegate = nil
        held = nil
        guard !isDone else { return }
        isDone = true
        connection.abandon()
    }

    // MARK: The response

    var wantsUpstreamReads: Bool { delegate?.wantsUpstreamReads ?? true }

    func upstreamReceivedHead(_ head: MessageHead, bytes: ByteBuffer, from upstream: UpstreamHandler) {
        upstream.unchunksBody = true
        // A block is shorter than its head (no colons, spaces or CRLFs, names by index).
        var block = ByteBufferAllocator().buffer(capacity: head.length)
        HTTP2Messages.writeResponseBlock(head, bytes: bytes, into: &block)
        if head.status < 200 {
            // Interim: it goes as it is, and cannot end the stream.
            releaseHeld()
            delegate?.upstreamReceivedHead(status: head.status, block: block, endStream: false)
        } else {
            hold(.head(status: head.status, block: block))
        }
    }

    func upstreamReceivedBody(_ bytes: ByteBuffer, from upstream: UpstreamHandler) {
        hold(.data(bytes))
    }

    func upstreamReceivedTrailers(_ bytes: ByteBuffer, from upstream: UpstreamHandler) {
        var bytes = bytes
        if trailerLines == nil { trailerLines = ByteBuffer() }
        trailerLines!.writeBuffer(&bytes)
    }

    func upstreamReceivedEnd(from upstream: UpstreamHandler, reusable: Bool) {
        responseEnded = true
        let delegate = self.delegate
        if let trailerLines, case let trailers = HTTP2Messages.http2Trailers(lines: trailerLines), !trailers.isEmpty {
            releaseHeld()
            delegate?.upstreamReceived(.headers(.init(headers: trailers, endStream: true)))
        } else {
            // The end rides on the last part read (the head of a response without a body, or
            // the body's last data): one frame fewer to the client.
            if held == nil { held = .data(ByteBuffer()) }
            releaseHeld(endingTheStream: true)
        }
        // The connection's read burst may end after the lease does: the client's flush is now.
        delegate?.upstreamReadComplete()
        self.reusable = reusable
        finishIfDone()
    }

    /// Keeps `part` back until the next part of the response, or the end of the read, passing
    /// on the one held before.
    private func hold(_ part: Part) {
        releaseHeld()
        held = part
    }

    private func releaseHeld(endingTheStream end: Bool = false) {
        guard let part = held else { return }
        held = nil
        switch part {
        case .head(let status, let block):
            delegate?.upstreamReceivedHead(status: status, block: block, endStream: end)
        case .data(let bytes):
            delegate?.upstreamReceived(.data(.init(data: .byteBuffer(bytes), endStream: end)))
        }
    }

    /// Both directions ended: the connection goes back to the pool, or is closed when the
    /// response said so or came before the whole request went.
    private func finishIfDone() {
        guard responseEnded, !isDone else { return }
        isDone = true
        delegate = nil
        if requestEnded {
            pool.endLease(connection, reusable: reusable, idleTimeout: idleTimeout)
        } else {
            connection.abandon()
        }
    }

    func upstreamReadComplete() {
        releaseHeld()
        delegate?.upstreamReadComplete()
    }

    func upstreamWritabilityChanged(_ upstream: UpstreamHandler) {
        delegate?.upstreamWritabilityChanged()
    }

    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?) {
        releaseHeld()
        isDone = true
        let delegate = self.delegate
        self.delegate = nil
        if !responseEnded { delegate?.upstreamFailed() }
    }
}
