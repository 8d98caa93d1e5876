import NIOCore

/// A copy of one client request sent to a mirror service; its answer is read and dropped.
///
/// It never slows or fails the client: bytes are buffered only until the connection is up
/// (at most `maximumBufferedBytes`), and a mirror that cannot keep up is abandoned.
final class MirrorExchange: UpstreamDelegate {
    static let maximumBufferedBytes = 1_048_576

    private let service: CompiledService
    private let pool: UpstreamPool
    private let limits: ResolvedLimits
    private var upstream: UpstreamHandler?
    private var buffered: [ByteBuffer] = []
    private var bufferedBytes = 0
    private var requestEnded = false
    private var isHeadRequest = false
    private var isFinished = false
    private var timeout: Scheduled<Void>?

    init(service: CompiledService, pool: UpstreamPool, limits: ResolvedLimits) {
        self.service = service
        self.pool = pool
        self.limits = limits
    }

    /// Connects to the next endpoint of the mirror service and sends `head` (the head as sent
    /// upstream); `ends` when the request has no body.
    func start(head: ByteBuffer, isHeadRequest: Bool, ends: Bool) {
        guard let endpoint = service.nextEndpoint() else {
            fail()
            return
        }
        service.stats[pool.shard].mirrored.add(1, ordering: .relaxed)
        self.isHeadRequest = isHeadRequest
        requestEnded = ends
        buffered.append(head)
        pool.acquire(endpoint, of: service, connectTimeout: limits.connectTimeout) { result in
            switch result {
            case .success(let upstream):
                guard !self.isFinished else {
                    self.pool.release(upstream, idleTimeout: self.limits.upstreamIdleTimeout)
                    return
                }
                upstream.delegate = self
                upstream.begin(requestWasHead: self.isHeadRequest)
                self.upstream = upstream
                for part in self.buffered { upstream.write(part) }
                self.buffered = []
                upstream.flush()
                self.timeout = self.pool.eventLoop.assumeIsolated().scheduleTask(in: self.limits.responseTimeout) {
                    self.fail()
                }
            case .failure:
                self.fail()
            }
        }
    }

    /// Copies body bytes of the client request; `ends` with its last ones.
    func forward(_ part: ByteBuffer, ends: Bool) {
        guard !isFinished else { return }
        requestEnded = ends
        if let upstream {
            guard upstream.isWritable else {
                fail()
                return
            }
            upstream.write(part)
            if ends { upstream.flush() }
        } else {
            bufferedBytes += part.readableBytes
            guard bufferedBytes <= Self.maximumBufferedBytes else {
                fail()
                return
            }
            buffered.append(part)
        }
    }

    /// Flushes what `forward` wrote.
    func flush() {
        upstream?.flush()
    }

    var wantsUpstreamReads: Bool { true }

    func upstreamReceivedHead(_ head: MessageHead, bytes: ByteBuffer, from upstream: UpstreamHandler) {}

    func upstreamReceivedBody(_ bytes: ByteBuffer, from upstream: UpstreamHandler) {}

    func upstreamReceivedEnd(from upstream: UpstreamHandler, reusable: Bool) {
        isFinished = true
        timeout?.cancel()
        self.upstream = nil
        pool.endLease(upstream, reusable: reusable && requestEnded, idleTimeout: limits.upstreamIdleTimeout)
    }

    func upstreamReadComplete() {}

    func upstreamWritabilityChanged(_ upstream: UpstreamHandler) {}

    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?) {
        self.upstream = nil
        fail()
    }

    private func fail() {
        guard !isFinished else { return }
        isFinished = true
        service.stats[pool.shard].mirrorFailures.add(1, ordering: .relaxed)
        timeout?.cancel()
        buffered = []
        if let upstream {
            self.upstream = nil
            upstream.abandon()
        }
    }
}
