import NIOCore
import NIOHTTP1

/// One client connection of a listener: reads requests from the raw bytes (see `MessageHead`
/// and `BodyFramer`), routes each, streams it to a pooled upstream connection on the same
/// event loop, and streams the answer back. Heads are rewritten byte to byte and bodies pass
/// through as they came, so a request costs no string and no per-part pipeline hop.
///
/// Backpressure both ways: the client is read only while the upstream can take more bytes,
/// and the upstream only while the client can (`UpstreamHandler.read`). Pipelined requests
/// wait, unread, until the answer in flight has gone out. Errors the proxy answers itself
/// carry a one-line reason: 400 malformed request, 404 no route, 503 no ready endpoint, 502
/// connect refused or connection lost before the response began (an idempotent request
/// without a body is retried once on another endpoint first), 504 no response head in time,
/// 431 head too large, 413 body too large.
///
/// The decisions (when to read, retry, keep the connection open or close it) are
/// `ProxyConnectionState`'s; this handler keeps the bytes, the upstream and the timer.
final class ProxyServerHandler: ChannelInboundHandler, UpstreamDelegate {
    typealias InboundIn = ByteBuffer
    typealias OutboundOut = ByteBuffer

    /// The resources of the request in flight (its decisions are in `state.exchange`).
    private final class Exchange {
        /// The head sent upstream, kept to send again on a retry.
        let upstreamHead: ByteBuffer
        let isHeadRequest: Bool
        /// Forwarded with its `Upgrade` field: a 101 makes the connection a tunnel.
        let asksUpgrade: Bool
        let service: CompiledService
        var endpoint: UpstreamEndpoint
        var upstream: UpstreamHandler?
        /// Body bytes read before the upstream connection was ready.
        var buffered: [ByteBuffer] = []
        /// When the response head must have arrived; nil once it has (or before the request
        /// was sent). Checked by the connection's lazy response timer.
        var responseDeadline: NIODeadline?
        var mirror: MirrorExchange?
        /// The `Set-Cookie` line that gives a new sticky session its bucket, added to the answer.
        var setCookie: [UInt8]?
        /// When the request's head was read (the event loop's clock), for the latency
        /// histograms and the response deadline.
        let startedAt: NIODeadline
        /// The event loop's set of counters (`UpstreamPool.shard`).
        let shard: Int

        /// Counts the answer the client got, with its latency, for the service and, when the
        /// endpoint answered, for the endpoint.
        func countAnswer(status: Int, byEndpoint: Bool, at now: NIODeadline) {
            let nanoseconds = (now - startedAt).nanoseconds
            service.stats[shard].countResponse(status: UInt(status), nanoseconds: nanoseconds)
            if byEndpoint { endpoint.stats[shard].countResponse(status: UInt(status), nanoseconds: nanoseconds) }
        }

        /// The endpoint refused, dropped or did not answer in time.
        func endpointFailed() {
            endpoint.stats[shard].failures.add(1, ordering: .relaxed)
        }

        init(
            upstreamHead: ByteBuffer, isHeadRequest: Bool, asksUpgrade: Bool, service: CompiledService,
            endpoint: UpstreamEndpoint, shard: Int, startedAt: NIODeadline
        ) {
            self.shard = shard
            self.startedAt = startedAt
            self.upstreamHead = upstreamHead
            self.isHeadRequest = isHeadRequest
            self.asksUpgrade = asksUpgrade
            self.service = service
            self.endpoint = endpoint
        }
    }

