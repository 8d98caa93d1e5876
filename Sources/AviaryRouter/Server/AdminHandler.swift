import AviaryRoutes
import Foundation
import NIOCore
import NIOHTTP1

/// The router's admin endpoint (loopback only): `GET /table`, `PUT /table` (JSON or YAML),
/// `GET /stats`, `GET /healthz`.
final class AdminHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    /// The largest table accepted by `PUT /table`.
    static let maximumBodyBytes = 16 * 1_048_576

    private let router: RouterServer
    private var head: HTTPRequestHead?
    private var body = ByteBuffer()
    private var isTooLarge = false

    init(router: RouterServer) {
        self.router = router
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            self.head = head
            body.clear()
            isTooLarge = false
        case .body(var part):
            if body.readableBytes + part.readableBytes > Self.maximumBodyBytes {
                isTooLarge = true
            } else {
                body.writeBuffer(&part)
            }
        case .end:
            guard let head else { return }
            self.head = nil
            answer(head, body: String(buffer: body), context: context)
        }
    }

    private func answer(_ head: HTTPRequestHead, body: String, context: ChannelHandlerContext) {
        let path = head.uri.split(separator: "?").first.map(String.init) ?? head.uri
        switch (head.method, path) {
        case (.GET, "/healthz"):
            write(.ok, "ok\n", contentType: "text/plain", head: head, context: context)
        case (.GET, "/table"):
            write(.ok, router.currentTable.jsonText(), head: head, context: context)
        case (.GET, "/stats"):
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
            let report = RouterStatsReport(
                generation: router.generation, upstreamConnections: router.stats.upstreamConnections,
                services: router.stats.snapshot(), endpoints: router.stats.endpointSnapshot())
            let data = (try? encoder.encode(report)) ?? Data()
            write(.ok, String(decoding: data, as: UTF8.self) + "\n", head: head, context: context)
        case (.PUT, "/table"), (.POST, "/table"):
            guard !isTooLarge else {
                write(
                    .payloadTooLarge, "PUT /table: the table exceeds 16 MiB\n", contentType: "text/plain", head: head,
                    context: context)
                return
            }
            let router = self.router
            let result = context.eventLoop.makeFutureWithTask { () -> (HTTPResponseStatus, String) in
                do {
                    let table = try RouteTable.decode(body, source: "PUT /table")
                    let generation = try await router.apply(table, source: "PUT /table")
                    return (.ok, "{\"accepted\": true, \"generation\": \(generation)}\n")
                } catch {
                    return (.badRequest, "\(error)\n")
                }
            }
            result.assumeIsolated().whenSuccess { status, text in
                self.write(
                    status, text, contentType: status == .ok ? "application/json" : "text/plain", head: head,
                    context: context)
            }
        case (_, "/healthz"), (_, "/table"), (_, "/stats"):
            write(
                .methodNotAllowed, "\(head.method.rawValue) \(path) is not supported\n", contentType: "text/plain",
                head: head, context: context)
        default:
            write(
                .notFound, "no admin path \(path); use /table, /stats or /healthz\n", contentType: "text/plain",
                head: head, context: context)
        }
    }

    private func write(
        _ status: HTTPResponseStatus, _ text: String, contentType: String = "application/json", head: HTTPRequestHead,
        context: ChannelHandlerContext
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        // A browser must not sniff this text (which may carry a request's path) as HTML.
        headers.add(name: "x-content-type-options", value: "nosniff")
        headers.add(name: "content-length", value: String(text.utf8.count))
        if !head.isKeepAlive { headers.add(name: "connection", value: "close") }
        context.write(
            wrapOutboundOut(.head(HTTPResponseHead(version: head.version, status: status, headers: headers))),
            promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: text)))), promise: nil)
        let keepAlive = head.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive { context.close(promise: nil) }
        }
    }
}
