import AviaryTestSupport
import Foundation
import NIOCore
import NIOHPACK
import NIOHTTP1
import Testing

@testable import AviaryRouter

/// Whether the Python `grpcio` package is importable here (scripts/test installs it); under CI
/// the tests that use it run regardless, and fail if it is missing.
let pythonGRPCIsRequired: Bool =
    (try? runCommand(["/usr/bin/env", "python3", "-c", "import grpc"]).status) == 0
    || ProcessInfo.processInfo.environment["CI"] != nil

/// The gRPC peer script beside this file.
private let grpcPeer =
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("grpc_peer.py").path

/// The bare HTTP/1.1 server beside this file, which answers with chunked trailers.
private let trailersPeer =
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("http1_trailers_peer.py").path

/// HTTP/2 through the router: the real grpcio server and client (h2c and TLS with ALPN h2),
/// and curl with and without prior knowledge, against an in-process router.
@Suite(
    "Router HTTP/2 and gRPC end to end", .serialized,
    .enabled(
        if: pythonGRPCIsRequired, "the Python grpcio package is not installed: run scripts/test, or pip install grpcio")
)
struct RouterHTTP2Tests {
    /// What the peer script's client printed.
    private struct ClientReport: Decodable {
        let names: [String]
        let headerNames: [String]
        let unary: String
        let trailer: String?
        let bigUnary: Int
        let serverStream: [String]
        let clientStream: String
        let bidi: [String]
        let fail: [String]?
        let deadline: String?
        let deadlineSeconds: Double
    }

    /// Two gRPC servers (`blue`, `green`) behind a router: `split` at 50/50 on h2c, `headers`
    /// sending `x-canary: yes` to green and the rest to blue, and `secure` (50/50) terminating TLS
    /// with a certificate for localhost; everything is stopped afterwards either way.
    private func withGRPCServers(
        _ body: (_ ports: (split: Int, headers: Int, secure: Int), _ directory: String, _ ca: String) async throws
            -> Void
    ) async throws {
        let directory = NSTemporaryDirectory() + "aviary-grpc-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let files = try makeCertificate(directory, "site", commonName: "localhost")
        let ports = try freePorts(5)
        var servers: [WatchedProcess] = []
        defer { for server in servers { server.stop() } }
        for (name, port) in [("blue", ports[0]), ("green", ports[1])] {
            let server = try WatchedProcess(
                ["/usr/bin/env", "python3", grpcPeer, "server", String(port), name], directory: directory, name: name)
            servers.append(server)
            try await waitUntil("the \(name) gRPC server to listen: \(server.log)") { server.log.contains("ready") }
        }
        try await withRouter(
            """
            services:
              blue: {endpoints: ["127.0.0.1:\(ports[0])"], protocol: h2c}
              green: {endpoints: ["127.0.0.1:\(ports[1])"], protocol: h2c}
            listeners:
              - address: 127.0.0.1:\(ports[2])
                routes:
                  - backends: [{service: blue, weight: 50}, {service: green, weight: 50}]
              - address: 127.0.0.1:\(ports[3])
                routes:
                  - match: {headers: [{name: x-canary, exact: "yes"}]}
                    backends: [{service: green}]
                  - backends: [{service: blue}]
              - address: 127.0.0.1:\(ports[4])
                tls: {certificates: [{certificateFile: "\(files.certificate)", keyFile: "\(files.key)"}]}
                routes:
                  - backends: [{service: blue, weight: 50}, {service: green, weight: 50}]
            """
        ) { _ in
            try await body((ports[2], ports[3], ports[4]), directory, files.certificate)
        }
    }