    private let core: ProxyCore
    private let pool: UpstreamPool
    private let listenerAddress: String
    /// Whether the router terminated TLS on this connection (a `NIOSSLServerHandler` before this one).
    private let isTLS: Bool
    private var context: ChannelHandlerContext?
    private var addedFields = HTTPForwarding.AddedFields(clientAddress: nil)
    /// The channel's allocator, kept so a request does not reach it through the channel.
    private var allocator = ByteBufferAllocator()
    /// The buffer of the last request head sent upstream, for the next one.
    private var spareHead: ByteBuffer?
    private var state = ProxyConnectionState()
    /// Nil exactly when `state.exchange` is.
    private var exchange: Exchange?
    /// Bytes received and not handled yet: a head cut across reads, or pipelined requests.
    private var received: ByteBuffer?
    /// The head being read; its field storage is reused from request to request.
    private var head = MessageHead()
    /// Where the current request's body ends, while it is being read.
    private var requestBody: BodyFramer?
    /// Within a read burst from the client: flushes wait for its end, so that a head and the
    /// body bytes read with it go upstream in one write.
    private var isReading = false
    /// Whether bytes were written to the upstream or the client since their last flush: a
    /// flush with nothing to send still walks the pipeline.
    private var upstreamNeedsFlush = false
    private var clientNeedsFlush = false
    /// A rewritten response head not written yet: the small body read with it goes into the
    /// same buffer, so the answer is one write.
    private var heldClientHead: ByteBuffer?
    private var generation = -1
    private var listener: CompiledListener?
    private var limits = ResolvedLimits(nil)
    /// The connection's one response timer, pending while it is not nil; see `armResponseTimer`.
    private var responseTimer: Scheduled<Void>?
    private var responseTimerDeadline = NIODeadline.uptimeNanoseconds(0)

    init(core: ProxyCore, pool: UpstreamPool, listenerAddress: String, isTLS: Bool = false) {
        self.core = core
        self.pool = pool
        self.listenerAddress = listenerAddress
        self.isTLS = isTLS
    }

    func handlerAdded(context: ChannelHandlerContext) {
        self.context = context
        allocator = context.channel.allocator
        addedFields = HTTPForwarding.AddedFields(clientAddress: context.channel.remoteAddress?.ipAddress, isTLS: isTLS)
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        self.context = nil
        responseTimer?.cancel()
        responseTimer = nil
    }

