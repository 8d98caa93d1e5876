import NIOCore
import NIOEmbedded
import NIOHTTP1
import Testing

@testable import AviaryRouter

/// The lazy timers of the hot path (one response timer per client connection, one idle timer
/// per pooled upstream connection) on EmbeddedChannels that share one fake clock.
@Suite("Proxy timers on a fake clock")
struct ProxyTimerTests {
    static let upstreamEndpoint = "127.0.0.1:7000"
    static let table = """
        services:
          app: {endpoints: ["\(upstreamEndpoint)"]}
        listeners:
          - address: 127.0.0.1:8080
            routes: [{backends: [{service: app}]}]
        limits: {responseTimeoutMs: 500, upstreamIdleTimeoutMs: 1000}
        """

    /// A client connection and one pooled upstream connection, both on `loop`.
    private struct Harness {
        let loop: EmbeddedEventLoop
        let client: EmbeddedChannel
        let upstream: EmbeddedChannel
        let upstreamHandler: UpstreamHandler
        let pool: UpstreamPool

        init() throws {
            loop = EmbeddedEventLoop()
            let stats = RouterStats()
            pool = UpstreamPool(eventLoop: loop, stats: stats)
            upstream = EmbeddedChannel(loop: loop)
            upstreamHandler = UpstreamHandler(endpointKey: ProxyTimerTests.upstreamEndpoint, stats: stats)
            try upstream.pipeline.syncOperations.addHandler(upstreamHandler)
            try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7000)).wait()
            pool.release(upstreamHandler, idleTimeout: .seconds(1))

            client = EmbeddedChannel(loop: loop)
            let compiled = try CompiledRouteTable(
                try RouteTable.decode(ProxyTimerTests.table, source: "t"), source: "t")
            let core = ProxyCore(
                store: RouteTableStore(compiled), stats: RouterStats(),
                pools: [ObjectIdentifier(loop): NIOLoopBound(pool, eventLoop: loop)])
            try client.pipeline.syncOperations.addHandler(
                ProxyServerHandler(core: core, pool: pool, listenerAddress: "127.0.0.1:8080"))
            try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5555)).wait()
        }

        /// Sends a GET from the client; returns what reached the upstream.
        func request(_ path: String) throws -> String {
            try client.writeInbound(ByteBuffer(string: "GET \(path) HTTP/1.1\r\nHost: x\r\n\r\n"))
            return try drain(upstream)
        }

        /// Answers the request in flight from the upstream; returns what reached the client.
        func answer(_ body: String) throws -> String {
            try upstream.writeInbound(
                ByteBuffer(string: "HTTP/1.1 200 OK\r\nContent-Length: \(body.utf8.count)\r\n\r\n\(body)"))
            return try drain(client)
        }

        func drain(_ channel: EmbeddedChannel) throws -> String {
            var text = ""
            while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
                text += String(buffer: buffer)
            }
            return text
        }

        func finish() {
            _ = try? client.finish()
            _ = try? upstream.finish()
        }
    }

    @Test("a slow answer after a fast one on the same connection times out at its own deadline")
    func responseTimerFollowsTheExchangeInFlight() throws {
        let harness = try Harness()
        defer { harness.finish() }
        #expect(try harness.request("/first").hasPrefix("GET /first HTTP/1.1"))
        harness.loop.advanceTime(by: .milliseconds(100))
        #expect(try harness.answer("one").hasSuffix("\r\n\r\none"))
        // The second request goes out at 300 ms on the same pooled connection; the timer armed
        // for the first (due at 500 ms) must wait on for it until 800 ms.
        harness.loop.advanceTime(by: .milliseconds(200))
        #expect(try harness.request("/second").hasPrefix("GET /second HTTP/1.1"))
        harness.loop.advanceTime(by: .milliseconds(250))
        #expect(try harness.drain(harness.client).isEmpty)
        #expect(harness.upstream.isActive)
        harness.loop.advanceTime(by: .milliseconds(250))
        let timedOut = try harness.drain(harness.client)
        #expect(timedOut.hasPrefix("HTTP/1.1 504"), "\(timedOut)")
        #expect(timedOut.contains("did not answer in 500 ms"))
        #expect(!harness.upstream.isActive)
    }

    @Test("answers in time never time out, however long the connection lives")
    func responseTimerStaysQuiet() throws {
        let harness = try Harness()
        defer { harness.finish() }
        for index in 0..<10 {
            _ = try harness.request("/\(index)")
            harness.loop.advanceTime(by: .milliseconds(300))
            #expect(try harness.answer("ok").hasPrefix("HTTP/1.1 200 OK"))
        }
        harness.loop.advanceTime(by: .seconds(5))
        #expect(harness.client.isActive)
        #expect(try harness.drain(harness.client).isEmpty)
    }

    @Test("a pooled connection closes after its idle timeout, counted from its last release")
    func idleTimerCountsFromTheLastRelease() throws {
        let harness = try Harness()
        defer { harness.finish() }
        // Released at 0; leased and released again at 700 ms: idle until 1,700 ms.
        harness.loop.advanceTime(by: .milliseconds(600))
        _ = try harness.request("/")
        harness.loop.advanceTime(by: .milliseconds(100))
        _ = try harness.answer("ok")
        harness.loop.advanceTime(by: .milliseconds(500))
        #expect(harness.upstream.isActive)
        harness.loop.advanceTime(by: .milliseconds(400))
        #expect(harness.upstream.isActive)
        harness.loop.advanceTime(by: .milliseconds(100))
        #expect(!harness.upstream.isActive)
        #expect(
            harness.pool.leaseIdle(
                UpstreamEndpoint(
                    key: Self.upstreamEndpoint,
                    address: try SocketAddress(
                        ipAddress: "127.0.0.1", port: 7000))) == nil)
    }

    @Test("a leased connection is never closed by its idle timer")
    func idleTimerSparesLeasedConnections() throws {
        let harness = try Harness()
        defer { harness.finish() }
        // Leased at 900 ms and held past the idle deadline of 1,000 ms.
        harness.loop.advanceTime(by: .milliseconds(900))
        _ = try harness.request("/")
        harness.loop.advanceTime(by: .milliseconds(200))
        #expect(harness.upstream.isActive)
        #expect(try harness.answer("ok").hasPrefix("HTTP/1.1 200 OK"))
    }
}
