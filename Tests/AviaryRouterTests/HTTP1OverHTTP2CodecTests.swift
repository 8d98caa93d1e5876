import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP2
import Testing

@testable import AviaryRouter

/// The conversion that carries an HTTP/1.1 client's exchange on a stream to an HTTP/2-only
/// endpoint: request bytes to frames, response frames to bytes, on an EmbeddedChannel.
@Suite("HTTP/1.1 exchanges on HTTP/2 streams")
struct HTTP1OverHTTP2CodecTests {
    private func channel() -> EmbeddedChannel {
        EmbeddedChannel(handler: HTTP1OverHTTP2Codec())
    }

    /// The frames the request bytes became, one description each.
    private func frames(of request: [String]) throws -> [String] {
        let channel = channel()
        for part in request { try channel.writeOutbound(ByteBuffer(string: part)) }
        var frames: [String] = []
        while let frame = try channel.readOutbound(as: HTTP2Frame.FramePayload.self) {
            switch frame {
            case .headers(let headers):
                let fields = headers.headers.map { "\($0.name)=\($0.value)" }.joined(separator: " ")
                frames.append("HEADERS\(headers.endStream ? "+END" : "") \(fields)")
            case .data(let data):
                guard case .byteBuffer(let bytes) = data.data else { continue }
                frames.append("DATA\(data.endStream ? "+END" : "") \(String(buffer: bytes))")
            default:
                frames.append("other")
            }
        }
        _ = try channel.finish()
        return frames
    }

    @Test(
        "a request's head becomes one header block, its body DATA frames ending the stream",
        arguments: [
            (
                ["GET /a?b=1 HTTP/1.1\r\nHost: shop.local\r\nAccept: */*\r\n\r\n"],
                ["HEADERS+END :method=GET :scheme=http :authority=shop.local :path=/a?b=1 accept=*/*"]
            ),
            (
                // Fields of one HTTP/1.1 connection do not cross to HTTP/2 (RFC 9113 8.2.2).
                [
                    "GET / HTTP/1.1\r\nHost: h\r\nConnection: keep-alive, x-hop\r\nKeep-Alive: 5\r\nTE: trailers\r\n"
                        + "X-Hop: 1\r\nUpgrade: websocket\r\nX-Kept: yes\r\nX-Forwarded-For: 10.0.0.1\r\n\r\n"
                ],
                ["HEADERS+END :method=GET :scheme=http :authority=h :path=/ x-kept=yes x-forwarded-for=10.0.0.1"]
            ),
            (
                ["GET http://other.local:8080/p?q HTTP/1.1\r\nHost: h\r\n\r\n"],
                ["HEADERS+END :method=GET :scheme=http :authority=other.local:8080 :path=/p?q"]
            ),
            (
                ["POST /up HTTP/1.1\r\nHost: h\r\nContent-Length: 5\r\n\r\n", "hel", "lo"],
                [
                    "HEADERS :method=POST :scheme=http :authority=h :path=/up content-length=5", "DATA hel",
                    "DATA+END lo",
                ]
            ),
            (
                // A chunked body loses its framing; its trailers are not carried.
                [
                    "POST /up HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabc\r\n",
                    "2\r\nde\r\n0\r\nX-Sum: 5\r\n\r\n",
                ],
                ["HEADERS :method=POST :scheme=http :authority=h :path=/up", "DATA abc", "DATA+END de"]
            ),
            (
                // A head cut across writes is sent once whole.
                ["DELETE /x HTTP/1.1\r\nHo", "st: h\r\n\r\n"],
                ["HEADERS+END :method=DELETE :scheme=http :authority=h :path=/x"]
            ),
        ])
    func requests(parts: [String], expected: [String]) throws {
        #expect(try frames(of: parts) == expected)
    }

    @Test("bytes after the end of the request are an error, not a second request on the stream")
    func bytesAfterTheRequest() throws {
        let channel = channel()
        try channel.writeOutbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(throws: HTTP1OverHTTP2Codec.ConversionError.self) {
            try channel.writeOutbound(ByteBuffer(string: "GET /again HTTP/1.1\r\nHost: h\r\n\r\n"))
        }
        _ = try? channel.finish()
    }

