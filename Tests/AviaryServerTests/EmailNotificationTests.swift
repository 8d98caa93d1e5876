import AviaryCore
import AviaryStore
import AviaryTestSupport
import Foundation
import Logging
import Testing

@testable import AviaryServer

/// An SMTP server from PyPI's aiosmtpd, on a loopback port: STARTTLS required (a self-signed
/// certificate openssl makes), AUTH with one login, every message written to a file.
final class SMTPServer: Sendable {
    let port: Int
    let directory: String
    private let process: WatchedProcess

    static var isInstalled: Bool {
        (try? runCommand(["/usr/bin/env", "python3", "-c", "import aiosmtpd"]).status) == 0
            && FileManager.default.isExecutableFile(atPath: "/usr/bin/openssl")
    }
    /// Where it is installed, and always under CI, which installs it (a missing one fails there).
    static var isRequired: Bool { isInstalled || ProcessInfo.processInfo.environment["CI"] != nil }

    static let script = """
        import os, ssl, sys, time
        from aiosmtpd.controller import Controller
        from aiosmtpd.smtp import AuthResult, LoginPassword
        out, port, cert, key = sys.argv[1], int(sys.argv[2]), sys.argv[3], sys.argv[4]
        class Handler:
            async def handle_DATA(self, server, session, envelope):
                name = os.path.join(out, "%04d.eml" % len(os.listdir(out)))
                with open(name + ".part", "wb") as f:
                    f.write(b"X-Envelope-To: " + ",".join(envelope.rcpt_tos).encode() + b"\\r\\n")
                    f.write(b"X-Authenticated: " + str(session.authenticated).encode() + b"\\r\\n")
                    f.write(envelope.original_content)
                os.rename(name + ".part", name)
                return "250 OK"
        def authenticator(server, session, envelope, mechanism, data):
            ok = isinstance(data, LoginPassword) and data.login == b"aviary" and data.password == b"s3cret"
            return AuthResult(success=ok, handled=False)
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        context.load_cert_chain(cert, key)
        controller = Controller(Handler(), hostname="127.0.0.1", port=port, tls_context=context,
                                require_starttls=True, authenticator=authenticator, auth_require_tls=True)
        controller.start()
        print("ready", flush=True)
        while True:
            time.sleep(3600)
        """

