import AviaryRoutes
import NIOHTTP1
import Testing

@testable import AviaryRouter

@Suite("Route table: decoding, validation and matching")
struct RouteTableTests {
    static let issueExample = """
        services:
          stable: {endpoints: ["127.0.0.1:8081"]}
          canary: {endpoints: ["127.0.0.1:8082"]}
        listeners:
          - address: 127.0.0.1:8080
            routes:
              - match: {headers: [{name: X-Canary, exact: "yes"}]}
                backends: [{service: canary}]
              - backends: [{service: stable, weight: 90}, {service: canary, weight: 10}]
                mirror: {service: canary, percent: 5}
        """

    @Test("the issue's example decodes and compiles")
    func issueExampleDecodes() throws {
        let table = try RouteTable.decode(Self.issueExample, source: "example.yaml")
        #expect(table.services["canary"]?.endpoints == ["127.0.0.1:8082"])
        #expect(table.listeners[0].routes[1].mirror == MirrorDefinition(service: "canary", percent: 5))
        let compiled = try CompiledRouteTable(table, source: "example.yaml")
        #expect(compiled.listeners["127.0.0.1:8080"]?.routes.count == 2)
        #expect(compiled.limits.maxHeaderBytes == 16_384)
    }

    @Test("a table survives the JSON round trip of GET /table and the state file")
    func jsonRoundTrip() throws {
        let table = try RouteTable.decode(Self.issueExample, source: "example.yaml")
        #expect(try RouteTable.decode(table.jsonText(), source: "state.json") == table)
    }