    private func runClient(_ target: String, calls: Int, ca: String? = nil) throws -> ClientReport {
        let result = try runCommand(
            ["/usr/bin/env", "python3", grpcPeer, "client", target, String(calls)] + (ca.map { [$0] } ?? []))
        guard result.status == 0, let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("{") })
        else { throw TestFailure("the gRPC client failed (\(result.status)): \(result.output)") }
        return try JSONDecoder().decode(ClientReport.self, from: Data(line.utf8))
    }

    /// Every kind of call came back whole from one of the two servers, with its trailers.
    private func expectWholeCalls(_ report: ClientReport, _ label: String) {
        let backends: Set<String> = ["blue", "green"]
        #expect(report.unary.hasSuffix(":payload") && backends.contains(report.trailer ?? ""), "\(label): \(report)")
        #expect(report.unary.hasPrefix((report.trailer ?? "") + ":"), "trailers come from the server that answered")
        #expect(report.bigUnary == 3 << 20 + 6, "\(label): a 3 MiB message each way")
        #expect(report.serverStream.count == 50, "\(label): \(report.serverStream)")
        #expect(Set(report.serverStream.map { $0.split(separator: ":")[0] }).count == 1, "one stream, one server")
        #expect(report.clientStream.hasSuffix(":200:200000"), "\(label): \(report.clientStream)")
        #expect(report.bidi.count == 20 && report.bidi.last?.hasSuffix(":m19") == true, "\(label): \(report.bidi)")
        #expect(report.fail == ["NOT_FOUND", "no such thing: widget"], "\(label): the server's status and message")
        #expect(report.deadline == "DEADLINE_EXCEEDED" && report.deadlineSeconds < 3, "\(label): \(report)")
    }

    @Test("gRPC over h2c: every call kind with trailers and statuses intact, each call routed on its own")
    func grpcOverCleartext() async throws {
        try await withGRPCServers { ports, _, _ in
            let report = try runClient("127.0.0.1:\(ports.split)", calls: 40)
            expectWholeCalls(report, "h2c")
            // One connection, 40 calls: the weights split the calls, not the connection.
            let counts = Dictionary(grouping: report.names, by: { $0 }).mapValues(\.count)
            #expect(counts["blue"] == 20 && counts["green"] == 20, "\(counts)")

            // An HTTP/1.1 request goes to the HTTP/2-only endpoints on a stream (see
            // RouterHTTP1ToH2CTests); grpcio resets a stream that is not a gRPC call, and the
            // client learns that from the router.
            let http1 = try runCommand([
                "/usr/bin/env", "curl", "-sS", "--max-time", "20", "--http1.1", "-w", "\\n%{http_code}",
                "http://127.0.0.1:\(ports.split)/aviary.Echo/Unary",
            ])
            #expect(http1.output.hasSuffix("\n502"), "\(http1.output)")
            #expect(http1.output.contains("refused or dropped the connection or reset the stream"), "\(http1.output)")

            let routed = try runClient("127.0.0.1:\(ports.headers)", calls: 0)
            #expect(routed.headerNames == (0..<10).map { $0 % 2 == 1 ? "green" : "blue" }, "\(routed.headerNames)")
        }
    }

    @Test("gRPC over TLS: ALPN picks h2 and the calls go through as over h2c")
    func grpcOverTLS() async throws {
        try await withGRPCServers { ports, _, ca in
            let report = try runClient("localhost:\(ports.secure)", calls: 10, ca: ca)
            expectWholeCalls(report, "TLS")
            #expect(Set(report.names) == ["blue", "green"], "\(report.names)")
        }
    }

    @Test("a grpc-timeout shorter than the response timeout ends the call at the router with DEADLINE_EXCEEDED")
    func grpcTimeoutIsTheDeadline() async throws {
        try await withGRPCServers { ports, directory, _ in
            // One gRPC message: not compressed, 1 byte long, "5" (the server sleeps 5 s).
            let message = directory + "/slow.bin"
            #expect(
                FileManager.default.createFile(atPath: message, contents: Data([0, 0, 0, 0, 1, UInt8(ascii: "5")])))
            let started = Date()
            let result = try runCommand([
                "/usr/bin/env", "curl", "-sS", "--http2-prior-knowledge", "--max-time", "20", "-D", "-", "-o",
                "/dev/null", "-H", "content-type: application/grpc", "-H", "te: trailers", "-H",
                "grpc-timeout: 300m", "--data-binary", "@" + message,
                "http://127.0.0.1:\(ports.split)/aviary.Echo/Slow",
            ])
            let elapsed = Date().timeIntervalSince(started)
            #expect(result.status == 0, "\(result.output)")
            #expect(result.output.contains("HTTP/2 200"), "\(result.output)")
            #expect(result.output.contains("grpc-status: 4"), "\(result.output)")
            #expect(elapsed < 4, "the router answered at the deadline, not after the server's 5 s: \(elapsed)")
        }
    }

    @Test("curl with prior knowledge, ALPN-less HTTP/1.1 and no route: answered in the protocol asked")
    func curlToAnHTTP1Backend() async throws {
        try await withClient { client in
            let app = try await SampleApp(pod: "app-1", client: client)
            defer { app.stop() }
            let port = try freePort()
            let table = """
                services: {app: {endpoints: ["\(app.endpoint)"]}}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes: [{match: {anyOf: [{path: {prefix: /headers}}]}, backends: [{service: app}]}]
                """
            try await withRouter(table) { _ in
                for (arguments, version) in [(["--http2-prior-knowledge"], "2"), (["--http1.1"], "1.1")] {
                    let result = try runCommand(
                        ["/usr/bin/env", "curl", "-sS", "--max-time", "20", "-H", "Cookie: a=1", "-H", "Cookie: b=2"]
                            + arguments + ["-w", "\\n%{http_code} %{http_version}", "http://127.0.0.1:\(port)/headers"])
                    #expect(result.status == 0 && result.output.hasSuffix("\n200 \(version)"), "\(result.output)")
                    #expect(result.output.contains("\"x-forwarded-proto\":\"http\""), "\(result.output)")
                    #expect(result.output.contains("\"host\":\"127.0.0.1:\(port)\""), "\(result.output)")
                }
                // The same answers for HTTP/2 as for HTTP/1.1 where no route matches.
                let missing = try runCommand([
                    "/usr/bin/env", "curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-w",
                    "\\n%{http_code} %{http_version}", "http://127.0.0.1:\(port)/elsewhere",
                ])
                #expect(missing.output.hasSuffix("\n404 2"), "\(missing.output)")
                #expect(missing.output.contains("no route of listener 127.0.0.1:\(port) matches"), "\(missing.output)")
            }
        }
    }

    @Test(
        "an HTTP/1.1 pod's chunked answer reaches an HTTP/2 client with its trailers; a body without a length goes chunked"
    )
    func trailersAndChunkedBodiesToAnHTTP1Pod() async throws {
        let directory = NSTemporaryDirectory() + "aviary-h2-trailers-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ports = try freePorts(2)
        let pod = try WatchedProcess(
            ["/usr/bin/env", "python3", trailersPeer, String(ports[0])], directory: directory, name: "pod")
        defer { pod.stop() }
        try await waitUntil("the HTTP/1.1 pod to listen: \(pod.log)") { pod.log.contains("ready") }
        let body = directory + "/body"
        try Data(repeating: UInt8(ascii: "x"), count: 100_000).write(to: URL(fileURLWithPath: body))
        let table = """
            services: {app: {endpoints: ["127.0.0.1:\(ports[0])"]}}
            listeners:
              - address: 127.0.0.1:\(ports[1])
                routes: [{backends: [{service: app}]}]
            """
        try await withRouter(table) { _ in
            // (curl's arguments, how the pod saw the body framed, its length)
            let cases: [([String], String, Int)] = [
                ([], "none", 0),
                (["--data-binary", "@\(body)"], "length", 100_000),
                (["-H", "Content-Length:", "--data-binary", "@\(body)"], "chunked", 100_000),
            ]
            for (arguments, framing, length) in cases {
                let result = try runCommand(
                    ["/usr/bin/env", "curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-i"] + arguments
                        + ["http://127.0.0.1:\(ports[1])/"])
                #expect(result.status == 0 && result.output.hasPrefix("HTTP/2 200"), "\(result.output)")
                #expect(result.output.contains("framing=\(framing) bytes=\(length)\n"), "\(result.output)")
                // curl prints trailers after the body; the trailer section's connection field is dropped.
                #expect(result.output.hasSuffix("x-body-length: \(length)\r\n"), "\(result.output)")
                #expect(!result.output.lowercased().contains("connection:"), "\(result.output)")
            }
            // 4 MiB each way, four times the windows the router offers and keeps: the client's
            // stream window is reopened as the pod takes the body, and the answer flows back.
            let big = directory + "/big"
            try Data((0..<(4 << 20)).map { UInt8(truncatingIfNeeded: $0 % 251) }).write(to: URL(fileURLWithPath: big))
            let echoed = directory + "/echoed"
            let result = try runCommand([
                "/usr/bin/env", "curl", "-sS", "--max-time", "60", "--http2-prior-knowledge", "--data-binary",
                "@\(big)", "-o", echoed, "-w", "%{http_version} %{http_code}", "http://127.0.0.1:\(ports[1])/echo",
            ])
            #expect(result.status == 0 && result.output == "2 200", "\(result.output)")
            #expect(FileManager.default.contentsEqual(atPath: big, andPath: echoed), "the body came back intact")
        }
    }

    @Test("a mirrored route copies HTTP/2 requests, bodies and all, and the client gets the main answer")
    func mirrorOverHTTP2() async throws {
        try await withClient { client in
            let main = try await SampleApp(pod: "app-main", client: client)
            defer { main.stop() }
            let copy = try await SampleApp(pod: "app-copy", client: client)
            defer { copy.stop() }
            let port = try freePort()
            let table = """
                services: {main: {endpoints: ["\(main.endpoint)"]}, copy: {endpoints: ["\(copy.endpoint)"]}}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes: [{backends: [{service: main}], mirror: {service: copy, percent: 100}}]
                """
            try await withRouter(table) { router in
                let before = try await copy.okCount(client: client)
                // One curl per request: curl 7.88 fails a second request on a reused prior-knowledge
                // connection ("Error in the HTTP2 framing layer") against HAProxy too.
                for _ in 0..<5 {
                    let result = try runCommand([
                        "/usr/bin/env", "curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-d", "hello",
                        "-w", "\\n%{http_version}", "http://127.0.0.1:\(port)/echo",
                    ])
                    #expect(result.status == 0 && result.output.hasSuffix("\n2"), "\(result.output)")
                    #expect(!result.output.contains("app-copy"), "the client gets the main service's answer")
                }
                #expect(
                    try await eventually(within: 20) { try await copy.okCount(client: client) - before == 5 },
                    "the mirror got every request")
                #expect(router.stats.service("copy").snapshot.mirrored == 5)
            }
        }
    }

    @Test("a sticky cookie keeps an HTTP/2 client on the side it first landed on, over new connections")
    func stickyOverHTTP2() async throws {
        try await withClient { client in
            let blue = try await SampleApp(pod: "app-blue", client: client)
            defer { blue.stop() }
            let green = try await SampleApp(pod: "app-green", client: client)
            defer { green.stop() }
            let port = try freePort()
            let directory = NSTemporaryDirectory() + "aviary-h2-sticky-" + UUID().uuidString
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(atPath: directory) }
            let table = """
                services: {blue: {endpoints: ["\(blue.endpoint)"]}, green: {endpoints: ["\(green.endpoint)"]}}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes:
                      - backends: [{service: blue, weight: 50}, {service: green, weight: 50}]
                        sticky: {cookie: side}
                """
            try await withRouter(table) { _ in
                func pod(jar: String?) throws -> String {
                    let cookies = jar.map { ["-c", $0, "-b", $0] } ?? []
                    let result = try runCommand(
                        ["/usr/bin/env", "curl", "-sS", "--max-time", "20", "--http2-prior-knowledge"] + cookies
                            + ["-w", "\\n%{http_version}", "http://127.0.0.1:\(port)/"])
                    guard result.output.hasSuffix("\n2") else { throw TestFailure("not HTTP/2: \(result.output)") }
                    return result.output.contains("app-green")
                        ? "green" : result.output.contains("app-blue") ? "blue" : "?"
                }
                for session in 0..<4 {
                    let jar = "\(directory)/jar-\(session)"
                    let first = try pod(jar: jar)
                    let jarText = (try? String(contentsOfFile: jar, encoding: .utf8)) ?? ""
                    #expect(jarText.contains("\tside\t"), "the first answer sets the cookie: \(jarText)")
                    for _ in 0..<5 {
                        #expect(try pod(jar: jar) == first, "session \(session) moved")
                    }
                }
                let fresh = try (0..<20).map { _ in try pod(jar: nil) }
                #expect(Set(fresh) == ["blue", "green"], "new sessions split by weight: \(fresh)")
            }
        }
    }
}

