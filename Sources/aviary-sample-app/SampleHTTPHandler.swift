import Foundation
import NIOCore
import NIOHTTP1

/// Answers one connection's requests: the application paths (`/`, anything else), the
/// probes (`/healthz`, `/metrics`) and the test helpers (`/echo`, `/bytes`, `/delay`, `/headers`).
///
/// Every request but `/healthz` and `/metrics` is counted in `response_status` and the latency
/// histogram; all of those but `/echo` may be failed by the error schedule and wait the
/// configured latency (`/echo` streams, so it answers before it has seen the whole request).
final class SampleHTTPHandler: ChannelInboundHandler {
    typealias InboundIn = HTTPServerRequestPart
    typealias OutboundOut = HTTPServerResponsePart

    private enum State {
        case idle
        /// A request whose body is read and dropped; it is answered at its end.
        case readingBody(Request)
        /// An `/echo` request whose body is being written back as it arrives.
        case echoing(Request)
        /// The answer is scheduled or being written.
        case responding
    }

    private struct Request {
        var head: HTTPRequestHead
        var path: Substring
        var query: [Substring: Substring]
        var start: NIODeadline
    }

    private let configuration: SampleAppConfiguration
    private let metrics: SampleMetrics
    private var state = State.idle
    private var isActive = true

    init(configuration: SampleAppConfiguration, metrics: SampleMetrics) {
        self.configuration = configuration
        self.metrics = metrics
    }

    func channelInactive(context: ChannelHandlerContext) {
        isActive = false
        context.fireChannelInactive()
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch unwrapInboundIn(data) {
        case .head(let head):
            let request = Self.makeRequest(head)
            if request.path == "/echo" {
                var headers = HTTPHeaders()
                headers.add(
                    name: "content-type", value: head.headers["content-type"].first ?? "application/octet-stream")
                headers.add(name: "transfer-encoding", value: "chunked")
                context.write(wrapOutboundOut(.head(responseHead(.ok, headers: headers, for: head))), promise: nil)
                state = .echoing(request)
            } else {
                state = .readingBody(request)
            }
        case .body(let part):
            if case .echoing = state {
                context.write(wrapOutboundOut(.body(.byteBuffer(part))), promise: nil)
            }
        case .end:
            switch state {
            case .echoing(let request):
                state = .responding
                finish(context: context, request: request, status: .ok)
            case .readingBody(let request):
                state = .responding
                answer(context: context, request: request)
            case .idle, .responding:
                preconditionFailure("request end without a head")
            }
        }
    }

    func channelReadComplete(context: ChannelHandlerContext) {
        context.flush()
    }

    private func answer(context: ChannelHandlerContext, request: Request) {
        switch request.path {
        case "/healthz":
            writeWhole(context: context, request: request, status: .ok, contentType: "text/plain", body: "ok\n")
            return
        case "/metrics":
            writeWhole(
                context: context, request: request, status: .ok, contentType: "text/plain; version=0.0.4",
                body: metrics.exposition())
            return
        default:
            break
        }
        let fails = metrics.nextRequestFails()
        var delay = configuration.latencyMilliseconds
        if request.path == "/delay", let text = request.query["ms"], let extra = Int(text), extra > 0 {
            delay += extra
        }
        if delay == 0 {
            answerApplication(context: context, request: request, fails: fails)
        } else {
            context.eventLoop.assumeIsolated().scheduleTask(in: .milliseconds(Int64(delay))) {
                self.answerApplication(context: context, request: request, fails: fails)
            }
        }
    }

