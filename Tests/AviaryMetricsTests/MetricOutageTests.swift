import AviaryCore
import AviaryModel
import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryMetrics

/// Prometheus failing in every way a run can meet, through the real analysis path
/// (`AnalysisRunner` + the Prometheus provider over loopback HTTP): each case ends in the phase
/// Argo Rollouts gives it, with a message naming the metric and the cause, and nothing hangs.
@Suite("Metric outages", .serialized)
struct MetricOutageTests {
    /// How the fake Prometheus behaves: not there at all, or a handler's reply.
    enum Backend: Sendable, CustomStringConvertible {
        case refused
        case replies(LoopbackServer.Reply)

        var description: String {
            switch self {
            case .refused: return "refused"
            case .replies(.hang): return "hang"
            case .replies(.respond(let status, let body, _)): return "\(status) \(body.prefix(40))"
            }
        }
    }

    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var backend: Backend
        var phase: AnalysisPhase
        /// Text the run's message must contain besides the metric's name (any one of them).
        var cause: String
        var otherCause: String?
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "Prometheus down", backend: .refused, phase: .error,
            cause: "/api/v1/query\": connect: connection refused"),
        // The HTTP client's timeout, or the runner's bound (timeout + 1 s) on a loaded machine.
        Case(
            name: "slower than the timeout", backend: .replies(.hang), phase: .error,
            cause: "/api/v1/query\": timeout awaiting response", otherCause: "measurement timed out after 2s"),
        Case(
            name: "not JSON", backend: .replies(.respond(status: 200, body: "hello", contentType: "text/plain")),
            phase: .error, cause: "Prometheus answer is not understood: the body is not JSON"),
        Case(
            name: "JSON of the wrong shape", backend: .replies(.respond(status: 200, body: "[1, 2]")), phase: .error,
            cause: "Prometheus answer is not understood: the body is not a JSON object"),
        Case(
            name: "a vector that is not a list",
            backend: .replies(
                .respond(status: 200, body: #"{"status":"success","data":{"resultType":"vector","result":{"a":1}}}"#)),
            phase: .error, cause: "Prometheus answer is not understood: vector result is not a list"),
        Case(
            name: "an HTML error page",
            backend: .replies(
                .respond(
                    status: 502, body: "<html><body><h1>502 Bad Gateway</h1></body></html>",
                    contentType: "text/html")),
            phase: .error, cause: "Prometheus answered HTTP 502: <html><body><h1>502 Bad Gateway</h1></body></html>"),
        Case(
            name: "HTTP 500 with a body",
            backend: .replies(.respond(status: 500, body: "internal error", contentType: "text/plain")),
            phase: .error, cause: "Prometheus answered HTTP 500: internal error"),
        Case(
            name: "HTTP 503 with a body",
            backend: .replies(.respond(status: 503, body: "Service Unavailable", contentType: "text/plain")),
            phase: .error, cause: "Prometheus answered HTTP 503: Service Unavailable"),
        // NaN, an empty vector and +Inf are answers a real Prometheus gives: PrometheusAnswerTests.
    ]

    @Test(arguments: cases)
    func outage(_ outage: Case) async throws {
        var server: LoopbackServer?
        let address: String
        switch outage.backend {
        case .refused:
            address = "http://127.0.0.1:\(freeLoopbackPort())"
        case .replies(let reply):
            let started = try LoopbackServer { _ in reply }
            server = started
            address = started.url
        }
        defer { server?.stop() }
        // consecutiveErrorLimit 0: the first error decides (Argo's default 4 retries every 10 s first).
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
                    address: \(address)
                    query: sum(rate(response_status[1m]))
                    timeout: 1
            """)
        let run = try AnalysisTemplateResolver.makeRun(
            name: "outage", references: [AnalysisTemplateRef(templateName: "success-rate")],
            catalog: AnalysisTemplateCatalog(templates: [spec]))
        let finished = await AnalysisRunner(provider: MetricProviders()).run(run)
        #expect(finished.status?.phase == outage.phase, "\(finished.status?.message ?? "")")
        #expect(finished.status?.metricResults?.first?.measurements?.last != nil)
        let message = finished.status?.message ?? ""
        #expect(message.contains("Metric \"success-rate\" assessed \(outage.phase.rawValue)"), "\(message)")
        #expect(message.contains(outage.cause) || outage.otherCause.map(message.contains) == true, "\(message)")
    }
}