/// The pure parts of the HTTP/2 path, as rows.
struct HTTP2MessagesTests {
    @Test(arguments: [
        ("300m", TimeAmount.milliseconds(300)), ("1S", .seconds(1)), ("2M", .minutes(2)), ("1H", .hours(1)),
        ("5u", .microseconds(5)), ("7n", .nanoseconds(7)), ("99999999S", .seconds(99_999_999)),
    ])
    func grpcTimeouts(text: String, expected: TimeAmount) {
        #expect(HTTP2Messages.grpcTimeout(text) == expected)
    }

    @Test(arguments: ["", "S", "10", "10s", "123456789S", "-1S", "1.5S"])
    func malformedGRPCTimeoutsAreIgnored(text: String) {
        #expect(HTTP2Messages.grpcTimeout(text) == nil)
    }

    @Test func theForwardingFieldsAreAddedAndConnectionFieldsDropped() {
        let request = HeaderBlock(
            HPACKHeaders([
                (":method", "POST"), (":scheme", "http"), (":authority", "api:8080"), (":path", "/a/b?c=1"),
                ("x-forwarded-for", "10.0.0.1"), ("x-forwarded-proto", "https"), ("connection", "close"),
                ("cookie", "a=1"), ("cookie", "b=2"), ("te", "trailers"),
            ]))
        // (The block's target is read by `HTTP2Wire.checkRequest`, tested with the checks.)
        #expect(HTTP2Messages.Target(method: "POST", path: "/a/b?c=1").routedPath == "/a/b")
        let upstream = HTTP2Messages.upstreamRequest(request, clientAddress: "127.0.0.1", isTLS: true)
        #expect(upstream[canonicalForm: "x-forwarded-for"] == ["10.0.0.1", "127.0.0.1"])
        #expect(upstream["x-forwarded-proto"] == ["https"])
        #expect(upstream["connection"].isEmpty && upstream["te"] == ["trailers"])
        #expect(upstream.first(name: ":path") == "/a/b?c=1")

    }

