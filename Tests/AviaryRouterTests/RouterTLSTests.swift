import AsyncHTTPClient
import AviaryRoutes
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryRouter

/// The script beside this file that keeps one TLS connection open across a rotation.
private let keepAliveClient =
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("tls_keepalive_client.py").path

/// Writes a self-signed P-256 certificate for `commonName` (and `localhost`) to
/// `directory/name.crt` and `.key`, by way of temporary files renamed into place, as a
/// certificate manager rotates them.
@discardableResult
func makeCertificate(
    _ directory: String, _ name: String, commonName: String, names: [String] = []
) throws -> (certificate: String, key: String) {
    let certificate = "\(directory)/\(name).crt"
    let key = "\(directory)/\(name).key"
    let alternativeNames = (["localhost"] + names).map { "DNS:\($0)" }.joined(separator: ",")
    let result = try runCommand([
        "/usr/bin/env", "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
        "-nodes", "-keyout", key + ".new", "-out", certificate + ".new", "-days", "2", "-subj", "/CN=\(commonName)",
        "-addext", "subjectAltName=\(alternativeNames)",
    ])
    guard result.status == 0 else { throw TestFailure("openssl req failed: \(result.output)") }
    _ = rename(key + ".new", key)
    _ = rename(certificate + ".new", certificate)
    return (certificate, key)
}

/// TLS terminated by the router, checked with the real `curl`, `openssl s_client` and Python's
/// `ssl` against an in-process router in front of a sample-app pod.
@Suite("Router TLS termination", .serialized)
struct RouterTLSTests {
    /// A temporary directory for certificates, removed afterwards either way.
    private func withDirectory(_ body: (String) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "aviary-tls-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try await body(directory)
    }

    /// The common name of the certificate the listener on `port` serves for `serverName`.
    private func servedCommonName(port: Int, serverName: String) throws -> String? {
        let result = try runCommand([
            "/bin/sh", "-c",
            "openssl s_client -connect 127.0.0.1:\(port) -servername \(serverName) </dev/null 2>/dev/null "
                + "| openssl x509 -noout -subject -nameopt RFC2253",
        ])
        guard let line = result.output.split(separator: "\n").first(where: { $0.hasPrefix("subject=") }) else {
            return nil
        }
        return line.split(separator: ",").first { $0.contains("CN=") }.map { String($0.split(separator: "=").last!) }
    }

    private func curl(_ arguments: [String], port: Int, ca: String) throws -> (status: Int32, output: String) {
        try runCommand(
            [
                "/usr/bin/env", "curl", "-sS", "--max-time", "20", "--cacert", ca, "--resolve",
                "localhost:\(port):127.0.0.1",
            ]
                + arguments)
    }

    /// Runs `body` with a sample-app pod behind an in-process router whose listener on a free
    /// port terminates TLS with `certificates` (a YAML flow list); all stopped afterwards either way.
    private func withTLSListener(certificates: String, _ body: (_ port: Int) async throws -> Void) async throws {
        try await withClient { client in
            let app = try await SampleApp(pod: "app-1", client: client)
            defer { app.stop() }
            let port = try freePort()
            try await withRouter(tlsTable(app: app, port: port, certificates: certificates)) { _ in try await body(port)
            }
        }
    }

    private func tlsTable(app: SampleApp, port: Int, certificates: String) -> String {
        """
        services: {app: {endpoints: ["\(app.endpoint)"]}}
        listeners:
          - address: 127.0.0.1:\(port)
            tls: {certificates: \(certificates)}
            routes: [{backends: [{service: app}]}]
        """
    }

