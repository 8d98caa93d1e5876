import AsyncHTTPClient
import AviaryTestSupport
import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP1
import NIOHTTP2
import NIOPosix
import Synchronization
import Testing

@testable import AviaryRouter

/// HTTP/1.1 clients (curl and AsyncHTTPClient) through the router to endpoints that speak only
/// HTTP/2 by prior knowledge: SwiftNIO's HTTP/2 server on loopback, which refuses anything else.
@Suite("HTTP/1.1 clients to HTTP/2-only endpoints", .serialized)
struct RouterHTTP1ToH2CTests {
    /// Runs `body` with an h2c echo server for each of `names` and a router serving the table
    /// `table` makes of their ports and a free listener port; everything is stopped afterwards.
    private func withEchoServers(
        _ names: [String], table: (_ ports: [Int], _ listener: Int) -> String,
        _ body: (_ port: Int, _ servers: [H2CEchoServer], _ router: RouterServer) async throws -> Void
    ) async throws {
        var servers: [H2CEchoServer] = []
        do {
            for name in names { servers.append(try await H2CEchoServer.start(name: name)) }
            let port = try freePort()
            try await withRouter(table(servers.map(\.port), port)) { router in
                try await body(port, servers, router)
            }
        } catch {
            for server in servers { await server.stop() }
            throw error
        }
        for server in servers { await server.stop() }
    }

    /// `withEchoServers` with `blue` and `green` behind one listener that splits its requests
    /// 50/50 between their services.
    private func withEchoServers(
        _ body: (_ port: Int, _ servers: [H2CEchoServer], _ router: RouterServer) async throws -> Void
    ) async throws {
        try await withEchoServers(["blue", "green"]) { ports, listener in
            """
            services:
              blue: {endpoints: ["127.0.0.1:\(ports[0])"], protocol: h2c}
              green: {endpoints: ["127.0.0.1:\(ports[1])"], protocol: h2c}
            listeners:
              - address: 127.0.0.1:\(listener)
                routes:
                  - backends: [{service: blue, weight: 50}, {service: green, weight: 50}]
            """
        } _: { port, servers, router in
            try await body(port, servers, router)
        }
    }

    private func curl(_ arguments: [String]) throws -> String {
        let result = try runCommand(["/usr/bin/env", "curl", "-sS", "--max-time", "20", "--http1.1"] + arguments)
        guard result.status == 0 else {
            throw TestFailure("curl \(arguments) failed (\(result.status)): \(result.output)")
        }
        return result.output
    }

    @Test("each request of one keep-alive connection is routed on its own and answered in HTTP/1.1")
    func requestsOfOneConnection() async throws {
        try await withEchoServers { port, _, router in
            try await withClient(connectionsPerHost: 1) { client in
                var pods: [String] = []
                for index in 0..<20 {
                    var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/echo/\(index)?x=1")
                    request.method = .POST
                    request.headers.add(name: "x-request", value: "\(index)")
                    request.body = .bytes(ByteBuffer(string: "body \(index)"))
                    let response = try await client.execute(request, timeout: .seconds(20))
                    #expect(response.status == .ok)
                    #expect(response.version == .http1_1)
                    let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
                    #expect(text == "body \(index)", "the body went both ways")
                    let echoed = response.headers
                    #expect(echoed.first(name: "x-method") == "POST")
                    #expect(echoed.first(name: "x-path") == "/echo/\(index)?x=1")
                    #expect(echoed.first(name: "x-authority") == "127.0.0.1:\(port)")
                    #expect(echoed.first(name: "x-echo-x-request") == "\(index)")
                    #expect(echoed.first(name: "x-echo-x-forwarded-for") == "127.0.0.1")
                    #expect(echoed.first(name: "x-echo-x-forwarded-proto") == "http")
                    pods.append(echoed.first(name: "x-pod") ?? "none")
                }
                let counts = Dictionary(grouping: pods, by: { $0 }).mapValues(\.count)
                #expect(counts == ["blue": 10, "green": 10], "the weights split the requests: \(pods)")
            }
            #expect(router.stats.service("blue").snapshot.requests == 10)
            // Streams are not connections of their own: the router's open upstream connections
            // are the two it keeps to the HTTP/2 endpoints, which it does not count here.
            #expect(router.stats.upstreamConnections == 0)
        }
    }

