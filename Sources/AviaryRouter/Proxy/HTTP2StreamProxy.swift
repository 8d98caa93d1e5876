import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

/// One stream of an HTTP/2 client: its request routed on its own (by the listener's routes,
/// weights and header matches, as an HTTP/1.1 request is), then its frames relayed to the
/// chosen endpoint and the response's back, with backpressure both ways. It is no channel of its
/// own: `HTTP2ConnectionProxy` hands it its stream's frames and writes what it sends.
///
/// To an HTTP/2 endpoint (a Service whose port says `grpc` or `h2c`) the request goes as a
/// stream of the router's one connection to that endpoint, frames unchanged but for the
/// forwarding fields, so trailers and `grpc-status` arrive as sent; to any other endpoint as an
/// HTTP/1.1 request. A `grpc-timeout` shorter than the response timeout is the deadline: when
/// it passes the stream ends with `grpc-status` 4 (DEADLINE_EXCEEDED).
final class HTTP2StreamProxy: StreamUpstreamDelegate {
    let streamID: HTTP2StreamID
    private let connection: HTTP2ConnectionProxy
    private let pool: UpstreamPool
    private let listenerAddress: String
    private let forwarding: Forwarding
    /// Until the stream closes (ended both ways, or reset by either side).
    private(set) var isOpen = true

    private var service: CompiledService?
    private var endpoint: UpstreamEndpoint?
    private var upstream: (any StreamUpstream)?
    /// The request's header block and what it says, until it has gone upstream.
    private var requestHeaders: HeaderBlock?
    private var target: HTTP2Messages.Target?
    private var headersEndStream = false
    /// Request frames read before the upstream was ready.
    private var pending: [HTTP2Frame.FramePayload] = []
    private var requestEnded = false
    private var responseStarted = false
    private var responseEnded = false
    private var bodyBytes = 0
    private var grpc = false
    private var limits = ResolvedLimits(nil)
    /// When the request's bytes were read (see `HTTP2ConnectionProxy.readTime`).
    private let startedAt: NIODeadline
    /// When the response must have ended (response timeout, or a shorter `grpc-timeout`); the
    /// loop's `StreamUpstreams` sweep checks it, so a request schedules no task of its own.
    private(set) var deadline: NIODeadline?
    private var attempts = 0
    /// The `set-cookie` value that gives a new sticky session its bucket, added to the answer.
    private var setCookie: String?
    /// The copy of the request a mirrored route sends, if this one was chosen for it.
    private var mirror: HTTP2Mirror?

    // MARK: The connection's, for this stream

    /// Flow control of the stream: how much the client may still send (reopened only while the
    /// upstream takes more, which is the backpressure towards the client), and how much the
    /// router may send before the client reopens it.
    var inboundWindow = 0
    var outboundWindow: Int
    /// Whether the inbound window is due to be reopened once the upstream takes more.
    var windowOwed = false
    /// The client ended its request (END_STREAM); the router wrote its answer's last frame.
    var remoteEnded = false
    var localEnded = false
    /// The request body's bytes still to come, when it has a `content-length`.
    var expectedLength: Int?
    /// Parts of the answer waiting for the client's windows, in order.
    var queued: [AnswerPart] = []

    /// A part of the answer, as the connection writes it: a frame, or a header block the
    /// endpoint's HTTP/1.1 head was written as.
    enum AnswerPart {
        case frame(HTTP2Frame.FramePayload)
        case block(ByteBuffer, endStream: Bool)
    }
    /// Whether the connection lists the stream among those waiting for a window.
    var isBlocked = false
    /// Whether the connection flushes the stream's upstream at the end of its read.
    var upstreamFlushPending = false

