import AviaryLocal
import AviaryRoutes
import Foundation
import Testing

/// The router's counters as the daemon's `/metrics` shows them, checked by Prometheus' own
/// `promtool check metrics` where it is installed.
@Suite struct RouterMetricsTests {
    static let latency = LatencySnapshot(
        boundsMilliseconds: [1, 2.5, 5], cumulativeCounts: [3, 7, 9, 10], sumMilliseconds: 31.5)

    static let report = RouterStatsReport(
        generation: 4, upstreamConnections: 2,
        services: [
            "web-canary": ServiceStatsSnapshot(
                requests: 10, responses2xx: 8, responses3xx: 0, responses4xx: 0, responses5xx: 2, noEndpoint: 0,
                upstreamFailures: 1, timeouts: 0, retries: 0, mirrored: 0, mirrorFailures: 0, upgrades: 0,
                latency: latency)
        ],
        endpoints: [
            "127.0.0.1:9100": EndpointStatsSnapshot(
                requests: 10, responses2xx: 8, responses3xx: 0, responses4xx: 0, responses5xx: 1, failures: 1,
                latency: latency),
            "127.0.0.1:9200": EndpointStatsSnapshot(
                requests: 0, responses2xx: 0, responses3xx: 0, responses4xx: 0, responses5xx: 0, failures: 0,
                latency: LatencySnapshot(boundsMilliseconds: [1], cumulativeCounts: [0, 0], sumMilliseconds: 0)),
        ])

    @Test func servicesAndPodsGetCountersAndHistograms() {
        let text = RouterMetrics.exposition(
            Self.report, pods: ["127.0.0.1:9100": RouterMetrics.Pod(name: "web-abc-1", namespace: "shop")])
        for line in [
            "# TYPE aviary_router_requests_total counter",
            #"aviary_router_requests_total{service="web-canary"} 10"#,
            #"aviary_router_responses_total{service="web-canary",code="5xx"} 2"#,
            #"aviary_router_request_duration_seconds_bucket{service="web-canary",le="0.0025"} 7"#,
            #"aviary_router_request_duration_seconds_bucket{service="web-canary",le="+Inf"} 10"#,
            #"aviary_router_request_duration_seconds_sum{service="web-canary"} 0.0315"#,
            #"aviary_router_request_duration_seconds_count{service="web-canary"} 10"#,
            #"aviary_router_pod_requests_total{endpoint="127.0.0.1:9100",namespace="shop",pod="web-abc-1"} 10"#,
            #"aviary_router_pod_failures_total{endpoint="127.0.0.1:9100",namespace="shop",pod="web-abc-1"} 1"#,
            // An endpoint no pod is known for is labelled by its address alone.
            #"aviary_router_pod_requests_total{endpoint="127.0.0.1:9200"} 0"#,
        ] {
            #expect(text.contains(line + "\n"), "missing: \(line)")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/promtool"), "promtool is not installed"))
    func promtoolAcceptsTheExposition() throws {
        let text = RouterMetrics.exposition(
            Self.report, pods: ["127.0.0.1:9100": RouterMetrics.Pod(name: "web-\"quoted\"", namespace: "shop")])
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/usr/bin/promtool")
        process.arguments = ["check", "metrics"]
        let input = Pipe()
        let output = Pipe()
        process.standardInput = input
        process.standardOutput = output
        process.standardError = output
        try process.run()
        input.fileHandleForWriting.write(Data(text.utf8))
        try input.fileHandleForWriting.close()
        let said = String(decoding: output.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        #expect(process.terminationStatus == 0, "promtool: \(said)")
        #expect(!said.contains("error"), "promtool: \(said)")
    }
}