    @Test("a chunked answer keeps its trailers, a length answer its length, and HEAD and 404 pass as sent")
    func framingAndTrailers() async throws {
        try await withEchoServers { port, _, _ in
            let url = "http://127.0.0.1:\(port)"
            // --raw keeps the chunked framing, so the trailer section can be read.
            let chunked = try curl(["--raw", "-i", "-d", "abc", "\(url)/trailers"])
            #expect(chunked.contains("transfer-encoding: chunked\r\n"), "\(chunked)")
            #expect(chunked.hasSuffix("3\r\nabc\r\n0\r\nx-echo-bytes: 3\r\n\r\n"), "\(chunked)")
            #expect(!chunked.lowercased().contains("connection: close"), "the client's connection stays open")

            let length = try curl(["-i", "-d", "abcdef", "\(url)/length"])
            #expect(length.contains("content-length: 6\r\n"), "\(length)")
            #expect(length.hasSuffix("\r\n\r\nabcdef"), "\(length)")

            let head = try curl(["-I", "\(url)/length"])
            #expect(head.hasPrefix("HTTP/1.1 200 OK\r\n") && head.contains("content-length: 0\r\n"), "\(head)")

            let missing = try curl(["-i", "\(url)/status/404"])
            #expect(missing.hasPrefix("HTTP/1.1 404 Not Found\r\n"), "\(missing)")
        }
    }

    @Test("a large body streams both ways with flow control, chunked by the client")
    func largeChunkedBody() async throws {
        try await withEchoServers { port, _, _ in
            try await withClient { client in
                let size = 4 << 20
                var request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/big")
                request.method = .PUT
                // A sequence of unknown length goes chunked.
                let chunk = ByteBuffer(repeating: UInt8(ascii: "z"), count: 64 << 10)
                request.body = .stream(
                    AsyncStream { continuation in
                        for _ in 0..<(size / chunk.readableBytes) { continuation.yield(chunk) }
                        continuation.finish()
                    }, length: .unknown)
                let response = try await client.execute(request, timeout: .seconds(60))
                #expect(response.status == .ok)
                var received = 0
                var allZ = true
                for try await part in response.body {
                    received += part.readableBytes
                    allZ = allZ && part.readableBytesView.allSatisfy { $0 == UInt8(ascii: "z") }
                }
                #expect(received == size && allZ, "\(received) bytes came back")
            }
        }
    }

    @Test("a mirrored route copies an HTTP/1.1 request to an HTTP/2-only mirror, and the client gets the main answer")
    func mirrorToH2C() async throws {
        try await withEchoServers(["main", "copy"]) { ports, listener in
            """
            services:
              main: {endpoints: ["127.0.0.1:\(ports[0])"], protocol: h2c}
              copy: {endpoints: ["127.0.0.1:\(ports[1])"], protocol: h2c}
            listeners:
              - address: 127.0.0.1:\(listener)
                routes: [{backends: [{service: main}], mirror: {service: copy, percent: 100}}]
            """
        } _: { port, servers, router in
            let copy = servers[1]
            for index in 0..<3 {
                let answer = try curl(["-i", "-d", "copy \(index)", "http://127.0.0.1:\(port)/m"])
                #expect(answer.contains("x-pod: main") && answer.hasSuffix("copy \(index)"), "\(answer)")
            }
            #expect(
                await eventually(within: 20) { copy.answered == 3 }, "the mirror got every request: \(copy.answered)")
            #expect(router.stats.service("copy").snapshot.mirrorFailures == 0)
        }
    }

    @Test("an endpoint that is gone: the request is retried on another, and with none left the client gets 502")
    func endpointGone() async throws {
        let gone = try freePort()
        try await withEchoServers(["live"]) { ports, listener in
            """
            services:
              app: {endpoints: ["127.0.0.1:\(gone)", "127.0.0.1:\(ports[0])"], protocol: h2c}
              dead: {endpoints: ["127.0.0.1:\(gone)"], protocol: h2c}
            listeners:
              - address: 127.0.0.1:\(listener)
                routes:
                  - match: {anyOf: [{path: {prefix: /dead}}]}
                    backends: [{service: dead}]
                  - backends: [{service: app}]
            """
        } _: { port, _, router in
            for _ in 0..<6 {
                let answer = try curl(["-i", "http://127.0.0.1:\(port)/any"])
                #expect(answer.hasPrefix("HTTP/1.1 200 OK\r\n") && answer.contains("x-pod: live"), "\(answer)")
            }
            #expect(router.stats.service("app").snapshot.retries >= 1)
            let dead = try curl(["-i", "http://127.0.0.1:\(port)/dead"])
            #expect(dead.hasPrefix("HTTP/1.1 502 Bad Gateway\r\n"), "\(dead)")
        }
    }
}

