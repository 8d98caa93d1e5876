import AsyncHTTPClient
import AviaryRoutes
import AviaryTestSupport
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization
import Testing

@testable import AviaryRouter

/// The router in-process (or as its own process) in front of real sample-app processes on loopback.
@Suite("Router end to end over loopback", .serialized)
struct RouterEndToEndTests {
    /// Sends `count` GETs from `concurrency` workers and counts the answering pods
    /// (`status NNN` for non-200 answers).
    private func spread(
        _ url: String, count: Int, concurrency: Int = 8, headers: [(String, String)] = [], client: HTTPClient
    ) async throws -> [String: Int] {
        try await withThrowingTaskGroup(of: [String: Int].self) { group in
            for worker in 0..<concurrency {
                let share = count / concurrency + (worker < count % concurrency ? 1 : 0)
                group.addTask {
                    var counts: [String: Int] = [:]
                    for _ in 0..<share {
                        let response = try await client.get(url, headers: headers)
                        let key = response.status == 200 ? (pod(of: response.body) ?? "?") : "status \(response.status)"
                        counts[key, default: 0] += 1
                    }
                    return counts
                }
            }
            return try await group.reduce(into: [:]) { total, counts in total.merge(counts, uniquingKeysWith: +) }
        }
    }

    @Test("a 90/10 split over 10,000 requests lands within 0.5 points")
    func weightedSplit() async throws {
        try await withClient { client in
            let stable = try await SampleApp(pod: "stable-1", client: client)
            defer { stable.stop() }
            let canary = try await SampleApp(pod: "canary-1", image: "sample:v2", client: client)
            defer { canary.stop() }
            let port = try freePort()
            try await withRouter(
                """
                services:
                  stable: {endpoints: ["\(stable.endpoint)"]}
                  canary: {endpoints: ["\(canary.endpoint)"]}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes:
                      - backends: [{service: stable, weight: 90}, {service: canary, weight: 10}]
                """
            ) { router in
                let counts = try await spread("http://127.0.0.1:\(port)/", count: 10_000, client: client)
                #expect(counts["stable-1", default: 0] + counts["canary-1", default: 0] == 10_000, "\(counts)")
                #expect(abs(counts["canary-1", default: 0] - 1_000) <= 50, "\(counts)")
                let stats = router.stats.snapshot()
                #expect(stats["canary"]?.requests == counts["canary-1"])
                #expect(stats["stable"]?.responses2xx == counts["stable-1"])
                #expect(stats["stable"]?.latency.count == counts["stable-1"])
                // Per pod too: each endpoint's requests, answers and latency histogram.
                let endpoints = router.stats.endpointSnapshot()
                #expect(endpoints[canary.endpoint]?.requests == counts["canary-1"])
                #expect(endpoints[canary.endpoint]?.responses2xx == counts["canary-1"])
                #expect(endpoints[canary.endpoint]?.latency.count == counts["canary-1"])
                #expect(endpoints[stable.endpoint]?.failures == 0)
                let latency = try #require(endpoints[stable.endpoint]?.latency)
                #expect(latency.cumulativeCounts == latency.cumulativeCounts.sorted(), "cumulative buckets")
                #expect(latency.sumMilliseconds > 0)
            }
        }
    }