    @Test("curl reaches the pod over TLS 1.2 and 1.3, in HTTP/1.1 or h2 as ALPN chose, and the pod is told https")
    func curlOverTLS() async throws {
        try await withDirectory { directory in
            let files = try makeCertificate(directory, "site", commonName: "site")
            let certificates = "[{certificateFile: \"\(files.certificate)\", keyFile: \"\(files.key)\"}]"
            try await withTLSListener(certificates: certificates) { port in
                let url = "https://localhost:\(port)/headers"
                for arguments in [["--http1.1"], ["--http2"], ["--tlsv1.2", "--tls-max", "1.2"], ["--tlsv1.3"]] {
                    let result = try curl(
                        arguments + ["-w", "\\n%{http_code} %{http_version}", url], port: port,
                        ca: files.certificate)
                    #expect(result.status == 0, "\(arguments): \(result.output)")
                    #expect(
                        result.output.contains("\"x-forwarded-proto\":\"https\""), "\(arguments): \(result.output)")
                    // ALPN settles on h2 when curl offers it (`--http2`, and by default over TLS).
                    let version = arguments == ["--http1.1"] ? "1.1" : "2"
                    #expect(result.output.hasSuffix("\n200 \(version)"), "\(arguments): \(result.output)")
                }
                let plain = try runCommand([
                    "/usr/bin/env", "curl", "-sS", "--max-time", "10", "http://127.0.0.1:\(port)/",
                ])
                #expect(plain.status != 0, "plain HTTP on a TLS listener must not be served: \(plain.output)")
                let old = try runCommand([
                    "/bin/sh", "-c",
                    "openssl s_client -connect 127.0.0.1:\(port) -tls1_1 -cipher DEFAULT:@SECLEVEL=0 </dev/null 2>&1",
                ])
                #expect(old.status != 0, "TLS 1.1 must be refused: \(old.output)")
                // Refused by the router, not by the client's own settings.
                #expect(old.output.contains("alert protocol version"), "\(old.output)")
            }
        }
    }

    @Test("the certificate is chosen by the server name the client asks for, the first one otherwise")
    func serverNameIndication() async throws {
        try await withDirectory { directory in
            let main = try makeCertificate(directory, "main", commonName: "main")
            let api = try makeCertificate(directory, "api", commonName: "api", names: ["api.example.test"])
            let wild = try makeCertificate(directory, "wild", commonName: "wild", names: ["*.apps.example.test"])
            let certificates = """
                [{certificateFile: "\(main.certificate)", keyFile: "\(main.key)"},
                 {certificateFile: "\(api.certificate)", keyFile: "\(api.key)", serverNames: [api.example.test]},
                 {certificateFile: "\(wild.certificate)", keyFile: "\(wild.key)", serverNames: ["*.apps.example.test"]}]
                """
            try await withTLSListener(certificates: certificates) { port in
                for (serverName, expected) in [
                    ("api.example.test", "api"), ("API.Example.Test", "api"), ("shop.apps.example.test", "wild"),
                    ("a.b.apps.example.test", "main"), ("other.example.test", "main"), ("localhost", "main"),
                ] {
                    let served = try servedCommonName(port: port, serverName: serverName)
                    #expect(served == expected, "\(serverName)")
                }
            }
        }
    }

    @Test("a rotated certificate is served to new connections while an open one carries on")
    func rotationKeepsOpenConnections() async throws {
        try await withDirectory { directory in
            let files = try makeCertificate(directory, "site", commonName: "before")
            // Both certificates are trusted by the client: the open connection checked the first.
            let certificates = "[{certificateFile: \"\(files.certificate)\", keyFile: \"\(files.key)\"}]"
            try await withTLSListener(certificates: certificates) { port in
                let goFile = directory + "/go"
                let open = try WatchedProcess(
                    ["/usr/bin/env", "python3", keepAliveClient, String(port), files.certificate, goFile],
                    directory: directory, name: "client")
                defer { open.stop() }
                try await waitUntil("the first request over TLS: \(open.log)") {
                    open.log.contains("first 200 before")
                }
                try makeCertificate(directory, "site", commonName: "after")
                try await waitUntil("new connections to get the new certificate") {
                    try servedCommonName(port: port, serverName: "localhost") == "after"
                }
                _ = FileManager.default.createFile(atPath: goFile, contents: nil)
                try await waitUntil("the second request on the open connection: \(open.log)") {
                    open.log.contains("second 200")
                }
            }
        }
    }

    @Test("a table whose certificate cannot be read is refused, naming the field and the file, and changes nothing")
    func unreadableCertificateIsRefused() async throws {
        try await withDirectory { directory in
            let files = try makeCertificate(directory, "site", commonName: "site")
            let stranger = try makeCertificate(directory, "stranger", commonName: "stranger")
            let port = try freePort()
            let good = """
                services: {app: {endpoints: ["127.0.0.1:1"]}}
                listeners:
                  - {address: "127.0.0.1:\(port)", routes: [{backends: [{service: app}]}]}
                """
            try await withRouter(good) { router in
                for (certificates, expected) in [
                    (
                        "[{certificateFile: \"\(files.certificate)\", keyFile: \"\(directory)/missing.key\"}]",
                        "listeners[1].tls.certificates[0].keyFile: cannot read a PEM private key from \(directory)/missing.key"
                    ),
                    (
                        "[{certificateFile: \"\(files.key)\", keyFile: \"\(files.key)\"}]",
                        "listeners[1].tls.certificates[0].certificateFile: "
                    ),
                    (
                        "[]",
                        "listeners[1].tls.certificates: no certificate; give at least one {certificateFile, keyFile}"
                    ),
                    (
                        "[{certificateFile: \"\(files.certificate)\", keyFile: \"\(stranger.key)\"}]",
                        "listeners[1].tls.certificates[0]: the certificate and key do not make a TLS context"
                    ),
                    (
                        "[{certificateFile: \"\(files.certificate)\", keyFile: \"\(files.key)\", serverNames: [\"bad name\"]}]",
                        "listeners[1].tls.certificates[0].serverNames[0]: \"bad name\" is not a host name"
                    ),
                ] {
                    let other = try freePort()
                    let table = try RouteTable.decode(
                        good + "\n  - {address: \"127.0.0.1:\(other)\", tls: {certificates: \(certificates)}, "
                            + "routes: [{backends: [{service: app}]}]}",
                        source: "tls table")
                    let error = await #expect(throws: RouteTableError.self) {
                        try await router.apply(table, source: "tls table")
                    }
                    #expect("\(error.map { "\($0)" } ?? "")".contains(expected), "\(String(describing: error))")
                    #expect(router.generation == 1)
                    #expect(await router.boundListenerAddresses().count == 1)
                }
            }
        }
    }
}