    @Test(
        "an HTTP/2 request's header block as an HTTP/1.1 head",
        arguments: [
            // (method, extra fields, body follows, the head's lines after the request line, chunked)
            (
                "POST", [("cookie", "a=1"), ("cookie", "b=2"), ("connection", "close"), ("te", "trailers")], false,
                "te: trailers\r\nhost: api:8080\r\ncookie: a=1; b=2\r\nx-forwarded-for: 10.0.0.1, 127.0.0.1\r\n"
                    + "x-forwarded-proto: http\r\ncontent-length: 0\r\n", false
            ),
            (
                "GET", [], false,
                "host: api:8080\r\nx-forwarded-for: 10.0.0.1, 127.0.0.1\r\nx-forwarded-proto: http\r\n", false
            ),
            (
                "PUT", [("host", "other"), ("transfer-encoding", "chunked")], true,
                "host: other\r\nx-forwarded-for: 10.0.0.1, 127.0.0.1\r\nx-forwarded-proto: http\r\n"
                    + "transfer-encoding: chunked\r\n", true
            ),
            (
                "PUT", [("content-length", "5"), ("upgrade", "h2c"), ("keep-alive", "5")], true,
                "content-length: 5\r\nhost: api:8080\r\nx-forwarded-for: 10.0.0.1, 127.0.0.1\r\n"
                    + "x-forwarded-proto: http\r\n", false
            ),
        ] as [(String, [(String, String)], Bool, String, Bool)])
    func http1RequestHeads(method: String, fields: [(String, String)], hasBody: Bool, lines: String, chunked: Bool) {
        let request = HeaderBlock(
            HPACKHeaders(
                [(":method", method), (":scheme", "http"), (":authority", "api:8080"), (":path", "/a/b?c=1")] + fields
                    + [("x-forwarded-for", "10.0.0.1"), ("x-forwarded-proto", "https")]))
        var head = ByteBuffer()
        let isChunked = HTTP2Messages.writeHTTP1Request(
            request, target: .init(method: method, path: "/a/b?c=1", authority: "api:8080", scheme: "http"),
            clientAddress: "127.0.0.1", isTLS: false,
            hasBody: hasBody, into: &head)
        #expect(String(buffer: head) == "\(method) /a/b?c=1 HTTP/1.1\r\n" + lines + "\r\n")
        #expect(isChunked == chunked)
    }

