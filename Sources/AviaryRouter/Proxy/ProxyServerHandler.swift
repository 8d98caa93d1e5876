import NIOCore
import NIOHTTP1

/// One client connection of a listener: routes each request, streams it to a pooled upstream
/// connection on the same event loop, and streams the answer back.
///
/// Backpressure both ways: the client is read only while the upstream can take more bytes,
/// and the upstream only while the client can (`UpstreamHandler.read`). Errors the proxy
/// answers itself carry a one-line reason: 404 no route, 503 no ready endpoint, 502 connect
/// refused or connection lost before the response began (an idempotent request without a
/// body is retried once on another endpoint first), 504 no response head in time, 431 head
/// too large, 413 body too large.
final class ProxyServerHandler: ChannelDuplexHandler, UpstreamDelegate {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundIn = HTTPServerResponsePart
    typealias OutboundOut = HTTPServerResponsePart

    /// One request in flight.
    private final class Exchange {
        let head: HTTPRequestHead
        let requestVersion: HTTPVersion
        let clientKeepAlive: Bool
        let mayRetry: Bool
        let service: CompiledService
        var endpoint: UpstreamEndpoint
        var attempts = 1
        var upstream: UpstreamHandler?
        var buffered: [HTTPClientRequestPart] = []
        var requestEnded = false
        var responseStarted = false
        var upstreamReusable = false
        var responseKeepAlive = true
        var status: UInt = 0
        var bodyBytes = 0
        /// When the response head must have arrived; nil once it has (or before the request
        /// was sent). Checked by the connection's lazy response timer.
        var responseDeadline: NIODeadline?
        var mirror: MirrorExchange?

        init(
            head: HTTPRequestHead, requestVersion: HTTPVersion, clientKeepAlive: Bool, mayRetry: Bool,
            service: CompiledService, endpoint: UpstreamEndpoint
        ) {
            self.head = head
            self.requestVersion = requestVersion
            self.clientKeepAlive = clientKeepAlive
            self.mayRetry = mayRetry
            self.service = service
            self.endpoint = endpoint
        }
    }

    private let core: ProxyCore
    private let pool: UpstreamPool
    private let listenerAddress: String
    private var context: ChannelHandlerContext?
    private var clientAddress: String?
    private var exchange: Exchange?
    /// The rest of a request already answered by the proxy itself is read and dropped.
    private var isDiscardingRequest = false
    private var closeAfterResponse = false
    private var pendingRead = false
    private var generation = -1
    private var listener: CompiledListener?
    private var limits = ResolvedLimits(nil)
    /// The connection's one response timer, pending while it is not nil; see `armResponseTimer`.
    private var responseTimer: Scheduled<Void>?
    private var responseTimerDeadline = NIODeadline.uptimeNanoseconds(0)

    init(core: ProxyCore, pool: UpstreamPool, listenerAddress: String) {
        self.core = core
        self.pool = pool
        self.listenerAddress = listenerAddress
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        clientAddress = context.channel.remoteAddress?.ipAddress
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        responseTimer?.cancel()
        responseTimer = nil
    }

    // MARK: Client side

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        let part = unwrapInboundIn(data)
        switch part {
        case .head(let head):
            isDiscardingRequest = false
            start(head, context: context)
        case .body(let buffer):
            if isDiscardingRequest { return }
            guard let exchange else { return }
            exchange.bodyBytes += buffer.readableBytes
            if exchange.bodyBytes > limits.maxBodyBytes {
                abandon(exchange)
                guard !exchange.responseStarted else {
                    context.close(promise: nil)
                    return
                }
                respond(
                    .payloadTooLarge, "request body exceeds \(limits.maxBodyBytes) bytes", context: context,
                    close: true)
                return
            }
            send(.body(.byteBuffer(buffer)), in: exchange)
            exchange.mirror?.forward(part)
        case .end(let trailers):
            if isDiscardingRequest {
                isDiscardingRequest = false
                return
            }
            guard let exchange else { return }
            exchange.requestEnded = true
            send(.end(trailers), in: exchange)
            exchange.mirror?.forward(part)
            exchange.mirror?.flush()
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        exchange?.upstream?.flush()
        exchange?.mirror?.flush()
        context.flush()
    }

