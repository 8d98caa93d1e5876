import AviaryRoutes
import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import AviaryRouter

@Suite("Proxy handler on an EmbeddedChannel, and head rewriting")
struct ProxyHandlerTests {
    static let table = """
        services:
          empty: {endpoints: []}
        listeners:
          - address: 127.0.0.1:8080
            routes:
              - match: {anyOf: [{path: {prefix: /empty}}]}
                backends: [{service: empty}]
        limits: {maxHeaderBytes: 512, maxBodyBytes: 64}
        """

    /// A client connection of listener `listener` on an EmbeddedChannel.
    private func makeChannel(listener: String = "127.0.0.1:8080") throws -> EmbeddedChannel {
        let channel = EmbeddedChannel()
        let loop = channel.embeddedEventLoop
        let compiled = try CompiledRouteTable(try RouteTable.decode(Self.table, source: "t"), source: "t")
        let stats = RouterStats()
        let pool = UpstreamPool(eventLoop: loop, stats: stats)
        let core = ProxyCore(
            store: RouteTableStore(compiled), stats: stats,
            pools: [ObjectIdentifier(loop): NIOLoopBound(pool, eventLoop: loop)])
        try channel.pipeline.syncOperations.addHandler(
            ProxyServerHandler(core: core, pool: pool, listenerAddress: listener))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5555)).wait()
        return channel
    }

    private func send(_ request: String, to channel: EmbeddedChannel) throws -> String {
        try channel.writeInbound(ByteBuffer(string: request))
        // The proxy flushes at the end of the loop's turn (`TickFlusher`).
        channel.embeddedEventLoop.run()
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    @Test(
        "the proxy's own answers carry the status and a one-line reason",
        arguments: [
            (
                "GET /empty HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 503 Service Unavailable",
                "no ready endpoint for service empty", true
            ),
            (
                "GET /other HTTP/1.1\r\nHost: x\r\n\r\n", "HTTP/1.1 404 Not Found",
                "no route of listener 127.0.0.1:8080 matches", true
            ),
            (
                "GET /empty HTTP/1.1\r\nHost: x\r\nX-Big: \(String(repeating: "a", count: 600))\r\n\r\n",
                "HTTP/1.1 431 Request Header Fields Too Large", "request head exceeds 512 bytes", false
            ),
            (
                "POST /empty HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\n",
                "HTTP/1.1 413 Payload Too Large", "request body exceeds 64 bytes", false
            ),
            ("BLAH\r\n\r\n", "HTTP/1.1 400 Bad Request", "malformed request", false),
        ]
    )
    func ownAnswers(request: String, statusLine: String, reason: String, staysOpen: Bool) throws {
        let channel = try makeChannel()
        let response = try send(request, to: channel)
        #expect(response.hasPrefix(statusLine), "\(response)")
        #expect(response.contains(reason))
        #expect(channel.isActive == staysOpen)
        expectCleanFinish(channel)
    }

    @Test("the proxy's own answers never carry the request's path or headers, and are not sniffable")
    func ownAnswersDoNotEchoTheRequest() throws {
        for request in [
            "GET /<script>alert(1)</script> HTTP/1.1\r\nHost: x\r\n\r\n",
            "GET /empty/<script> HTTP/1.1\r\nHost: <script>\r\n\r\n",
            "<script> / HTTP/1.1\r\n\r\n",
        ] {
            let channel = try makeChannel()
            let response = try send(request, to: channel).lowercased()
            #expect(response.contains("content-type: text/plain; charset=utf-8"), "\(response)")
            #expect(response.contains("x-content-type-options: nosniff"), "\(response)")
            #expect(!response.contains("<script>"), "\(response)")
            expectCleanFinish(channel)
        }
    }

    /// Inputs of `scripts/fuzz router` that crashed its harness (a header name that is not ASCII,
    /// which NIO's `HTTPHeaders.add` refuses): through the proxy they are answered, not a crash.
    static let fuzzFindings: [[UInt8]] = [
        Array("POST /api/x?y=1 HTTP/1".utf8) + [0xd2, 0xce, 0xf2, 0xf5, 0xb7, 0x90, 0x8c, 0x86]
            + Array("\r:x \nContent-L".utf8) + [0xa2] + Array("ngth: 4\r\n~\r\nhelloGET /\nv2/x HTTP/1.0\r\n\r\n".utf8),
        Array("GET /empty HTTP/1.1\r\nHost: x\r\nX-".utf8) + [0xc3, 0xa9] + Array(": 1\r\n\r\n".utf8),
    ]

    @Test("bytes the fuzzer found are answered without a crash", arguments: fuzzFindings)
    func fuzzFindingsAreAnswered(bytes: [UInt8]) throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(bytes: bytes))
        channel.embeddedEventLoop.run()
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        #expect(text.hasPrefix("HTTP/1.1 4") || text.hasPrefix("HTTP/1.1 5"), "\(text)")
        expectCleanFinish(channel)
    }

    @Test("a keep-alive connection carries the next request after a 503, its body dropped")
    func keepAliveAfterOwnAnswer() throws {
        let channel = try makeChannel()
        let first = try send("POST /empty HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", to: channel)
        #expect(first.hasPrefix("HTTP/1.1 503"))
        let second = try send("GET /other HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        #expect(second.hasPrefix("HTTP/1.1 404"))
        #expect(channel.isActive)
        expectCleanFinish(channel)
    }

    @Test("an own answer to a request that waits for 100 Continue closes the connection: its body may never come")
    func ownAnswerToExpectContinue() throws {
        let channel = try makeChannel()
        let response = try send(
            "POST /empty HTTP/1.1\r\nHost: x\r\nExpect: 100-continue\r\nContent-Length: 5\r\n\r\n", to: channel)
        #expect(response.hasPrefix("HTTP/1.1 503"))
        #expect(response.contains("Connection: close"))
        #expect(!channel.isActive)
        expectCleanFinish(channel)
    }

    @Test("a listener missing from the table answers 503")
    func unknownListener() throws {
        let channel = try makeChannel(listener: "127.0.0.1:9999")
        let response = try send("GET / HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        #expect(response.contains("listener 127.0.0.1:9999 is not in the route table"))
        expectCleanFinish(channel)
    }

    @Test("a client half-close after a request still gets the answer, then the connection closes")
    func halfClose() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "GET /other HTTP/1.1\r\nHost: x\r\n\r\n"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        channel.embeddedEventLoop.run()
        var response = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { response += String(buffer: buffer) }
        #expect(response.hasPrefix("HTTP/1.1 404"))
        #expect(!channel.isActive)
        expectCleanFinish(channel)
    }

    @Test("hop-by-hop headers are dropped and X-Forwarded-For / -Proto added upstream")
    func requestHeadRewrite() throws {
        let upstream = try HeadRewriting.upstreamRequest(
            "POST /a?b=c HTTP/1.0\r\nHost: example\r\nConnection: keep-alive, X-Private\r\nX-Private: secret\r\n"
                + "Keep-Alive: 5\r\nProxy-Authorization: x\r\nTE: trailers\r\nUpgrade: websocket\r\n"
                + "X-Forwarded-For: 10.0.0.1\r\nX-Kept: yes\r\nContent-Length: 0\r\n\r\n",
            clientAddress: "127.0.0.1")
        #expect(
            upstream
                == "POST /a?b=c HTTP/1.1\r\nHost: example\r\nX-Kept: yes\r\nContent-Length: 0\r\n"
                + "X-Forwarded-For: 10.0.0.1, 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n")
    }

    @Test(
        "request heads upstream: copied whole when nothing is dropped, chunked framing kept, forwarded fields joined",
        arguments: [
            (
                "GET / HTTP/1.1\r\nHost: x\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n"
            ),
            (
                "\r\nPUT /z HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Forwarded-Proto: https\r\n\r\n",
                "PUT /z HTTP/1.1\r\nTransfer-Encoding: chunked\r\nX-Forwarded-Proto: https\r\n"
                    + "X-Forwarded-For: 127.0.0.1\r\n\r\n"
            ),
            (
                "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nx-forwarded-for: 2.2.2.2 \r\nA: b\r\n\r\n",
                "GET / HTTP/1.1\r\nA: b\r\nX-Forwarded-For: 1.1.1.1, 2.2.2.2, 127.0.0.1\r\n"
                    + "X-Forwarded-Proto: http\r\n\r\n"
            ),
            (
                "GET / HTTP/1.1\r\nX-Secret: 1\r\nConnection: x-secret\r\n\r\n",
                "GET / HTTP/1.1\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n"
            ),
            // `keep-alive` alone is the proxy's own option upstream too: the head is copied whole.
            (
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\n\r\n",
                "GET / HTTP/1.1\r\nHost: x\r\nConnection: Keep-Alive\r\nX-Forwarded-For: 127.0.0.1\r\n"
                    + "X-Forwarded-Proto: http\r\n\r\n"
            ),
            // With anything beside it, or a Keep-Alive field, the Connection field goes.
            (
                "GET / HTTP/1.1\r\nConnection: keep-alive, x-a\r\nX-A: 1\r\n\r\n",
                "GET / HTTP/1.1\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n"
            ),
            (
                "GET / HTTP/1.1\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n",
                "GET / HTTP/1.1\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n"
            ),
            (
                "GET / HTTP/1.1\r\nConnection:\r\n\r\n",
                "GET / HTTP/1.1\r\nX-Forwarded-For: 127.0.0.1\r\nX-Forwarded-Proto: http\r\n\r\n"
            ),
        ])
    func requestHeads(request: String, expected: String) throws {
        #expect(try HeadRewriting.upstreamRequest(request, clientAddress: "127.0.0.1") == expected)
    }

    @Test("a client without an IP address adds nothing to X-Forwarded-For")
    func requestHeadsWithoutClientAddress() throws {
        #expect(
            try HeadRewriting.upstreamRequest("GET / HTTP/1.1\r\nHost: x\r\n\r\n", clientAddress: nil)
                == "GET / HTTP/1.1\r\nHost: x\r\nX-Forwarded-Proto: http\r\n\r\n")
        #expect(
            try HeadRewriting.upstreamRequest(
                "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\n\r\n", clientAddress: nil)
                == "GET / HTTP/1.1\r\nX-Forwarded-For: 1.1.1.1\r\nX-Forwarded-Proto: http\r\n\r\n")
    }

    @Test(
        "response heads lose hop-by-hop headers and say whether the client connection stays",
        arguments: [
            // (upstream head, client minor version, keep-alive, unchunks, client head)
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\nKeep-Alive: timeout=5\r\nX-App: 1\r\n\r\n",
                1, true, false, "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nX-App: 1\r\n\r\n"
            ),
            (
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n", 1, false, false,
                "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n"
            ),
            (
                "HTTP/1.1 404 Not Found\r\nContent-Length: 3\r\n\r\n", 0, true, false,
                "HTTP/1.0 404 Not Found\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n"
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 9\r\n\r\n", 1, true, false,
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n"
            ),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nX-A: 1\r\n\r\n", 0, false, true,
                "HTTP/1.0 200 OK\r\nX-A: 1\r\nConnection: close\r\n\r\n"
            ),
        ])
    func responseHeads(
        response: String, clientMinorVersion: Int, keepAlive: Bool, unchunks: Bool, expected: String
    )
        throws
    {
        #expect(
            try HeadRewriting.clientResponse(
                response, clientMinorVersion: clientMinorVersion, keepAlive: keepAlive, unchunks: unchunks) == expected)
    }

    @Test(
        "a head asks to switch protocols with an Upgrade field named by Connection, on HTTP/1.1 only",
        arguments: [
            ("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", true),
            ("GET /ws HTTP/1.1\r\nconnection: keep-alive, upgrade\r\nupgrade: websocket\r\n\r\n", true),
            ("GET /ws HTTP/1.1\r\nUpgrade: websocket\r\n\r\n", false),
            ("GET /ws HTTP/1.1\r\nConnection: Upgrade\r\n\r\n", false),
            ("GET /ws HTTP/1.0\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n", false),
        ])
    func upgradeRequests(request: String, asksUpgrade: Bool) throws {
        var head = MessageHead()
        _ = try Array(request.utf8).withUnsafeBytes { try head.parse($0, isRequest: true, limit: 1000) }
        #expect(head.asksUpgrade == asksUpgrade)
    }

    @Test("an upgrade the proxy carries keeps its Upgrade field both ways and says Connection: Upgrade")
    func upgradeHeads() throws {
        let request =
            "GET /ws HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
            + "Sec-WebSocket-Key: a2V5\r\nSec-WebSocket-Version: 13\r\n\r\n"
        #expect(
            try HeadRewriting.upstreamRequest(request, clientAddress: nil, upgrade: true)
                == "GET /ws HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: a2V5\r\nSec-WebSocket-Version: 13\r\n"
                + "Upgrade: websocket\r\nConnection: Upgrade\r\nX-Forwarded-Proto: http\r\n\r\n")
        // Not carried (a body came with it): the upgrade is dropped like any hop-by-hop field.
        #expect(
            try HeadRewriting.upstreamRequest(request, clientAddress: nil)
                == "GET /ws HTTP/1.1\r\nHost: x\r\nSec-WebSocket-Key: a2V5\r\nSec-WebSocket-Version: 13\r\n"
                + "X-Forwarded-Proto: http\r\n\r\n")
        let switched =
            "HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
            + "Sec-WebSocket-Accept: abc=\r\n\r\n"
        #expect(
            try HeadRewriting.clientResponse(
                switched, clientMinorVersion: 1, keepAlive: true, unchunks: false, upgrade: true)
                == "HTTP/1.1 101 Switching Protocols\r\nSec-WebSocket-Accept: abc=\r\nUpgrade: websocket\r\n"
                + "Connection: Upgrade\r\n\r\n")
    }

    @Test("a response head with nothing to change is passed on as it is")
    func responseHeadUnchanged() throws {
        var head = MessageHead()
        let text = "HTTP/1.1 200 OK\r\nContent-Length: 3\r\nContent-Type: text/plain\r\n\r\n"
        _ = try Array(text.utf8).withUnsafeBytes { try head.parse($0, isRequest: false, limit: 1000) }
        #expect(HTTPForwarding.isForwardedUnchanged(head, clientMinorVersion: 1, keepAlive: true))
        #expect(!HTTPForwarding.isForwardedUnchanged(head, clientMinorVersion: 0, keepAlive: true))
        #expect(!HTTPForwarding.isForwardedUnchanged(head, clientMinorVersion: 1, keepAlive: false))
    }

    @Test(
        "a response head whose only hop-by-hop field is Connection: keep-alive is passed on as it is to a client kept alive",
        arguments: [
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\n\r\n", true),
            ("HTTP/1.1 200 OK\r\nConnection: keep-alive, keep-alive\r\nContent-Length: 3\r\n\r\n", true),
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\nKeep-Alive: timeout=5\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive, x-a\r\nX-A: 1\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: close\r\n\r\n", false),
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\nConnection: keep-alive\r\nProxy-Authenticate: x\r\n\r\n", false),
        ])
    func responseHeadWithKeepAlive(response: String, unchanged: Bool) throws {
        var head = MessageHead()
        _ = try Array(response.utf8).withUnsafeBytes { try head.parse($0, isRequest: false, limit: 1000) }
        #expect(HTTPForwarding.isForwardedUnchanged(head, clientMinorVersion: 1, keepAlive: true) == unchanged)
        // The router closing the client's connection, or an HTTP/1.0 client, always gets its own head.
        #expect(!HTTPForwarding.isForwardedUnchanged(head, clientMinorVersion: 1, keepAlive: false))
        #expect(!HTTPForwarding.isForwardedUnchanged(head, clientMinorVersion: 0, keepAlive: true))
    }
}

