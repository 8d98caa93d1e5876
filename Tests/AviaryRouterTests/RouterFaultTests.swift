import AsyncHTTPClient
import AviaryRoutes
import AviaryTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import AviaryRouter

#if canImport(Glibc)
    import Glibc
#endif

/// Faults on either side of a real router on loopback: each test keeps a well-behaved client
/// sending requests through the same router while the fault happens, and checks that it saw
/// only successes and that the router is still up afterwards.
@Suite("Router faults", .serialized)
struct RouterFaultTests {
    /// Runs `fault` while `workers` tasks send GETs to `url`; returns how many answers were 200
    /// and every other answer or error. The workers stop when `fault` ends, even by throwing.
    private func duringSteadyTraffic(
        _ url: String, client: HTTPClient, workers: Int = 2, _ fault: () async throws -> Void
    ) async throws -> (ok: Int, failures: [String]) {
        let isDone = StopFlag()
        return try await withThrowingTaskGroup(of: (Int, [String]).self) { group in
            for _ in 0..<workers {
                group.addTask {
                    var ok = 0
                    var failures: [String] = []
                    // At least a few requests each, however fast the fault is.
                    while !isDone.value.load(ordering: .relaxed) || ok + failures.count < 5 {
                        do {
                            let answer = try await client.get(url, timeout: .seconds(20))
                            if answer.status == 200 {
                                ok += 1
                            } else {
                                failures.append("\(answer.status) \(answer.body)")
                            }
                        } catch {
                            failures.append("\(error)")
                        }
                    }
                    return (ok, failures)
                }
            }
            do {
                try await fault()
            } catch {
                isDone.value.store(true, ordering: .relaxed)
                group.cancelAll()
                throw error
            }
            isDone.value.store(true, ordering: .relaxed)
            return try await group.reduce(into: (0, [String]())) { total, part in
                total.0 += part.0
                total.1 += part.1
            }
        }
    }

    @Test("a pod killed mid-request: its request gets 502 with the reason, the next go to the other pod")
    func podKilledMidRequest() async throws {
        try await withClient(connectionsPerHost: 8) { client in
            let victim = try await SampleApp(pod: "victim-1", client: client)
            defer { victim.stop() }
            let survivor = try await SampleApp(pod: "survivor-1", client: client)
            defer { survivor.stop() }
            let port = try freePort()
            try await withRouter(
                """
                services:
                  pair: {endpoints: ["\(victim.endpoint)", "\(survivor.endpoint)"]}
                  posts: {endpoints: ["\(victim.endpoint)", "\(survivor.endpoint)"]}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes:
                      - {match: {anyOf: [{method: {exact: POST}}]}, backends: [{service: posts}]}
                      - backends: [{service: pair}]
                """
            ) { router in
                let base = "http://127.0.0.1:\(port)"
                let steady = try await duringSteadyTraffic("\(base)/", client: client) {
                    // POSTs are never retried: the two that went to the victim are lost with it.
                    let answers = try await withThrowingTaskGroup(of: TestResponse.self) { group in
                        for _ in 0..<4 {
                            group.addTask {
                                try await client.get("\(base)/delay?ms=4000", method: .POST, body: "order")
                            }
                        }
                        try await waitUntil("the four POSTs to reach the router") {
                            router.stats.snapshot()["posts"]?.requests == 4
                        }
                        victim.child.kill()
                        return try await group.reduce(into: []) { $0.append($1) }
                    }
                    let lost = answers.filter { $0.status == 502 }
                    #expect(lost.count == 2, "\(answers.map(\.status))")
                    for answer in lost {
                        #expect(answer.body.contains("endpoint \(victim.endpoint) of service posts"))
                        #expect(answer.body.contains("refused or dropped the connection"))
                    }
                    #expect(answers.filter { pod(of: $0.body) == "survivor-1" }.count == 2)
                    for _ in 0..<20 {
                        let next = try await client.get("\(base)/")
                        #expect(pod(of: next.body) == "survivor-1")
                    }
                }
                #expect(steady.failures.isEmpty, "\(steady.failures)")
                #expect(steady.ok >= 10)
                #expect(try await client.get("\(base)/").status == 200)
            }
        }
    }

