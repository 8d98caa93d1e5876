import Testing

@testable import AviaryRouter

/// The decisions of a client connection, without bytes or sockets: each row is what happened
/// on the connection and what the state must answer.
@Suite("Proxy connection state")
struct ProxyConnectionStateTests {
    typealias State = ProxyConnectionState

    /// A GET (idempotent, no body) from an HTTP/1.1 keep-alive client, in flight.
    static func get(keepAlive: Bool = true, minorVersion: Int = 1) -> State {
        var state = State()
        state.requestStarted(minorVersion: minorVersion, keepAlive: keepAlive, hasBody: false, isIdempotent: true)
        return state
    }

    /// A POST with a body still to read, in flight.
    static func post() -> State {
        var state = State()
        state.requestStarted(minorVersion: 1, keepAlive: true, hasBody: true, isIdempotent: false)
        return state
    }

    struct EndCase: CustomTestStringConvertible, Sendable {
        let name: String
        let clientKeepAlive: Bool
        let minorVersion: Int
        let bodyMode: BodyFramer.Mode?
        let isChunked: Bool
        let halfClosed: Bool
        let reusable: Bool
        let head: State.HeadAction
        let end: State.End
        var testDescription: String { name }
    }

    @Test(
        "whether an answer keeps the client's connection and the upstream's",
        arguments: [
            EndCase(
                name: "keep-alive with a length", clientKeepAlive: true, minorVersion: 1, bodyMode: .length(2),
                isChunked: false, halfClosed: false, reusable: true, head: .forward(keepAlive: true, unchunks: false),
                end: .init(reuseUpstream: true, close: false)),
            EndCase(
                name: "client asked to close", clientKeepAlive: false, minorVersion: 1, bodyMode: .length(2),
                isChunked: false, halfClosed: false, reusable: true, head: .forward(keepAlive: false, unchunks: false),
                end: .init(reuseUpstream: true, close: true)),
            EndCase(
                name: "body until the upstream closes", clientKeepAlive: true, minorVersion: 1, bodyMode: .untilClose,
                isChunked: false, halfClosed: false, reusable: false, head: .forward(keepAlive: false, unchunks: false),
                end: .init(reuseUpstream: false, close: true)),
            EndCase(
                name: "chunked to an HTTP/1.0 client", clientKeepAlive: true, minorVersion: 0,
                bodyMode: .chunked(.size(value: 0, digits: 0)), isChunked: true, halfClosed: false, reusable: true,
                head: .forward(keepAlive: false, unchunks: true), end: .init(reuseUpstream: true, close: true)),
            EndCase(
                name: "chunked to an HTTP/1.1 client", clientKeepAlive: true, minorVersion: 1,
                bodyMode: .chunked(.size(value: 0, digits: 0)), isChunked: true, halfClosed: false, reusable: true,
                head: .forward(keepAlive: true, unchunks: false), end: .init(reuseUpstream: true, close: false)),
            EndCase(
                name: "client half-closed after its request", clientKeepAlive: true, minorVersion: 1,
                bodyMode: nil, isChunked: false, halfClosed: true, reusable: true,
                head: .forward(keepAlive: true, unchunks: false), end: .init(reuseUpstream: true, close: true)),
            EndCase(
                name: "upstream not reusable", clientKeepAlive: true, minorVersion: 1, bodyMode: .length(2),
                isChunked: false, halfClosed: false, reusable: false, head: .forward(keepAlive: true, unchunks: false),
                end: .init(reuseUpstream: false, close: false)),
        ]
    )
    func answerEnds(_ row: EndCase) {
        var state = Self.get(keepAlive: row.clientKeepAlive, minorVersion: row.minorVersion)
        if row.halfClosed {
            let result1 = state.inputClosed(isReadingBody: false, hasUnreadBytes: false)
            #expect(result1 == nil)
        }
        let result2 = state.responseHead(status: 200, bodyMode: row.bodyMode, isChunked: row.isChunked)
        #expect(result2 == row.head)
        let result3 = state.responseEnded(reusable: row.reusable)
        #expect(result3 == row.end)
        #expect(state.exchange == nil)
        #expect(state.isClosing == row.end.close)
    }

