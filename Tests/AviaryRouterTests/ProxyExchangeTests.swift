import NIOCore
import NIOEmbedded
import Testing

@testable import AviaryRouter

/// Exchanges between a client connection and an upstream connection on EmbeddedChannels: what
/// the proxy does with upstream answers that are unusual, broken or early, and with pipelined
/// requests.
@Suite("Proxy exchanges on embedded connections")
struct ProxyExchangeTests {
    static let table = """
        services:
          app: {endpoints: ["\(ProxyHarness.upstreamEndpoint)"]}
        listeners:
          - address: 127.0.0.1:8080
            routes: [{backends: [{service: app}]}]
        """

    /// Writes `text` as the upstream's answer; returns what reached the client.
    private func answer(_ text: String, on harness: ProxyHarness) throws -> String {
        try harness.upstream.writeInbound(ByteBuffer(string: text))
        return try harness.drain(harness.client)
    }

    @Test("an interim 100 Continue reaches the client before the final answer")
    func interimAnswer() throws {
        let harness = try ProxyHarness(table: Self.table)
        defer { harness.finish() }
        _ = try harness.request("/")
        let both = try answer(
            "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok", on: harness)
        #expect(both == "HTTP/1.1 100 Continue\r\n\r\nHTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(harness.upstream.isActive)
        #expect(harness.client.isActive)
    }

    @Test("an answer that runs until the upstream closes tells the client so, and closes it after the body")
    func closeDelimitedAnswer() throws {
        let harness = try ProxyHarness(table: Self.table)
        defer { harness.finish() }
        _ = try harness.request("/")
        let head = try answer("HTTP/1.0 200 OK\r\nContent-Type: text/plain\r\n\r\npart one, ", on: harness)
        #expect(head == "HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\nConnection: close\r\n\r\npart one, ")
        #expect(try answer("part two", on: harness) == "part two")
        #expect(harness.client.isActive)
        harness.upstream.pipeline.fireChannelInactive()
        harness.loop.run()
        #expect(!harness.client.isActive)
    }

    @Test(
        "an upstream that answers garbage, or a 101, gets the client a 502 and loses its connection",
        arguments: [
            "garbage\r\n\r\n", "HTTP/1.1 101 Switching Protocols\r\n\r\n",
            "HTTP/1.1 200 OK\r\nContent-Length: x\r\n\r\n",
        ])
    func brokenAnswers(text: String) throws {
        let harness = try ProxyHarness(table: Self.table)
        defer { harness.finish() }
        _ = try harness.request("/")
        let response = try answer(text, on: harness)
        harness.loop.run()
        #expect(response.hasPrefix("HTTP/1.1 502 Bad Gateway"), "\(response)")
        #expect(!harness.upstream.isActive)
    }

    /// What the client got for an answer, write by write.
    private func writes(for text: [String], on harness: ProxyHarness) throws -> [String] {
        for part in text { try harness.upstream.writeInbound(ByteBuffer(string: part)) }
        harness.loop.run()
        var writes: [String] = []
        while let buffer = try harness.client.readOutbound(as: ByteBuffer.self) {
            writes.append(String(buffer: buffer))
        }
        return writes
    }

    @Test(
        "an answer whose head and body come in one read reaches the client in one write, rewritten or not",
        arguments: [
            // (the upstream's reads, the client's writes)
            (
                ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"],
                ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: keep-alive\r\n\r\nok"]
            ),
            (
                ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\nKeep-Alive: timeout=5\r\n\r\nok"],
                ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok"]
            ),
            // The body in a later read: the head goes as soon as the read ends, the body after it.
            (
                ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\no", "k"],
                ["HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\n", "o", "k"]
            ),
        ])
    func wholeAnswers(reads: [String], expected: [String]) throws {
        let harness = try ProxyHarness(table: Self.table)
        defer { harness.finish() }
        for _ in 0..<2 {
            _ = try harness.request("/")
            #expect(try writes(for: reads, on: harness) == expected)
            #expect(harness.upstream.isActive)
            #expect(harness.client.isActive)
        }
    }