    @Test(
        "sticky by cookie: 1,000 sessions of 10 requests each see one version, 20 ± 2 % on the canary; after abort all on stable"
    )
    func stickySessions() async throws {
        try await withClient { client in
            let stable = try await SampleApp(pod: "stable-1", client: client)
            defer { stable.stop() }
            let canary = try await SampleApp(pod: "canary-1", image: "sample:v2", client: client)
            defer { canary.stop() }
            let port = try freePort()
            func table(_ backends: String) -> String {
                """
                services:
                  stable: {endpoints: ["\(stable.endpoint)"]}
                  canary: {endpoints: ["\(canary.endpoint)"]}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes:
                      - backends: \(backends)
                        sticky: {cookie: aviary-canary}
                """
            }
            let url = "http://127.0.0.1:\(port)/"
            try await withRouter(table("[{service: canary, weight: 20}, {service: stable, weight: 80}]")) { router in
                /// Each session's cookie and the pods it saw, 8 sessions at a time.
                let sessions = try await withThrowingTaskGroup(of: [(String, Set<String>)].self) { group in
                    for worker in 0..<8 {
                        group.addTask {
                            var sessions: [(String, Set<String>)] = []
                            for _ in stride(from: worker, to: 1_000, by: 8) {
                                let first = try await client.get(url)
                                let setCookie = first.headers["Set-Cookie"].first ?? ""
                                let cookie = String(setCookie.prefix { $0 != ";" })
                                var pods: Set<String> = [pod(of: first.body) ?? "status \(first.status)"]
                                for _ in 0..<9 {
                                    let next = try await client.get(url, headers: [("Cookie", "theme=dark; \(cookie)")])
                                    pods.insert(pod(of: next.body) ?? "status \(next.status)")
                                    #expect(next.headers["Set-Cookie"].isEmpty, "a kept session got a new cookie")
                                }
                                sessions.append((cookie, pods))
                            }
                            return sessions
                        }
                    }
                    return try await group.reduce(into: []) { $0 += $1 }
                }
                #expect(sessions.count == 1_000)
                #expect(sessions.allSatisfy { $0.0.hasPrefix("aviary-canary=") }, "\(sessions.prefix(3))")
                let mixed = sessions.filter { $0.1.count != 1 }
                #expect(mixed.isEmpty, "sessions that saw more than one version: \(mixed.prefix(3))")
                let onCanary = sessions.filter { $0.1 == ["canary-1"] }.count
                #expect(abs(onCanary - 200) <= 20, "\(onCanary) of 1,000 sessions on the canary")

                // Abort: the canary leaves the route; every session, its cookie kept, lands on stable.
                try await router.apply(
                    try RouteTable.decode(table("[{service: stable, weight: 100}]"), source: "abort"), source: "abort")
                for (cookie, _) in sessions.prefix(300) {
                    let after = try await client.get(url, headers: [("Cookie", cookie)])
                    #expect(pod(of: after.body) == "stable-1")
                }
            }
        }
    }

    @Test("header routes send matching requests to the canary and the rest by weight")
    func headerRoutes() async throws {
        try await withClient { client in
            let stable = try await SampleApp(pod: "stable-1", client: client)
            defer { stable.stop() }
            let canary = try await SampleApp(pod: "canary-1", client: client)
            defer { canary.stop() }
            let port = try freePort()
            try await withRouter(
                """
                services:
                  stable: {endpoints: ["\(stable.endpoint)"]}
                  canary: {endpoints: ["\(canary.endpoint)"]}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes:
                      - match:
                          headers:
                            - {name: X-Canary, exact: "yes"}
                            - {name: X-User, prefix: "beta-"}
                            - {name: X-Team, regex: "blue|green"}
                        backends: [{service: canary}]
                      - match: {anyOf: [{method: {exact: POST}, path: {prefix: /api}}]}
                        backends: [{service: canary}]
                      - backends: [{service: stable, weight: 100}, {service: canary, weight: 0}]
                """
            ) { _ in
                let url = "http://127.0.0.1:\(port)/"
                for headers in [[("X-Canary", "yes")], [("X-User", "beta-7")], [("x-team", "green")]] {
                    let counts = try await spread(url, count: 20, concurrency: 2, headers: headers, client: client)
                    #expect(counts == ["canary-1": 20], "\(headers)")
                }
                for headers in [[], [("X-Canary", "no")], [("X-User", "alpha")], [("X-Team", "greenish")]] {
                    let counts = try await spread(url, count: 20, concurrency: 2, headers: headers, client: client)
                    #expect(counts == ["stable-1": 20], "\(headers)")
                }
                let post = try await client.get("\(url)api/orders", method: .POST, body: "{}")
                #expect(pod(of: post.body) == "canary-1")
                let postElsewhere = try await client.get("\(url)web", method: .POST, body: "{}")
                #expect(pod(of: postElsewhere.body) == "stable-1")
            }
        }
    }

