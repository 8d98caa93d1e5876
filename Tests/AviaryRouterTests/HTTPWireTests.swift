import NIOCore
import Testing

@testable import AviaryRouter

/// The proxy's own HTTP/1 reading: heads and body framing, as tables. Every refusal here is a
/// message two HTTP implementations could frame differently (request smuggling), so the proxy
/// answers 400 rather than guess.
@Suite("HTTP/1 heads and body framing read from bytes")
struct HTTPWireTests {
    private func parse(
        _ text: String, isRequest: Bool = true, limit: Int = 1000
    ) throws -> (
        HeadParse, MessageHead
    ) {
        var head = MessageHead()
        let bytes = Array(text.utf8)
        let result = try bytes.withUnsafeBytes { raw in
            try head.parse(raw, isRequest: isRequest, limit: limit)
        }
        return (result, head)
    }

    @Test(
        "requests the proxy reads, with their framing",
        arguments: [
            // (request, content length, chunked, keep-alive)
            ("GET / HTTP/1.1\r\nHost: x\r\n\r\n", nil, false, true),
            ("GET / HTTP/1.0\r\nHost: x\r\n\r\n", nil, false, false),
            ("GET / HTTP/1.0\r\nConnection: Keep-Alive\r\n\r\n", nil, false, true),
            ("GET / HTTP/1.1\r\nConnection: close, x-a\r\n\r\n", nil, false, false),
            ("POST /a HTTP/1.1\r\ncontent-length: 12\r\nContent-Length: 12\r\n\r\n", 12, false, true),
            ("POST /a HTTP/1.1\r\nTransfer-Encoding: gzip, Chunked\r\n\r\n", nil, true, true),
            ("\r\n\r\nGET /x HTTP/1.1\r\nA:b\r\nB: \t c d \t\r\nE:\r\n\r\n", nil, false, true),
        ] as [(String, Int?, Bool, Bool)])
    func readsRequests(request: String, contentLength: Int?, chunked: Bool, keepAlive: Bool) throws {
        let (result, head) = try parse(request)
        #expect(result == .complete(request.utf8.count))
        #expect(head.contentLength == contentLength)
        #expect(head.isChunked == chunked)
        #expect(head.isKeepAlive == keepAlive)
    }