    @Test(arguments: [("GET", "/a b"), ("GET", "/a\u{7F}"), ("G T", "/"), ("GET", "/\t")])
    func aTargetThatCannotStandInARequestLineIsRefused(method: String, path: String) {
        #expect(!HTTP2Messages.Target(method: method, path: path).isHTTP1Safe)
        #expect(HTTP2Messages.Target(method: "GET", path: "/a%20b?q=é").isHTTP1Safe)
    }

    @Test func anHTTP1ResponseLosesItsConnectionFields() throws {
        let text =
            "HTTP/1.1 201 Created\r\nContent-Type: text/plain\r\nConnection: keep-alive, X-Hop\r\n"
            + "Keep-Alive: 5\r\nX-Hop: 1\r\nTransfer-Encoding: chunked\r\nSet-Cookie: a=1\r\nSET-COOKIE: b=2\r\n\r\n"
        let bytes = ByteBuffer(string: text)
        var head = MessageHead()
        let parsed = try bytes.withUnsafeReadableBytes { try head.parse($0, isRequest: false, limit: 1000) }
        #expect(parsed == .complete(text.utf8.count))
        var encoded = ByteBuffer()
        HTTP2Messages.writeResponseBlock(head, bytes: bytes, into: &encoded)
        var decoder = HPACKDecoder(allocator: ByteBufferAllocator())
        let block = try decoder.decodeHeaders(from: &encoded)
        #expect(
            block.map { "\($0.name)=\($0.value)" } == [
                ":status=201", "content-type=text/plain", "set-cookie=a=1", "set-cookie=b=2",
            ])
        // Literals without indexing; names in any case by their static index (RFC 7541 6.2.2):
        // :status 8, content-type 31 (0x0F then 16), set-cookie 55 (0x0F then 40).
        var again = ByteBuffer()
        HTTP2Messages.writeResponseBlock(head, bytes: bytes, into: &again)
        let expected: [UInt8] =
            [0x08, 3] + Array("201".utf8) + [0x0F, 0x10, 10] + Array("text/plain".utf8)
            + [0x0F, 0x28, 3] + Array("a=1".utf8) + [0x0F, 0x28, 3] + Array("b=2".utf8)
        #expect(Array(again.readableBytesView) == expected)
    }

    @Test func chunkedTrailersBecomeATrailersBlock() {
        let lines = ByteBuffer(
            string: "Grpc-Status: 0\r\nX-Sum:  ab c \r\nContent-Length: 5\r\nTrailer: x\r\nbad line\r\n")
        let block = HTTP2Messages.http2Trailers(lines: lines)
        #expect(block.map { "\($0.name)=\($0.value)" } == ["grpc-status=0", "x-sum=ab c"])
    }

    @Test func theRoutersOwnGRPCAnswerIsTrailersOnly() {
        let frames = HTTP2Messages.localAnswer(
            status: .serviceUnavailable, reason: "no ready endpoint for service é", grpc: .unavailable,
            allocator: .init())
        guard frames.count == 1, case .headers(let headers) = frames[0] else {
            Issue.record("one header block: \(frames)")
            return
        }
        #expect(headers.endStream)
        #expect(headers.headers.first(name: ":status") == "200")
        #expect(headers.headers.first(name: "grpc-status") == "14")
        #expect(headers.headers.first(name: "grpc-message") == "no ready endpoint for service %C3%A9")
    }

    @Test(arguments: [
        ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n", ProtocolSniffer.Verdict.http2),
        ("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n\0\0\u{12}\u{4}", .http2),
        ("PRI * HTTP/2", .undecided), ("P", .undecided), ("", .undecided),
        ("GET / HTTP/1.1\r\n", .http1), ("POST", .http1), ("PUT /x", .http1), ("PATCH", .http1),
        ("PRI * HTTP/1.1\r\n", .http1),
    ])
    func theFirstBytesSayTheProtocol(bytes: String, verdict: ProtocolSniffer.Verdict) {
        #expect(ProtocolSniffer.verdict(Array(bytes.utf8)) == verdict)
    }
}