    init(
        streamID: HTTP2StreamID, connection: HTTP2ConnectionProxy, pool: UpstreamPool,
        listenerAddress: String, forwarding: Forwarding, outboundWindow: Int, startedAt: NIODeadline
    ) {
        self.streamID = streamID
        self.startedAt = startedAt
        self.connection = connection
        self.pool = pool
        self.listenerAddress = listenerAddress
        self.forwarding = forwarding
        self.outboundWindow = outboundWindow
    }

    // MARK: Client side

    /// A frame of the request after its head: a data frame or trailers.
    func received(_ payload: HTTP2Frame.FramePayload) {
        switch payload {
        case .headers(let headers):
            // Trailers.
            if headers.endStream { requestEnded = true }
            forward(payload)
        case .data(let data):
            if data.endStream { requestEnded = true }
            if case .byteBuffer(let bytes) = data.data { bodyBytes += bytes.readableBytes }
            if bodyBytes > limits.maxBodyBytes {
                answer(.payloadTooLarge, "request body exceeds \(limits.maxBodyBytes) bytes", grpc: .resourceExhausted)
                return
            }
            forward(payload)
        default:
            break
        }
    }

    private func forward(_ payload: HTTP2Frame.FramePayload) {
        mirror?.copy(payload)
        guard !responseEnded else { return }
        if let upstream {
            upstream.write(payload)
            connection.flushUpstream(of: self)
        } else {
            pending.append(payload)
        }
    }

    /// Flushes what was written to the upstream (once per read of the client's connection).
    func flushUpstream() {
        upstream?.flush()
    }

    /// Whether the client must wait before sending more: the upstream cannot take it now.
    var holdsRequest: Bool {
        if let upstream { !upstream.isWritable } else { false }
    }

    /// The client's connection, or this stream's window, can take more of the response.
    func clientBecameWritable() {
        upstream?.resumeReads()
    }

    /// The stream closed: ended both ways, or reset by the client or the router. An exchange
    /// still going is cancelled, and so is a copy whose request did not end (the mirror goes on
    /// with a whole one).
    func closed() {
        guard isOpen else { return }
        isOpen = false
        if !requestEnded { mirror?.fail() }
        mirror = nil
        stopWatching()
        if !responseEnded, let upstream {
            upstream.delegate = nil
            upstream.cancel()
        }
        upstream = nil
    }

    // MARK: Routing

    /// The request's head (`headers`, checked by the connection as `request`): routes it, and
    /// sends it to an endpoint.
    func start(_ request: HTTP2Wire.Request, headers: HeaderBlock, endStream: Bool) {
        if endStream { requestEnded = true }
        let (listener, limits) = connection.routesAndLimits()
        self.limits = limits
        grpc = request.isGRPC
        let target = request.target
        self.target = target
        guard target.isHTTP1Safe else {
            answer(.badRequest, "the request's :method or :path has a space or control character", grpc: .internal)
            return
        }
        guard let listener else {
            answer(.serviceUnavailable, "listener \(listenerAddress) is not in the route table", grpc: .unavailable)
            return
        }
        let route: CompiledRoute?
        if listener.routes.first?.match == nil {
            route = listener.routes.first
        } else {
            let fields = listener.matchesHeaders ? HTTP2Messages.routingHeaders(headers) : HTTPHeaders()
            route = listener.route(method: target.method, path: target.routedPath, headers: fields)
        }
        guard let route else {
            answer(.notFound, "no route of listener \(listenerAddress) matches", grpc: .unimplemented)
            return
        }
        let service: CompiledService
        if let sticky = route.sticky {
            (service, setCookie) = route.stickyBackend(
                sticky, fields: headers.fields.lazy.map { ($0.name, $0.value) })
        } else {
            service = route.nextBackend()
        }
        self.service = service
        service.stats[pool.shard].requests.add(1, ordering: .relaxed)
        guard let endpoint = service.nextEndpoint() else {
            service.stats[pool.shard].noEndpoint.add(1, ordering: .relaxed)
            answer(.serviceUnavailable, "no ready endpoint for service \(service.name)", grpc: .unavailable)
            return
        }
        requestHeaders = headers
        headersEndStream = endStream
        if let mirrored = route.nextMirror() {
            mirror = HTTP2Mirror(
                service: mirrored, headers: headers, target: target, endStream: endStream, forwarding: forwarding,
                pool: pool, limits: limits)
        }
        var deadline = limits.responseTimeout
        if grpc, let timeout = headers.first(name: "grpc-timeout").flatMap(HTTP2Messages.grpcTimeout),
            timeout < deadline
        {
            deadline = timeout
        }
        self.deadline = startedAt + deadline
        connection.watchDeadlines()
        connect(to: endpoint, service: service)
    }