    // MARK: Client side

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        guard !state.isClosing else { return }
        isReading = true
        var bytes = unwrapInboundIn(data)
        if state.isTunnel {
            if let exchange { send(bytes, in: exchange) }
            return
        }
        bytes.join(after: &received)
        readRequests(from: &bytes, context: context)
        if bytes.readableBytes > 0 { received = bytes }
    }

    /// Reads heads and bodies from `bytes` until they run out, the connection is closing, or
    /// a pipelined request must wait for the answer in flight.
    private func readRequests(from bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        while bytes.readableBytes > 0, !state.isClosing {
            if requestBody != nil {
                readBody(from: &bytes, context: context)
            } else if exchange == nil {
                guard readHead(from: &bytes, context: context) else { return }
            } else {
                return
            }
        }
    }

    /// Reads a request head and starts its exchange; false while the head is incomplete.
    private func readHead(from bytes: inout ByteBuffer, context: ChannelHandlerContext) -> Bool {
        refreshTable()
        let parsed: HeadParse
        do {
            parsed = try bytes.withUnsafeReadableBytes { raw in
                try head.parse(raw, isRequest: true, limit: limits.maxHeaderBytes)
            }
        } catch HeadError.tooLarge {
            refuseRequest(
                .requestHeaderFieldsTooLarge, "request head exceeds \(limits.maxHeaderBytes) bytes", context: context)
            return false
        } catch {
            refuseRequest(.badRequest, "malformed request", context: context)
            return false
        }
        guard case .complete(let length) = parsed else { return false }
        start(bytes.readSlice(length: length)!, context: context)
        return true
    }

    /// Reads body bytes of the current request: forwarded, or dropped after an own answer.
    private func readBody(from bytes: inout ByteBuffer, context: ChannelHandlerContext) {
        guard var framer = requestBody else { return }
        var dataBytes = 0
        let consumed: Int
        do {
            consumed = try bytes.withUnsafeReadableBytes { raw in try framer.consume(raw) { dataBytes += $0.count } }
        } catch {
            refuseRequest(.badRequest, "malformed request body", context: context)
            return
        }
        let part = bytes.readSlice(length: consumed)!
        requestBody = framer.isComplete ? nil : framer
        switch state.requestBodyRead(dataBytes: dataBytes, isComplete: framer.isComplete, limit: limits.maxBodyBytes) {
        case .drop:
            return
        case .refuse:
            refuseRequest(.payloadTooLarge, "request body exceeds \(limits.maxBodyBytes) bytes", context: context)
        case .forward:
            guard let exchange else { return }
            send(part, in: exchange)
            exchange.mirror?.forward(part, ends: framer.isComplete)
        }
    }

    /// Ends the request being read with the proxy's own answer and closes the connection after
    /// it; when the upstream's answer has already begun, the client can only learn it from the
    /// closed connection.
    private func refuseRequest(_ status: HTTPResponseStatus, _ reason: String, context: ChannelHandlerContext) {
        refused(state.refuse(), status, reason, context: context)
    }

    private func refused(
        _ refusal: ProxyConnectionState.Refusal, _ status: HTTPResponseStatus, _ reason: String,
        context: ChannelHandlerContext
    ) {
        releaseExchange()
        switch refusal {
        case .close: context.close(promise: nil)
        case .answerAndClose: respond(status, reason, context: context, close: true)
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        isReading = false
        flushBoth(context)
    }

    /// Sends what was written to the upstream, the mirror and the client: the upstream's and
    /// the client's at the end of the loop's turn (`TickFlusher`).
    private func flushBoth(_ context: ChannelHandlerContext) {
        if upstreamNeedsFlush {
            upstreamNeedsFlush = false
            exchange?.upstream?.flush(with: pool.flusher)
        }
        exchange?.mirror?.flush()
        flushClient(context)
    }

    private func flushClient(_ context: ChannelHandlerContext) {
        if clientNeedsFlush {
            clientNeedsFlush = false
            pool.flusher.flush(context)
        }
    }

    private func writeToClient(_ bytes: ByteBuffer, _ context: ChannelHandlerContext) {
        clientNeedsFlush = true
        context.write(wrapOutboundOut(bytes), promise: nil)
    }

    func read(context: ChannelHandlerContext) {
        if state.readRequested(
            hasUnreadRequest: received != nil, isReadingBody: requestBody != nil,
            upstreamWritable: exchange?.upstream?.isWritable ?? false)
        {
            context.read()
        }
    }

    /// Reads from the client if a read was held back and may go ahead now.
    private func resumeRead(canForward: Bool) {
        if state.resumeRead(hasUnreadRequest: received != nil, canForward: canForward), let context {
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
        guard case .some(ChannelEvent.inputClosed) = event as? ChannelEvent else {
            context.fireUserInboundEventTriggered(event)
            return
        }
        if state.isTunnel {
            // The client is done sending; the upstream may still answer.
            exchange?.upstream?.closeOutput()
            return
        }
        // The client stopped sending in the middle of a request, or after a whole one (then
        // it is answered before the connection closes).
        if let refusal = state.inputClosed(isReadingBody: requestBody != nil, hasUnreadBytes: received != nil) {
            refused(refusal, .badRequest, "request ended before it was complete", context: context)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        state.failed()
        releaseExchange()
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        // The client left: an upstream mid-exchange cannot be reused. The mirror goes on.
        state.abandon()
        releaseExchange()
        context.fireChannelInactive()
    }

    // MARK: Routing

    private func start(_ headBytes: ByteBuffer, context: ChannelHandlerContext) {
        if let length = head.contentLength, length > limits.maxBodyBytes {
            refuseRequest(.payloadTooLarge, "request body exceeds \(limits.maxBodyBytes) bytes", context: context)
            return
        }
        requestBody = BodyFramer.forBody(of: head, isRequest: true)
        guard let listener else {
            respondEarly(.serviceUnavailable, "listener \(listenerAddress) is not in the route table")
            return
        }
        let head = self.head
        let route = headBytes.withUnsafeReadableBytes { raw in Self.route(head, raw, listener: listener) }
        guard let route else {
            respondEarly(.notFound, "no route of listener \(listenerAddress) matches")
            return
        }
        let service: CompiledService
        var setCookie: [UInt8]?
        if let sticky = route.sticky {
            (service, setCookie) = headBytes.withUnsafeReadableBytes { raw in
                route.stickyBackend(sticky, head, raw)
            }
        } else {
            service = route.nextBackend()
        }
        service.stats[pool.shard].requests.add(1, ordering: .relaxed)
        guard let endpoint = service.nextEndpoint() else {
            service.stats[pool.shard].noEndpoint.add(1, ordering: .relaxed)
            service.stats[pool.shard].countResponse(status: 503, nanoseconds: 0)
            respondEarly(.serviceUnavailable, "no ready endpoint for service \(service.name)")
            return
        }
        // An upgrade (WebSocket, say) is carried when the request has no body: a body would
        // have to end before the new protocol begins, and no client sends one.
        // An HTTP/2 endpoint gets the request on a stream (`HTTP1OverHTTP2Codec`), without the upgrade.
        let asksUpgrade = head.asksUpgrade && requestBody == nil && !service.speaksHTTP2
        // The last request's buffer is written again once nothing holds it any more (its
        // exchange, a mirror, the upstream channel's pending writes): no allocation a request.
        var upstreamHead = spareHead.take() ?? allocator.buffer(capacity: 0)
        upstreamHead.clear(minimumCapacity: headBytes.readableBytes + 96)
        let (isIdempotent, isHeadRequest) = headBytes.withUnsafeReadableBytes { raw in
            HTTPForwarding.writeUpstreamRequest(
                head, raw, added: addedFields, upgrade: asksUpgrade, into: &upstreamHead)
            let method = raw[head.method]
            return (HTTPForwarding.isIdempotent(method), method.elementsEqual("HEAD".utf8))
        }
        state.requestStarted(
            minorVersion: head.minorVersion, keepAlive: head.isKeepAlive, hasBody: requestBody != nil,
            isIdempotent: isIdempotent, asksUpgrade: asksUpgrade)
        spareHead = upstreamHead
        let exchange = Exchange(
            upstreamHead: upstreamHead, isHeadRequest: isHeadRequest, asksUpgrade: asksUpgrade, service: service,
            endpoint: endpoint, shard: pool.shard, startedAt: pool.eventLoop.now)
        exchange.setCookie = setCookie
        self.exchange = exchange
        // A mirror would open a second tunnel nobody reads: upgrades are not mirrored.
        if !asksUpgrade, let mirrorService = route.nextMirror() {
            let mirror = MirrorExchange(service: mirrorService, pool: pool, limits: limits)
            mirror.start(head: upstreamHead, isHeadRequest: isHeadRequest, ends: requestBody == nil)
            exchange.mirror = mirror
        }
        connect(exchange, at: exchange.startedAt)
    }

    /// The route for a request: the first route when it takes every request (no strings made),
    /// else by method, path (without the query) and, when a route asks, headers.
    private static func route(
        _ head: MessageHead, _ raw: UnsafeRawBufferPointer, listener: CompiledListener
    ) -> CompiledRoute? {
        if listener.routes.first?.match == nil { return listener.routes.first }
        let target = raw[head.target]
        let pathEnd = target.firstIndex(of: UInt8(ascii: "?")) ?? target.endIndex
        let path = String(decoding: raw[target.startIndex..<pathEnd], as: UTF8.self)
        let method = String(decoding: raw[head.method], as: UTF8.self)
        let headers = listener.matchesHeaders ? HTTPForwarding.headers(of: head, raw) : HTTPHeaders()
        return listener.route(method: method, path: path[...], headers: headers)
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

    /// Sends the exchange's request on a pooled connection, or on a new one; `now` is the
    /// clock's reading just taken (the response deadline counts from it).
    private func connect(_ exchange: Exchange, at now: NIODeadline) {
        exchange.endpoint.stats[exchange.shard].requests.add(1, ordering: .relaxed)
        if !exchange.service.speaksHTTP2, let upstream = pool.leaseIdle(exchange.endpoint) {
            attach(upstream, to: exchange, at: now)
            return
        }
        pool.connect(exchange.endpoint, of: exchange.service, connectTimeout: limits.connectTimeout) { result in
            guard self.exchange === exchange else {
                if case .success(let upstream) = result { upstream.close() }
                return
            }
            switch result {
            case .success(let upstream):
                self.attach(upstream, to: exchange, at: self.pool.eventLoop.now)
            case .failure(let error):
                if case ChannelError.connectTimeout = error {
                    self.upstreamFailed(exchange, timedOut: true)
                } else {
                    self.upstreamFailed(exchange, timedOut: false)
                }
            }
        }
    }

    private func attach(_ upstream: UpstreamHandler, to exchange: Exchange, at now: NIODeadline) {
        upstream.delegate = self
        upstream.begin(requestWasHead: exchange.isHeadRequest, asksUpgrade: exchange.asksUpgrade)
        exchange.upstream = upstream
        upstream.write(exchange.upstreamHead)
        for part in exchange.buffered { upstream.write(part) }
        exchange.buffered = []
        if isReading {
            upstreamNeedsFlush = true
        } else {
            upstream.flush()
        }
        let deadline = now + limits.responseTimeout
        exchange.responseDeadline = deadline
        if responseTimer == nil || responseTimerDeadline > deadline {
            armResponseTimer(at: deadline)
        }
        resumeRead(canForward: upstream.isWritable)
    }

    private func send(_ part: ByteBuffer, in exchange: Exchange) {
        if let upstream = exchange.upstream {
            upstream.write(part)
            upstreamNeedsFlush = true
        } else {
            exchange.buffered.append(part)
        }
    }

    var wantsUpstreamReads: Bool { context?.channel.isWritable ?? false }

    func upstreamReceivedHead(_ head: MessageHead, bytes: ByteBuffer, from upstream: UpstreamHandler) {
        _ = receivedHead(head, bytes: bytes, whole: nil, from: upstream)
    }

    func upstreamReceivedWhole(_ head: MessageHead, message: ByteBuffer, from upstream: UpstreamHandler) -> Bool {
        receivedHead(
            head, bytes: message.getSlice(at: message.readerIndex, length: head.length)!, whole: message, from: upstream
        )
    }

    /// Forwards a response head; with the `whole` message (head and body), returns whether it
    /// went to the client in one piece, which it does when the head goes unchanged.
    private func receivedHead(
        _ head: MessageHead, bytes: ByteBuffer, whole: ByteBuffer?, from upstream: UpstreamHandler
    ) -> Bool {
        guard let exchange, exchange.upstream === upstream, let context else {
            upstream.abandon()
            return false
        }
        let bodyMode = upstream.responseBodyMode
        let keepAlive: Bool
        let unchunks: Bool
        switch state.responseHead(status: head.status, bodyMode: bodyMode, isChunked: head.isChunked) {
        case .forwardInterim:
            writeToClient(bytes, context)
            return false
        case .dropInterim:
            return false
        case .tunnel:
            beginTunnel(exchange, head: head, bytes: bytes, upstream: upstream, context: context)
            return false
        case .forward(let keepsAlive, let unchunked):
            (keepAlive, unchunks) = (keepsAlive, unchunked)
        }
        exchange.responseDeadline = nil
        upstream.unchunksBody = unchunks
        let clientMinorVersion = state.exchange!.clientMinorVersion
        let setCookie = exchange.setCookie
        if setCookie == nil,
            HTTPForwarding.isForwardedUnchanged(head, clientMinorVersion: clientMinorVersion, keepAlive: keepAlive)
        {
            writeToClient(whole ?? bytes, context)
            return whole != nil
        }
        var smallBody = 0
        if case .length(let length) = bodyMode, length <= Self.smallBodyBytes { smallBody = length }
        var clientHead = allocator.buffer(capacity: bytes.readableBytes + 32 + smallBody + (setCookie?.count ?? 0))
        bytes.withUnsafeReadableBytes { raw in
            HTTPForwarding.writeClientResponse(
                head, raw, clientMinorVersion: clientMinorVersion, keepAlive: keepAlive, unchunks: unchunks,
                added: setCookie, into: &clientHead)
        }
        if smallBody > 0, let whole {
            // The body is here too: it goes in the head's buffer.
            clientHead.writeImmutableBuffer(whole.getSlice(at: whole.readerIndex + head.length, length: smallBody)!)
            writeToClient(clientHead, context)
            return true
        } else if smallBody > 0 {
            heldClientHead = clientHead
        } else {
            writeToClient(clientHead, context)
        }
        return false
    }

    /// Forwards the 101 that switched protocols, then carries bytes both ways: what the client
    /// sent after its request goes upstream first. From here on the connection is the
    /// endpoint's alone, and ends when either side closes it.
    private func beginTunnel(
        _ exchange: Exchange, head: MessageHead, bytes: ByteBuffer, upstream: UpstreamHandler,
        context: ChannelHandlerContext
    ) {
        exchange.responseDeadline = nil
        exchange.service.stats[exchange.shard].upgrades.add(1, ordering: .relaxed)
        exchange.countAnswer(status: 101, byEndpoint: true, at: pool.eventLoop.now)
        var clientHead = allocator.buffer(capacity: bytes.readableBytes + 32)
        bytes.withUnsafeReadableBytes { raw in
            HTTPForwarding.writeClientResponse(
                head, raw, clientMinorVersion: 1, keepAlive: true, unchunks: false, upgrade: true, into: &clientHead)
        }
        writeToClient(clientHead, context)
        if let early = received {
            received = nil
            send(early, in: exchange)
            upstreamNeedsFlush = false
            upstream.flush()
        }
        if state.closeAfterResponse {
            // The client stopped sending before the switch.
            upstream.closeOutput()
        }
        resumeRead(canForward: upstream.isWritable)
    }

    /// The largest body copied into its rewritten head's buffer.
    private static let smallBodyBytes = 4096

    func upstreamReceivedBody(_ bytes: ByteBuffer, from upstream: UpstreamHandler) {
        guard exchange?.upstream === upstream, let context else { return }
        if var head = heldClientHead {
            heldClientHead = nil
            if bytes.readableBytes <= head.writableBytes {
                head.writeImmutableBuffer(bytes)
                writeToClient(head, context)
                return
            }
            writeToClient(head, context)
        }
        writeToClient(bytes, context)
    }

    /// Writes a held response head whose body did not come with it.
    private func writeHeldHead(_ context: ChannelHandlerContext) {
        if let head = heldClientHead {
            heldClientHead = nil
            writeToClient(head, context)
        }
    }

    func upstreamReceivedEnd(from upstream: UpstreamHandler, reusable: Bool) {
        guard let exchange, exchange.upstream === upstream, let context else {
            upstream.abandon()
            return
        }
        finish(exchange, upstream: upstream, reusable: reusable, context: context)
    }

    func upstreamReadComplete() {
        guard let context else { return }
        writeHeldHead(context)
        flushClient(context)
    }

    func upstreamWritabilityChanged(_ upstream: UpstreamHandler) {
        if upstream.isWritable { resumeRead(canForward: true) }
    }

    func upstreamClosed(_ upstream: UpstreamHandler, error: (any Error)?) {
        guard let exchange, exchange.upstream === upstream else { return }
        exchange.upstream = nil
        if state.isTunnel {
            // The endpoint ended the tunnel: the client gets what it sent, then the close.
            _ = state.upstreamClosed()
            self.exchange = nil
            if let context { closeAfterWrites(context) }
        } else if state.upstreamClosed() {
            // The answer was cut off: the client can only learn it from the closed connection.
            exchange.service.stats[exchange.shard].upstreamFailures.add(1, ordering: .relaxed)
            exchange.endpointFailed()
            self.exchange = nil
            exchange.responseDeadline = nil
            heldClientHead = nil
            context?.close(promise: nil)
        } else {
            upstreamFailed(exchange, timedOut: false)
        }
    }

    private func upstreamFailed(_ exchange: Exchange, timedOut: Bool) {
        exchange.endpointFailed()
        exchange.service.markFailed(exchange.endpoint)
        if state.mayRetry, exchange.service.endpoints.count > 1,
            let next = exchange.service.nextEndpoint(excluding: exchange.endpoint)
        {
            state.retrying()
            exchange.endpoint = next
            exchange.responseDeadline = nil
            exchange.service.stats[exchange.shard].retries.add(1, ordering: .relaxed)
            connect(exchange, at: pool.eventLoop.now)
            return
        }
        guard let context, let answer = state.gaveUp() else { return }
        releaseExchange()
        let endpoint = exchange.endpoint.key
        if timedOut {
            exchange.service.stats[exchange.shard].timeouts.add(1, ordering: .relaxed)
            exchange.countAnswer(status: 504, byEndpoint: false, at: pool.eventLoop.now)
            respond(
                .gatewayTimeout, "connect to \(endpoint) of service \(exchange.service.name) timed out",
                context: context, close: answer.close, minorVersion: answer.minorVersion)
        } else {
            exchange.service.stats[exchange.shard].upstreamFailures.add(1, ordering: .relaxed)
            exchange.countAnswer(status: 502, byEndpoint: false, at: pool.eventLoop.now)
            // To an HTTP/2 endpoint the request went on a stream, which the endpoint may reset.
            let dropped = exchange.service.speaksHTTP2 ? "the connection or reset the stream" : "the connection"
            respond(
                .badGateway,
                "endpoint \(endpoint) of service \(exchange.service.name) refused or dropped \(dropped)",
                context: context, close: answer.close, minorVersion: answer.minorVersion)
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
        // A strong capture: `handlerRemoved` cancels the timer, and a weak one would put every
        // retain and release of the handler on the slow side-table path.
        responseTimer = pool.eventLoop.assumeIsolated().scheduleTask(deadline: deadline) {
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
        guard self.exchange === exchange, let context, let answer = state.gaveUp() else { return }
        exchange.service.stats[exchange.shard].timeouts.add(1, ordering: .relaxed)
        exchange.endpointFailed()
        exchange.countAnswer(status: 504, byEndpoint: false, at: pool.eventLoop.now)
        releaseExchange()
        respond(
            .gatewayTimeout,
            "endpoint \(exchange.endpoint.key) of service \(exchange.service.name) did not answer in "
                + "\(limits.responseTimeout.nanoseconds / 1_000_000) ms",
            context: context, close: answer.close, minorVersion: answer.minorVersion)
    }

    private func finish(
        _ exchange: Exchange, upstream: UpstreamHandler, reusable: Bool, context: ChannelHandlerContext
    ) {
        // One clock reading for the latency and the connection's idle deadline.
        let now = pool.eventLoop.now
        exchange.countAnswer(status: state.exchange!.status, byEndpoint: true, at: now)
        let end = state.responseEnded(reusable: reusable)
        writeHeldHead(context)
        self.exchange = nil
        exchange.upstream = nil
        pool.endLease(upstream, reusable: end.reuseUpstream, idleTimeout: limits.upstreamIdleTimeout, at: now)
        if end.close {
            closeAfterWrites(context)
            return
        }
        flushClient(context)
        if received != nil {
            // A pipelined request waits: read it once this call stack (the upstream's read) is done.
            context.eventLoop.assumeIsolated().execute { self.readReceived() }
        } else {
            resumeRead(canForward: true)
        }
    }

    /// Goes on with requests received while an answer was in flight.
    private func readReceived() {
        guard let context, var bytes = received, exchange == nil else { return }
        received = nil
        readRequests(from: &bytes, context: context)
        if bytes.readableBytes > 0 { received = bytes }
        flushBoth(context)
        resumeRead(canForward: exchange == nil || exchange?.upstream?.isWritable == true)
    }

    /// Closes the connection once everything written has gone out; `state` has decided so.
    private func closeAfterWrites(_ context: ChannelHandlerContext) {
        precondition(state.isClosing, "the connection closes without the state saying so")
        clientNeedsFlush = false
        context.writeAndFlush(wrapOutboundOut(ByteBuffer())).assumeIsolated().whenComplete { _ in
            context.close(promise: nil)
        }
    }

    /// Lets go of the exchange `state` has just abandoned: its upstream, mid-exchange, is
    /// closed, not reused.
    private func releaseExchange() {
        precondition(state.exchange == nil, "an exchange released while the state keeps it")
        guard let exchange else { return }
        self.exchange = nil
        exchange.responseDeadline = nil
        if let upstream = exchange.upstream {
            exchange.upstream = nil
            upstream.abandon()
        }
    }

    // MARK: The proxy's own answers

    /// Answers a request whose head was just read, before any upstream was involved (see
    /// `ProxyConnectionState.answeredEarly`).
    private func respondEarly(_ status: HTTPResponseStatus, _ reason: String) {
        guard let context else { return }
        let close = state.answeredEarly(
            keepAlive: head.isKeepAlive, hasBody: requestBody != nil, expectsContinue: head.expectsContinue)
        respond(status, reason, context: context, close: close, minorVersion: head.minorVersion)
    }

    private func respond(
        _ status: HTTPResponseStatus, _ reason: String, context: ChannelHandlerContext, close: Bool,
        minorVersion: Int = 1
    ) {
        let body = "\(status.code) \(status.reasonPhrase): \(reason)\n"
        var response = allocator.buffer(capacity: 192 + body.utf8.count)
        response.writeString("HTTP/1.\(minorVersion) \(status.code) \(status.reasonPhrase)\r\n")
        response.writeStaticString("Content-Type: text/plain; charset=utf-8\r\n")
        // A browser must not sniff this text (which may carry a request's path) as HTML.
        response.writeStaticString("X-Content-Type-Options: nosniff\r\n")
        response.writeString("Content-Length: \(body.utf8.count)\r\n")
        if close { response.writeStaticString("Connection: close\r\n") }
        response.writeStaticString("\r\n")
        response.writeString(body)
        writeToClient(response, context)
        if close {
            closeAfterWrites(context)
        } else {
            flushClient(context)
        }
    }
}
