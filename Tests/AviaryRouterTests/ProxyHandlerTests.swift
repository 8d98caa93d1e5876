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
        try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: false)
        try channel.pipeline.syncOperations.addHandler(
            ProxyServerHandler(core: core, pool: pool, listenerAddress: listener))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5555)).wait()
        return channel
    }

    private func send(_ request: String, to channel: EmbeddedChannel) throws -> String {
        try channel.writeInbound(ByteBuffer(string: request))
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
        _ = try? channel.finish()
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
            _ = try? channel.finish()
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
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) { text += String(buffer: buffer) }
        #expect(text.hasPrefix("HTTP/1.1 4") || text.hasPrefix("HTTP/1.1 5"), "\(text)")
        _ = try? channel.finish()
    }

    @Test("a keep-alive connection carries the next request after a 503, its body dropped")
    func keepAliveAfterOwnAnswer() throws {
        let channel = try makeChannel()
        let first = try send("POST /empty HTTP/1.1\r\nHost: x\r\nContent-Length: 5\r\n\r\nhello", to: channel)
        #expect(first.hasPrefix("HTTP/1.1 503"))
        let second = try send("GET /other HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        #expect(second.hasPrefix("HTTP/1.1 404"))
        #expect(channel.isActive)
        _ = try? channel.finish()
    }

    @Test("a listener missing from the table answers 503")
    func unknownListener() throws {
        let channel = try makeChannel(listener: "127.0.0.1:9999")
        let response = try send("GET / HTTP/1.1\r\nHost: x\r\n\r\n", to: channel)
        #expect(response.contains("listener 127.0.0.1:9999 is not in the route table"))
        _ = try? channel.finish()
    }

    @Test("a client half-close after a request still gets the answer, then the connection closes")
    func halfClose() throws {
        let channel = try makeChannel()
        try channel.writeInbound(ByteBuffer(string: "GET /other HTTP/1.1\r\nHost: x\r\n\r\n"))
        channel.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed)
        let response = try channel.readOutbound(as: ByteBuffer.self).map { String(buffer: $0) } ?? ""
        #expect(response.hasPrefix("HTTP/1.1 404"))
        #expect(!channel.isActive)
    }

    @Test("hop-by-hop headers are dropped and X-Forwarded-For / -Proto added upstream")
    func requestHeadRewrite() {
        let head = HTTPRequestHead(
            version: .http1_0, method: .POST, uri: "/a?b=c",
            headers: [
                "Host": "example", "Connection": "keep-alive, X-Private", "X-Private": "secret", "Keep-Alive": "5",
                "Proxy-Authorization": "x", "TE": "trailers", "Upgrade": "websocket", "X-Forwarded-For": "10.0.0.1",
                "Transfer-Encoding": "chunked", "X-Kept": "yes",
            ])
        let upstream = HTTPForwarding.upstreamRequestHead(head, clientAddress: "127.0.0.1")
        #expect(upstream.version == .http1_1)
        #expect(upstream.uri == "/a?b=c")
        for dropped in ["connection", "x-private", "keep-alive", "proxy-authorization", "te", "upgrade"] {
            #expect(!upstream.headers.contains(name: dropped), "\(dropped)")
        }
        #expect(upstream.headers["x-forwarded-for"] == ["10.0.0.1, 127.0.0.1"])
        #expect(upstream.headers["x-forwarded-proto"] == ["http"])
        #expect(upstream.headers["transfer-encoding"] == ["chunked"])
        #expect(upstream.headers["x-kept"] == ["yes"])
        #expect(upstream.headers["host"] == ["example"])
    }

    @Test("response heads lose hop-by-hop headers and say whether the client connection stays")
    func responseHeadRewrite() {
        let head = HTTPResponseHead(
            version: .http1_1, status: .ok,
            headers: ["Content-Length": "3", "Connection": "close", "Keep-Alive": "timeout=5", "X-App": "1"])
        let keep = HTTPForwarding.clientResponseHead(head, requestVersion: .http1_1, keepAlive: true)
        #expect(!keep.headers.contains(name: "connection"))
        #expect(!keep.headers.contains(name: "keep-alive"))
        #expect(keep.headers["content-length"] == ["3"])
        let close = HTTPForwarding.clientResponseHead(head, requestVersion: .http1_1, keepAlive: false)
        #expect(close.headers["connection"] == ["close"])
        let old = HTTPForwarding.clientResponseHead(head, requestVersion: .http1_0, keepAlive: true)
        #expect(old.headers["connection"] == ["keep-alive"])
        #expect(old.version == .http1_0)
    }
}
