/// The decisions of one client connection of the proxy, apart from its bytes and sockets: when
/// the client is read, whether a failed attempt is retried, whether an answer keeps the
/// connection open, and when it closes. `ProxyServerHandler` reports what happened (a head or
/// body was read, the upstream answered, failed or timed out, the client half-closed) and
/// carries out what the method returns; it keeps the bytes, the upstream and the timer.
///
/// One request is in flight at a time (`exchange`); pipelined requests wait, unread, in the
/// handler. Once `isClosing` is set nothing more is read and the connection closes after its
/// writes.
struct ProxyConnectionState {
    /// What the decisions need to know of the request in flight.
    struct Exchange: Equatable {
        /// The client's HTTP/1 minor version: the proxy answers in it.
        let clientMinorVersion: Int
        /// Whether the client's request allows the connection to carry another one.
        let clientKeepAlive: Bool
        /// Idempotent and without a body: may be sent again to another endpoint.
        let mayRetry: Bool
        /// The request asks to switch protocols and was forwarded with its `Upgrade` field.
        var asksUpgrade = false
        var attempts = 1
        /// Whether the whole request has been read (and sent, or buffered, upstream).
        var requestEnded: Bool
        var bodyBytes = 0
        /// Whether a final (non-1xx) response head has arrived.
        var responseStarted = false
        /// Whether the response keeps the client's connection open.
        var responseKeepAlive = true
        /// The response's status, for the counters.
        var status = 0
    }

    /// What to do with body bytes of the request being read.
    enum BodyAction: Equatable {
        /// Send them upstream (and to the mirror).
        case forward
        /// Drop them: the request was answered by the proxy or abandoned.
        case drop
        /// The body is over the limit: refuse the request (`refuse()`).
        case refuse
    }

    /// How to end a request the proxy will not carry on with.
    enum Refusal: Equatable {
        /// Answer it, then close after the answer is written.
        case answerAndClose
        /// The upstream's answer has begun: the client can only learn of it from the closed
        /// connection.
        case close
    }

    /// What to do with a response head from upstream.
    enum HeadAction: Equatable {
        /// An interim (1xx) answer for an HTTP/1.1 client: pass it on.
        case forwardInterim
        /// An interim answer an HTTP/1.0 client must not get.
        case dropInterim
        /// The final answer: forward it, with `Connection: close` unless `keepAlive`, and the
        /// body without its chunked framing when `unchunks` (for an HTTP/1.0 client).
        case forward(keepAlive: Bool, unchunks: Bool)
        /// 101 to the upgrade the request asked for: forward it, then carry bytes both ways
        /// (`isTunnel`) until either side closes.
        case tunnel
    }

    /// What to do once the response ended.
    struct End: Equatable {
        /// Whether the upstream connection goes back to the pool.
        let reuseUpstream: Bool
        /// Whether the client connection closes after the answer is written.
        let close: Bool
    }

    /// The proxy's own answer to a request whose upstream failed or timed out.
    struct OwnAnswer: Equatable {
        let close: Bool
        let minorVersion: Int
    }

    private(set) var exchange: Exchange?
    /// The rest of a request already answered by the proxy itself is read and dropped.
    private(set) var isDiscardingRequest = false
    /// The client half-closed after a whole request: answer it, then close.
    private(set) var closeAfterResponse = false
    /// Set once the connection is to close: nothing more is read from it.
    private(set) var isClosing = false
    /// A read from the client held back until the upstream or the answer in flight allows it.
    private(set) var isReadPending = false
    /// The connection switched protocols: bytes go both ways as they come, the exchange never
    /// ends, and the connection closes when either side does. The client is read only while
    /// the upstream can take more.
    private(set) var isTunnel = false

    // MARK: Reading from the client

    /// The channel asks to read from the client: false (and the read is held back) while a
    /// pipelined request waits for the answer in flight, or a body waits for the upstream.
    mutating func readRequested(hasUnreadRequest: Bool, isReadingBody: Bool, upstreamWritable: Bool) -> Bool {
        guard let exchange,
            hasUnreadRequest && !isReadingBody || !exchange.requestEnded && !upstreamWritable
        else { return true }
        isReadPending = true
        return false
    }

    /// Whether a held-back read goes ahead now: nothing unread waits, and what is read can be
    /// sent on (`canForward`: the upstream takes more, or no exchange is in flight).
    mutating func resumeRead(hasUnreadRequest: Bool, canForward: Bool) -> Bool {
        guard isReadPending, !hasUnreadRequest, canForward else { return false }
        isReadPending = false
        return true
    }

    /// A request head was read and routed to an endpoint: its exchange begins.
    /// `asksUpgrade`: the request was forwarded with its `Upgrade` field, and a 101 turns the
    /// connection into a tunnel.
    mutating func requestStarted(
        minorVersion: Int, keepAlive: Bool, hasBody: Bool, isIdempotent: Bool, asksUpgrade: Bool = false
    ) {
        precondition(exchange == nil, "a request head was read while one was in flight")
        exchange = Exchange(
            clientMinorVersion: minorVersion, clientKeepAlive: keepAlive && !closeAfterResponse,
            mayRetry: isIdempotent && !hasBody, asksUpgrade: asksUpgrade, requestEnded: !hasBody)
    }

