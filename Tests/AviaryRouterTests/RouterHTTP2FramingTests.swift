import AviaryTestSupport
import Foundation
import Glibc
import NIOCore
import NIOHPACK
import Testing

@testable import AviaryRouter

/// The checks of a client's header blocks and the limits' windows, as tables.
struct HTTP2WireTests {
    private static func block(_ fields: [(String, String)]) -> HeaderBlock { HeaderBlock(HPACKHeaders(fields)) }

    private static let get: [(String, String)] = [
        (":method", "GET"), (":scheme", "http"), (":path", "/"), (":authority", "a"),
    ]

    private typealias Target = HTTP2Messages.Target

    @Test(
        "a request's header block is forwarded only when well formed, and read in the same pass",
        arguments: [
            (get, HTTP2Wire.Request(target: Target(method: "GET", path: "/", authority: "a", scheme: "http"))),
            (
                [
                    (":method", "POST"), (":scheme", "http"), (":path", "/p"), ("te", "trailers"),
                    ("content-length", "12"), ("content-type", "application/grpc+proto"),
                    ("content-type", "text/plain"),
                ],
                .init(target: Target(method: "POST", path: "/p", scheme: "http"), contentLength: 12, isGRPC: true)
            ),
            (
                get + [("content-length", "3"), ("content-length", "3"), ("content-type", "text/plain")],
                .init(target: Target(method: "GET", path: "/", authority: "a", scheme: "http"), contentLength: 3)
            ),
            (
                [(":method", "CONNECT"), (":authority", "a:443")],
                .init(target: Target(method: "CONNECT", path: "", authority: "a:443"))
            ),
        ] as [([(String, String)], HTTP2Wire.Request)])
    func wellFormed(fields: [(String, String)], expected: HTTP2Wire.Request) {
        #expect(HTTP2Wire.checkRequest(Self.block(fields)) == .request(expected))
    }

    @Test(
        "a malformed request's header block is refused, saying why",
        arguments: [
            (get + [("X-Upper", "1")], "lower-case"),
            (get + [("bad name", "1")], "lower-case"),
            (get + [("connection", "close")], "HTTP/1.1 connection"),
            (get + [("transfer-encoding", "chunked")], "HTTP/1.1 connection"),
            (get + [("te", "gzip")], "te may only"),
            (get + [("content-length", "3"), ("content-length", "4")], "not one number"),
            (get + [("content-length", "-1")], "not one number"),
            (get + [("content-length", "1234567890123456789")], "not one number"),
            (get + [("x", "a\r\nb: c")], "NUL, CR or LF"),
            (get + [("x", "a\u{0}")], "NUL, CR or LF"),
            ([("x", "1")] + get, "follows a regular field"),
            (get + [(":status", "200")], "not one of a request"),
            (get + [(":path", "/again")], "twice"),
            ([(":method", "GET"), (":scheme", "http"), (":path", "")], ":path is empty"),
            ([(":method", ""), (":scheme", "http"), (":path", "/")], ":method is empty"),
            ([(":method", "GET"), (":path", "/")], "lacks"),
            ([(":method", "CONNECT"), (":authority", "a"), (":path", "/")], "CONNECT"),
            ([("", "x")], "without a name"),
        ] as [([(String, String)], String)])
    func malformed(fields: [(String, String)], reason: String) {
        guard case .malformed(let why) = HTTP2Wire.checkRequest(Self.block(fields)) else {
            Issue.record("\(fields) passed")
            return
        }
        #expect(why.contains(reason), "\(why)")
    }

    @Test func trailersCarryNoPseudoFields() {
        #expect(HTTP2Wire.checkTrailers(Self.block([("grpc-status", "0")])) == .trailers)
        #expect(HTTP2Wire.checkTrailers(Self.block([(":status", "200")])) != .trailers)
        #expect(HTTP2Wire.checkTrailers(Self.block([("Grpc-Status", "0")])) != .trailers)
        #expect(HTTP2Wire.checkTrailers(Self.block([("x", "a\nb")])) != .trailers)
    }

    @Test func aRateWindowAllowsItsLimitThenRefusesUntilTheWindowPasses() {
        var window = HTTP2Wire.RateWindow(limit: 3, window: .seconds(30))
        let start = NIODeadline.uptimeNanoseconds(1_000_000_000)
        var allowed: [Bool] = []
        for second in [0, 1, 2, 5, 29, 31] { allowed.append(window.record(at: start + .seconds(Int64(second)))) }
        #expect(allowed == [true, true, true, false, false, true], "three allowed, then none until a new window")
    }

