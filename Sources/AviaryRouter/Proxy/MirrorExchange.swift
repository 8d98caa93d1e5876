import NIOCore
import NIOHTTP1

/// A copy of one client request sent to a mirror service; its answer is read and dropped.
///
/// It never slows or fails the client: parts are buffered only until the connection is up
/// (at most `maximumBufferedBytes`), and a mirror that cannot keep up is abandoned.
final class MirrorExchange: UpstreamDelegate {
    static let maximumBufferedBytes = 1_048_576

    private let service: CompiledService
    private let pool: UpstreamPool
    private let limits: ResolvedLimits
    private var upstream: UpstreamHandler?
    private var buffered: [HTTPClientRequestPart] = []
    private var bufferedBytes = 0
    private var requestEnded = false
    private var isFinished = false
    private var timeout: Scheduled<Void>?

    init(service: CompiledService, pool: UpstreamPool, limits: ResolvedLimits) {
        self.service = service
        self.pool = pool
        self.limits = limits
    }

    /// Connects to the next endpoint of the mirror service and sends `head`.
    func start(head: HTTPRequestHead) {
        guard let endpoint = service.nextEndpoint() else {
            fail()
            return
        }
        service.stats.mirrored.add(1, ordering: .relaxed)
        buffered.append(.head(head))
        pool.acquire(endpoint, connectTimeout: limits.connectTimeout) { result in
            switch result {
            case .success(let upstream):
                guard !self.isFinished else {
                    self.pool.release(upstream, idleTimeout: self.limits.upstreamIdleTimeout)
                    return
                }
                upstream.delegate = self
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

    /// Copies a body part or the end of the client request.
    func forward(_ part: HTTPServerRequestPart) {
        guard !isFinished else { return }
        let copy: HTTPClientRequestPart
        switch part {
        case .head: return
        case .body(let buffer): copy = .body(.byteBuffer(buffer))
        case .end(let trailers):
            copy = .end(trailers)
            requestEnded = true
        }
        if let upstream {
            guard upstream.isWritable else {
                fail()
                return
            }
            upstream.write(copy)
            if requestEnded { upstream.flush() }
        } else {
            if case .body(let buffer) = part { bufferedBytes += buffer.readableBytes }
            guard bufferedBytes <= Self.maximumBufferedBytes else {
                fail()
                return
            }
            buffered.append(copy)
        }
    }

    /// Flushes what `forward` wrote.
    func flush() {
        upstream?.flush()
    }

    var wantsUpstreamReads: Bool { true }

    func upstreamReceived(_ part: HTTPClientResponsePart, from upstream: UpstreamHandler) {
        guard case .end = part else { return }
        isFinished = true
        timeout?.cancel()
        self.upstream = nil
        if requestEnded {
            pool.release(upstream, idleTimeout: limits.upstreamIdleTimeout)
        } else {
            upstream.delegate = nil
            upstream.close()
        }
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
        service.stats.mirrorFailures.add(1, ordering: .relaxed)
        timeout?.cancel()
        buffered = []
        if let upstream {
            self.upstream = nil
            upstream.delegate = nil
            upstream.close()
        }
    }
}
