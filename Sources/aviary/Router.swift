import ArgumentParser
import AviaryRouter
import Foundation

/// `aviary router`: runs the data plane as its own process.
struct Router: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        abstract: "Run Aviary's router: the HTTP reverse proxy that splits traffic by weight, header and session.",
        discussion: """
            Listens on every listener of its route table and proxies each request to the service its \
            routes choose (weights, header routes, mirroring, sticky sessions by cookie or header). \
            WebSocket and other HTTP/1.1 upgrades are carried as tunnels. HTTP/2 clients (h2c by prior \
            knowledge, or h2 by ALPN over TLS) are served too, each stream routed on its own; a service \
            with `protocol: h2c` gets HTTP/2 (gRPC), others HTTP/1.1. A listener with `tls` terminates \
            TLS 1.2/1.3 (certificates chosen by SNI, re-read within a second when their files change). \
            The table comes from --config (YAML, see docs/router.md in the repository), or from --state \
            when that file is newer, and can be replaced while running: send SIGHUP to re-read --config, \
            or PUT a table (JSON or YAML) to the admin endpoint. Every accepted table is written to \
            --state. The router keeps serving its last table when whatever sent it goes away.

            Admin endpoint (loopback): GET /table, PUT /table, GET /stats, GET /healthz.

            Example:
              aviary router --config router.yaml --admin 127.0.0.1:7481 --state table.json
              aviary router --config router.yaml --threads 1
              curl -X PUT --data-binary @new-table.yaml 127.0.0.1:7481/table
            """
    )

    @Option(help: "The route table file (YAML or JSON); SIGHUP re-reads it.")
    var config: String?

    @Option(help: "IP:port of the admin endpoint, for example 127.0.0.1:7481 (loopback only).")
    var admin: String?

    @Option(help: "Where to keep the last accepted table, loaded at start when newer than --config.")
    var state: String?

    @Option(
        help: """
            The number of event loop threads (default: one per core). With at least one per core, each \
            asks the kernel for 100 µs time slices (Linux 6.12 and later).
            """)
    var threads: Int?

    func validate() throws {
        if let threads, threads < 1 {
            throw ValidationError("--threads \(threads): give 1 or more event loop threads")
        }
        if config == nil && state == nil && admin == nil {
            throw ValidationError("give --config FILE, or --admin ADDRESS (and --state FILE) to receive tables")
        }
        if let admin, !(admin.hasPrefix("127.") || admin.hasPrefix("[::1]") || admin.hasPrefix("localhost:")) {
            throw ValidationError("--admin \(admin): the admin endpoint listens on loopback only; use 127.0.0.1:PORT")
        }
    }

    func run() async throws {
        let options = RouterProcess.Options(configPath: config, adminAddress: admin, statePath: state, threads: threads)
        do {
            try await RouterProcess.run(options) { line in
                FileHandle.standardError.write(Data("aviary router: \(line)\n".utf8))
            }
        } catch {
            FileHandle.standardError.write(Data("aviary router: \(error)\n".utf8))
            throw ExitCode(1)
        }
    }
}