    @Test("a mirror gets its share of copies; its answers and its failures never reach the client")
    func mirroring() async throws {
        try await withClient { client in
            let stable = try await SampleApp(pod: "stable-1", client: client)
            defer { stable.stop() }
            let mirror = try await SampleApp(pod: "mirror-1", client: client)
            defer { mirror.stop() }
            let port = try freePort()
            let deadPort = try freePort()
            let table = """
                services:
                  stable: {endpoints: ["\(stable.endpoint)"]}
                  mirror: {endpoints: ["\(mirror.endpoint)"]}
                  dead: {endpoints: ["127.0.0.1:\(deadPort)"]}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes:
                      - match: {headers: [{name: X-Mirror-Dead, exact: "1"}]}
                        backends: [{service: stable}]
                        mirror: {service: dead, percent: 100}
                      - backends: [{service: stable}]
                        mirror: {service: mirror, percent: 25}
                """
            try await withRouter(table) { router in
                let url = "http://127.0.0.1:\(port)/"
                #expect(try await spread(url, count: 200, client: client) == ["stable-1": 200])
                let posted = try await client.get("\(url)echo", method: .POST, body: "copy me")
                #expect(posted.body == "copy me")
                try await waitUntil("the mirror to answer its 50 or 51 copies") {
                    try await mirror.okCount(client: client) >= 50
                }
                #expect(try await mirror.okCount(client: client) <= 51)
                #expect(router.stats.snapshot()["mirror"]?.mirrored ?? 0 >= 50)
                let deadMirror = try await spread(url, count: 50, headers: [("X-Mirror-Dead", "1")], client: client)
                #expect(deadMirror == ["stable-1": 50])
                try await waitUntil("the failed mirror copies to be counted") {
                    router.stats.snapshot()["dead"]?.mirrorFailures == 50
                }
            }
        }
    }

    @Test("tables swapped under load fail no request")
    func swapUnderLoad() async throws {
        try await withClient { client in
            let stable = try await SampleApp(pod: "stable-1", client: client)
            defer { stable.stop() }
            let canary = try await SampleApp(pod: "canary-1", client: client)
            defer { canary.stop() }
            let port = try freePort()
            func table(canaryWeight: Int) -> String {
                """
                services:
                  stable: {endpoints: ["\(stable.endpoint)"]}
                  canary: {endpoints: ["\(canary.endpoint)"]}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes:
                      - backends: [{service: stable, weight: \(100 - canaryWeight)}, {service: canary, weight: \(canaryWeight)}]
                """
            }
            try await withRouter(table(canaryWeight: 0)) { router in
                let isDone = StopFlag()
                let url = "http://127.0.0.1:\(port)/"
                let counts = try await withThrowingTaskGroup(of: [String: Int].self) { group in
                    for _ in 0..<6 {
                        group.addTask {
                            var counts: [String: Int] = [:]
                            while !isDone.value.load(ordering: .relaxed) {
                                let response = try await client.get(url)
                                let key =
                                    response.status == 200 ? pod(of: response.body) ?? "?" : "status \(response.status)"
                                counts[key, default: 0] += 1
                            }
                            return counts
                        }
                    }
                    for step in 1...30 {
                        let weight = [10, 33, 50, 100, 0][step % 5]
                        try await router.apply(
                            try RouteTable.decode(table(canaryWeight: weight), source: "swap"), source: "swap")
                        try await Task.sleep(for: .milliseconds(20))
                    }
                    isDone.value.store(true, ordering: .relaxed)
                    return try await group.reduce(into: [:]) { $0.merge($1, uniquingKeysWith: +) }
                }
                #expect(counts.keys.allSatisfy { $0 == "stable-1" || $0 == "canary-1" }, "\(counts)")
                #expect(counts.values.reduce(0, +) > 100)
                #expect(router.generation == 31)
            }
        }
    }