    private func connect(to endpoint: UpstreamEndpoint, service: CompiledService) {
        self.endpoint = endpoint
        attempts += 1
        endpoint.stats[pool.shard].requests.add(1, ordering: .relaxed)
        if let upstream = pool.leaseIdleExchange(to: endpoint, of: service, limits: limits) {
            // The hot path: a pooled connection, with no callback to allocate.
            attach(upstream)
            return
        }
        let attach: (Result<any StreamUpstream, any Error>) -> Void = { [self] result in
            guard isOpen, !responseEnded, self.endpoint == endpoint else {
                if case .success(let upstream) = result { upstream.cancel() }
                return
            }
            switch result {
            case .success(let upstream):
                self.attach(upstream)
            case .failure:
                endpoint.stats[pool.shard].failures.add(1, ordering: .relaxed)
                service.markFailed(endpoint)
                // Nothing reached the endpoint: another may take the request.
                if attempts < 2, let next = service.nextEndpoint(excluding: endpoint),
                    next != endpoint
                {
                    service.stats[pool.shard].retries.add(1, ordering: .relaxed)
                    connect(to: next, service: service)
                } else {
                    service.stats[pool.shard].upstreamFailures.add(1, ordering: .relaxed)
                    answer(
                        .badGateway, "cannot connect to \(endpoint.key) of service \(service.name)", grpc: .unavailable)
                }
            }
        }
        pool.openStreamUpstream(to: endpoint, of: service, limits: limits, attach)
    }

    private func attach(_ upstream: any StreamUpstream) {
        guard let requestHeaders, let target else { return }
        self.upstream = upstream
        upstream.delegate = self
        self.requestHeaders = nil
        upstream.begin(headers: requestHeaders, target: target, endStream: headersEndStream, forwarding: forwarding)
        for payload in pending { upstream.write(payload) }
        pending = []
        upstream.flush()
        if upstream.isWritable { connection.requestMayFlow(self) }
    }

    // MARK: Upstream side

    var wantsUpstreamReads: Bool { isOpen && connection.takesMore(self) }

    func upstreamReceived(_ payload: HTTP2Frame.FramePayload) {
        guard isOpen, !responseEnded else { return }
        var payload = payload
        let ends: Bool
        switch payload {
        case .headers(var headers):
            ends = headers.endStream
            if !responseStarted, let status = headers.headers.first(name: ":status").flatMap(Int.init), status >= 200 {
                answerStarted(status: status)
                if let setCookie {
                    headers.headers.add(name: "set-cookie", value: setCookie)
                    payload = .headers(headers)
                }
            }
        case .data(let data):
            ends = data.endStream
        default:
            return
        }
        if ends { answerEnds() }
        connection.write(payload, on: self)
        if ends { connection.flush() }
    }

    func upstreamReceivedHead(status: Int, block: ByteBuffer, endStream: Bool) {
        guard isOpen, !responseEnded else { return }
        var block = block
        if !responseStarted, status >= 200 {
            answerStarted(status: status)
            if let setCookie { HTTP2Wire.encodeField("set-cookie", setCookie, into: &block) }
        }
        if endStream { answerEnds() }
        connection.writeBlock(block, endStream: endStream, on: self)
        if endStream { connection.flush() }
    }