    /// What the response frames became, as one string; `method` is the request's.
    private func response(to method: String = "GET", _ frames: [HTTP2Frame.FramePayload]) throws -> String {
        let channel = channel()
        try channel.writeOutbound(ByteBuffer(string: "\(method) / HTTP/1.1\r\nHost: h\r\n\r\n"))
        for frame in frames { try channel.writeInbound(frame) }
        var text = ""
        while let bytes = try channel.readInbound(as: ByteBuffer.self) { text += String(buffer: bytes) }
        _ = try channel.finish()
        return text
    }

    private static func headers(_ fields: [(String, String)], end: Bool = false) -> HTTP2Frame.FramePayload {
        .headers(.init(headers: HPACKHeaders(fields), endStream: end))
    }

    private static func data(_ text: String, end: Bool = false) -> HTTP2Frame.FramePayload {
        .data(.init(data: .byteBuffer(ByteBuffer(string: text)), endStream: end))
    }

    @Test("a body without a length is chunked, and the trailers become the chunked trailer section")
    func chunkedWithTrailers() throws {
        let text = try response([
            Self.headers([(":status", "200"), ("content-type", "text/plain")]), Self.data("hello "), Self.data("world"),
            Self.headers([("grpc-status", "0"), ("x-sum", "11")], end: true),
        ])
        #expect(
            text
                == "HTTP/1.1 200 OK\r\ncontent-type: text/plain\r\ntransfer-encoding: chunked\r\nconnection: close\r\n\r\n"
                + "6\r\nhello \r\n5\r\nworld\r\n0\r\ngrpc-status: 0\r\nx-sum: 11\r\n\r\n")
    }

    @Test("a body with a length passes as it came, and trailers after it are dropped")
    func lengthBody() throws {
        let text = try response([
            Self.headers([(":status", "201"), ("content-length", "4")]), Self.data("ab"), Self.data("cd"),
            Self.headers([("x-late", "1")], end: true),
        ])
        #expect(text == "HTTP/1.1 201 Created\r\ncontent-length: 4\r\nconnection: close\r\n\r\nabcd")
    }

    @Test("an interim answer goes as it is, and the final one after it")
    func interim() throws {
        let text = try response([
            Self.headers([(":status", "103"), ("link", "</a.css>")]),
            Self.headers([(":status", "204")], end: true),
        ])
        #expect(
            text == "HTTP/1.1 103 \r\nlink: </a.css>\r\n\r\nHTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
    }

    @Test(
        "a header block that ends the stream says content-length 0 only where a body could follow",
        arguments: [
            ("GET", "404", "HTTP/1.1 404 Not Found\r\ncontent-length: 0\r\nconnection: close\r\n\r\n"),
            ("HEAD", "200", "HTTP/1.1 200 OK\r\nconnection: close\r\n\r\n"),
            ("GET", "304", "HTTP/1.1 304 Not Modified\r\nconnection: close\r\n\r\n"),
        ])
    func endedByTheHeaders(method: String, status: String, expected: String) throws {
        #expect(try response(to: method, [Self.headers([(":status", status)], end: true)]) == expected)
    }

    @Test("the answer to HEAD keeps the length it announces, and no body bytes follow")
    func headAnswer() throws {
        let text = try response(
            to: "HEAD", [Self.headers([(":status", "200"), ("content-length", "1234")]), Self.data("", end: true)])
        #expect(text == "HTTP/1.1 200 OK\r\ncontent-length: 1234\r\nconnection: close\r\n\r\n")
    }

    @Test("a header block without :status is a protocol error")
    func noStatus() throws {
        let channel = channel()
        try channel.writeOutbound(ByteBuffer(string: "GET / HTTP/1.1\r\nHost: h\r\n\r\n"))
        #expect(throws: HTTP1OverHTTP2Codec.ConversionError.self) {
            try channel.writeInbound(Self.headers([("content-type", "text/plain")]))
        }
        _ = try? channel.finish()
    }
}