    @Test(
        "the router's header blocks decode to what was written, with a table size update when one is due",
        arguments: [
            [(":status", "200"), ("content-type", "text/plain"), ("content-length", "14"), ("date", "x")],
            [(":status", "503"), ("x-custom", String(repeating: "v", count: 300)), ("set-cookie", "a=b")],
            [("grpc-status", "0"), ("grpc-message", "")],
            [(":status", "404"), (String(repeating: "n", count: 200), "1"), ("www-authenticate", "Basic")],
        ] as [[(String, String)]])
    func encodedBlocksDecode(fields: [(String, String)]) throws {
        for update in [nil, 0] as [Int?] {
            var buffer = ByteBuffer()
            if let update { HTTP2Wire.writeInteger(update, prefix: 5, flags: 0x20, into: &buffer) }
            HTTP2Wire.encode(HPACKHeaders(fields), into: &buffer)
            var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
            if update != nil { #expect(buffer.getInteger(at: 0, as: UInt8.self) == 0x20, "a size update to 0 first") }
            let decoded = try decoder.decodeHeaders(from: &buffer)
            #expect(decoded.map { "\($0.name): \($0.value)" } == fields.map { "\($0.0): \($0.1)" })
            // The client's table is left empty: its first dynamic entry (62) does not exist.
            var probe = ByteBuffer(bytes: [0xBE])
            #expect(throws: (any Error).self) { try decoder.decodeHeaders(from: &probe) }
        }
    }

    @Test(
        "HPACK integers (RFC 7541, C.1) and static names",
        arguments: [(10, 5, [0x0A]), (1337, 5, [0x1F, 0x9A, 0x0A]), (15, 4, [0x0F, 0x00]), (127, 7, [0x7F, 0x00])]
            as [(Int, Int, [UInt8])])
    func integers(value: Int, prefix: Int, bytes: [UInt8]) {
        var buffer = ByteBuffer()
        HTTP2Wire.writeInteger(value, prefix: prefix, flags: 0, into: &buffer)
        #expect(Array(buffer.readableBytesView) == bytes)
        #expect(staticIndex("content-length") == 28)
        #expect(staticIndex(":status") == 8)
        #expect(staticIndex("www-authenticate") == 61)
        #expect(staticIndex("x-content-length") == nil)
    }

    private func staticIndex(_ name: String) -> UInt8? {
        Array(name.utf8).withUnsafeBytes { HTTP2Wire.staticIndex(ofName: $0) }
    }

    @Test func paddingIsStrippedAndTooMuchOfItRefused() {
        let padded = ByteBuffer(bytes: [2, 0x61, 0x62, 0, 0])
        #expect(HTTP2Wire.unpadded(padded, flags: HTTP2Wire.Flag.padded) == ByteBuffer(bytes: [0x61, 0x62]))
        #expect(HTTP2Wire.unpadded(ByteBuffer(bytes: [4, 0x61, 0, 0]), flags: HTTP2Wire.Flag.padded) == nil)
        #expect(HTTP2Wire.unpadded(ByteBuffer(bytes: [3, 0x61, 0, 0]), flags: HTTP2Wire.Flag.padded) == ByteBuffer())
        #expect(HTTP2Wire.unpadded(ByteBuffer(bytes: []), flags: HTTP2Wire.Flag.padded) == nil)
        #expect(HTTP2Wire.unpadded(padded, flags: 0) == padded)
    }
}

/// The router's own HTTP/2 framing, on raw connections: flow control towards a client with a
/// small window, malformed streams reset while the connection goes on, and the connection
/// errors (RFC 9113, 5.4.1) that end a connection with GOAWAY and the right code.
@Suite("Router HTTP/2 framing", .serialized)
struct RouterHTTP2FramingTests {
    typealias Frame = (type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8])

    /// A literal header field without indexing, with a new name (RFC 7541, 6.2.2).
    private static func literal(_ name: String, _ value: String) -> [UInt8] {
        [0, UInt8(name.utf8.count)] + Array(name.utf8) + [UInt8(value.utf8.count)] + Array(value.utf8)
    }

    /// A GET on stream 1 with a field of `valueLength` bytes, in HEADERS and CONTINUATION frames
    /// of 16 KiB (the block written by NIOHPACK's encoder, not the router's).
    private static func oversizedHeaders(valueLength: Int) -> [UInt8] {
        var encoder = HPACKEncoder(allocator: ByteBufferAllocator(), useHuffmanEncoding: false)
        var block = ByteBuffer()
        let fields = [
            (":method", "GET"), (":scheme", "http"), (":path", "/"),
            ("x-big", String(repeating: "a", count: valueLength)),
        ]
        try? encoder.encode(headers: HPACKHeaders(fields), to: &block)
        var bytes = Array(block.readableBytesView)[...]
        var frames = RawHTTP2.frame(type: 1, flags: 0x1, stream: 1, Array(bytes.prefix(16_384)))
        bytes = bytes.dropFirst(16_384)
        while !bytes.isEmpty {
            let part = bytes.prefix(16_384)
            bytes = bytes.dropFirst(part.count)
            frames += RawHTTP2.frame(type: 9, flags: bytes.isEmpty ? 0x4 : 0, stream: 1, Array(part))
        }
        return frames
    }