/// Runs the head rewriting of `HTTPForwarding` on text.
enum HeadRewriting {
    static func upstreamRequest(_ text: String, clientAddress: String?, upgrade: Bool = false) throws -> String {
        var head = MessageHead()
        let bytes = Array(text.utf8)
        var out = ByteBuffer()
        try bytes.withUnsafeBytes { raw in
            _ = try head.parse(raw, isRequest: true, limit: 10_000)
            HTTPForwarding.writeUpstreamRequest(
                head, raw, added: HTTPForwarding.AddedFields(clientAddress: clientAddress), upgrade: upgrade,
                into: &out)
        }
        return String(buffer: out)
    }

    static func clientResponse(
        _ text: String, clientMinorVersion: Int, keepAlive: Bool, unchunks: Bool, upgrade: Bool = false
    ) throws
        -> String
    {
        var head = MessageHead()
        let bytes = Array(text.utf8)
        var out = ByteBuffer()
        try bytes.withUnsafeBytes { raw in
            _ = try head.parse(raw, isRequest: false, limit: 10_000)
            HTTPForwarding.writeClientResponse(
                head, raw, clientMinorVersion: clientMinorVersion, keepAlive: keepAlive, unchunks: unchunks,
                upgrade: upgrade, into: &out)
        }
        return String(buffer: out)
    }
}
