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

    @Test("a slow answer after a fast one on the same connection times out at its own deadline")
    func responseTimerFollowsTheExchangeInFlight() throws {
        let harness = try ProxyHarness(table: Self.table)
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
        let harness = try ProxyHarness(table: Self.table)
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
        let harness = try ProxyHarness(table: Self.table)
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

    @Test(
        "a burst's connections all go back to the pool, up to the cap an endpoint; the rest close",
        arguments: [(300, 300), (1030, 1024)])
    func aBurstStaysPooled(connections: Int, kept: Int) throws {
        // HTTP/2 clients send many streams at once, each leasing a connection: a burst of 160
        // (h2load's 16 connections of 10 streams) once lost 32 of them at a cap of 128, to be
        // opened again for the next burst.
        let loop = EmbeddedEventLoop()
        let stats = RouterStats()
        let pool = UpstreamPool(eventLoop: loop, stats: stats)
        let address = try SocketAddress(ipAddress: "127.0.0.1", port: 7000)
        var channels: [EmbeddedChannel] = []
        defer { for channel in channels { _ = try? channel.finish() } }
        for _ in 0..<connections {
            let channel = EmbeddedChannel(loop: loop)
            let handler = UpstreamHandler(endpointKey: Self.upstreamEndpoint, stats: stats)
            try channel.pipeline.syncOperations.addHandler(handler)
            try channel.connect(to: address).wait()
            channels.append(channel)
        }
        for channel in channels {
            pool.release(
                try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self), idleTimeout: .seconds(1))
        }
        #expect(channels.filter(\.isActive).count == kept)
        let endpoint = UpstreamEndpoint(key: Self.upstreamEndpoint, address: address)
        var leased = 0
        while pool.leaseIdle(endpoint) != nil { leased += 1 }
        #expect(leased == kept)
    }

    @Test("a leased connection is never closed by its idle timer")
    func idleTimerSparesLeasedConnections() throws {
        let harness = try ProxyHarness(table: Self.table)
        defer { harness.finish() }
        // Leased at 900 ms and held past the idle deadline of 1,000 ms.
        harness.loop.advanceTime(by: .milliseconds(900))
        _ = try harness.request("/")
        harness.loop.advanceTime(by: .milliseconds(200))
        #expect(harness.upstream.isActive)
        #expect(try harness.answer("ok").hasPrefix("HTTP/1.1 200 OK"))
    }

    @Test("an endpoint that leaves the table closes its idle connections, and its leased ones when they come back")
    func endpointLeavingTheTableClosesItsConnections() throws {
        let harness = try ProxyHarness(table: Self.table)
        defer { harness.finish() }
        _ = try harness.request("/")
        // Leased now; the table swap that drops its endpoint happens mid-exchange.
        harness.pool.closeIdle(notIn: [])
        #expect(harness.upstream.isActive)
        #expect(try harness.answer("ok").hasPrefix("HTTP/1.1 200 OK"))
        #expect(!harness.upstream.isActive)

        let second = try ProxyHarness(table: Self.table)
        defer { second.finish() }
        second.pool.closeIdle(notIn: [ProxyHarness.upstreamEndpoint])
        #expect(second.upstream.isActive)
        second.pool.closeIdle(notIn: [])
        #expect(!second.upstream.isActive)
    }
}