    /// The proxy answers a request whose head was just read itself (no route, no endpoint);
    /// its body, if any, is read and dropped. Returns whether the connection closes after the
    /// answer: a client that sent `Expect: 100-continue` may never send the body once it has a
    /// final answer, so what it sends next could be read as body.
    mutating func answeredEarly(keepAlive: Bool, hasBody: Bool, expectsContinue: Bool) -> Bool {
        isDiscardingRequest = hasBody
        let close = !keepAlive || closeAfterResponse || hasBody && expectsContinue
        if close { isClosing = true }
        return close
    }

    /// Body bytes of the request being read: `dataBytes` of data, the body ends with them
    /// when `isComplete`.
    mutating func requestBodyRead(dataBytes: Int, isComplete: Bool, limit: Int) -> BodyAction {
        if isDiscardingRequest {
            isDiscardingRequest = !isComplete
            return .drop
        }
        guard exchange != nil else { return .drop }
        exchange!.bodyBytes += dataBytes
        if exchange!.bodyBytes > limit { return .refuse }
        exchange!.requestEnded = isComplete
        return .forward
    }

    /// The request being read cannot go on (malformed, too large, cut short); the connection
    /// closes.
    mutating func refuse() -> Refusal {
        isClosing = true
        guard let exchange = abandon() else { return .answerAndClose }
        return exchange.responseStarted ? .close : .answerAndClose
    }

    /// The client half-closed its side. Returns the refusal when it stopped in the middle of a
    /// request, `.close` when nothing is in flight, nil when the request in flight is answered
    /// before the connection closes.
    mutating func inputClosed(isReadingBody: Bool, hasUnreadBytes: Bool) -> Refusal? {
        if isReadingBody && !isDiscardingRequest || exchange == nil && hasUnreadBytes {
            return refuse()
        }
        if exchange == nil { return .close }
        closeAfterResponse = true
        return nil
    }

    /// The client connection failed: the exchange is abandoned and the connection closes.
    mutating func failed() {
        abandon()
        isClosing = true
    }

    /// Ends the exchange in flight without a response from upstream; the rest of its request,
    /// if any, is read and dropped.
    @discardableResult
    mutating func abandon() -> Exchange? {
        guard let exchange else { return nil }
        self.exchange = nil
        isDiscardingRequest = !exchange.requestEnded
        return exchange
    }

    // MARK: The upstream's answer

    /// A response head arrived with status `status`; `bodyMode` says how its body is framed
    /// (nil: none).
    mutating func responseHead(status: Int, bodyMode: BodyFramer.Mode?, isChunked: Bool) -> HeadAction {
        precondition(exchange != nil, "a response head arrived with no exchange in flight")
        if status == 101, exchange!.asksUpgrade {
            exchange!.responseStarted = true
            exchange!.status = status
            // The client's bytes from now on belong to the new protocol: the request never ends.
            exchange!.requestEnded = false
            isTunnel = true
            return .tunnel
        }
        if status < 200 {
            // A 101 to a request that did not ask for it never comes: the upstream refuses it.
            return exchange!.clientMinorVersion == 1 ? .forwardInterim : .dropInterim
        }
        exchange!.responseStarted = true
        exchange!.status = status
        let unchunks = exchange!.clientMinorVersion == 0 && bodyMode != nil && isChunked
        // A body that ends only with the connection (or an unchunked one) ends the client's too.
        let keepAlive = exchange!.clientKeepAlive && bodyMode != .untilClose && !unchunks
        exchange!.responseKeepAlive = keepAlive
        return .forward(keepAlive: keepAlive, unchunks: unchunks)
    }

    /// The response ended; `reusable` says whether the upstream could carry another request.
    mutating func responseEnded(reusable: Bool) -> End {
        guard let exchange else { preconditionFailure("a response ended with no exchange in flight") }
        self.exchange = nil
        let close = !exchange.responseKeepAlive || closeAfterResponse || !exchange.requestEnded
        if close { isClosing = true }
        return End(reuseUpstream: reusable && exchange.requestEnded, close: close)
    }

    /// The upstream connection closed. True when the answer had begun: it was cut off and the
    /// client connection closes; false when the attempt failed before it (`attemptFailed`).
    mutating func upstreamClosed() -> Bool {
        guard exchange?.responseStarted == true else { return false }
        exchange = nil
        isClosing = true
        return true
    }

    /// Whether a failed attempt (refused, dropped, timed out connecting) may go to another
    /// endpoint: an idempotent request without a body, tried once.
    var mayRetry: Bool { exchange.map { $0.mayRetry && $0.attempts == 1 } ?? false }

    /// The request goes to another endpoint.
    mutating func retrying() {
        exchange!.attempts += 1
    }

    /// No response head will come (the upstream failed, or did not answer in time): the proxy
    /// answers 502 or 504 itself. Nil when no exchange waits for a head.
    mutating func gaveUp() -> OwnAnswer? {
        guard let exchange, !exchange.responseStarted else { return nil }
        abandon()
        let close = !exchange.requestEnded || !exchange.clientKeepAlive
        if close { isClosing = true }
        return OwnAnswer(close: close, minorVersion: exchange.clientMinorVersion)
    }
}