    private func answerApplication(context: ChannelHandlerContext, request: Request, fails: Bool) {
        guard isActive else { return }
        if fails {
            let body = Self.json(["image": configuration.image, "pod": configuration.pod, "error": "injected failure"])
            writeWhole(
                context: context, request: request, status: .internalServerError, contentType: "application/json",
                body: body, counted: true)
            return
        }
        switch request.path {
        case "/headers":
            var fields: [String: String] = [:]
            for (name, value) in request.head.headers {
                let key = name.lowercased()
                fields[key] = fields[key].map { "\($0), \(value)" } ?? value
            }
            writeWhole(
                context: context, request: request, status: .ok, contentType: "application/json",
                body: Self.json(fields), counted: true)
        case "/bytes":
            let total = request.query["n"].flatMap { Int($0) } ?? 1_048_576
            var headers = HTTPHeaders()
            headers.add(name: "content-type", value: "application/octet-stream")
            headers.add(name: "content-length", value: String(total))
            context.writeAndFlush(
                wrapOutboundOut(.head(responseHead(.ok, headers: headers, for: request.head))), promise: nil)
            writeBytes(context: context, request: request, remaining: total)
        default:
            let body = Self.json([
                "image": configuration.image, "pod": configuration.pod, "path": String(request.path),
                "method": request.head.method.rawValue,
            ])
            writeWhole(
                context: context, request: request, status: .ok, contentType: "application/json", body: body,
                counted: true)
        }
    }

    /// Streams `remaining` bytes in 16 KiB chunks, writing the next chunk only once the last one
    /// left, so a slow reader holds the app back instead of filling its memory.
    private func writeBytes(context: ChannelHandlerContext, request: Request, remaining: Int) {
        guard isActive else { return }
        if remaining == 0 {
            finish(context: context, request: request, status: .ok)
            return
        }
        let size = min(remaining, 16_384)
        var buffer = context.channel.allocator.buffer(capacity: size)
        buffer.writeRepeatingByte(UInt8(ascii: "a"), count: size)
        context.writeAndFlush(wrapOutboundOut(.body(.byteBuffer(buffer)))).assumeIsolated().whenSuccess {
            self.writeBytes(context: context, request: request, remaining: remaining - size)
        }
    }

    private func writeWhole(
        context: ChannelHandlerContext, request: Request, status: HTTPResponseStatus, contentType: String,
        body: String, counted: Bool = false
    ) {
        var headers = HTTPHeaders()
        headers.add(name: "content-type", value: contentType)
        headers.add(name: "content-length", value: String(body.utf8.count))
        context.write(wrapOutboundOut(.head(responseHead(status, headers: headers, for: request.head))), promise: nil)
        context.write(wrapOutboundOut(.body(.byteBuffer(context.channel.allocator.buffer(string: body)))), promise: nil)
        if counted {
            finish(context: context, request: request, status: status)
        } else {
            writeEnd(context: context, request: request)
        }
    }

    private func finish(context: ChannelHandlerContext, request: Request, status: HTTPResponseStatus) {
        let seconds = Double((NIODeadline.now() - request.start).nanoseconds) / 1e9
        metrics.record(status: Int(status.code), seconds: seconds)
        writeEnd(context: context, request: request)
    }

    private func writeEnd(context: ChannelHandlerContext, request: Request) {
        state = .idle
        let keepAlive = request.head.isKeepAlive
        context.writeAndFlush(wrapOutboundOut(.end(nil))).assumeIsolated().whenComplete { _ in
            if !keepAlive {
                context.close(promise: nil)
            }
        }
    }

    private func responseHead(
        _ status: HTTPResponseStatus, headers: HTTPHeaders, for request: HTTPRequestHead
    )
        -> HTTPResponseHead
    {
        var headers = headers
        if !request.isKeepAlive {
            headers.add(name: "connection", value: "close")
        }
        return HTTPResponseHead(version: request.version, status: status, headers: headers)
    }

    private static func makeRequest(_ head: HTTPRequestHead) -> Request {
        let parts = head.uri.split(separator: "?", maxSplits: 1, omittingEmptySubsequences: false)
        var query: [Substring: Substring] = [:]
        if parts.count == 2 {
            for pair in parts[1].split(separator: "&") {
                let keyValue = pair.split(separator: "=", maxSplits: 1)
                query[keyValue[0]] = keyValue.count == 2 ? keyValue[1] : ""
            }
        }
        return Request(head: head, path: parts.first ?? "/", query: query, start: .now())
    }

    private static func json(_ object: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
        let data = (try? encoder.encode(object)) ?? Data("{}".utf8)
        return String(decoding: data, as: UTF8.self) + "\n"
    }
}
