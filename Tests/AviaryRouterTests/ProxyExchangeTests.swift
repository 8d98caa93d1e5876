import Foundation
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
            eventLoop: loop,
            turns: TurnPolicy(yieldInterval: 1_000_000_000, batchesConnections: batches, mostHeld: .max),
            yieldCore: { log.append("yield") })
        let first = Connection("h2 first") { log.append($0) }
        let second = Connection("h2 second") { log.append($0) }
        flusher.flush(first)
        flusher.flush(second)
        loop.run()
        #expect(log == order)
    }

    /// What each channel has sent since the last look.
    static func sent(_ channels: [(EmbeddedChannel, Handle)]) throws -> [String] {
        try channels.map { channel, _ in
            var got = ""
            while var bytes = try channel.readOutbound(as: ByteBuffer.self) {
                got += bytes.readString(length: bytes.readableBytes) ?? ""
            }
            return got
        }
    }

    @Test("a turn that holds its most HTTP/1.1 channels flushes them at once; later ones wait for the turn's end")
    func aFullTurnFlushesEarly() throws {
        let loop = EmbeddedEventLoop()
        let flusher = TickFlusher(
            eventLoop: loop, turns: TurnPolicy(yieldInterval: 1_000_000, batchesConnections: false, mostHeld: 3))
        var channels: [(EmbeddedChannel, Handle)] = []
        for _ in 0..<4 {
            let handle = Handle()
            channels.append((EmbeddedChannel(handler: handle, loop: loop), handle))
        }
        for (index, (channel, handle)) in channels.enumerated() {
            channel.write(ByteBuffer(string: "\(index)"), promise: nil)
            flusher.flush(try #require(handle.context))
            if index == 1 { #expect(try Self.sent(channels) == ["", "", "", ""]) }
            if index == 2 { #expect(try Self.sent(channels) == ["0", "1", "2", ""]) }
        }
        #expect(try Self.sent(channels) == ["", "", "", ""])
        loop.run()
        #expect(try Self.sent(channels) == ["", "", "", "3"])
        for (channel, _) in channels { _ = try channel.finish() }
    }

    /// Runs `next` from inside its channel's flush, once: there a test asks the flusher for more.
    final class Chained: ChannelOutboundHandler {
        typealias OutboundIn = ByteBuffer
        var next: (() -> Void)?
        func flush(context: ChannelHandlerContext) {
            context.flush()
            let next = self.next
            self.next = nil
            next?()
        }
    }

    @Test("channels asking for a flush while a full turn's channels go wait for the turn's end, enough to fill it too")
    func anAskDuringAnEarlyFlushWaits() throws {
        let loop = EmbeddedEventLoop()
        let flusher = TickFlusher(
            eventLoop: loop, turns: TurnPolicy(yieldInterval: 1_000_000, batchesConnections: false, mostHeld: 2))
        let chained = Chained()
        let first = Handle()
        let firstChannel = EmbeddedChannel(loop: loop)
        try firstChannel.pipeline.syncOperations.addHandlers([chained, first])
        let second = Handle()
        let secondChannel = EmbeddedChannel(handler: second, loop: loop)
        var channels = [(firstChannel, first), (secondChannel, second)]
        var late: [(EmbeddedChannel, ChannelHandlerContext)] = []
        for _ in 0..<2 {
            let handle = Handle()
            let channel = EmbeddedChannel(handler: handle, loop: loop)
            channels.append((channel, handle))
            late.append((channel, try #require(handle.context)))
        }
        chained.next = {
            for (index, (channel, context)) in late.enumerated() {
                channel.write(ByteBuffer(string: "late \(index)"), promise: nil)
                flusher.flush(context)
            }
        }
        firstChannel.write(ByteBuffer(string: "a"), promise: nil)
        flusher.flush(try #require(first.context))
        secondChannel.write(ByteBuffer(string: "b"), promise: nil)
        flusher.flush(try #require(second.context))
        #expect(try Self.sent(channels) == ["a", "b", "", ""])
        loop.run()
        #expect(try Self.sent(channels) == ["", "", "late 0", "late 1"])
        for (channel, _) in channels { _ = try channel.finish() }
    }
}

/// `TurnPolicy`: how a loop ends its turns depends on whether the loops fill the cores.
@Suite("Turn policies")
struct TurnPolicyTests {
    /// Each row: the loops, the cores, the interval between yields (µs), whether HTTP/2 connections
    /// flush in one batch, the most HTTP/1.1 channels a turn holds, and the time slice asked for (µs).
    @Test(
        arguments: [
            (1, 2, 1_000, false, 16, nil), (2, 2, 500, true, Int.max, 100), (4, 2, 500, true, Int.max, 100),
            (1, 1, 500, true, Int.max, 100), (2, 8, 1_000, false, 16, nil), (7, 8, 1_000, false, 16, nil),
            (8, 8, 500, true, Int.max, 100),
        ] as [(Int, Int, UInt64, Bool, Int, UInt64?)])
    func theLoopsFillingTheCoresDecides(
        loops: Int, cores: Int, micros: UInt64, batched: Bool, mostHeld: Int, sliceMicros: UInt64?
    ) {
        let turns = TurnPolicy.forLoops(loops, cores: cores)
        #expect(turns.yieldInterval == micros * 1_000)
        #expect(turns.batchesConnections == batched)
        #expect(turns.mostHeld == mostHeld)
        #expect(turns.timeSlice == sliceMicros.map { $0 * 1_000 })
    }
}

/// `TimeSlice`: the slice a loop asks for is the one the kernel runs its thread in.
@Suite("Time slices")
struct TimeSliceTests {
    /// The calling thread's slice in nanoseconds, as `/proc/thread-self/sched` shows it.
    static func currentSlice() throws -> UInt64? {
        let sched = try String(contentsOfFile: "/proc/thread-self/sched", encoding: .utf8)
        let line = sched.split(separator: "\n").first { $0.hasPrefix("se.slice") }
        return line.flatMap { $0.split(separator: ":").last }.flatMap {
            UInt64($0.trimmingCharacters(in: .whitespaces))
        }
    }

    /// Asks for `nanoseconds` on a thread of its own (so no other test's thread keeps the slice) and
    /// returns what the kernel answered and the slice the thread then had.
    static func sliceOnOwnThread(_ nanoseconds: UInt64) async throws -> (Int32, UInt64?) {
        try await withCheckedThrowingContinuation { continuation in
            let thread = Thread {
                let answer = TimeSlice.request(nanoseconds: nanoseconds)
                continuation.resume(with: Result { (answer, try Self.currentSlice()) })
            }
            thread.start()
        }
    }

    /// Whether the kernel heeds a thread's own slice: Linux 6.12 and later (6.6 to 6.11 show
    /// `se.slice` too, but keep their own).
    static var kernelHeedsSlices: Bool {
        guard let release = try? String(contentsOfFile: "/proc/sys/kernel/osrelease", encoding: .utf8) else {
            return false
        }
        let numbers = release.split(separator: "-")[0].split(separator: ".").prefix(2).compactMap { Int($0) }
        return numbers.count == 2 && (numbers[0], numbers[1]) >= (6, 12)
    }

    /// On an older kernel there is nothing to check.
    @Test(.enabled(if: TimeSliceTests.kernelHeedsSlices))
    func theKernelRunsTheLoopInTheSliceItAskedFor() async throws {
        let (answer, slice) = try await Self.sliceOnOwnThread(100_000)
        #expect(answer == 0)
        #expect(slice == 100_000)
        let (longerAnswer, longer) = try await Self.sliceOnOwnThread(3_000_000)
        #expect(longerAnswer == 0)
        #expect(longer == 3_000_000)
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
        var pacer = YieldPacer(interval: TurnPolicy.forLoops(2, cores: 2).yieldInterval)
        #expect(
            [5 * Self.ms, 5 * Self.ms + 499_999, 5 * Self.ms + 500_000].map { pacer.isDue(at: $0) } == [
                true, false, true,
            ])
    }
}
