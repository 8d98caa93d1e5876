// libFuzzer entry for the router's request path: built by `scripts/fuzz router` together with
// the AviaryRouter sources (it reaches the module's internal proxy handler), linked against
// SwiftNIO from .build/debug. Every input is raw bytes from a client, written into an
// EmbeddedChannel with the proxy's handler (which reads HTTP/1 itself), as a listener's
// connection is set up; the route table below has method, path and header routes (exact, prefix, regex)
// to services without endpoints, so every request is parsed, checked against the limits,
// routed and answered by the proxy itself (no upstream connections). The same bytes are also
// read as a response head and as a chunked body (the upstream side's readers), and the head of
// each request is matched against the listener's routes directly. Then the upgrade path: a
// WebSocket upgrade request goes to an upstream (an embedded channel in the pool) that answers
// with the input's first part (a 101 and tunnel bytes, or anything else), the client sends
// the second part into the tunnel if there is one, and both sides close. Last the HTTP/2 path:
// the HTTP/2 preface, an empty SETTINGS frame and then the input, as frames, into a connection
// whose first handler is the protocol sniffer, so they pass the router's own frame parser, flow
// control and limits (HTTP2ConnectionProxy) and its HPACK decoder into the streams, each routed
// by the table above. Any crash, trap or hang is a bug.
import AviaryRoutes
import NIOCore
import NIOEmbedded
import NIOHPACK
import NIOHTTP1
import NIOHTTP2

private let fuzzTable = """
    services:
      a: {endpoints: []}
      b: {endpoints: []}
      c: {endpoints: []}
    listeners:
      - address: 127.0.0.1:8080
        routes:
          - match: {headers: [{name: X-Canary, exact: "yes"}, {name: Cookie, regex: "(^|; )canary=1(;|$)"}]}
            backends: [{service: b}]
          - match: {anyOf: [{method: {exact: POST}, path: {prefix: /api/}}, {path: {regex: "^/v[0-9]+/x$"}},
                            {headers: [{name: User-Agent, prefix: "Mozilla"}]}]}
            backends: [{service: a, weight: 3}, {service: b, weight: 1}]
            mirror: {service: c, percent: 50}
          - match: {anyOf: [{path: {exact: /}}]}
            backends: [{service: c}]
    limits: {maxHeaderBytes: 1024, maxBodyBytes: 256}
    """

private let compiledTable: CompiledRouteTable = {
    do {
        return try CompiledRouteTable(try RouteTable.decode(fuzzTable, source: "fuzz"), source: "fuzz")
    } catch {
        fatalError("the fuzz route table is invalid: \(error)")
    }
}()

private let upgradeTable: CompiledRouteTable = {
    let table = """
        services: {ws: {endpoints: ["127.0.0.1:7000"]}}
        listeners: [{address: "127.0.0.1:8080", routes: [{backends: [{service: ws}]}]}]
        """
    do {
        return try CompiledRouteTable(try RouteTable.decode(table, source: "fuzz upgrade"), source: "fuzz upgrade")
    } catch {
        fatalError("the fuzz upgrade table is invalid: \(error)")
    }
}()

/// The upgrade path: the upstream answers an upgrade request with `answer`, then the client
/// sends `clientBytes` and half-closes, then the upstream closes.
private func fuzzUpgrade(
    answer: UnsafeBufferPointer<UInt8>.SubSequence, clientBytes: UnsafeBufferPointer<UInt8>.SubSequence
) {
    let loop = EmbeddedEventLoop()
    let stats = RouterStats()
    let pool = UpstreamPool(eventLoop: loop, stats: stats)
    let upstream = EmbeddedChannel(loop: loop)
    let upstreamHandler = UpstreamHandler(endpointKey: "127.0.0.1:7000", stats: stats)
    let client = EmbeddedChannel(loop: loop)
    let core = ProxyCore(
        store: RouteTableStore(upgradeTable), stats: stats,
        pools: [ObjectIdentifier(loop): NIOLoopBound(pool, eventLoop: loop)])
    do {
        try upstream.pipeline.syncOperations.addHandler(upstreamHandler)
        try upstream.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 7000)).wait()
        pool.release(upstreamHandler, idleTimeout: .seconds(1))
        try client.pipeline.syncOperations.addHandler(
            ProxyServerHandler(core: core, pool: pool, listenerAddress: "127.0.0.1:8080"))
        try client.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5555)).wait()
    } catch {
        fatalError("cannot set up the upgrade channels: \(error)")
    }
    func drain(_ channel: EmbeddedChannel) {
        // The proxy flushes at the end of the loop's turn (`TickFlusher`).
        loop.run()
        while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
    }
    let upgradeStats = upgradeTable.listeners["127.0.0.1:8080"]!.routes[0].backends[0].stats
    let upgradesBefore = upgradeStats.snapshot.upgrades
    _ = try? client.writeInbound(
        ByteBuffer(string: "GET /chat HTTP/1.1\r\nHost: x\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n\r\n"))
    drain(upstream)
    if upstream.isActive, !answer.isEmpty { _ = try? upstream.writeInbound(ByteBuffer(bytes: answer)) }
    drain(client)
    // Only into a tunnel: a next request would need a new upstream connection, which an
    // embedded loop cannot make (the request path is fuzzed above).
    if client.isActive, upgradeStats.snapshot.upgrades > upgradesBefore, !clientBytes.isEmpty {
        _ = try? client.writeInbound(ByteBuffer(bytes: clientBytes))
    }
    drain(upstream)
    if client.isActive { client.pipeline.fireUserInboundEventTriggered(ChannelEvent.inputClosed) }
    drain(upstream)
    _ = try? upstream.finish()
    drain(client)
    _ = try? client.finish()
    loop.run()
}