    func read(context: ChannelHandlerContext) {
        if let exchange, !exchange.requestEnded, !(exchange.upstream?.isWritable ?? false) {
            pendingRead = true
        } else {
            context.read()
        }
    }

    func channelWritabilityChanged(context: ChannelHandlerContext) {
        if context.channel.isWritable {
            exchange?.upstream?.resumeReadsIfPending()
        }
        context.fireChannelWritabilityChanged()
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if case .some(ChannelEvent.inputClosed) = event as? ChannelEvent {
            // The client half-closed: answer what it asked, then close.
            if exchange == nil {
                context.close(promise: nil)
            } else {
                closeAfterResponse = true
            }
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        if exchange == nil || !(exchange?.responseStarted ?? true) {
            if let exchange { abandon(exchange) }
            if let parserError = error as? HTTPParserError, case .headerOverflow = parserError {
                respond(.requestHeaderFieldsTooLarge, "request head too large", context: context, close: true)
            } else {
                respond(.badRequest, "malformed request", context: context, close: true)
            }
        } else {
            context.close(promise: nil)
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let exchange {
            // The client left: an upstream mid-exchange cannot be reused. The mirror goes on.
            abandon(exchange)
        }
        context.fireChannelInactive()
    }

    // MARK: Routing

    private func start(_ head: HTTPRequestHead, context: ChannelHandlerContext) {
        precondition(exchange == nil, "a request head arrived while one was in flight")
        refreshTable()
        guard HTTPForwarding.headSize(head) <= limits.maxHeaderBytes else {
            respond(
                .requestHeaderFieldsTooLarge, "request head exceeds \(limits.maxHeaderBytes) bytes", context: context,
                close: true)
            return
        }
        if let length = head.headers.first(name: "content-length").flatMap(Int.init), length > limits.maxBodyBytes {
            respond(
                .payloadTooLarge, "request body exceeds \(limits.maxBodyBytes) bytes", context: context, close: true)
            return
        }
        guard let listener else {
            respondEarly(.serviceUnavailable, "listener \(listenerAddress) is not in the route table", head: head)
            return
        }
        let path = head.uri[..<(head.uri.firstIndex(of: "?") ?? head.uri.endIndex)]
        guard let route = listener.route(method: head.method.rawValue, path: path, headers: head.headers) else {
            respondEarly(.notFound, "no route of listener \(listenerAddress) matches", head: head)
            return
        }
        let service = route.nextBackend()
        service.stats.requests.add(1, ordering: .relaxed)
        guard let endpoint = service.nextEndpoint() else {
            service.stats.noEndpoint.add(1, ordering: .relaxed)
            service.stats.countResponse(status: 503)
            respondEarly(.serviceUnavailable, "no ready endpoint for service \(service.name)", head: head)
            return
        }
        let upstreamHead = HTTPForwarding.upstreamRequestHead(head, clientAddress: clientAddress)
        let exchange = Exchange(
            head: upstreamHead, requestVersion: head.version, clientKeepAlive: head.isKeepAlive && !closeAfterResponse,
            mayRetry: HTTPForwarding.isIdempotent(head.method) && !HTTPForwarding.hasBody(head),
            service: service, endpoint: endpoint)
        self.exchange = exchange
        if let mirrorService = route.nextMirror() {
            let mirror = MirrorExchange(service: mirrorService, pool: pool, limits: limits)
            mirror.start(head: upstreamHead)
            exchange.mirror = mirror
        }
        connect(exchange)
    }

    private func refreshTable() {
        let current = core.store.generation
        guard current != generation else { return }
        let snapshot = core.store.snapshot()
        generation = snapshot.generation
        listener = snapshot.table.listeners[listenerAddress]
        limits = snapshot.table.limits
    }

    // MARK: Upstream side

    private func connect(_ exchange: Exchange) {
        if let upstream = pool.leaseIdle(exchange.endpoint) {
            attach(upstream, to: exchange)
            return
        }
        pool.connect(exchange.endpoint, connectTimeout: limits.connectTimeout) { result in
            guard self.exchange === exchange else {
                if case .success(let upstream) = result { upstream.close() }
                return
            }
            switch result {
            case .success(let upstream):
                self.attach(upstream, to: exchange)
            case .failure(let error):
                if case ChannelError.connectTimeout = error {
                    self.upstreamFailed(exchange, timedOut: true)
                } else {
                    self.upstreamFailed(exchange, timedOut: false)
                }
            }
        }
    }

    private func attach(_ upstream: UpstreamHandler, to exchange: Exchange) {
        upstream.delegate = self
        exchange.upstream = upstream
        upstream.write(.head(exchange.head))
        for part in exchange.buffered { upstream.write(part) }
        exchange.buffered = []
        upstream.flush()
        let deadline = pool.eventLoop.now + limits.responseTimeout
        exchange.responseDeadline = deadline
        if responseTimer == nil || responseTimerDeadline > deadline {
            armResponseTimer(at: deadline)
        }
        if pendingRead, upstream.isWritable, let context {
            pendingRead = false
            context.read()
        }
    }

    private func send(_ part: HTTPClientRequestPart, in exchange: Exchange) {
        if let upstream = exchange.upstream {
            upstream.write(part)
        } else {
            exchange.buffered.append(part)
        }
    }

    var wantsUpstreamReads: Bool { context?.channel.isWritable ?? false }

    func upstreamReceived(_ part: HTTPClientResponsePart, from upstream: UpstreamHandler) {
        guard let exchange, exchange.upstream === upstream, let context else {
            upstream.delegate = nil
            upstream.close()
            return
        }
        switch part {
        case .head(let head):
            if head.status.code < 200 {
                // 100 Continue and other interim answers pass through; 101 never happens
                // because the Upgrade header is not forwarded.
                context.write(wrapOutboundOut(.head(head)), promise: nil)
                return
            }
            exchange.responseDeadline = nil
            exchange.responseStarted = true
            exchange.status = head.status.code
            exchange.upstreamReusable = head.isKeepAlive
            let framed = head.headers.contains(name: "content-length") || exchange.requestVersion >= .http1_1
            exchange.responseKeepAlive = exchange.clientKeepAlive && framed
            let clientHead = HTTPForwarding.clientResponseHead(
                head, requestVersion: exchange.requestVersion, keepAlive: exchange.responseKeepAlive)
            context.write(wrapOutboundOut(.head(clientHead)), promise: nil)
        case .body(let buffer):
            context.write(wrapOutboundOut(.body(.byteBuffer(buffer))), promise: nil)
        case .end(let trailers):
            finish(exchange, upstream: upstream, trailers: trailers, context: context)
        }
    }

    func upstreamReadComplete() {
        context?.flush()
    }

    func upstreamWritabilityChanged(_ upstream: UpstreamHandler) {
        if upstream.isWritable, pendingRead, let context {
            pendingRead = false
            context.read()
        }
    }

    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?) {
        guard let exchange, exchange.upstream === upstream else { return }
        exchange.upstream = nil
        if exchange.responseStarted {
            // The answer was cut off: the client can only learn it from the closed connection.
            exchange.service.stats.upstreamFailures.add(1, ordering: .relaxed)
            self.exchange = nil
            exchange.responseDeadline = nil
            context?.close(promise: nil)
        } else {
            upstreamFailed(exchange, timedOut: false)
        }
    }

    private func upstreamFailed(_ exchange: Exchange, timedOut: Bool) {
        exchange.service.markFailed(exchange.endpoint)
        if exchange.mayRetry, exchange.attempts == 1, exchange.service.endpoints.count > 1,
            let next = exchange.service.nextEndpoint(excluding: exchange.endpoint)
        {
            exchange.attempts += 1
            exchange.endpoint = next
            exchange.responseDeadline = nil
            exchange.service.stats.retries.add(1, ordering: .relaxed)
            if exchange.requestEnded { exchange.buffered = [.end(nil)] }
            connect(exchange)
            return
        }
        guard let context else { return }
        let endpoint = exchange.endpoint.key
        if timedOut {
            exchange.service.stats.timeouts.add(1, ordering: .relaxed)
            exchange.service.stats.countResponse(status: 504)
            abandon(exchange)
            respond(
                .gatewayTimeout, "connect to \(endpoint) of service \(exchange.service.name) timed out",
                context: context, close: !exchange.requestEnded || !exchange.clientKeepAlive)
        } else {
            exchange.service.stats.upstreamFailures.add(1, ordering: .relaxed)
            exchange.service.stats.countResponse(status: 502)
            abandon(exchange)
            respond(
                .badGateway,
                "endpoint \(endpoint) of service \(exchange.service.name) refused or dropped the connection",
                context: context, close: !exchange.requestEnded || !exchange.clientKeepAlive)
        }
    }

    /// Schedules the connection's response timer for `deadline`, replacing a later one.
    ///
    /// The timer is lazy so that a request costs no timer operation: when it fires it answers
    /// 504 if the exchange in flight is past its deadline, waits again if a later exchange is
    /// waiting for its head, and stops otherwise; the next request arms it again. With a 30 s
    /// timeout and millisecond answers, a busy connection schedules about one timer per 30 s.
    private func armResponseTimer(at deadline: NIODeadline) {
        responseTimer?.cancel()
        responseTimerDeadline = deadline
        responseTimer = pool.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) { [weak self] in
            guard let self else { return }
            self.responseTimer = nil
            guard let exchange = self.exchange, let due = exchange.responseDeadline else { return }
            if self.pool.eventLoop.now >= due {
                self.responseTimedOut(exchange)
            } else {
                self.armResponseTimer(at: due)
            }
        }
    }