    @Test("503 without endpoints, 502 on refused connects, 504 on slow answers, 431 and 413 over limits")
    func errorAnswers() async throws {
        try await withClient { client in
            let slow = try await SampleApp(pod: "slow-1", environment: ["LATENCY_MS": "3000"], client: client)
            defer { slow.stop() }
            let healthy = try await SampleApp(pod: "healthy-1", client: client)
            defer { healthy.stop() }
            let port = try freePort()
            let deadPort = try freePort()
            try await withRouter(
                """
                services:
                  empty: {endpoints: []}
                  dead: {endpoints: ["127.0.0.1:\(deadPort)"]}
                  halfdead: {endpoints: ["127.0.0.1:\(deadPort)", "\(healthy.endpoint)"]}
                  slow: {endpoints: ["\(slow.endpoint)"]}
                  healthy: {endpoints: ["\(healthy.endpoint)"]}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes:
                      - {match: {anyOf: [{path: {prefix: /empty}}]}, backends: [{service: empty}]}
                      - {match: {anyOf: [{path: {prefix: /dead}}]}, backends: [{service: dead}]}
                      - {match: {anyOf: [{path: {prefix: /halfdead}}]}, backends: [{service: halfdead}]}
                      - {match: {anyOf: [{path: {prefix: /slow}}]}, backends: [{service: slow}]}
                      - backends: [{service: healthy}]
                limits: {maxHeaderBytes: 2048, maxBodyBytes: 1024, responseTimeoutMs: 500}
                """
            ) { router in
                let base = "http://127.0.0.1:\(port)"
                let empty = try await client.get("\(base)/empty")
                #expect(empty.status == 503)
                #expect(empty.body == "503 Service Unavailable: no ready endpoint for service empty\n")
                let dead = try await client.get("\(base)/dead")
                #expect(dead.status == 502)
                #expect(dead.body.contains("127.0.0.1:\(deadPort) of service dead refused"))
                let slowAnswer = try await client.get("\(base)/slow")
                #expect(slowAnswer.status == 504)
                #expect(slowAnswer.body.contains("did not answer in 500 ms"))
                let bigHead = try await client.get(
                    "\(base)/", headers: [("X-Big", String(repeating: "a", count: 4096))])
                #expect(bigHead.status == 431)
                let bigBody = try await client.get(
                    "\(base)/echo", method: .POST, body: String(repeating: "b", count: 2048))
                #expect(bigBody.status == 413)
                let fine = try await client.get(
                    "\(base)/echo", method: .POST, body: String(repeating: "c", count: 1000))
                #expect(fine.status == 200)
                #expect(fine.body.count == 1000)
                // An idempotent request that meets the dead endpoint is retried on the live one.
                for _ in 0..<6 {
                    let answer = try await client.get("\(base)/halfdead")
                    #expect(answer.status == 200)
                    #expect(pod(of: answer.body) == "healthy-1")
                }
                // The dead endpoint is passed over after its first refusal.
                #expect(router.stats.snapshot()["halfdead"]?.retries == 1)
                let stats = router.stats.snapshot()
                #expect(stats["empty"]?.noEndpoint == 1)
                #expect(stats["dead"]?.upstreamFailures == 1)
                #expect(stats["slow"]?.timeouts == 1)
            }
        }
    }