    @Test("interim answers reach HTTP/1.1 clients only, and do not start the response")
    func interimAnswers() {
        var modern = Self.get(minorVersion: 1)
        let result4 = modern.responseHead(status: 100, bodyMode: nil, isChunked: false)
        #expect(result4 == .forwardInterim)
        var old = Self.get(minorVersion: 0)
        let result5 = old.responseHead(status: 100, bodyMode: nil, isChunked: false)
        #expect(result5 == .dropInterim)
        #expect(modern.exchange?.responseStarted == false)
        let result6 = modern.gaveUp()
        #expect(result6 == .init(close: false, minorVersion: 1))
    }

    @Test(
        "a 101 to an upgrade makes a tunnel: the client is read only while the upstream takes more, and it ends with either side"
    )
    func tunnel() {
        var state = State()
        state.requestStarted(minorVersion: 1, keepAlive: true, hasBody: false, isIdempotent: true, asksUpgrade: true)
        let head = state.responseHead(status: 101, bodyMode: nil, isChunked: false)
        #expect(head == .tunnel)
        #expect(state.isTunnel)
        let heldBack = !state.readRequested(hasUnreadRequest: false, isReadingBody: false, upstreamWritable: false)
        #expect(heldBack)
        let resumed = state.resumeRead(hasUnreadRequest: false, canForward: true)
        #expect(resumed)
        let readsOn = state.readRequested(hasUnreadRequest: false, isReadingBody: false, upstreamWritable: true)
        #expect(readsOn)
        // No 502 or 504 once the tunnel stands: its upstream's close closes the client.
        let ownAnswer = state.gaveUp()
        #expect(ownAnswer == nil)
        let closes = state.upstreamClosed()
        #expect(closes)
        #expect(state.isClosing)
    }

    @Test("a 101 to a request that did not ask to upgrade starts no tunnel")
    func noTunnelUnasked() {
        var state = Self.get()
        let head = state.responseHead(status: 101, bodyMode: nil, isChunked: false)
        #expect(head == .forwardInterim)
        #expect(!state.isTunnel)
    }

    @Test("an idempotent request without a body is retried once, then answered")
    func retriedOnce() {
        var state = Self.get()
        #expect(state.mayRetry)
        state.retrying()
        #expect(!state.mayRetry)
        let result7 = state.gaveUp()
        #expect(result7 == .init(close: false, minorVersion: 1))
        #expect(state.exchange == nil)
        #expect(!state.isClosing)
        #expect(!state.isDiscardingRequest)
    }

    @Test("a request with a body is never retried; its failure closes the connection while the body is unread")
    func bodiesAreNotRetried() {
        var state = Self.post()
        #expect(!state.mayRetry)
        let result8 = state.gaveUp()
        #expect(result8 == .init(close: true, minorVersion: 1))
        #expect(state.isClosing)
        #expect(state.isDiscardingRequest)
    }

    @Test("no answer once the response has begun: the connection closes instead")
    func failureAfterTheHead() {
        var state = Self.get()
        _ = state.responseHead(status: 200, bodyMode: .length(5), isChunked: false)
        let result9 = state.gaveUp()
        #expect(result9 == nil)
        let result10 = state.refuse()
        #expect(result10 == .close)
        #expect(state.isClosing)

        var cut = Self.get()
        let result11 = cut.upstreamClosed()
        #expect(!result11)
        #expect(!cut.isClosing)
        _ = cut.responseHead(status: 200, bodyMode: .length(5), isChunked: false)
        let result12 = cut.upstreamClosed()
        #expect(result12)
        #expect(cut.exchange == nil && cut.isClosing)
    }

    struct BodyCase: CustomTestStringConvertible, Sendable {
        let name: String
        let parts: [(bytes: Int, complete: Bool)]
        let actions: [State.BodyAction]
        var testDescription: String { name }
    }