    private func responseTimedOut(_ exchange: Exchange) {
        guard self.exchange === exchange, !exchange.responseStarted, let context else { return }
        exchange.service.stats.timeouts.add(1, ordering: .relaxed)
        exchange.service.stats.countResponse(status: 504)
        abandon(exchange)
        respond(
            .gatewayTimeout,
            "endpoint \(exchange.endpoint.key) of service \(exchange.service.name) did not answer in "
                + "\(limits.responseTimeout.nanoseconds / 1_000_000) ms",
            context: context, close: !exchange.requestEnded || !exchange.clientKeepAlive)
    }

    private func finish(
        _ exchange: Exchange, upstream: UpstreamHandler, trailers: HTTPHeaders?, context: ChannelHandlerContext
    ) {
        exchange.service.stats.countResponse(status: exchange.status)
        self.exchange = nil
        exchange.upstream = nil
        if exchange.upstreamReusable && exchange.requestEnded {
            pool.release(upstream, idleTimeout: limits.upstreamIdleTimeout)
        } else {
            upstream.delegate = nil
            upstream.close()
        }
        let close = !exchange.responseKeepAlive || closeAfterResponse || !exchange.requestEnded
        if close {
            context.writeAndFlush(wrapOutboundOut(.end(trailers))).assumeIsolated().whenComplete { _ in
                context.close(promise: nil)
            }
        } else {
            // No promise: a future per response is an allocation and a callback for nothing.
            context.writeAndFlush(wrapOutboundOut(.end(trailers)), promise: nil)
            if pendingRead {
                pendingRead = false
                context.read()
            }
        }
    }