    @Test("a backend that accepts and never answers gets 504 after responseTimeoutMs; its connections are closed")
    func backendThatNeverAnswers() async throws {
        try await withClient(connectionsPerHost: 8) { client in
            let app = try await SampleApp(pod: "app-1", client: client)
            defer { app.stop() }
            let silent = try SilentListener()
            defer { silent.close() }
            let port = try freePort()
            try await withRouter(
                """
                services:
                  silent: {endpoints: ["\(silent.endpoint)"]}
                  app: {endpoints: ["\(app.endpoint)"]}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes:
                      - {match: {anyOf: [{path: {prefix: /hang}}]}, backends: [{service: silent}]}
                      - backends: [{service: app}]
                limits: {responseTimeoutMs: 700, upstreamIdleTimeoutMs: 300}
                """
            ) { router in
                let base = "http://127.0.0.1:\(port)"
                let silentEndpoint = silent.endpoint
                let steady = try await duringSteadyTraffic("\(base)/", client: client) {
                    try await withThrowingTaskGroup(of: Void.self) { group in
                        for index in 0..<3 {
                            group.addTask {
                                let answer = try await client.get("\(base)/hang/\(index)")
                                #expect(answer.status == 504)
                                #expect(
                                    answer.body
                                        == "504 Gateway Timeout: endpoint \(silentEndpoint) of service silent did not answer in 700 ms\n"
                                )
                            }
                        }
                        try await group.waitForAll()
                    }
                }
                #expect(steady.failures.isEmpty, "\(steady.failures)")
                #expect(router.stats.snapshot()["silent"]?.timeouts == 3)
                // The three timed-out connections are closed, and the steady client's pooled ones
                // after their idle timeout: nothing is left open.
                try await waitUntil("every upstream connection to close") { router.stats.upstreamConnections == 0 }
            }
        }
    }

    @Test("1,000 idle client connections held open while a normal client keeps succeeding (aviary router process)")
    func thousandIdleConnections() async throws {
        let limits = RouterProcess.raiseOpenFileLimit()
        try #require(limits.after >= 1_200, "the test needs 1,200 open files; the hard limit is \(limits.after)")
        try await withClient(connectionsPerHost: 8) { client in
            let app = try await SampleApp(pod: "app-1", client: client)
            defer { app.stop() }
            let pair = try freePorts(2)
            let (port, adminPort) = (pair[0], pair[1])
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aviary-faults-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let config = directory.appendingPathComponent("router.yaml").path
            try """
            services: {app: {endpoints: ["\(app.endpoint)"]}}
            listeners: [{address: "127.0.0.1:\(port)", routes: [{backends: [{service: app}]}]}]
            """.write(toFile: config, atomically: true, encoding: .utf8)
            let router = try ChildProcess(
                executable: "aviary", arguments: ["router", "--config", config, "--admin", "127.0.0.1:\(adminPort)"],
                environment: [:])
            defer { router.stop() }
            let base = "http://127.0.0.1:\(port)"
            try await waitUntil("the router to serve") { try await client.get("\(base)/").status == 200 }

            var idle: [RawConnection] = []
            defer { for connection in idle { connection.close() } }
            let steady = try await duringSteadyTraffic("\(base)/", client: client) {
                for _ in 0..<1_000 { idle.append(try RawConnection(port: port)) }
                for _ in 0..<100 {
                    #expect(try await client.get("\(base)/").status == 200)
                }
            }
            #expect(steady.failures.isEmpty, "\(steady.failures)")
            // The idle connections were served all along: the first and the last still answer.
            for connection in [idle[0], idle[499], idle[999]] {
                try connection.send("GET / HTTP/1.1\r\nHost: x\r\n\r\n")
                let answer = connection.receiveResponse()
                #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(200))")
            }
            #expect(router.process.isRunning)
            #expect(try await client.get("http://127.0.0.1:\(adminPort)/healthz").status == 200)
        }
    }

    @Test("oversized heads get 431 and oversized bodies 413, with or without a Content-Length")
    func oversizedRequests() async throws {
        try await withAppBehindRouter(
            connectionsPerHost: 8, limits: "{maxHeaderBytes: 4096, maxBodyBytes: 65536, upstreamIdleTimeoutMs: 300}"
        ) { client, _, port, router in
            let base = "http://127.0.0.1:\(port)"
            let steady = try await duringSteadyTraffic("\(base)/", client: client) {
                let oneBigHeader = try await client.get(
                    "\(base)/", headers: [("X-Big", String(repeating: "a", count: 8000))])
                #expect(oneBigHeader.status == 431)
                #expect(
                    oneBigHeader.body == "431 Request Header Fields Too Large: request head exceeds 4096 bytes\n")
                let manyHeaders = try await client.get(
                    "\(base)/", headers: (0..<200).map { ("X-Header-\($0)", "value-\($0)") })
                #expect(manyHeaders.status == 431)
                let longPath = try await client.get("\(base)/\(String(repeating: "p", count: 6000))")
                #expect(longPath.status == 431)
                let declared = try await client.get(
                    "\(base)/echo", method: .POST, body: String(repeating: "b", count: 70_000))
                #expect(declared.status == 413)
                #expect(declared.body == "413 Payload Too Large: request body exceeds 65536 bytes\n")
                // Chunked: the limit is found while streaming, the upstream exchange is dropped.
                let chunked = try RawConnection(port: port)
                defer { chunked.close() }
                let chunk = String(repeating: "c", count: 8192)
                try chunked.send("POST /delay?ms=1 HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n")
                for _ in 0..<10 { try chunked.send("2000\r\n\(chunk)\r\n") }
                let answer = chunked.receiveAll()
                #expect(answer.hasPrefix("HTTP/1.1 413"), "\(answer.prefix(200))")
                #expect(answer.contains("request body exceeds 65536 bytes"))
            }
            #expect(steady.failures.isEmpty, "\(steady.failures)")
            let fine = try await client.get(
                "\(base)/echo", method: .POST, body: String(repeating: "d", count: 60_000))
            #expect(fine.status == 200)
            #expect(fine.body.count == 60_000)
            try await waitUntil("every upstream connection to close") { router.stats.upstreamConnections == 0 }
        }
    }

    @Test("clients that leave mid-way through a large streamed answer leak no upstream connection")
    func clientsLeavingMidResponse() async throws {
        try await withAppBehindRouter(connectionsPerHost: 8, limits: "{upstreamIdleTimeoutMs: 300}") {
            client, _, port, router in
            let base = "http://127.0.0.1:\(port)"
            let steady = try await duringSteadyTraffic("\(base)/", client: client) {
                for round in 0..<6 {
                    let leaving = try RawConnection(port: port)
                    try leaving.send("GET /bytes?n=500000000 HTTP/1.1\r\nHost: x\r\n\r\n")
                    #expect(leaving.receive(atLeast: 1_000_000) >= 1_000_000)
                    // Half of them reset the connection, half close it politely.
                    if round.isMultiple(of: 2) { leaving.abort() } else { leaving.close() }
                }
            }
            #expect(steady.failures.isEmpty, "\(steady.failures)")
            // Each abandoned download's upstream connection is closed, not pooled or kept; the
            // steady client's pooled ones close after their idle timeout.
            try await waitUntil("every upstream connection to close") { router.stats.upstreamConnections == 0 }
            #expect(router.stats.snapshot()["app"]?.upstreamFailures == 0)
            #expect(try await client.get("\(base)/").status == 200)
        }
    }

    @Test("a table swap that drops a pod closes its pooled connections at once, not after the idle timeout")
    func swapClosesRetiredEndpointConnections() async throws {
        try await withClient(connectionsPerHost: 1) { client in
            let old = try await SampleApp(pod: "app-old", client: client)
            defer { old.stop() }
            let new = try await SampleApp(pod: "app-new", client: client)
            defer { new.stop() }
            let port = try freePort()
            func table(_ endpoint: String) -> String {
                """
                services: {app: {endpoints: ["\(endpoint)"]}}
                listeners: [{address: "127.0.0.1:\(port)", routes: [{backends: [{service: app}]}]}]
                limits: {upstreamIdleTimeoutMs: 600000}
                """
            }
            try await withRouter(table(old.endpoint)) { router in
                for _ in 0..<3 { #expect(try await client.get("http://127.0.0.1:\(port)/").status == 200) }
                try await waitUntil("the old pod's connection to be pooled") { router.stats.upstreamConnections >= 1 }
                // The idle timeout is 10 minutes: only the swap can close the old pod's connection.
                try await router.apply(try RouteTable.decode(table(new.endpoint), source: "swap"), source: "swap")
                try await waitUntil("the old pod's pooled connection to close") {
                    router.stats.upstreamConnections == 0
                }
                #expect(try await client.get("http://127.0.0.1:\(port)/").status == 200)
            }
        }
    }

    @Test("a client's half-close: after a whole request it still gets the answer; mid-body the upstream is closed")
    func clientHalfClose() async throws {
        try await withAppBehindRouter(connectionsPerHost: 8) { client, _, port, router in
            let cut = try RawConnection(port: port)
            defer { cut.close() }
            try cut.send("POST /delay?ms=300 HTTP/1.1\r\nHost: x\r\nContent-Length: 100\r\n\r\nonly ten b")
            // A fresh router: the only upstream connection is the cut request's.
            try await waitUntil("the cut request to reach the backend") {
                router.stats.upstreamConnections == 1
            }
            cut.shutdownWrite()
            let cutAnswer = cut.receiveAll()
            #expect(cutAnswer.hasPrefix("HTTP/1.1 400"), "\(cutAnswer.prefix(200))")
            try await waitUntil("the cut request's upstream connection to close") {
                router.stats.upstreamConnections == 0
            }

            let whole = try RawConnection(port: port)
            defer { whole.close() }
            try whole.send("GET /delay?ms=300 HTTP/1.1\r\nHost: x\r\n\r\n")
            whole.shutdownWrite()
            let answer = whole.receiveAll()
            #expect(answer.hasPrefix("HTTP/1.1 200"), "\(answer.prefix(200))")
            #expect(answer.contains("\"pod\":\"app-1\""))

            #expect(try await client.get("http://127.0.0.1:\(port)/").status == 200)
        }
    }
}