    @Test("field values lose surrounding spaces and tabs; the request line is found after empty lines")
    func offsets() throws {
        let text = "\r\nGET /x?y HTTP/1.1\r\nB: \t c d \t\r\nE:\r\nF: caf\u{E9} \r\n\r\n"
        let (_, head) = try parse(text)
        let bytes = Array(text.utf8)
        #expect(String(decoding: bytes[head.method], as: UTF8.self) == "GET")
        #expect(String(decoding: bytes[head.target], as: UTF8.self) == "/x?y")
        // Bytes above 0x7F (obs-text, here UTF-8) are kept as part of a value.
        #expect(
            head.fields.map { String(decoding: bytes[$0.valueStart..<$0.valueEnd], as: UTF8.self) }
                == ["c d", "", "caf\u{E9}"])
    }

    @Test(
        "requests refused as malformed",
        arguments: [
            "GET / HTTP/1.1\nHost: x\r\n\r\n",  // bare LF
            "GET / HTTP/1.1\r\nHost: x\n\r\n",
            "GET / HTTP/1.1\r\nHost: x\rY: z\r\n\r\n",  // bare CR
            "GET / HTTP/1.1\r\nHost : x\r\n\r\n",  // space before the colon
            "GET / HTTP/1.1\r\nA: b\r\n c\r\n\r\n",  // folded line
            "GET / HTTP/1.1\r\n: b\r\n\r\n",  // empty name
            "GET / HTTP/1.1\r\nA: b\u{0}c\r\n\r\n",  // NUL in a value
            "GET / HTTP/1.1\r\nA: b\u{7F}\r\n\r\n",  // DEL in a value
            "GET / HTTP/1.1\r\nA: b\u{1B}c\r\n\r\n",  // ESC in a value
            "GET / HTTP/2.0\r\n\r\n",
            "GET / HTTP/1.1 \r\n\r\n",
            "GET  / HTTP/1.1\r\n\r\n",
            "G(T / HTTP/1.1\r\n\r\n",
            "BLAH\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 5, 5\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: +5\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 1234567890123456\r\n\r\n",
            "POST / HTTP/1.1\r\nContent-Length: 5\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked, gzip\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n",
            "POST / HTTP/1.1\r\nTransfer-Encoding: xchunked\r\n\r\n",
            "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n",
            "GET / HTTP/1.1\r\nHost: a\r\nHost: b\r\n\r\n",
        ])
    func refusesMalformedRequests(request: String) {
        #expect(throws: HeadError.self) { try parse(request) }
    }

    @Test("a head is incomplete until its empty line, and too large past the limit either way")
    func incompleteAndTooLarge() throws {
        #expect(try parse("GET / HTTP/1.1\r\nHost: x\r\n").0 == .incomplete)
        #expect(try parse("GET / HTTP/1.1\r\nHost: x\r\n\r").0 == .incomplete)
        #expect(throws: HeadError.tooLarge) {
            try parse("GET / HTTP/1.1\r\nA: \(String(repeating: "b", count: 100))", limit: 50)
        }
        #expect(throws: HeadError.tooLarge) {
            try parse("GET / HTTP/1.1\r\nA: \(String(repeating: "b", count: 100))\r\n\r\n", limit: 50)
        }
    }

    @Test(
        "response framing: length, chunked, none, or until the connection closes",
        arguments: [
            ("HTTP/1.1 200 OK\r\nContent-Length: 3\r\n\r\n", false, BodyFramer.Mode?.some(.length(3))),
            ("HTTP/1.1 200 OK\r\nContent-Length: 0\r\n\r\n", false, nil),
            (
                "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nContent-Length: 3\r\n\r\n", false,
                .chunked(.size(value: 0, digits: 0))
            ),
            ("HTTP/1.1 200 OK\r\nTransfer-Encoding: gzip\r\nContent-Length: 3\r\n\r\n", false, .untilClose),
            ("HTTP/1.0 200 OK\r\n\r\n", false, .untilClose),
            ("HTTP/1.1 204 No Content\r\n\r\n", false, nil),
            ("HTTP/1.1 304 Not Modified\r\nContent-Length: 10\r\n\r\n", false, nil),
            ("HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\n", true, nil),
            ("HTTP/1.1 200\r\nContent-Length: 1\r\n\r\n", false, .length(1)),
        ] as [(String, Bool, BodyFramer.Mode?)])
    func responseFraming(response: String, requestWasHead: Bool, mode: BodyFramer.Mode?) throws {
        let (result, head) = try parse(response, isRequest: false)
        #expect(result == .complete(response.utf8.count))
        #expect(BodyFramer.forBody(of: head, isRequest: false, requestWasHead: requestWasHead)?.mode == mode)
    }

    /// Feeds `body` to a chunked framer in pieces of `step` bytes: the bytes it took, its data,
    /// its trailer lines, and whether it saw the end.
    private func chunked(_ body: String, step: Int) throws -> (Int, String, Bool, trailers: String) {
        var framer = BodyFramer(.chunked(.size(value: 0, digits: 0)))
        let bytes = Array(body.utf8)
        var taken = 0
        var data: [UInt8] = []
        var trailers: [UInt8] = []
        while taken < bytes.count, !framer.isComplete {
            let piece = Array(bytes[taken..<min(bytes.count, taken + step)])
            let consumed = try piece.withUnsafeBytes { raw in
                try framer.consume(raw, onData: { data += piece[$0] }, onTrailers: { trailers += piece[$0] })
            }
            taken += consumed
            if consumed < piece.count { break }
        }
        return (
            taken, String(decoding: data, as: UTF8.self), framer.isComplete, String(decoding: trailers, as: UTF8.self)
        )
    }

    @Test(
        "chunked bodies end where their framing says, read whole or a byte at a time, trailers and all",
        arguments: [
            ("5\r\nhello\r\n0\r\n\r\n", "hello", ""),
            (
                "5;ext=1\r\nhello\r\nA\r\n0123456789\r\n0\r\nTrailer: x\r\n\r\n", "hello0123456789",
                "Trailer: x\r\n"
            ),
            ("0\r\nGrpc-Status: 0\r\nX-Sum:  ab c \r\n\r\n", "", "Grpc-Status: 0\r\nX-Sum:  ab c \r\n"),
            ("0\r\n\r\n", "", ""),
        ], [1, 3, 1000])
    func chunkedBodies(body: (String, String, String), step: Int) throws {
        let (taken, data, complete, trailers) = try chunked(body.0 + "GET / HTTP/1.1\r\n\r\n", step: step)
        #expect(taken == body.0.utf8.count)
        #expect(data == body.1)
        #expect(trailers == body.2, "the trailer lines, whole however the reads cut them")
        #expect(complete)
    }

    @Test(
        "chunked framing refused",
        arguments: [
            "x\r\n", "\r\n", "5\nhello\r\n", "5\r\nhelloX\r\n", "5\r\nhello\r\n0\r\nA\nB\r\n\r\n",
            "1234567890123456\r\n", "5\r\nhello\r\n0\r\n\rX", "5;a\u{1}\r\n", "-1\r\n", " 5\r\n",
        ])
    func chunkedRefused(body: String) {
        #expect(throws: BodyFramer.FramingError.self) { try chunked(body, step: 1000) }
    }

    @Test("a fixed-length body takes exactly its length")
    func fixedLength() throws {
        var framer = BodyFramer(.length(5))
        let bytes = Array("hel".utf8)
        #expect(try bytes.withUnsafeBytes { try framer.consume($0) { _ in } } == 3)
        #expect(!framer.isComplete)
        let rest = Array("loGET".utf8)
        #expect(try rest.withUnsafeBytes { try framer.consume($0) { _ in } } == 2)
        #expect(framer.isComplete)
    }
}