    /// Ends an exchange without a response from upstream: the connection is closed, not reused.
    private func abandon(_ exchange: Exchange) {
        exchange.responseDeadline = nil
        if let upstream = exchange.upstream {
            exchange.upstream = nil
            upstream.delegate = nil
            upstream.close()
        }
        if self.exchange === exchange {
            self.exchange = nil
            isDiscardingRequest = !exchange.requestEnded
        }
    }

    // MARK: The proxy's own answers

    /// Answers a request whose head was just read, before any upstream was involved; its body
    /// (if any) is read and dropped so the connection can carry the next request.
    private func respondEarly(_ status: HTTPResponseStatus, _ reason: String, head: HTTPRequestHead) {
        guard let context else { return }
        isDiscardingRequest = true
        respond(status, reason, context: context, close: !head.isKeepAlive || closeAfterResponse, version: head.version)
    }

    private func respond(
        _ status: HTTPResponseStatus, _ reason: String, context: ChannelHandlerContext, close: Bool,
        version: HTTPVersion = .http1_1
    ) {
        let body = "\(status.code) \(status.reasonPhrase): \(reason)\n"
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: "text/plain; charset=utf-8")
        // A browser must not sniff this text (which may carry a request's path) as HTML.
        headers.add(name: "x-content-type-options", value: "nosniff")
        headers.add(name: "content-length", value: String(body.utf8.count))
        if close { headers.add(name: "connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: version, status: status, headers: headers))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        let written = context.writeAndFlush(wrapOutboundOut(.end(nil)))
        if close {
            written.assumeIsolated().whenComplete { _ in context.close(promise: nil) }
        }
    }
}