/// The HTTP/2 path: the preface and SETTINGS, then `frames` as the client's, through the protocol
/// sniffer into the router's HTTP/2 connection handler.
private func fuzzHTTP2(_ frames: UnsafeBufferPointer<UInt8>) {
    let channel = EmbeddedChannel()
    let loop = channel.embeddedEventLoop
    let stats = RouterStats()
    let core = ProxyCore(
        store: RouteTableStore(compiledTable), stats: stats,
        pools: [ObjectIdentifier(loop): NIOLoopBound(UpstreamPool(eventLoop: loop, stats: stats), eventLoop: loop)])
    do {
        try channel.pipeline.syncOperations.addHandler(
            ProtocolSniffer(core: core, listenerAddress: "127.0.0.1:8080", isTLS: false))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5555)).wait()
    } catch {
        fatalError("cannot set up the HTTP/2 channel: \(error)")
    }
    // The preface and an empty SETTINGS frame, as every client's first frame must be, so that the
    // input's frames reach the streams rather than a GOAWAY for a missing SETTINGS.
    var bytes = ByteBuffer(bytes: ProtocolSniffer.preface + [0, 0, 0, 4, 0, 0, 0, 0, 0])
    bytes.writeBytes(frames)
    _ = try? channel.writeInbound(bytes)
    loop.run()
    while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
    _ = try? channel.finish()
    loop.run()
}

@_cdecl("LLVMFuzzerTestOneInput")
public func fuzzRouterRequest(_ data: UnsafePointer<UInt8>, _ size: Int) -> CInt {
    let channel = EmbeddedChannel()
    let loop = channel.embeddedEventLoop
    let stats = RouterStats()
    let pool = UpstreamPool(eventLoop: loop, stats: stats)
    let core = ProxyCore(
        store: RouteTableStore(compiledTable), stats: stats,
        pools: [ObjectIdentifier(loop): NIOLoopBound(pool, eventLoop: loop)])
    do {
        try channel.pipeline.syncOperations.addHandler(
            ProxyServerHandler(core: core, pool: pool, listenerAddress: "127.0.0.1:8080"))
        try channel.connect(to: SocketAddress(ipAddress: "127.0.0.1", port: 5555)).wait()
    } catch {
        fatalError("cannot set up the channel: \(error)")
    }
    // The bytes arrive in two reads, split where the first byte says, as a socket may split them.
    let bytes = UnsafeBufferPointer(start: data, count: size)
    let split = size > 1 ? Int(bytes[0]) % size : size
    for part in [bytes[..<split], bytes[split...]] where !part.isEmpty && channel.isActive {
        _ = try? channel.writeInbound(ByteBuffer(bytes: part))
        loop.run()
        while (try? channel.readOutbound(as: ByteBuffer.self)) != nil {}
    }
    _ = try? channel.finish()
    // A channel the proxy closed itself leaves its pipeline teardown queued on the embedded loop.
    channel.embeddedEventLoop.run()
    // The upstream side's readers: a response head, and a chunked body.
    var head = MessageHead()
    if case .complete = try? head.parse(UnsafeRawBufferPointer(bytes), isRequest: false, limit: 1024) {
        // A parsed answer head, written as the HPACK block an HTTP/2 client gets, must decode,
        // with `:status` first and every name in lower case.
        var block = ByteBuffer()
        HTTP2Messages.writeResponseBlock(head, bytes: ByteBuffer(bytes: bytes), into: &block)
        var decoder = HPACKDecoder(
            allocator: ByteBufferAllocator(), maxDynamicTableSize: 4096, maxHeaderListSize: 1 << 20)
        guard let fields = try? decoder.decodeHeaders(from: &block) else {
            fatalError("an answer head's HPACK block does not decode")
        }
        precondition(fields.first?.name == ":status", "the block does not start with :status")
        precondition(fields.allSatisfy { $0.name == $0.name.lowercased() }, "a name is not in lower case")
    }
    var framer = BodyFramer(.chunked(.size(value: 0, digits: 0)))
    var dataBytes = 0
    if let consumed = try? framer.consume(UnsafeRawBufferPointer(bytes), onData: { dataBytes += $0.count }) {
        precondition(consumed <= size && dataBytes <= consumed, "the framer took more bytes than it was given")
    }
    // Route matching on its own, also with heads NIO's parser refuses: the first line is the
    // method and the path, each further line a header `name: value`.
    let lines = String(decoding: bytes, as: UTF8.self).split(separator: "\n").map { $0.trimmingSuffix("\r") }
    let requestLine = lines.first?.split(separator: " ", maxSplits: 2) ?? []
    var headers = HTTPHeaders()
    for line in lines.dropFirst() {
        let field = line.split(separator: ":", maxSplits: 1)
        // NIO's parser only makes header names of ASCII token characters (HTTPHeaders requires ASCII).
        if field.count == 2, field[0].utf8.allSatisfy({ $0 > 32 && $0 < 127 }) {
            headers.add(name: String(field[0]), value: String(field[1].drop(while: { $0 == " " })))
        }
    }
    if requestLine.count >= 2 {
        _ = compiledTable.listeners["127.0.0.1:8080"]?.route(
            method: String(requestLine[0]), path: requestLine[1], headers: headers)
    }
    // The first byte chose the split; the upstream's answer starts after it.
    let start = min(1, size)
    fuzzUpgrade(answer: bytes[start..<max(start, split)], clientBytes: bytes[max(start, split)...])
    fuzzHTTP2(bytes)
    return 0
}

extension Substring {
    fileprivate func trimmingSuffix(_ suffix: Character) -> Substring { last == suffix ? dropLast() : self }
}
