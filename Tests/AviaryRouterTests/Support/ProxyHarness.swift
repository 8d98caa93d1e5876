import AviaryRoutes
import NIOCore
import NIOEmbedded
import Testing

@testable import AviaryRouter

/// A client connection and one pooled upstream connection of a table whose services point at
/// `ProxyHarness.upstreamEndpoint`, all on one EmbeddedEventLoop (a fake clock).
struct ProxyHarness {
    static let upstreamEndpoint = "127.0.0.1:7000"

    let loop: EmbeddedEventLoop
    let client: EmbeddedChannel
    let upstream: EmbeddedChannel
    let upstreamHandler: UpstreamHandler
    let pool: UpstreamPool

    init(table: String) throws {
        loop = EmbeddedEventLoop()
        let stats = RouterStats()
        pool = UpstreamPool(eventLoop: loop, stats: stats)
        upstream = EmbeddedChannel(loop: loop)
        upstreamHandler = UpstreamHandler(endpointKey: ProxyHarness.upstreamEndpoint, stats: stats)
        try upstream.pipeline.syncOperations.addHandler(upstreamHandler)
        try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7000)).wait()
        pool.release(upstreamHandler, idleTimeout: .seconds(1))

        client = EmbeddedChannel(loop: loop)
        let compiled = try CompiledRouteTable(
            try RouteTable.decode(table, source: "t"), source: "t")
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
        // The proxy flushes at the end of the loop's turn (`TickFlusher`): run it first.
        loop.run()
        var text = ""
        while let buffer = try channel.readOutbound(as: ByteBuffer.self) {
            text += String(buffer: buffer)
        }
        return text
    }

    /// Closes both channels. An error that reached the end of either pipeline (a handler's
    /// `fireErrorCaught` nobody handled) fails the test: `try?` here would hide it.
    func finish(sourceLocation: SourceLocation = #_sourceLocation) {
        for (name, channel) in [("client", client), ("upstream", upstream)] {
            do {
                _ = try channel.finish(acceptAlreadyClosed: true)
            } catch {
                Issue.record("the \(name) channel's pipeline caught \(error)", sourceLocation: sourceLocation)
            }
        }
    }
}