    @Test(
        "bad tables are refused with the field path and the fix",
        arguments: [
            (
                "services: {a: {endpoints: [nope]}}\nlisteners: []",
                "services.a.endpoints[0]: \"nope\" is not IP:port; write it as 127.0.0.1:8081"
            ),
            (
                "listeners: [{address: 127.0.0.1:80, routes: [{backends: [{service: b}]}]}]",
                "listeners[0].routes[0].backends[0].service: unknown service \"b\"; define it under services (defined: none)"
            ),
            (
                "services: {a: {endpoints: []}}\nlisteners: [{address: 127.0.0.1:80, routes: [{backends: [{service: a, weight: 0}]}]}]",
                "listeners[0].routes[0].backends: weights must have a positive sum"
            ),
            (
                "services: {a: {endpoints: []}}\nlisteners: [{address: 127.0.0.1:80, routes: [{match: {headers: [{name: X, regex: \"(\"}]}, backends: [{service: a}]}]}]",
                "listeners[0].routes[0].match.headers[0].regex: \"(\" is not a valid regular expression"
            ),
            (
                "services: {a: {endpoints: []}}\nlisteners: [{address: 127.0.0.1:80, routes: [{match: {headers: [{name: X, exact: a, prefix: b}]}, backends: [{service: a}]}]}]",
                "listeners[0].routes[0].match.headers[0]: give exactly one of exact, prefix or regex"
            ),
            (
                "services: {a: {endpoints: []}}\nlisteners: [{address: 127.0.0.1:80, routes: [{backends: [{service: a}], mirror: {service: a, percent: 150}}]}]",
                "listeners[0].routes[0].mirror.percent: 150.0 is not within 0...100"
            ),
            (
                "services: {a: {endpoints: []}}\nlisteners: [{address: 127.0.0.1:80, routes: [{backends: [{service: a}]}]}, {address: 127.0.0.1:80}]",
                "listeners[1].address: 127.0.0.1:80 is listed twice; merge the two listeners"
            ),
            (
                "services: {a: {endpoints: []}}\nlisteners: [{address: 127.0.0.1:80, routes: [{backends: [{service: a}], sticky: {cookie: c, header: h}}]}]",
                "listeners[0].routes[0].sticky: give exactly one of cookie and header"
            ),
            (
                "services: {a: {endpoints: []}}\nlisteners: [{address: 127.0.0.1:80, routes: [{backends: [{service: a}], sticky: {cookie: \"my cookie\"}}]}]",
                "listeners[0].routes[0].sticky.cookie: \"my cookie\" is not a cookie name; use letters, digits and -_."
            ),
            (
                "listeners: []\nlimits: {maxBodyBytes: 0}",
                "limits.maxBodyBytes: 0 must be positive"
            ),
            (
                "listeners: [{routes: []}]",
                "listeners[0].address: missing; add it"
            ),
            (
                "services: {a: {endpoints: []}}\nlisteners: [{address: 127.0.0.1:80, routes: [{match: {headers: {x: y}}, backends: [{service: a}]}]}]",
                "listeners[0].routes[0].match.headers: expected a list (`- item` lines, or [a, b])"
            ),
            (
                "services: {a: {endpoints: \"127.0.0.1:8081\"}}\nlisteners: []",
                "services.a.endpoints: expected a list"
            ),
            (
                "services: {a: {endpoints: []}}\nlisteners: [{address: 127.0.0.1:80, routes: [{backends: [{service: a, weight: x}]}]}]",
                "listeners[0].routes[0].backends[0].weight: expected a number"
            ),
        ]
    )
    func refusals(yaml: String, expectedProblem: String) throws {
        let error = #expect(throws: RouteTableError.self) {
            try CompiledRouteTable(try RouteTable.decode(yaml, source: "t.yaml"), source: "t.yaml")
        }
        #expect(error?.source == "t.yaml")
        #expect(error?.problems.contains { $0.hasPrefix(expectedProblem) } == true, "\(error?.problems ?? [])")
    }

    @Test(
        "unknown keys are refused, naming the file, the field path and the keys allowed there",
        arguments: [
            (
                "limts: {maxBodyBytes: 10}",
                #"limts: unknown field "limts"; check its spelling (known here: limits, listeners, services)"#
            ),
            (
                #"{"services": {"a": {"endpoint": []}}}"#,
                #"services.a.endpoint: unknown field "endpoint"; check its spelling (known here: endpoints, protocol)"#
            ),
            (
                "listeners: [{address: '127.0.0.1:1', routes: [{backends: [], mach: {}}]}]",
                #"listeners[0].routes[0].mach: unknown field "mach"; check its spelling (known here: backends, match, mirror, name, sticky)"#
            ),
            (
                "limits: {responseTimeout: 5}",
                #"limits.responseTimeout: unknown field "responseTimeout""#
            ),
        ]
    )
    func unknownKeys(text: String, expectedProblem: String) throws {
        let error = #expect(throws: RouteTableError.self) { try RouteTable.decode(text, source: "router.yaml") }
        #expect(error?.source == "router.yaml")
        #expect(error?.problems.contains { $0.hasPrefix(expectedProblem) } == true, "\(error?.problems ?? [])")
        #expect(error?.description.hasPrefix("router.yaml: invalid route table:") == true)
    }

    static let matchTable = """
        services:
          stable: {endpoints: ["127.0.0.1:1"]}
          canary: {endpoints: ["127.0.0.1:2"]}
          mirror: {endpoints: ["127.0.0.1:3"]}
        listeners:
          - address: 127.0.0.1:8080
            routes:
              - name: header-route
                match:
                  headers:
                    - {name: X-Canary, exact: "yes"}
                    - {name: X-User, prefix: "beta-"}
                    - {name: X-Team, regex: "blue|green"}
                backends: [{service: canary}]
              - name: mirror-route
                match:
                  anyOf:
                    - {method: {exact: POST}, path: {prefix: /api}}
                    - {headers: [{name: X-Debug, exact: "1"}, {name: X-Trace, regex: "[0-9]+"}]}
                backends: [{service: stable}]
                mirror: {service: mirror, percent: 100}
              - name: default
                backends: [{service: stable}]
        """

    @Test(
        "header entries are ORed; method, path and headers are ANDed within a block; blocks are ORed",
        arguments: [
            ("GET", "/", [("X-Canary", "yes")], "header-route"),
            ("GET", "/", [("x-canary", "YES")], "default"),
            ("GET", "/", [("X-User", "beta-42")], "header-route"),
            ("GET", "/", [("X-User", "alpha-beta-42")], "default"),
            ("GET", "/", [("X-Team", "green")], "header-route"),
            ("GET", "/", [("X-Team", "greenish")], "default"),
            ("GET", "/", [("X-Team", "red"), ("X-Team", "blue")], "header-route"),
            ("POST", "/api/orders", [], "mirror-route"),
            ("GET", "/api/orders", [], "default"),
            ("POST", "/web", [], "default"),
            ("GET", "/", [("X-Debug", "1"), ("X-Trace", "123")], "mirror-route"),
            ("GET", "/", [("X-Debug", "1")], "default"),
            ("GET", "/", [("X-Debug", "1"), ("X-Trace", "abc")], "default"),
        ]
    )
    func matching(method: String, path: String, headers: [(String, String)], expectedRoute: String) throws {
        let compiled = try CompiledRouteTable(try RouteTable.decode(Self.matchTable, source: "t"), source: "t")
        let listener = try #require(compiled.listeners["127.0.0.1:8080"])
        let route = listener.route(method: method, path: Substring(path), headers: HTTPHeaders(headers))
        #expect(route?.name == expectedRoute)
    }

    @Test("a compiled route picks backends by weight and endpoints round-robin")
    func compiledPicks() throws {
        let table = RouteTable(
            services: [
                "stable": ServiceDefinition(endpoints: ["127.0.0.1:1", "127.0.0.1:2"]),
                "canary": ServiceDefinition(endpoints: ["127.0.0.1:3"]),
            ],
            listeners: [
                ListenerDefinition(
                    address: "127.0.0.1:8080",
                    routes: [
                        RouteDefinition(backends: [
                            BackendReference(service: "stable", weight: 67),
                            BackendReference(service: "canary", weight: 33),
                        ])
                    ])
            ])
        let route = try #require(try CompiledRouteTable(table, source: "t").listeners["127.0.0.1:8080"]?.routes.first)
        var services: [String: Int] = [:]
        var endpoints: [String: Int] = [:]
        for _ in 0..<10_000 {
            let service = route.nextBackend()
            services[service.name, default: 0] += 1
            endpoints[service.nextEndpoint()!.key, default: 0] += 1
        }
        #expect(services == ["stable": 6_700, "canary": 3_300])
        #expect(endpoints == ["127.0.0.1:1": 3_350, "127.0.0.1:2": 3_350, "127.0.0.1:3": 3_300])
    }

    @Test("a retry skips the endpoint that failed")
    func retrySkipsFailedEndpoint() throws {
        let service = CompiledService(
            name: "s",
            endpoints: [
                UpstreamEndpoint(key: "a", address: try .init(ipAddress: "127.0.0.1", port: 1)),
                UpstreamEndpoint(key: "b", address: try .init(ipAddress: "127.0.0.1", port: 2)),
            ], stats: ServiceStats())
        for _ in 0..<5 {
            let first = try #require(service.nextEndpoint())
            #expect(service.nextEndpoint(excluding: first) != first)
        }
    }

    @Test("an endpoint that failed is passed over, unless every endpoint failed")
    func ejection() throws {
        let a = UpstreamEndpoint(key: "a", address: try .init(ipAddress: "127.0.0.1", port: 1))
        let b = UpstreamEndpoint(key: "b", address: try .init(ipAddress: "127.0.0.1", port: 2))
        let service = CompiledService(name: "s", endpoints: [a, b], stats: ServiceStats())
        service.markFailed(a)
        #expect((0..<10).map { _ in service.nextEndpoint()! } == Array(repeating: b, count: 10))
        service.markFailed(b)
        #expect(Set((0..<10).map { _ in service.nextEndpoint()!.key }) == ["a", "b"])
    }

    @Test("each event loop keeps its own counters; reads sum the loops")
    func countersPerEventLoop() throws {
        let stats = ServiceStats(shards: 2)
        #expect(stats[7] === stats[0], "a loop the registry does not know counts with the first")
        stats[0].requests.add(3, ordering: .relaxed)
        stats[1].requests.add(4, ordering: .relaxed)
        stats[0].countResponse(status: 200, nanoseconds: 800_000)
        stats[1].countResponse(status: 503, nanoseconds: 30_000_000)
        stats[1].retries.add(1, ordering: .relaxed)
        let snapshot = stats.snapshot
        #expect(snapshot.requests == 7 && snapshot.responses2xx == 1 && snapshot.responses5xx == 1)
        #expect(snapshot.retries == 1)
        #expect(snapshot.latency.count == 2)
        // Cumulative: the 0.8 ms answer is in every bucket from 1 ms, the 30 ms one from 50 ms.
        #expect(Array(snapshot.latency.cumulativeCounts.prefix(6)) == [1, 1, 1, 1, 1, 2])
        #expect(abs(snapshot.latency.sumMilliseconds - 30.8) < 0.001)
    }
}