    @Test("bytes after the end of an answer make the upstream connection unusable, not the next answer")
    func bytesAfterTheAnswer() throws {
        let harness = try ProxyHarness(table: Self.table)
        defer { harness.finish() }
        _ = try harness.request("/")
        let response = try answer("HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nokHTTP/1.1 200 OK\r\n", on: harness)
        harness.loop.run()
        #expect(response == "HTTP/1.1 200 OK\r\nContent-Length: 2\r\n\r\nok")
        #expect(!harness.upstream.isActive)
        #expect(harness.client.isActive)
    }

    @Test("pipelined requests go upstream one at a time and are answered in order")
    func pipelining() throws {
        let harness = try ProxyHarness(table: Self.table)
        defer { harness.finish() }
        try harness.client.writeInbound(
            ByteBuffer(string: "GET /one HTTP/1.1\r\nHost: x\r\n\r\nGET /two HTTP/1.1\r\nHost: x\r\n\r\n"))
        let first = try harness.drain(harness.upstream)
        #expect(first.hasPrefix("GET /one HTTP/1.1\r\n"))
        #expect(!first.contains("/two"))
        #expect(try answer("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\none", on: harness).hasSuffix("one"))
        harness.loop.run()
        let second = try harness.drain(harness.upstream)
        #expect(second.hasPrefix("GET /two HTTP/1.1\r\n"), "\(second)")
        #expect(try answer("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\ntwo", on: harness).hasSuffix("two"))
    }

    @Test("a head cut across reads is read once whole; a chunked body goes upstream with its framing")
    func splitHeadAndChunkedBody() throws {
        let harness = try ProxyHarness(table: Self.table)
        defer { harness.finish() }
        for piece in [
            "PO", "ST /up HTTP/1.1\r\nHost: x\r\nTransfer-Enc", "oding: chunked\r\n\r\n3\r\nabc\r\n", "0\r\n\r\n",
        ] {
            try harness.client.writeInbound(ByteBuffer(string: piece))
        }
        let sent = try harness.drain(harness.upstream)
        #expect(sent.hasPrefix("POST /up HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"), "\(sent)")
        #expect(sent.hasSuffix("\r\n\r\n3\r\nabc\r\n0\r\n\r\n"), "\(sent)")
        #expect(try answer("HTTP/1.1 204 No Content\r\n\r\n", on: harness) == "HTTP/1.1 204 No Content\r\n\r\n")
        #expect(harness.upstream.isActive)
    }
}