/// HTTP/2 frames written by hand, for the abuse no client library commits.
enum RawHTTP2 {
    /// A frame: 24-bit length, type, flags, stream id, payload.
    static func frame(type: UInt8, flags: UInt8 = 0, stream: UInt32 = 0, _ payload: [UInt8] = []) -> [UInt8] {
        let length = payload.count
        return [UInt8(length >> 16 & 0xFF), UInt8(length >> 8 & 0xFF), UInt8(length & 0xFF), type, flags]
            + withUnsafeBytes(of: (stream & 0x7FFF_FFFF).bigEndian, Array.init) + payload
    }

    static let preface = Array("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".utf8) + frame(type: 4)

    /// HEADERS for `GET /` in `http` (static table entries 2, 6 and 4), ending the headers and,
    /// with `ends`, the stream.
    static func get(stream: UInt32, ends: Bool = true) -> [UInt8] {
        frame(type: 1, flags: ends ? 0x5 : 0x4, stream: stream, [0x82, 0x86, 0x84])
    }

    static func reset(stream: UInt32) -> [UInt8] {
        frame(type: 3, stream: stream, [0, 0, 0, 8])
    }

    /// The frames in `bytes` as (type, flags, stream, payload), as far as they are whole.
    static func frames(_ bytes: [UInt8]) -> [(type: UInt8, flags: UInt8, stream: UInt32, payload: [UInt8])] {
        var frames: [(UInt8, UInt8, UInt32, [UInt8])] = []
        var index = 0
        while index + 9 <= bytes.count {
            let length = Int(bytes[index]) << 16 | Int(bytes[index + 1]) << 8 | Int(bytes[index + 2])
            guard index + 9 + length <= bytes.count else { break }
            let stream = bytes[index + 5..<index + 9].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } & 0x7FFF_FFFF
            frames.append((bytes[index + 3], bytes[index + 4], stream, Array(bytes[index + 9..<index + 9 + length])))
            index += 9 + length
        }
        return frames
    }

    /// The error code of the connection's GOAWAY, if one came.
    static func goAwayCode(_ bytes: [UInt8]) -> UInt32? {
        frames(bytes).first { $0.type == 7 }.map { $0.payload[4..<8].reduce(UInt32(0)) { $0 << 8 | UInt32($1) } }
    }
}