/// An HTTP/2 server by prior knowledge only (SwiftNIO's), which answers each stream with what
/// it received: the request's pseudo-fields and some of its fields as `x-…` fields, its body
/// echoed. `/length` answers with a `content-length`; `/trailers` ends with a trailer block
/// giving the body's size; `/status/N` answers N without a body; anything else sends the body
/// in DATA frames without a length.
final class H2CEchoServer: Sendable {
    let name: String
    let port: Int
    private let channel: any Channel
    private let answers: Count

    /// How many streams it has answered.
    var answered: Int { answers.value.load(ordering: .relaxed) }

    private init(name: String, channel: any Channel, answers: Count) {
        self.name = name
        self.channel = channel
        self.port = channel.localAddress?.port ?? 0
        self.answers = answers
    }

    static func start(name: String) async throws -> H2CEchoServer {
        let answers = Count()
        let channel = try await ServerBootstrap(group: MultiThreadedEventLoopGroup.singleton)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    _ = try channel.pipeline.syncOperations.configureHTTP2Pipeline(
                        mode: .server, connectionConfiguration: .init(), streamConfiguration: .init()
                    ) { stream in
                        stream.eventLoop.makeCompletedFuture {
                            try stream.pipeline.syncOperations.addHandler(EchoStream(name: name, answers: answers))
                        }
                    }
                }
            }
            .bind(host: "127.0.0.1", port: 0).get()
        return H2CEchoServer(name: name, channel: channel, answers: answers)
    }

    func stop() async {
        try? await channel.close()
    }

    private final class Count: Sendable {
        let value = Atomic<Int>(0)
    }

    private final class EchoStream: ChannelInboundHandler {
        typealias InboundIn = HTTP2Frame.FramePayload
        typealias OutboundOut = HTTP2Frame.FramePayload

        let name: String
        let answers: Count
        private var request = HPACKHeaders()
        private var body = ByteBuffer()

        init(name: String, answers: Count) {
            self.name = name
            self.answers = answers
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            switch unwrapInboundIn(data) {
            case .headers(let headers):
                if request.isEmpty { request = headers.headers }
                if headers.endStream { respond(context) }
            case .data(let frame):
                if case .byteBuffer(var bytes) = frame.data { body.writeBuffer(&bytes) }
                if frame.endStream { respond(context) }
            default:
                break
            }
        }

        private func respond(_ context: ChannelHandlerContext) {
            answers.value.add(1, ordering: .relaxed)
            let path = request.first(name: ":path") ?? ""
            var fields: [(String, String)] = [
                ("x-pod", name), ("x-method", request.first(name: ":method") ?? ""), ("x-path", path),
                ("x-authority", request.first(name: ":authority") ?? ""),
            ]
            for (field, value, _) in request where field.first != ":" { fields.append(("x-echo-" + field, value)) }
            func send(_ payload: HTTP2Frame.FramePayload) { context.write(wrapOutboundOut(payload), promise: nil) }
            if path.hasPrefix("/status/") {
                send(
                    .headers(
                        .init(headers: HPACKHeaders([(":status", String(path.dropFirst(8)))] + fields), endStream: true)
                    ))
            } else if path.hasPrefix("/length") {
                let method = request.first(name: ":method")
                let length = method == "HEAD" ? 0 : body.readableBytes
                send(
                    .headers(
                        .init(headers: HPACKHeaders([(":status", "200"), ("content-length", "\(length)")] + fields))))
                send(.data(.init(data: .byteBuffer(method == "HEAD" ? ByteBuffer() : body), endStream: true)))
            } else {
                send(.headers(.init(headers: HPACKHeaders([(":status", "200")] + fields))))
                let trailers = path.hasPrefix("/trailers")
                // In pieces, as a server that streams its answer sends it.
                while body.readableBytes > 0 {
                    let piece = body.readSlice(length: min(body.readableBytes, 16 << 10))!
                    send(.data(.init(data: .byteBuffer(piece), endStream: !trailers && body.readableBytes == 0)))
                }
                if trailers {
                    send(
                        .headers(
                            .init(headers: HPACKHeaders([("x-echo-bytes", "\(body.readerIndex)")]), endStream: true)))
                } else if body.readerIndex == 0 {
                    send(.data(.init(data: .byteBuffer(ByteBuffer()), endStream: true)))
                }
            }
            context.flush()
        }
    }
}