    init() async throws {
        try #require(Self.isInstalled, "aiosmtpd or openssl is missing: pip install aiosmtpd; apt-get install -y openssl")
        directory = NSTemporaryDirectory() + "aviary-smtp-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/mail", withIntermediateDirectories: true)
        try Self.script.write(toFile: directory + "/server.py", atomically: true, encoding: .utf8)
        let certificate = try runCommand([
            "/usr/bin/openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-days", "1", "-subj", "/CN=localhost",
            "-keyout", directory + "/key.pem", "-out", directory + "/cert.pem",
        ])
        try #require(certificate.status == 0, "\(certificate.output)")
        port = try freePort()
        process = try WatchedProcess(
            [
                "/usr/bin/env", "python3", directory + "/server.py", directory + "/mail", String(port), directory + "/cert.pem",
                directory + "/key.pem",
            ], directory: directory, name: "smtp")
        let process = self.process
        let ready = await eventually(within: 60) { process.log.contains("ready") }
        if !ready {
            let log = process.log
            stop()
            Issue.record("the SMTP server did not start within 60 s:\n\(log)")
            throw SMTPServerDidNotStart()
        }
    }

    struct SMTPServerDidNotStart: Error {}

    /// The messages it took, oldest first.
    var messages: [String] {
        let names = ((try? FileManager.default.contentsOfDirectory(atPath: directory + "/mail")) ?? [])
            .filter { $0.hasSuffix(".eml") }.sorted()
        return names.compactMap { try? String(contentsOfFile: directory + "/mail/" + $0, encoding: .utf8) }
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// The `email` service against a real SMTP server: STARTTLS, AUTH, the rendered subject and body.
@Suite(.serialized, .enabled(if: SMTPServer.isRequired, "aiosmtpd is not installed"))
struct EmailNotificationTests {
    static func deliver(password: String, server: SMTPServer) async throws -> (AviaryStore, StoredNotification) {
        let directory = NSTemporaryDirectory() + "aviary-email-store-" + UUID().uuidString
        let store = try AviaryStore(stateDirectory: directory)
        // The rollout the notification is about (a deleted one's would not be kept to be read back).
        try store.apply(Data(#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web"}, "spec": {}}"#.utf8))
        let options = "host: 127.0.0.1\\nport: \(server.port)\\nusername: aviary\\npassword: $smtp-password\\nfrom: rollouts@example.com\\ninsecure_skip_verify: true"
        try store.apply(
            Data(
                """
                {"apiVersion": "v1", "kind": "ConfigMap", "metadata": {"name": "argo-rollouts-notification-configmap"},
                 "data": {"service.email": "\(options)"}}
                """.utf8))
        try store.apply(
            Data(
                """
                {"apiVersion": "v1", "kind": "Secret", "metadata": {"name": "argo-rollouts-notification-secret"},
                 "stringData": {"smtp-password": "\(password)"}}
                """.utf8))
        var rendered = RenderedNotification()
        rendered.message = "Rollout web has been aborted.\n.a line that starts with a dot\nÜnïcödé ✔"
        rendered.emailSubject = "Rollout web has been aborted ✖"
        try store.enqueue([
            StoredNotification(
                rollout: ResourceKey(kind: .rollout, name: "web"), trigger: "on-rollout-aborted", service: "email",
                recipient: "team@example.com", payload: try JSONEncoder().encode(rendered), createdAt: Date())
        ])
        let dispatcher = NotificationDispatcher(
            outbox: store, settings: NotificationSettings(store: store), metrics: DaemonMetrics(),
            logger: Logger(label: "test"))
        for notification in try store.dueNotifications(at: Date()) { await dispatcher.deliver(notification) }
        let stored = try #require(try store.notifications(of: ResourceKey(kind: .rollout, name: "web")).first)
        return (store, stored)
    }

    @Test func anEmailArrivesOverStartTLSAuthenticatedWithItsSubjectAndBody() async throws {
        let server = try await SMTPServer()
        defer { server.stop() }
        let (_, stored) = try await Self.deliver(password: "s3cret", server: server)
        #expect(stored.state == .delivered, "\(stored.lastError ?? "")")
        let message = try #require(server.messages.first)
        #expect(message.contains("X-Envelope-To: team@example.com"))
        #expect(message.contains("X-Authenticated: True"))
        #expect(message.contains("From: rollouts@example.com"))
        #expect(message.contains("Message-ID: <\(stored.idempotencyKey)@aviary>"))
        let subject = "=?UTF-8?B?" + Data("Rollout web has been aborted ✖".utf8).base64EncodedString() + "?="
        #expect(message.contains("Subject: \(subject)"), "\(message)")
        let body = try #require(message.components(separatedBy: "\r\n\r\n").last)
        let decoded = Data(base64Encoded: body.replacingOccurrences(of: "\r\n", with: ""))
            .map { String(decoding: $0, as: UTF8.self) }
        #expect(decoded == "Rollout web has been aborted.\n.a line that starts with a dot\nÜnïcödé ✔")
    }

    @Test func aWrongPasswordFailsForGoodAndSaysWhatTheServerAnswered() async throws {
        let server = try await SMTPServer()
        defer { server.stop() }
        let (_, stored) = try await Self.deliver(password: "wrong", server: server)
        #expect(stored.state == .failed)
        #expect(stored.lastError?.contains("535") == true, "\(stored.lastError ?? "")")
        #expect(server.messages.isEmpty)
    }
}