    private static func code(_ payload: [UInt8], at index: Int = 0) -> UInt32 {
        payload[index..<index + 4].reduce(UInt32(0)) { $0 << 8 | UInt32($1) }
    }

    /// The client's preface, SETTINGS with `settings` (id, value) and the acknowledgement of the router's.
    private static func preface(_ settings: [(UInt16, UInt32)] = []) -> [UInt8] {
        var payload: [UInt8] = []
        for (id, value) in settings {
            payload += withUnsafeBytes(of: id.bigEndian, Array.init) + withUnsafeBytes(of: value.bigEndian, Array.init)
        }
        return Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + RawHTTP2.frame(type: 4, payload)
            + RawHTTP2.frame(type: 4, flags: 1)
    }

    private func withListener(_ body: (_ port: Int) async throws -> Void) async throws {
        try await withAppBehindRouter { _, _, port, _ in try await body(port) }
    }

    @Test("an answer larger than the client's stream window waits for its WINDOW_UPDATE, then ends")
    func theClientsWindowHoldsTheAnswer() async throws {
        try await withListener { port in
            let connection = try RawConnection(port: port, receiveTimeout: 2)
            defer { connection.close() }
            // SETTINGS_INITIAL_WINDOW_SIZE 5: five bytes of any answer, then nothing.
            try connection.send(bytes: Self.preface([(4, 5)]) + RawHTTP2.get(stream: 1))
            let first = connection.receiveFrames { frames in frames.contains { $0.type == 0 && $0.stream == 1 } }
            let held = first.frames.filter { $0.type == 0 && $0.stream == 1 }
            #expect(held.reduce(0) { $0 + $1.payload.count } == 5, "\(held.map(\.payload.count))")
            #expect(!held.contains { $0.flags & 1 == 1 }, "the answer does not end within five bytes")
            try connection.send(bytes: RawHTTP2.frame(type: 8, stream: 1, [0, 1, 0, 0]))
            let rest = connection.receiveFrames { frames in frames.contains { $0.stream == 1 && $0.flags & 1 == 1 } }
            let body = (held + rest.frames.filter { $0.type == 0 && $0.stream == 1 }).flatMap(\.payload)
            #expect(rest.frames.contains { $0.type == 0 && $0.stream == 1 && $0.flags & 1 == 1 }, "the answer ends")
            #expect(body.count > 5 && String(decoding: body, as: UTF8.self).contains("app-1"))
            #expect(!rest.frames.contains { $0.type == 7 }, "no GOAWAY")
        }
    }

    @Test(
        "malformed streams are reset with PROTOCOL_ERROR; PING, padding and CONTINUATION work; the connection goes on")
    func malformedStreamsAreResetAlone() async throws {
        try await withListener { port in
            let connection = try RawConnection(port: port, receiveTimeout: 2)
            defer { connection.close() }
            let get: [UInt8] = [0x82, 0x86, 0x84]
            let post: [UInt8] = [0x83, 0x86, 0x84]
            var bytes = Self.preface()
            // 1: an upper-case field name.
            bytes += RawHTTP2.frame(type: 1, flags: 0x5, stream: 1, get + Self.literal("X-Upper", "1"))
            // 3: a body longer than its content-length (to an HTTP/1.1 pod, the rest would be a
            // request of its own).
            bytes += RawHTTP2.frame(type: 1, flags: 0x4, stream: 3, post + Self.literal("content-length", "3"))
            bytes += RawHTTP2.frame(type: 0, flags: 0x1, stream: 3, Array("hello".utf8))
            // 5: a connection field.
            bytes += RawHTTP2.frame(type: 1, flags: 0x5, stream: 5, get + Self.literal("connection", "close"))
            // 7: well formed, its block split over HEADERS and CONTINUATION, padded, with a PING after.
            bytes += RawHTTP2.frame(type: 1, flags: 0x9, stream: 7, [2] + get.prefix(2) + [0, 0])
            bytes += RawHTTP2.frame(type: 9, flags: 0x4, stream: 7, Array(get.suffix(1)))
            bytes += RawHTTP2.frame(type: 6, stream: 0, [1, 2, 3, 4, 5, 6, 7, 8])
            try connection.send(bytes: bytes)
            let answer = connection.receiveFrames { frames in frames.contains { $0.stream == 7 && $0.flags & 1 == 1 } }
            let resets = answer.frames.filter { $0.type == 3 }
            #expect(resets.map(\.stream) == [1, 3, 5], "\(answer.frames.map { ($0.type, $0.stream) })")
            #expect(resets.allSatisfy { Self.code($0.payload) == 1 }, "PROTOCOL_ERROR")
            #expect(answer.frames.contains { $0.type == 6 && $0.flags == 1 && $0.payload == [1, 2, 3, 4, 5, 6, 7, 8] })
            #expect(answer.frames.contains { $0.type == 1 && $0.stream == 7 }, "stream 7 is answered")
            #expect(!answer.frames.contains { $0.type == 7 }, "no GOAWAY")
        }
    }