    @Test("large bodies stream both ways; HEAD answers carry no body; X-Forwarded-For is added")
    func streamingAndHeads() async throws {
        try await withAppBehindRouter { client, _, port, _ in
            let base = "http://127.0.0.1:\(port)"
            let upload = String(repeating: "0123456789abcdef", count: 512 * 1024)
            let echoed = try await client.get("\(base)/echo", method: .POST, body: upload)
            #expect(echoed.status == 200)
            #expect(echoed.body == upload)
            let download = try await client.get("\(base)/bytes?n=20000000")
            #expect(download.body.utf8.count == 20_000_000)
            let head = try await client.get("\(base)/", method: .HEAD)
            #expect(head.status == 200)
            #expect(head.body.isEmpty)
            let echoedHeaders = try await client.get(
                "\(base)/headers", headers: [("Connection", "keep-alive, X-Secret"), ("X-Secret", "1")])
            #expect(echoedHeaders.body.contains("\"x-forwarded-for\":\"127.0.0.1\""))
            #expect(echoedHeaders.body.contains("\"x-forwarded-proto\":\"http\""))
            #expect(!echoedHeaders.body.contains("x-secret"))
        }
    }

    @Test(
        "pipelined requests are answered in order; an HTTP/1.0 client gets a chunked answer unchunked; smuggling is refused"
    )
    func rawClients() async throws {
        try await withAppBehindRouter { client, _, port, router in
            // Three requests in one write: a slow one, a chunked upload, a last one that closes.
            let pipelined = try RawConnection(port: port)
            defer { pipelined.close() }
            try pipelined.send(
                "GET /delay?ms=200 HTTP/1.1\r\nHost: x\r\n\r\n"
                    + "POST /echo HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n"
                    + "GET /headers HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n")
            let answers = pipelined.receiveAll()
            #expect(answers.components(separatedBy: "HTTP/1.1 200 OK").count == 4, "\(answers)")
            let delay = try #require(answers.range(of: "\"path\":\"/delay\""))
            let echo = try #require(answers.range(of: "world"))
            let headers = try #require(answers.range(of: "\"x-forwarded-for\""))
            #expect(delay.upperBound < echo.lowerBound && echo.upperBound < headers.lowerBound)

            let old = try RawConnection(port: port)
            defer { old.close() }
            try old.send("POST /echo HTTP/1.0\r\nContent-Length: 11\r\n\r\nhello world")
            let answer = old.receiveAll()
            #expect(answer.hasPrefix("HTTP/1.0 200 OK\r\n"), "\(answer)")
            #expect(!answer.lowercased().contains("transfer-encoding"))
            #expect(answer.hasSuffix("\r\n\r\nhello world"), "\(answer)")

            let requestsBefore = router.stats.snapshot()["app"]?.requests
            let smuggler = try RawConnection(port: port)
            defer { smuggler.close() }
            try smuggler.send(
                "POST /echo HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n"
                    + "0\r\n\r\nGET /headers HTTP/1.1\r\nHost: x\r\n\r\n")
            let refused = smuggler.receiveAll()
            #expect(refused.hasPrefix("HTTP/1.1 400 Bad Request"), "\(refused)")
            #expect(refused.components(separatedBy: "HTTP/1.1").count == 2)
            #expect(router.stats.snapshot()["app"]?.requests == requestsBefore)
        }
    }

    @Test("a client that leaves mid-response frees the exchange; the router and backend carry on")
    func clientDisconnectsMidResponse() async throws {
        try await withAppBehindRouter { client, app, port, router in
            for _ in 0..<3 {
                let request = HTTPClientRequest(url: "http://127.0.0.1:\(port)/bytes?n=200000000")
                let response = try await client.execute(request, timeout: .seconds(30))
                #expect(response.status == .ok)
                var received = 0
                for try await chunk in response.body {
                    received += chunk.readableBytes
                    if received > 1_000_000 { break }
                }
                #expect(received > 1_000_000)
            }
            let counts = try await spread("http://127.0.0.1:\(port)/", count: 50, client: client)
            #expect(counts == ["app-1": 50])
            #expect(try await client.get("http://\(app.endpoint)/healthz").status == 200)
            #expect(router.stats.snapshot()["app"]?.responses2xx == 50)
        }
    }

