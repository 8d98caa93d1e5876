import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// Sends watch events as chunks of the open response; `end` finishes it and closes the connection.
///
/// Both always go through `eventLoop.execute`, never run inline: they are called with the
/// cluster's lock held, and a write that fails or a close runs `channelInactive`, which takes
/// that lock again. The event loop runs the tasks in the order they were submitted, and they are
/// submitted under the lock, so events keep their order.
final class ChannelWatchSink: WatchSink {
    let channel: any Channel

    init(channel: any Channel) {
        self.channel = channel
    }

    func send(_ line: Data) {
        let channel = channel
        channel.eventLoop.execute {
            let buffer = channel.allocator.buffer(bytes: line)
            channel.writeAndFlush(HTTPServerResponsePart.body(.byteBuffer(buffer)), promise: nil)
        }
    }

    func end() {
        let channel = channel
        channel.eventLoop.execute {
            channel.writeAndFlush(HTTPServerResponsePart.end(nil)).whenComplete { _ in
                channel.close(promise: nil)
            }
        }
    }
}

/// The HTTP/1.1 side: collects a request, hands it to the API server, writes the answer; for a
/// watch it keeps the response open and ends the watch when the client goes away.
final class HTTPHandler: ChannelInboundHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private let server: APIServer
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var watchID: Int?
    private var timers: [Scheduled<Void>] = []
    private var bookmarkTask: RepeatedTask?
    /// Requests larger than this get 413, as the real server limits request bodies (3 MiB there).
    static let maximumBodySize = 16 * 1024 * 1024

    init(server: APIServer) {
        self.server = server
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
        case .body(var chunk):
            if body.readableBytes + chunk.readableBytes <= Self.maximumBodySize { body.writeBuffer(&chunk) }
        case .end:
            guard let head else { return }
            self.head = nil
            let request = APIRequest(
                method: head.method.rawValue, uri: head.uri, headers: head.headers.map { ($0.name, $0.value) },
                body: Data(body.readableBytesView))
            let keepAlive = head.isKeepAlive
            let version = head.version
            let loop = context.eventLoop
            let bound = NIOLoopBound((self, context), eventLoop: loop)
            server.handle(request) { response in
                loop.execute {
                    let (handler, context) = bound.value
                    handler.write(response, context: context, keepAlive: keepAlive, version: version)
                }
            }
        }
    }

    private func write(_ response: APIResponse, context: ChannelHandlerContext, keepAlive: Bool, version: HTTPVersion) {
        guard context.channel.isActive else { return }
        switch response {
        case .full(let status, let headers, let body):
            var fields = HTTPHeaders(headers)
            fields.replaceOrAdd(name: "Content-Length", value: String(body.count))
            fields.replaceOrAdd(name: "Connection", value: keepAlive ? "keep-alive" : "close")
            let head = HTTPResponseHead(version: version, status: .init(statusCode: status), headers: fields)
            context.write(wrapOutboundOut(.head(head)), promise: nil)
            context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(bytes: body)))), promise: nil)
            let channel = context.channel
            context.writeAndFlush(wrapOutboundOut(.end(nil))).whenComplete { _ in
                if !keepAlive { channel.close(promise: nil) }
            }
        case .watch(let stream):
            let fields = HTTPHeaders([
                ("Content-Type", "application/json"), ("Transfer-Encoding", "chunked"), ("Connection", "close"),
            ])
            context.writeAndFlush(
                wrapOutboundOut(.head(HTTPResponseHead(version: version, status: .ok, headers: fields))), promise: nil)
            guard let id = stream.start(ChannelWatchSink(channel: context.channel)) else { return }
            watchID = id
            let cluster = server.cluster
            if stream.sendsBookmarks {
                let interval = TimeAmount.nanoseconds(Int64(server.bookmarkInterval.components.seconds) * 1_000_000_000
                    + server.bookmarkInterval.components.attoseconds / 1_000_000_000)
                bookmarkTask = context.eventLoop.scheduleRepeatedTask(initialDelay: interval, delay: interval) { _ in
                    cluster.bookmark(id)
                }
            }
            if let timeout = stream.timeout {
                let sendsBookmarks = stream.sendsBookmarks
                timers.append(
                    context.eventLoop.scheduleTask(in: .seconds(timeout.components.seconds)) {
                        cluster.endWatch(id, withBookmark: sendsBookmarks)
                    })
            }
        }
    }

    func channelInactive(context: ChannelHandlerContext) {
        if let watchID { server.cluster.stopWatch(watchID) }
        watchID = nil
        bookmarkTask?.cancel()
        for timer in timers { timer.cancel() }
        timers.removeAll()
        context.fireChannelInactive()
    }

    func errorCaught(context: ChannelHandlerContext, error: any Error) {
        context.close(promise: nil)
    }
}

/// A running double: the HTTP listener, the simulator's timer, and the port it listens on.
public final class TestAPIServer: Sendable {
    public let api: APIServer
    public let port: Int
    private let channel: any Channel
    private let group: MultiThreadedEventLoopGroup
    private let simulatorTask: RepeatedTask

    /// Starts listening on 127.0.0.1:`port` (0 picks a free port).
    public static func start(
        port: Int, podReadyAfter: Duration = .zero, requiredToken: String? = nil,
        bookmarkInterval: Duration = .seconds(5)
    ) async throws -> TestAPIServer {
        let group = MultiThreadedEventLoopGroup(numberOfThreads: 1)
        let api = APIServer(
            cluster: Cluster(podReadyAfter: podReadyAfter), requiredToken: requiredToken,
            bookmarkInterval: bookmarkInterval)
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 256)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(HTTPHandler(server: api))
                }
            }
            .bind(host: "127.0.0.1", port: port).get()
        let boundPort = channel.localAddress?.port ?? port
        api.serverAddress.withLock { $0 = "127.0.0.1:\(boundPort)" }
        let cluster = api.cluster
        let simulatorTask = group.next().scheduleRepeatedTask(initialDelay: .milliseconds(100), delay: .milliseconds(100)) { _ in
            cluster.tick()
        }
        return TestAPIServer(api: api, port: boundPort, channel: channel, group: group, simulatorTask: simulatorTask)
    }

    private init(
        api: APIServer, port: Int, channel: any Channel, group: MultiThreadedEventLoopGroup, simulatorTask: RepeatedTask
    ) {
        self.api = api
        self.port = port
        self.channel = channel
        self.group = group
        self.simulatorTask = simulatorTask
    }

    /// `http://127.0.0.1:PORT`.
    public var url: String { "http://127.0.0.1:\(port)" }

    /// Blocks until the listener closes.
    public func waitUntilClosed() async throws {
        try await channel.closeFuture.get()
    }

    /// Stops listening, ends open watches and stops the event loop.
    public func shutdown() async throws {
        simulatorTask.cancel()
        api.cluster.state.withLock { $0.hub.endAll() }
        try await channel.close()
        try await group.shutdownGracefully()
    }
}