    @Test(
        "connection errors end the connection with GOAWAY and their code",
        arguments: [
            ("a frame over 16,384 bytes", [UInt8](), 6),
            ("DATA on a stream never opened", RawHTTP2.frame(type: 0, flags: 1, stream: 9, [1]), 1),
            ("a client's PUSH_PROMISE", RawHTTP2.frame(type: 5, flags: 4, stream: 1, [0, 0, 0, 2]), 1),
            ("a CONTINUATION after no HEADERS", RawHTTP2.frame(type: 9, flags: 4, stream: 1, [0x82]), 1),
            ("a window update of zero on the connection", RawHTTP2.frame(type: 8, stream: 0, [0, 0, 0, 0]), 1),
            (
                "empty DATA frames, one after another",
                RawHTTP2.get(stream: 1, ends: false) + RawHTTP2.frame(type: 0, stream: 1)
                    + RawHTTP2.frame(type: 0, stream: 1), 0xB
            ),
            (
                "endless empty CONTINUATION frames",
                RawHTTP2.frame(type: 1, flags: 1, stream: 1, [0x82, 0x86, 0x84])
                    + Array((0..<200).map { _ in RawHTTP2.frame(type: 9, stream: 1) }.joined()), 0xB
            ),
            ("an undecodable header block", RawHTTP2.frame(type: 1, flags: 5, stream: 1, [0xFF, 0xFF, 0xFF]), 9),
            ("a header block past the 16 KiB header limit", oversizedHeaders(valueLength: 20_000), 9),
            (
                "a header block past the limit and a frame, in CONTINUATION frames",
                oversizedHeaders(valueLength: 40_000), 0xB
            ),
        ] as [(String, [UInt8], UInt32)])
    func connectionErrors(what: String, frames: [UInt8], code: UInt32) async throws {
        try await withListener { port in
            let connection = try RawConnection(port: port, receiveTimeout: 10)
            defer { connection.close() }
            let oversized =
                RawHTTP2.get(stream: 1, ends: false)
                + RawHTTP2.frame(
                    type: 0, stream: 1, [UInt8](repeating: 0x61, count: 16_385))
            try connection.send(bytes: Self.preface() + (frames.isEmpty ? oversized : frames))
            let answer = connection.receiveFrames { frames in frames.contains { $0.type == 7 } }
            let goAway = answer.frames.first { $0.type == 7 }
            #expect(goAway.map { Self.code($0.payload, at: 4) } == code, "\(what): \(answer.frames.map(\.type))")
            let end = connection.receiveFrames { _ in false }
            #expect(end.closed, "\(what): the router closes the connection")
        }
    }

    @Test("a client that says GOAWAY with no stream open has its connection closed")
    func theClientsGoAwayEndsTheConnection() async throws {
        try await withListener { port in
            let connection = try RawConnection(port: port, receiveTimeout: 10)
            defer { connection.close() }
            try connection.send(bytes: Self.preface() + RawHTTP2.frame(type: 7, [0, 0, 0, 0, 0, 0, 0, 0]))
            let answer = connection.receiveFrames { _ in false }
            #expect(answer.closed)
            #expect(!answer.frames.contains { $0.type == 7 }, "nothing went wrong: no GOAWAY back")
        }
    }
}

extension RawConnection {
    /// Reads frames until `enough` says so, the peer closes (`closed`), or the receive timeout passes.
    func receiveFrames(
        until enough: ([(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8])]) -> Bool
    ) -> (frames: [(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8])], closed: Bool) {
        var data = [UInt8]()
        var buffer = [UInt8](repeating: 0, count: 65536)
        while true {
            let count = recv(descriptor, &buffer, buffer.count, 0)
            if count == 0 { return (RawHTTP2.frames(data), true) }
            if count < 0 { return (RawHTTP2.frames(data), errno == ECONNRESET) }
            data.append(contentsOf: buffer[0..<count])
            if enough(RawHTTP2.frames(data)) { return (RawHTTP2.frames(data), false) }
        }
    }
}
