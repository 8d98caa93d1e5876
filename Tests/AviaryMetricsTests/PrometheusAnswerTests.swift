import AviaryCore
import AviaryModel
import Foundation
import Testing

@testable import AviaryMetrics

/// The answers of a healthy Prometheus that a success condition cannot simply compare: NaN, an
/// empty vector and +Inf, asked of a real Prometheus through the real analysis path, each ending
/// in the phase Argo Rollouts gives it.
@Suite(
    "Awkward answers of a real Prometheus", .serialized,
    .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct PrometheusAnswerTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var query: String
        var phase: AnalysisPhase
        /// Text the run's message must contain; for a Successful run, the measurement's value.
        var expected: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(name: "NaN", query: "vector(NaN)", phase: .failed, expected: "failed (1) > failureLimit (0)"),
        Case(
            name: "an empty vector", query: "vector(1) > 2", phase: .error,
            expected: "metric result is nil or empty: no data returned from the metric provider"),
        Case(name: "+Inf", query: "vector(+Inf)", phase: .successful, expected: "[+Inf]"),
    ]

    @Test func eachAnswerEndsInItsPhase() async throws {
        // Nothing to scrape: the queries are constant expressions Prometheus evaluates itself.
        let prometheus = try PrometheusServer(scraping: "127.0.0.1:1")
        defer { prometheus.destroy() }
        try await prometheus.waitFor("vector(1)") { $0 == 1 }
        for answer in Self.cases {
            let spec = template(
                """
                apiVersion: argoproj.io/v1alpha1
                kind: AnalysisTemplate
                metadata:
                  name: success-rate
                spec:
                  metrics:
                  - name: success-rate
                    consecutiveErrorLimit: 0
                    successCondition: result[0] >= 0.95
                    provider:
                      prometheus:
                        address: \(prometheus.address)
                        query: '\(answer.query)'
                """)
            let run = try AnalysisTemplateResolver.makeRun(
                name: "answer", references: [AnalysisTemplateRef(templateName: "success-rate")],
                catalog: AnalysisTemplateCatalog(templates: [spec]))
            let finished = await AnalysisRunner(provider: MetricProviders()).run(run)
            let message = finished.status?.message ?? ""
            #expect(finished.status?.phase == answer.phase, "\(answer.name): \(message)")
            if answer.phase == .successful {
                #expect(finished.status?.metricResults?.first?.measurements?.last?.value == answer.expected)
            } else {
                #expect(
                    message.contains("Metric \"success-rate\" assessed \(answer.phase.rawValue)"),
                    "\(answer.name): \(message)")
                #expect(message.contains(answer.expected), "\(answer.name): \(message)")
            }
        }
    }
}