    @Test("a backend killed mid-request: 502 with one endpoint, a retry on the other with two")
    func backendKilledMidRequest() async throws {
        try await withClient { client in
            let victim = try await SampleApp(pod: "victim-1", client: client)
            defer { victim.stop() }
            let survivor = try await SampleApp(pod: "survivor-1", client: client)
            defer { survivor.stop() }
            let port = try freePort()
            try await withRouter(
                """
                services:
                  pair: {endpoints: ["\(victim.endpoint)", "\(survivor.endpoint)"]}
                  single: {endpoints: ["\(victim.endpoint)"]}
                listeners:
                  - address: 127.0.0.1:\(port)
                    routes:
                      - {match: {headers: [{name: X-Single, exact: "1"}]}, backends: [{service: single}]}
                      - backends: [{service: pair}]
                """
            ) { router in
                let base = "http://127.0.0.1:\(port)"
                // The pair's first pick is the victim; it holds the request for 5 s.
                async let retried = client.get("\(base)/delay?ms=5000")
                async let lost = client.get("\(base)/delay?ms=5000", headers: [("X-Single", "1")])
                try await waitUntil("both requests to reach the router") {
                    router.stats.snapshot()["pair"]?.requests == 1 && router.stats.snapshot()["single"]?.requests == 1
                }
                try await waitUntil("the victim to hold both requests") {
                    try await victim.receivedCount(client: client) == 2
                }
                victim.child.kill()
                let (retriedAnswer, lostAnswer) = try await (retried, lost)
                #expect(retriedAnswer.status == 200)
                #expect(pod(of: retriedAnswer.body) == "survivor-1")
                #expect(lostAnswer.status == 502)
                #expect(router.stats.snapshot()["pair"]?.retries == 1)
            }
        }
    }

    @Test("a listener answers from the table that added it, from its first request on")
    func newListenersServeTheirOwnTableAtOnce() async throws {
        try await withClient { client in
            let app = try await SampleApp(pod: "app-1", client: client)
            defer { app.stop() }
            let router = try await RouterServer()
            // A client that connects the moment the first listener accepts, as one retrying
            // against a router that has just started does, while the router binds the others.
            let ports = try freePorts(40)
            let first = Task.detached { firstStatusLine(port: ports[0], within: 20) }
            let listeners = ports.map { "  - address: 127.0.0.1:\($0)\n    routes: [{backends: [{service: app}]}]" }
            let yaml =
                "services:\n  app: {endpoints: [\"\(app.endpoint)\"]}\nlisteners:\n" + listeners.joined(separator: "\n")
            do {
                try await router.apply(
                    try RouteTable.decode(yaml, source: "forty listeners"), source: "forty listeners")
            } catch {
                await router.shutdown()
                throw error
            }
            let status = await first.value
            await router.shutdown()
            #expect(status?.hasPrefix("HTTP/1.1 200") == true, "first answer: \(status ?? "none")")
        }
    }