@Suite("Router HTTP/2 abuse", .serialized)
struct RouterHTTP2AbuseTests {
    /// A sample app behind a router on a free port.
    private func withListener(_ body: (_ port: Int) async throws -> Void) async throws {
        try await withAppBehindRouter { _, _, port, _ in try await body(port) }
    }

    private func curlStillServed(_ port: Int) throws {
        let result = try runCommand([
            "/usr/bin/env", "curl", "-sS", "--max-time", "20", "--http2-prior-knowledge", "-o", "/dev/null", "-w",
            "%{http_code} %{http_version}", "http://127.0.0.1:\(port)/",
        ])
        #expect(result.output == "200 2", "another client is served: \(result.output)")
    }

    /// A raw connection to a listener for `body`, then a check that another client is still
    /// served: what one connection does must not cost the others.
    private func withRawConnection(receiveTimeout: Int, _ body: (RawConnection) throws -> Void) async throws {
        try await withListener { port in
            let connection = try RawConnection(port: port, receiveTimeout: receiveTimeout)
            defer { connection.close() }
            try body(connection)
            try curlStillServed(port)
        }
    }

    @Test("a rapid-reset flood gets its connection a GOAWAY (ENHANCE_YOUR_CALM), and others are served")
    func rapidReset() async throws {
        try await withRawConnection(receiveTimeout: 10) { connection in
            var flood = RawHTTP2.preface
            for index in 0..<1_000 {
                let stream = UInt32(2 * index + 1)
                flood += RawHTTP2.get(stream: stream) + RawHTTP2.reset(stream: stream)
            }
            try? connection.send(bytes: flood)
            let answer = connection.receiveAllBytes()
            #expect(RawHTTP2.goAwayCode(answer) == 0xB, "\(RawHTTP2.frames(answer).map(\.type))")
        }
    }