    /// The endpoint's final answer began: counted.
    private func answerStarted(status: Int) {
        responseStarted = true
        countAnswer(status: status, byEndpoint: true)
    }

    /// The endpoint's answer ends with the part about to be written. Done before the write: the
    /// stream may close within it.
    private func answerEnds() {
        responseEnded = true
        stopWatching()
        // A response that ended before the request did: the rest of the request goes nowhere.
        if !requestEnded { upstream?.cancel() }
        upstream?.delegate = nil
        upstream = nil
    }

    func upstreamReadComplete() {
        connection.flush()
    }

    func upstreamWritabilityChanged() {
        guard let upstream, upstream.isWritable, isOpen else { return }
        connection.requestMayFlow(self)
    }

    func upstreamFailed() {
        upstream = nil
        guard !responseEnded else { return }
        endpoint?.stats[pool.shard].failures.add(1, ordering: .relaxed)
        service?.stats[pool.shard].upstreamFailures.add(1, ordering: .relaxed)
        if responseStarted {
            // Part of the response went: the client must not take it for the whole.
            responseEnded = true
            reset()
        } else {
            answer(
                .badGateway, "\(endpoint?.key ?? "the endpoint") closed the stream before it answered",
                grpc: .unavailable, byEndpoint: false)
        }
    }

    /// The deadline no longer applies (the connection's sweep skips a stream without one).
    private func stopWatching() {
        deadline = nil
    }

    /// The deadline passed (called by the sweep).
    func timedOut() {
        stopWatching()
        guard !responseEnded, isOpen else { return }
        service?.stats[pool.shard].timeouts.add(1, ordering: .relaxed)
        endpoint?.stats[pool.shard].failures.add(1, ordering: .relaxed)
        if let upstream {
            upstream.delegate = nil
            upstream.cancel()
            self.upstream = nil
        }
        if !responseStarted {
            answer(.gatewayTimeout, "no answer within the deadline", grpc: .deadlineExceeded)
        } else if grpc {
            responseEnded = true
            let trailers = HPACKHeaders([("grpc-status", "4"), ("grpc-message", "deadline exceeded at the router")])
            connection.write(.headers(.init(headers: trailers, endStream: true)), on: self)
            connection.flush()
        } else {
            responseEnded = true
            reset()
        }
    }

    /// Ends the stream with RST_STREAM CANCEL: part of the response went, and the client must not
    /// take it for the whole.
    private func reset() {
        guard isOpen else { return }
        connection.write(.rstStream(.cancel), on: self)
        connection.flush()
    }

    // MARK: Answers

    /// Answers the stream itself (nothing of the endpoint's went yet) and ends what is upstream.
    private func answer(
        _ status: HTTPResponseStatus, _ reason: String, grpc grpcStatus: HTTP2Messages.GRPCStatus,
        byEndpoint: Bool = false
    ) {
        guard isOpen, !responseEnded else { return }
        if let upstream {
            upstream.delegate = nil
            upstream.cancel()
            self.upstream = nil
        }
        responseEnded = true
        responseStarted = true
        stopWatching()
        pending = []
        countAnswer(status: Int(status.code), byEndpoint: byEndpoint)
        let frames = HTTP2Messages.localAnswer(
            status: status, reason: reason, grpc: grpc ? grpcStatus : nil, allocator: connection.allocator)
        for payload in frames.dropLast() { connection.write(payload, on: self) }
        if let last = frames.last { connection.write(last, on: self) }
        connection.flush()
    }

    private func countAnswer(status: Int, byEndpoint: Bool) {
        let nanoseconds = (NIODeadline.now() - startedAt).nanoseconds
        service?.stats[pool.shard].countResponse(status: UInt(status), nanoseconds: nanoseconds)
        if byEndpoint { endpoint?.stats[pool.shard].countResponse(status: UInt(status), nanoseconds: nanoseconds) }
    }
}
