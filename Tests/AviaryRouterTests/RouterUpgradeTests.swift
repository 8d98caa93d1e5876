import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryRouter

/// Whether the Python `websockets` package is importable here; scripts/test installs it.
let pythonWebSocketsIsInstalled: Bool =
    (try? runCommand(["/usr/bin/env", "python3", "-c", "import websockets"]).status) == 0

/// The peer script beside this file.
private let websocketPeer =
    URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent("websocket_peer.py").path

/// WebSocket through the router, against the Python `websockets` package's server and client.
@Suite(
    "Router upgrades: WebSocket end to end", .serialized,
    .enabled(
        if: pythonWebSocketsIsInstalled,
        "the Python websockets package is not installed: run scripts/test, or pip install websockets"))
struct RouterUpgradeTests {
    /// Runs `body` with two WebSocket echo servers (`blue` and `green`) behind a router that
    /// splits a free port's connections 50/50 between them; everything is stopped afterwards.
    private func withEchoServers(_ body: (_ port: Int, _ router: RouterServer) async throws -> Void) async throws {
        let directory = NSTemporaryDirectory() + "aviary-websocket-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let ports = try freePorts(3)
        var servers: [WatchedProcess] = []
        defer { for server in servers { server.stop() } }
        for (name, port) in [("blue", ports[0]), ("green", ports[1])] {
            let server = try WatchedProcess(
                ["/usr/bin/env", "python3", websocketPeer, "server", String(port), name], directory: directory,
                name: name)
            servers.append(server)
            try await waitUntil("the \(name) echo server to listen: \(server.log)") { server.log.contains("ready") }
        }
        try await withRouter(
            """
            services:
              blue: {endpoints: ["127.0.0.1:\(ports[0])"]}
              green: {endpoints: ["127.0.0.1:\(ports[1])"]}
            listeners:
              - address: 127.0.0.1:\(ports[2])
                routes:
                  - backends: [{service: blue, weight: 50}, {service: green, weight: 50}]
            """
        ) { router in
            try await body(ports[2], router)
        }
    }

    /// What the peer script's client printed.
    private struct ClientReport: Decodable {
        let names: [[String]]
        let echoed: Int
    }

    private func runClient(port: Int, connections: Int, asks: Int, megabytes: Int) throws -> ClientReport {
        let result = try runCommand([
            "/usr/bin/env", "python3", websocketPeer, "client", "ws://127.0.0.1:\(port)/chat", String(connections),
            String(asks), String(megabytes),
        ])
        guard result.status == 0, let line = result.output.split(separator: "\n").last(where: { $0.hasPrefix("{") })
        else { throw TestFailure("the WebSocket client failed (\(result.status)): \(result.output)") }
        return try JSONDecoder().decode(ClientReport.self, from: Data(line.utf8))
    }

    @Test("at a 50/50 split each connection stays on the backend it was routed to, and 10 MB echo back intact")
    func connectionsStayOnTheirBackend() async throws {
        try await withEchoServers { port, router in
            let report = try runClient(port: port, connections: 40, asks: 6, megabytes: 0)
            #expect(report.names.count == 40)
            for names in report.names {
                #expect(names.count == 6 && Set(names).count == 1, "a connection moved between backends: \(names)")
            }
            let perBackend = Dictionary(grouping: report.names.compactMap(\.first), by: { $0 }).mapValues(\.count)
            #expect(perBackend["blue", default: 0] >= 5 && perBackend["green", default: 0] >= 5, "\(perBackend)")

            let large = try runClient(port: port, connections: 1, asks: 1, megabytes: 10)
            #expect(large.echoed == 10 << 20, "the 10 MB did not come back intact")

            let stats = router.stats.snapshot()
            #expect((stats["blue"]?.upgrades ?? 0) + (stats["green"]?.upgrades ?? 0) == 41)
            // Tunnels are never pooled: once the clients are gone, no upstream connection is left.
            try await waitUntil("the tunnels' upstream connections to close") {
                router.stats.upstreamConnections == 0
            }
        }
    }

    @Test("a client that stops sending ends the tunnel: the endpoint closes, and so does the router")
    func halfCloseEndsTheTunnel() async throws {
        try await withEchoServers { port, router in
            let connection = try RawConnection(port: port, receiveTimeout: 20)
            defer { connection.close() }
            try connection.send(
                "GET /chat HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: Upgrade\r\nUpgrade: websocket\r\n"
                    + "Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\n\r\n")
            connection.shutdownWrite()
            let answer = connection.receiveAll()
            #expect(answer.hasPrefix("HTTP/1.1 101 "), "\(answer)")
            #expect(answer.contains("Sec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n"), "\(answer)")
            #expect(answer.lowercased().contains("upgrade: websocket\r\n"), "\(answer)")
            #expect(answer.contains("Connection: Upgrade\r\n"), "\(answer)")
            try await waitUntil("the tunnel's upstream connection to close") {
                router.stats.upstreamConnections == 0
            }
        }
    }
}