    @Test("the router process serves a table whose sender is gone, and comes back with it after a restart")
    func routerProcessOutlivesSender() async throws {
        try await withClient { client in
            let app = try await SampleApp(pod: "app-1", client: client)
            defer { app.stop() }
            let other = try await SampleApp(pod: "other-1", client: client)
            defer { other.stop() }
            let pair = try freePorts(2)
            let (port, adminPort) = (pair[0], pair[1])
            let directory = FileManager.default.temporaryDirectory.appendingPathComponent("aviary-router-\(UUID())")
            try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
            defer { try? FileManager.default.removeItem(at: directory) }
            let state = directory.appendingPathComponent("state.json").path
            let config = directory.appendingPathComponent("router.yaml").path
            func table(_ endpoint: String) -> String {
                """
                services: {app: {endpoints: ["\(endpoint)"]}}
                listeners: [{address: "127.0.0.1:\(port)", routes: [{backends: [{service: app}]}]}]
                """
            }
            let arguments = ["router", "--admin", "127.0.0.1:\(adminPort)", "--state", state]
            let first = try ChildProcess(executable: "aviary", arguments: arguments, environment: [:])
            defer { first.stop() }
            try await waitUntil("the admin endpoint") {
                try await client.get("http://127.0.0.1:\(adminPort)/healthz").status == 200
            }
            // Another process sends the table and exits: nothing depends on it afterwards.
            let sender = Process()
            sender.executableURL = URL(fileURLWithPath: "/usr/bin/curl")
            sender.arguments = [
                "-sf", "-X", "PUT", "--data-binary", table(app.endpoint), "http://127.0.0.1:\(adminPort)/table",
            ]
            sender.standardOutput = FileHandle.nullDevice
            try sender.run()
            sender.waitUntilExit()
            #expect(sender.terminationStatus == 0)
            let bad = try await client.get(
                "http://127.0.0.1:\(adminPort)/table", method: .PUT, body: "listeners: [{address: nope}]")
            #expect(bad.status == 400)
            #expect(bad.body.contains("listeners[0].address: \"nope\" is not IP:port"))
            #expect(try await spread("http://127.0.0.1:\(port)/", count: 20, client: client) == ["app-1": 20])
            let current = try await client.get("http://127.0.0.1:\(adminPort)/table")
            #expect(current.body.contains(app.endpoint))
            first.stop()

            let second = try ChildProcess(executable: "aviary", arguments: arguments, environment: [:])
            defer { second.stop() }
            try await waitUntil("the restarted router to serve the saved table") {
                try await client.get("http://127.0.0.1:\(port)/").status == 200
            }
            #expect(try await spread("http://127.0.0.1:\(port)/", count: 20, client: client) == ["app-1": 20])
            second.stop()

            // With a config file and no admin client at all; SIGHUP re-reads the file.
            try table(app.endpoint).write(toFile: config, atomically: true, encoding: .utf8)
            let third = try ChildProcess(
                executable: "aviary", arguments: ["router", "--config", config], environment: [:])
            defer { third.stop() }
            try await waitUntil("the router to serve its config") {
                try await client.get("http://127.0.0.1:\(port)/").status == 200
            }
            try table(other.endpoint).write(toFile: config, atomically: true, encoding: .utf8)
            kill(third.process.processIdentifier, SIGHUP)
            try await waitUntil("SIGHUP to switch the table") {
                pod(of: try await client.get("http://127.0.0.1:\(port)/").body) == "other-1"
            }
            try "not: [valid".write(toFile: config, atomically: true, encoding: .utf8)
            kill(third.process.processIdentifier, SIGHUP)
            #expect(try await spread("http://127.0.0.1:\(port)/", count: 20, client: client) == ["other-1": 20])
        }
    }
}

/// A flag the load workers of a test poll.
final class StopFlag: Sendable {
    let value = Atomic<Bool>(false)
}

/// Connects to 127.0.0.1:`port` as soon as it accepts (retrying refused connects every
/// millisecond for up to `seconds`), sends one GET and returns the answer's status line.
private func firstStatusLine(port: Int, within seconds: Double) -> String? {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        let descriptor = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
        guard descriptor >= 0 else { return nil }
        defer { close(descriptor) }
        var address = sockaddr_in()
        address.sin_family = sa_family_t(AF_INET)
        address.sin_port = in_port_t(UInt16(port).bigEndian)
        address.sin_addr.s_addr = inet_addr("127.0.0.1")
        let connected = withUnsafePointer(to: &address) {
            $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
                connect(descriptor, $0, socklen_t(MemoryLayout<sockaddr_in>.size))
            }
        }
        guard connected == 0 else {
            usleep(1000)
            continue
        }
        let request = Array("GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n".utf8)
        guard write(descriptor, request, request.count) == request.count else { return nil }
        var buffer = [UInt8](repeating: 0, count: 512)
        let count = read(descriptor, &buffer, buffer.count)
        guard count > 0 else { return nil }
        return String(decoding: buffer[..<count], as: UTF8.self).components(separatedBy: "\r\n").first
    }
    return nil
}