    @Test(
        "request bodies go upstream until the limit, then the request is refused",
        arguments: [
            BodyCase(
                name: "within the limit", parts: [(30, false), (34, true)], actions: [.forward, .forward]),
            BodyCase(name: "over the limit", parts: [(30, false), (35, true)], actions: [.forward, .refuse]),
        ]
    )
    func bodyLimit(_ row: BodyCase) {
        var state = Self.post()
        var actions: [State.BodyAction] = []
        for part in row.parts {
            actions.append(state.requestBodyRead(dataBytes: part.bytes, isComplete: part.complete, limit: 64))
        }
        #expect(actions == row.actions)
    }

    @Test("the body of a request the proxy answered itself is dropped, then the next request is read")
    func earlyAnswerDropsTheBody() {
        var state = State()
        let result13 = state.answeredEarly(keepAlive: true, hasBody: true, expectsContinue: false)
        #expect(!result13)
        let result14 = state.requestBodyRead(dataBytes: 10, isComplete: false, limit: 64)
        #expect(result14 == .drop)
        #expect(state.isDiscardingRequest)
        let result15 = state.requestBodyRead(dataBytes: 10, isComplete: true, limit: 64)
        #expect(result15 == .drop)
        #expect(!state.isDiscardingRequest && !state.isClosing)
    }

    @Test(
        "an early answer closes the connection when the client asked, half-closed, or may never send its body",
        arguments: [
            (true, true, false, false), (false, false, false, true), (true, true, true, true),
            (true, false, true, false),
        ] as [(Bool, Bool, Bool, Bool)]
    )
    func earlyAnswerCloses(keepAlive: Bool, hasBody: Bool, expectsContinue: Bool, closes: Bool) {
        var state = State()
        let result16 = state.answeredEarly(keepAlive: keepAlive, hasBody: hasBody, expectsContinue: expectsContinue)
        #expect(result16 == closes)
        #expect(state.isClosing == closes)
    }

    @Test("a half-close ends the connection now, refuses a cut request, or waits for the answer")
    func halfClose() {
        var idle = State()
        let result17 = idle.inputClosed(isReadingBody: false, hasUnreadBytes: false)
        #expect(result17 == .close)
        var partialHead = State()
        let result18 = partialHead.inputClosed(isReadingBody: false, hasUnreadBytes: true)
        #expect(result18 == .answerAndClose)
        #expect(partialHead.isClosing)
        var cutBody = Self.post()
        let result19 = cutBody.inputClosed(isReadingBody: true, hasUnreadBytes: false)
        #expect(result19 == .answerAndClose)
        #expect(cutBody.exchange == nil)
        var whole = Self.get()
        let result20 = whole.inputClosed(isReadingBody: false, hasUnreadBytes: false)
        #expect(result20 == nil)
        #expect(whole.closeAfterResponse && !whole.isClosing)
    }

    @Test("reads wait while a pipelined request or a body cannot go on, and resume once they can")
    func readGating() {
        var idle = State()
        let result21 = idle.readRequested(hasUnreadRequest: true, isReadingBody: false, upstreamWritable: false)
        #expect(result21)
        var pipelined = Self.get()
        let result22 = pipelined.readRequested(hasUnreadRequest: true, isReadingBody: false, upstreamWritable: true)
        #expect(!result22)
        let result23 = pipelined.resumeRead(hasUnreadRequest: true, canForward: true)
        #expect(!result23)
        let result24 = pipelined.resumeRead(hasUnreadRequest: false, canForward: true)
        #expect(result24)
        let result25 = pipelined.resumeRead(hasUnreadRequest: false, canForward: true)
        #expect(!result25, "one held read resumes once")
        var body = Self.post()
        let result26 = body.readRequested(hasUnreadRequest: false, isReadingBody: true, upstreamWritable: false)
        #expect(!result26)
        let result27 = body.resumeRead(hasUnreadRequest: false, canForward: false)
        #expect(!result27)
        let result28 = body.resumeRead(hasUnreadRequest: false, canForward: true)
        #expect(result28)
        var flowing = Self.post()
        let result29 = flowing.readRequested(hasUnreadRequest: false, isReadingBody: true, upstreamWritable: true)
        #expect(result29)
        #expect(!flowing.isReadPending)
    }
}
