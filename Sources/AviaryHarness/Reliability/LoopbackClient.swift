import Foundation
import NIOCore
import NIOHTTP1
import NIOPosix

/// One GET on a new loopback connection (`Connection: close`), the way a load balancer's health
/// of a backend is seen: a refused or reset connection is reported at once, where AsyncHTTPClient
/// would retry a refused connection until the deadline and hide a listener that is down.
enum LoopbackClient {
    /// What one request got.
    enum Outcome: Sendable, Equatable {
        /// An HTTP answer: its status and body.
        case answer(status: Int, body: [UInt8])
        /// No answer: refused, reset, closed early or timed out; the text says which.
        case noAnswer(String)
    }

    struct Timeout: Error, CustomStringConvertible {
        var description: String { "timed out" }
    }

    struct ClosedEarly: Error, CustomStringConvertible {
        var description: String { "connection closed before the answer ended" }
    }

    /// GET `path` from 127.0.0.1:`port`, waiting at most `timeout`.
    static func get(port: Int, path: String = "/", timeout: TimeAmount = .seconds(5)) async -> Outcome {
        let eventLoop = MultiThreadedEventLoopGroup.singleton.next()
        let promise = eventLoop.makePromise(of: Outcome.self)
        let bootstrap = ClientBootstrap(group: eventLoop)
            .connectTimeout(timeout)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
                    try channel.pipeline.syncOperations.addHandler(ResponseCollector(promise: promise))
                }
            }
        let channel: Channel
        do {
            // An address, not a host name: connecting by name goes through NIO's resolver
            // (getaddrinfo on another thread), which a loaded machine can delay past `timeout`.
            channel = try await bootstrap.connect(to: try SocketAddress(ipAddress: "127.0.0.1", port: port)).get()
        } catch {
            promise.succeed(.noAnswer("connect: \(error)"))
            return .noAnswer("connect: \(error)")
        }
        let timer = eventLoop.scheduleTask(in: timeout) {
            promise.fail(Timeout())
            channel.close(promise: nil)
        }
        var head = HTTPRequestHead(version: .http1_1, method: .GET, uri: path)
        head.headers.add(name: "Host", value: "127.0.0.1:\(port)")
        head.headers.add(name: "Connection", value: "close")
        channel.write(HTTPClientRequestPart.head(head), promise: nil)
        channel.writeAndFlush(HTTPClientRequestPart.end(nil), promise: nil)
        let outcome: Outcome
        do {
            outcome = try await promise.futureResult.get()
        } catch {
            outcome = .noAnswer("\(error)")
        }
        timer.cancel()
        try? await channel.close()
        return outcome
    }
}

/// Collects one response and completes the promise with it (or with why there is none).
private final class ResponseCollector: ChannelInboundHandler {
    typealias InboundIn = HTTPClientResponsePart

    private let promise: EventLoopPromise<LoopbackClient.Outcome>
    private var status = 0
    private var body: [UInt8] = []

    init(promise: EventLoopPromise<LoopbackClient.Outcome>) {
        self.promise = promise
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            status = Int(head.status.code)
        case .body(var buffer):
            body += buffer.readBytes(length: buffer.readableBytes) ?? []
        case .end:
            promise.succeed(.answer(status: status, body: body))
            context.close(promise: nil)
        }
    }

    func errorCaught(context: ChannelHandlerContext, error: Error) {
        promise.fail(error)
        context.close(promise: nil)
    }

    func channelInactive(context: ChannelHandlerContext) {
        promise.fail(LoopbackClient.ClosedEarly())
    }
}