/// `TickFlusher` on an embedded loop: nothing goes out before the loop's turn ends, then every
/// channel asked for goes out, each once.
@Suite("End-of-turn flushes")
struct TickFlusherTests {
    /// Remembers its context so the test can ask for flushes through it.
    final class Handle: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var context: ChannelHandlerContext?
        func handlerAdded(context: ChannelHandlerContext) { self.context = context }
    }

    @Test("writes flushed through the flusher leave together when the loop's turn ends")
    func flushesAtTheEndOfTheTurn() throws {
        let loop = EmbeddedEventLoop()
        let flusher = TickFlusher(eventLoop: loop)
        var channels: [(EmbeddedChannel, Handle)] = []
        for _ in 0..<2 {
            let handle = Handle()
            let channel = EmbeddedChannel(handler: handle, loop: loop)
            channels.append((channel, handle))
        }
        for (index, (channel, handle)) in channels.enumerated() {
            channel.write(ByteBuffer(string: "to \(index)"), promise: nil)
            flusher.flush(try #require(handle.context))
            flusher.flush(try #require(handle.context))
        }
        for (channel, _) in channels { #expect(try channel.readOutbound(as: ByteBuffer.self) == nil) }
        loop.run()
        for (index, (channel, _)) in channels.enumerated() {
            #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "to \(index)"))
            #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        }
        // A later turn schedules its own flush.
        channels[0].0.write(ByteBuffer(string: "again"), promise: nil)
        flusher.flush(try #require(channels[0].1.context))
        loop.run()
        #expect(try channels[0].0.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "again"))
        for (channel, _) in channels { _ = try channel.finish() }
    }

    /// Stands for an HTTP/2 client connection: notes when it is told to flush.
    final class Connection: TurnEndFlushing {
        let name: String
        let log: (String) -> Void
        init(_ name: String, log: @escaping (String) -> Void) {
            self.name = name
            self.log = log
        }
        func flushAtTurnEnd() { log(name) }
    }

    @Test("HTTP/2 connections flush in the same end-of-turn batch as the HTTP/1.1 channels, each when asked")
    func connectionsFlushInTheSameBatch() throws {
        let loop = EmbeddedEventLoop()
        let flusher = TickFlusher(eventLoop: loop)
        let handle = Handle()
        let channel = EmbeddedChannel(handler: handle, loop: loop)
        var flushed: [String] = []
        let first = Connection("h2 first") { flushed.append($0) }
        let second = Connection("h2 second") { flushed.append($0) }
        flusher.flush(first)
        channel.write(ByteBuffer(string: "http/1.1"), promise: nil)
        flusher.flush(try #require(handle.context))
        flusher.flush(second)
        #expect(flushed.isEmpty)
        #expect(try channel.readOutbound(as: ByteBuffer.self) == nil)
        loop.run()
        #expect(flushed == ["h2 first", "h2 second"])
        #expect(try channel.readOutbound(as: ByteBuffer.self) == ByteBuffer(string: "http/1.1"))
        // A later turn flushes only what asked in it.
        flusher.flush(second)
        loop.run()
        #expect(flushed == ["h2 first", "h2 second", "h2 second"])
        _ = try channel.finish()
    }

    /// With the loops as many as the cores the yield comes once all the connections have flushed;
    /// with a core left over it may come after the first (the interval here is a second, so only
    /// the turn's first check is due).
    @Test(arguments: [(true, ["h2 first", "h2 second", "yield"]), (false, ["h2 first", "yield", "h2 second"])])
    func theYieldComesAfterTheBatchOnlyWhenConnectionsAreBatched(batches: Bool, order: [String]) {
        let loop = EmbeddedEventLoop()
        var log: [String] = []
        let flusher = TickFlusher(
            eventLoop: loop, yieldInterval: 1_000_000_000, batchesConnections: batches,
            yieldCore: { log.append("yield") })
        let first = Connection("h2 first") { log.append($0) }
        let second = Connection("h2 second") { log.append($0) }
        flusher.flush(first)
        flusher.flush(second)
        loop.run()
        #expect(log == order)
    }

    /// Each row: the loops, the cores, and whether HTTP/2 connections flush in one batch.
    @Test(arguments: [(1, 2, false), (2, 2, true), (4, 2, true), (1, 1, true), (2, 8, false), (8, 8, true)])
    func connectionsAreBatchedWhenTheLoopsFillTheCores(loops: Int, cores: Int, batched: Bool) {
        #expect(TickFlusher.batchesConnections(loops: loops, cores: cores) == batched)
    }
}

/// `YieldPacer`: a loop gives up its core after a turn's flush at most once a millisecond.
@Suite("Yields after a flush")
struct YieldPacerTests {
    static let ms: UInt64 = 1_000_000

    /// Each row: the turns' ends (nanoseconds, monotonic) and whether each one yields.
    @Test(
        arguments: [
            ([5 * ms], [true]),
            ([5 * ms, 5 * ms + 1], [true, false]),
            ([5 * ms, 5 * ms + ms - 1, 6 * ms], [true, false, true]),
            ([5 * ms, 5 * ms + 300_000, 5 * ms + 700_000, 6 * ms + 100_000], [true, false, false, true]),
            ([5 * ms, 9 * ms, 9 * ms + 10], [true, true, false]),
        ] as [([UInt64], [Bool])])
    func yieldsOnceAMillisecondAtMost(ends: [UInt64], yields: [Bool]) {
        var pacer = YieldPacer()
        #expect(ends.map { pacer.isDue(at: $0) } == yields)
    }

    @Test func loopsAsManyAsTheCoresYieldEveryHalfMillisecond() {
        var pacer = YieldPacer(interval: YieldPacer.interval(loops: 2, cores: 2))
        #expect(
            [5 * Self.ms, 5 * Self.ms + 499_999, 5 * Self.ms + 500_000].map { pacer.isDue(at: $0) } == [
                true, false, true,
            ])
    }

    /// Each row: the loops, the cores, and the interval between yields (µs).
    @Test(arguments: [(1, 2, 1_000), (2, 2, 500), (4, 2, 500), (1, 1, 500), (2, 8, 1_000), (7, 8, 1_000)])
    func theIntervalIsHalvedWhenTheLoopsFillTheCores(loops: Int, cores: Int, micros: UInt64) {
        #expect(YieldPacer.interval(loops: loops, cores: cores) == micros * 1_000)
    }
}
