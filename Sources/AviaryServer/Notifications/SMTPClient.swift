import AviaryCore
import Foundation
import NIOCore
import NIOPosix
import NIOSSL

/// An email as the `email` service sends it: the template's `email.subject` and `email.body`
/// (the message when the body is empty), to one recipient.
struct EmailMessage: Sendable {
    var from: String
    var to: String
    var subject: String
    var body: String
    var html: Bool
    /// The notification's idempotency key, as the Message-ID: a receiver can drop a repeat.
    var idempotencyKey: String

    /// RFC 5322 text: headers, then the body in base64 (any text, any line length), CRLF line ends.
    func rendered(date: Date) -> String {
        let formatter = DateFormatter()
        formatter.locale = Locale(identifier: "en_US_POSIX")
        formatter.timeZone = TimeZone(identifier: "UTC")
        formatter.dateFormat = "EEE, dd MMM yyyy HH:mm:ss '+0000'"
        let subjectHeader =
            subject.allSatisfy { $0.isASCII && !$0.isNewline }
            ? subject : "=?UTF-8?B?" + Data(subject.utf8).base64EncodedString() + "?="
        let encoded = Data(body.utf8).base64EncodedString(options: [.lineLength76Characters, .endLineWithCarriageReturn, .endLineWithLineFeed])
        return [
            "From: \(from)", "To: \(to)", "Subject: \(subjectHeader)", "Date: \(formatter.string(from: date))",
            "Message-ID: <\(idempotencyKey)@aviary>", "MIME-Version: 1.0",
            "Content-Type: text/\(html ? "html" : "plain"); charset=utf-8", "Content-Transfer-Encoding: base64", "",
            encoded,
        ].joined(separator: "\r\n")
    }
}

/// Sends one email through an SMTP server: EHLO, STARTTLS when the server offers it (or TLS from
/// the start on port 465), AUTH PLAIN when a username is set (never in clear), MAIL, RCPT, DATA.
/// A 4xx reply or a broken connection is worth retrying; a 5xx one is final.
enum SMTPClient {
    static func send(
        _ message: EmailMessage, through server: NotificationService.Email, timeout: TimeAmount
    ) async -> DeliveryFailure? {
        do {
            try await Session.run(message, server: server, timeout: timeout)
            return nil
        } catch let failure as DeliveryFailure {
            return failure
        } catch {
            return DeliveryFailure(permanent: false, reason: "SMTP \(server.host):\(server.port): \(error)")
        }
    }

    /// A reply: its code and its lines' text.
    struct Reply: Sendable {
        var code: Int
        var lines: [String]
    }

    /// One connection's conversation.
    private struct Session {
        let channel: any Channel
        var replies: AsyncStream<Reply>.Iterator
        let server: NotificationService.Email

        static func run(_ message: EmailMessage, server: NotificationService.Email, timeout: TimeAmount) async throws {
            let tls = try tlsContext(server)
            let hostname = isAddress(server.host) ? nil : server.host
            let (replies, continuation) = AsyncStream.makeStream(of: Reply.self)
            let implicitTLS = server.port == 465
            let channel = try await ClientBootstrap(group: MultiThreadedEventLoopGroup.singleton)
                .connectTimeout(.seconds(5))
                .channelInitializer { channel in
                    channel.eventLoop.makeCompletedFuture {
                        if implicitTLS {
                            try channel.pipeline.syncOperations.addHandler(
                                NIOSSLClientHandler(context: tls, serverHostname: hostname))
                        }
                        try channel.pipeline.syncOperations.addHandler(ReplyReader(continuation))
                    }
                }
                .connect(host: server.host, port: server.port).get()
            // The whole conversation has one deadline: past it the connection is closed, which
            // ends the replies and fails the step waiting for one.
            let deadline = Task {
                try await Task.sleep(for: .nanoseconds(timeout.nanoseconds))
                channel.close(promise: nil)
            }
            defer {
                deadline.cancel()
                channel.close(promise: nil)
            }
            var session = Session(channel: channel, replies: replies.makeAsyncIterator(), server: server)
            try await session.converse(message, tls: tls, hostname: hostname, implicitTLS: implicitTLS)
        }

