import AviaryCore
import AviaryModel
import AviaryTestSupport
import Foundation
import Synchronization
import Testing

@testable import AviaryMetrics

/// An exporter of `latency_seconds` gauges that take a new value at every scrape: around 100 ms
/// for `stable` and `twin`, 30% more for `slow`.
final class LatencyExporter: Sendable {
    private final class State: Sendable {
        let seed = Mutex<UInt64>(7)
    }

    private let state = State()
    let server: LoopbackServer

    init() throws {
        let state = self.state
        server = try LoopbackServer { _ in
            let values = state.seed.withLock { seed in
                (0..<9).map { _ in
                    seed = seed &* 6_364_136_223_846_793_005 &+ 1_442_695_040_888_963_407
                    return Double(seed >> 11) / Double(1 << 53)
                }
            }
            let draw = { (offset: Int, scale: Double) in
                0.1 * scale * exp(0.2 * (values[offset] + values[offset + 1] + values[offset + 2] - 1.5))
            }
            return .respond(
                status: 200,
                body: """
                    # TYPE latency_seconds gauge
                    latency_seconds{role="stable"} \(draw(0, 1))
                    latency_seconds{role="twin"} \(draw(3, 1))
                    latency_seconds{role="slow"} \(draw(6, 1.3))

                    """, contentType: "text/plain; version=0.0.4")
        }
    }
}

@Suite(
    "The judge plugin against a real Prometheus", .serialized,
    .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct JudgeProviderTests {
    func judgeMetric(_ address: String, extra: String = "", metrics: String) -> Metric {
        metric(
            """
            - name: judge
              provider:
                plugin:
                  aviary.dev/judge:
                    address: \(address)
                    lookback: 40s
                    step: 1s
            \(extra)
                    metrics:
            \(metrics)
            """)
    }

    /// The phase, value and message the judge decided; a failure when it did not decide.
    func decision(_ metric: Metric) async throws -> (AnalysisPhase, String?, String?) {
        let outcome = await MetricProviders().measure(request(metric))
        guard case .phase(let phase, let display, let message, _) = outcome else {
            throw JudgeDidNotDecide(outcome: "\(outcome)")
        }
        return (phase, display, message)
    }

    struct JudgeDidNotDecide: Error {
        var outcome: String
    }

    @Test func aSlowerCanaryFailsATwinPassesAndShortWindowsAreInconclusive() async throws {
        let exporter = try LatencyExporter()
        defer { exporter.server.stop() }
        let prometheus = try PrometheusServer(scraping: "127.0.0.1:\(exporter.server.port)")
        defer { prometheus.destroy() }
        try await prometheus.waitFor(#"count_over_time(latency_seconds{role="stable"}[60s])"#) { $0 >= 25 }

        let slow = judgeMetric(
            prometheus.address,
            metrics: """
                        - name: latency
                          canary: latency_seconds{role="slow"}
                          baseline: latency_seconds{role="stable"}
                          direction: increase
                """)
        let (phase, display, message) = try await decision(slow)
        #expect(phase == .failed)
        #expect(message == "judge: Fail (score 0): latency High")
        let report = try JSONDecoder().decode(JudgeReport.self, from: Data((display ?? "").utf8))
        #expect(report.metrics[0].canary.count >= 25 && report.metrics[0].baseline.count >= 25)
        #expect((report.metrics[0].ratio ?? 0) > 1.15)

        let twin = judgeMetric(
            prometheus.address,
            metrics: """
                        - name: latency
                          canary: latency_seconds{role="twin"}
                          baseline: latency_seconds{role="stable"}
                        - name: reverse
                          canary: latency_seconds{role="stable"}
                          baseline: latency_seconds{role="twin"}
                        - name: absent
                          canary: latency_seconds{role="none"}
                          baseline: latency_seconds{role="stable"}
                """)
        let (twinPhase, _, twinMessage) = try await decision(twin)
        // One metric of three without data is under half: its group counts as no data, the others pass.
        #expect(twinPhase == .successful, "\(twinMessage ?? "")")
        #expect(twinMessage == "judge: Pass (score 100): absent Nodata")

        let short = judgeMetric(
            prometheus.address, extra: "        minSamples: 500",
            metrics: """
                        - name: latency
                          canary: latency_seconds{role="twin"}
                          baseline: latency_seconds{role="stable"}
                """)
        let (shortPhase, _, shortMessage) = try await decision(short)
        #expect(shortPhase == .inconclusive)
        #expect(shortMessage?.hasPrefix("judge: Inconclusive; too few points: latency: canary n=") == true)
        #expect(shortMessage?.hasSuffix(" < 500") == true)
    }

    @Test func aQueryThatFailsNamesTheMetricAndTheSide() async throws {
        let exporter = try LatencyExporter()
        defer { exporter.server.stop() }
        let prometheus = try PrometheusServer(scraping: "127.0.0.1:\(exporter.server.port)")
        defer { prometheus.destroy() }
        try await prometheus.waitFor(#"count_over_time(latency_seconds{role="stable"}[60s])"#) { $0 >= 1 }
        let broken = judgeMetric(
            prometheus.address,
            metrics: """
                        - name: latency
                          canary: latency_seconds{role="slow"}
                          baseline: latency_seconds{role=
                """)
        let outcome = await MetricProviders().measure(request(broken))
        guard case .error(let message) = outcome else {
            Issue.record("a bad query was not an Error: \(outcome)")
            return
        }
        #expect(message.hasPrefix("aviary.dev/judge metric latency, baseline query: "), "\(message)")
        #expect(message.contains("parse error"), "\(message)")

        let misconfigured = judgeMetric(
            prometheus.address, extra: "        confidence: 2", metrics: "          - name: x")
        #expect(
            await MetricProviders().measure(request(misconfigured))
                == .error("plugin aviary.dev/judge: confidence: must be below 1 (e.g. 0.98 for a 98% interval)"))
    }
}