    @Test("a client that opens more than the 250 streams it was allowed loses its connection; others are served")
    func tooManyStreams() async throws {
        try await withRawConnection(receiveTimeout: 2) { connection in
            // Open streams that never end their request: each stays open at the router. The
            // router's SETTINGS are acknowledged, as a client does.
            var streams = RawHTTP2.preface + RawHTTP2.frame(type: 4, flags: 1)
            for index in 0..<250 { streams += RawHTTP2.get(stream: UInt32(2 * index + 1), ends: false) }
            try connection.send(bytes: streams)
            let within = connection.receiveAllBytes()
            #expect(RawHTTP2.goAwayCode(within) == nil, "250 open streams are allowed")
            try connection.send(bytes: RawHTTP2.get(stream: 501, ends: false))
            let beyond = connection.receiveAllBytes()
            #expect(RawHTTP2.goAwayCode(beyond) == 1, "the 251st: PROTOCOL_ERROR")
        }
    }

    @Test("a stream answered before its request ended is reset with NO_ERROR after the answer; the connection goes on")
    func answeredStreamIsStopped() async throws {
        let port = try freePort()
        let table = """
            services: {app: {endpoints: ["127.0.0.1:1"]}}
            listeners:
              - address: 127.0.0.1:\(port)
                routes: [{match: {anyOf: [{path: {prefix: /only}}]}, backends: [{service: app}]}]
            """
        try await withRouter(table) { _ in
            let connection = try RawConnection(port: port, receiveTimeout: 2)
            defer { connection.close() }
            // A request that never ends its body, to a path no route matches: the router answers
            // 404 at once, then asks the client to stop sending.
            try connection.send(
                bytes: RawHTTP2.preface + RawHTTP2.frame(type: 4, flags: 1) + RawHTTP2.get(stream: 1, ends: false))
            let first = RawHTTP2.frames(connection.receiveAllBytes()).filter { $0.stream == 1 }
            #expect(first.map(\.type) == [1, 0, 3], "HEADERS, DATA, RST_STREAM: \(first.map(\.type))")
            #expect(first.count == 3 && first[1].flags & 0x1 == 1, "the answer ends the stream's sending side")
            #expect(first.last?.payload == [0, 0, 0, 0], "RST_STREAM NO_ERROR, after the whole answer")
            try connection.send(bytes: RawHTTP2.get(stream: 3))
            let next = RawHTTP2.frames(connection.receiveAllBytes()).filter { $0.stream == 3 }
            #expect(next.first?.type == 1 && next.contains { $0.flags & 0x1 == 1 }, "the next stream is answered")
        }
    }

    @Test("a SETTINGS flood is cut off with a GOAWAY, and others are served")
    func settingsFlood() async throws {
        try await withRawConnection(receiveTimeout: 10) { connection in
            // The client never reads, so the router's acknowledgements pile up.
            var flood = RawHTTP2.preface
            for _ in 0..<20_000 { flood += RawHTTP2.frame(type: 4, [0, 3, 0, 0, 0, 100]) }
            try? connection.send(bytes: flood)
            let answer = connection.receiveAllBytes(limit: 64 << 20)
            #expect(RawHTTP2.goAwayCode(answer) != nil, "\(answer.count) bytes back")
        }
    }
}