        mutating func converse(
            _ message: EmailMessage, tls: NIOSSLContext, hostname: String?, implicitTLS: Bool
        ) async throws {
            _ = try await expect(220, after: nil)
            var capabilities = try await expect(250, after: "EHLO aviary").lines
            var secure = implicitTLS
            if !secure, capabilities.contains(where: { $0.uppercased().hasPrefix("STARTTLS") }) {
                _ = try await expect(220, after: "STARTTLS")
                let channel = self.channel
                try await channel.eventLoop.submit {
                    try channel.pipeline.syncOperations.addHandler(
                        NIOSSLClientHandler(context: tls, serverHostname: hostname), position: .first)
                }.get()
                secure = true
                capabilities = try await expect(250, after: "EHLO aviary").lines
            }
            if let username = server.username {
                guard secure else {
                    throw DeliveryFailure(
                        permanent: true,
                        reason: "SMTP \(server.host):\(server.port) offers no STARTTLS: the password is not sent in clear; "
                            + "use port 465 or a server with STARTTLS")
                }
                let credentials = Data("\u{0}\(username)\u{0}\(server.password ?? "")".utf8).base64EncodedString()
                _ = try await expect(235, after: "AUTH PLAIN \(credentials)", shown: "AUTH PLAIN (credentials)")
            }
            _ = try await expect(250, after: "MAIL FROM:<\(message.from)>")
            _ = try await expect(250...251, after: "RCPT TO:<\(message.to)>")
            _ = try await expect(354, after: "DATA")
            // Dot-stuffing: a line that starts with "." gets another one.
            let text = message.rendered(date: Date()).replacingOccurrences(of: "\r\n.", with: "\r\n..")
            _ = try await expect(250, after: text + "\r\n.")
            _ = try? await expect(221, after: "QUIT")
        }

        private mutating func expect(_ code: Int, after command: String?, shown: String? = nil) async throws -> Reply {
            try await expect(code...code, after: command, shown: shown)
        }

        private mutating func expect(
            _ codes: ClosedRange<Int>, after command: String?, shown: String? = nil
        ) async throws -> Reply {
            if let command {
                try await channel.writeAndFlush(ByteBuffer(string: command + "\r\n")).get()
            }
            let step = shown ?? command.map { $0.count > 60 ? String($0.prefix(4)) : $0 } ?? "the greeting"
            guard let reply = await replies.next() else {
                throw DeliveryFailure(
                    permanent: false, reason: "SMTP \(server.host):\(server.port) closed the connection or timed out at \(step)")
            }
            guard codes.contains(reply.code) else {
                throw DeliveryFailure(
                    permanent: reply.code >= 500,
                    reason: "SMTP \(server.host):\(server.port) answered \(reply.code) \(reply.lines.joined(separator: " ")) to \(step)")
            }
            return reply
        }

        static func tlsContext(_ server: NotificationService.Email) throws -> NIOSSLContext {
            var configuration = TLSConfiguration.makeClientConfiguration()
            configuration.minimumTLSVersion = .tlsv12
            if server.insecureSkipVerify { configuration.certificateVerification = .none }
            return try NIOSSLContext(configuration: configuration)
        }

        static func isAddress(_ host: String) -> Bool {
            var v4 = in_addr()
            var v6 = in6_addr()
            return inet_pton(AF_INET, host, &v4) == 1 || inet_pton(AF_INET6, host, &v6) == 1
        }
    }

    /// Splits what the server sends into replies: `250-...` lines continue one, `250 ...` ends it.
    private final class ReplyReader: ChannelInboundHandler {
        typealias InboundIn = ByteBuffer

        private let continuation: AsyncStream<Reply>.Continuation
        private var pending = ""
        private var lines: [String] = []

        init(_ continuation: AsyncStream<Reply>.Continuation) {
            self.continuation = continuation
        }

        func channelRead(context: ChannelHandlerContext, data: NIOAny) {
            var buffer = unwrapInboundIn(data)
            pending += buffer.readString(length: buffer.readableBytes) ?? ""
            while let end = pending.range(of: "\r\n") {
                let line = String(pending[..<end.lowerBound])
                pending.removeSubrange(..<end.upperBound)
                let characters = Array(line)
                guard characters.count >= 3, let code = Int(String(characters[0..<3])) else {
                    // Not SMTP: end the conversation.
                    continuation.finish()
                    context.close(promise: nil)
                    return
                }
                lines.append(characters.count > 4 ? String(characters[4...]) : "")
                if characters.count < 4 || characters[3] != "-" {
                    continuation.yield(Reply(code: code, lines: lines))
                    lines = []
                }
            }
        }

        func channelInactive(context: ChannelHandlerContext) {
            continuation.finish()
            context.fireChannelInactive()
        }

        func errorCaught(context: ChannelHandlerContext, error: any Error) {
            continuation.finish()
            context.close(promise: nil)
        }
    }
}
