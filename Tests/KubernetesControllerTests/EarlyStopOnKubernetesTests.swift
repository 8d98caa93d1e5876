import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// The `aviary.dev/early-stop` annotation on a cluster: the template's annotation reaches the
/// AnalysisRun, the looks' counts come from Prometheus, and a stop fails the metric and aborts
/// the update before the metric's first measurement, in Argo's status shape.
extension CanaryOnKubernetesTests {
    /// Answers the early-stop policy's error count with 60 and its request count with 300 (20%
    /// errors), and the metric's own success rate with 0.99.
    static func countingPrometheus() throws -> LoopbackServer {
        try LoopbackServer { request in
            guard request.path.hasPrefix("/api/v1/query") else {
                return .respond(status: 404, body: #"{"status":"error","error":"not here"}"#)
            }
            let raw = request.path.split(separator: "?").dropFirst().first.map(String.init) ?? request.body
            let query = (raw.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? raw)
            let value = query.contains("status!~") ? "60" : query.contains("/") ? "0.99" : "300"
            return .respond(
                status: 200,
                body: #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["#
                    + "\(Date().timeIntervalSince1970),\"\(value)\"]}]}}")
        }
    }

    static func earlyStopManifest(image: String, prometheus: String) -> String {
        rollout(image: image, analysedBy: "success-rate-early-stop") + """

            ---
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata:
              name: success-rate-early-stop
              annotations:
                aviary.dev/early-stop: |
                  success-rate:
                    errors: sum(response_status{app="sample-app",role="canary",status!~"2.."})
                    total: sum(response_status{app="sample-app",role="canary"})
                    maxErrorRate: 0.05
                    interval: 1s
            spec:
              metrics:
              - name: success-rate
                initialDelay: 60s
                interval: 10s
                count: 3
                successCondition: result[0] >= 0.95
                provider:
                  prometheus:
                    address: \(prometheus)
                    query: sum(response_status{app="sample-app",role="canary",status=~"2.*"})/sum(response_status{app="sample-app",role="canary"})
            """
    }

    @Test func anEarlyStopAbortsTheUpdateBeforeTheFirstMeasurement() async throws {
        let prometheus = try Self.countingPrometheus()
        defer { prometheus.stop() }
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.kubectl(
                ["apply", "-f", "-"], input: Self.earlyStopManifest(image: "sample-app:v1", prometheus: prometheus.url))
            try cluster.startController()
            let first = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            try cluster.kubectl(
                ["apply", "-f", "-"], input: Self.earlyStopManifest(image: "sample-app:v2", prometheus: prometheus.url))
            let ended = try await waitFor("the early stop aborts the update", cluster) {
                $0.phase == "Degraded" && $0.splitWeights["sample-app-canary"] == 0
            }
            #expect(ended.stableHash == first.stableHash)
            let message = ended.status["message"]?.stringValue ?? ""
            #expect(
                message.contains("due to earlyStop: the error rate is above 0.05 (α 0.01): 60 errors in 300 requests"),
                "\(message)")

            let runs = try analysisRuns(cluster)
            try #require(runs.count == 1, "\(runs)")
            let run = runs[0]
            #expect(
                run[at: "metadata", "annotations", "aviary.dev/early-stop"]?.stringValue?.contains("maxErrorRate")
                    == true)
            #expect(run[at: "status", "phase"]?.stringValue == "Failed")
            let result = try #require(run[at: "status", "metricResults", 0])
            #expect(
                result["measurements"]?.arrayValue?.isEmpty ?? true, "stopped before the first measurement: \(result)")
            #expect(
                result[at: "metadata", "aviary.dev/early-stop-stopped"]?.stringValue?.hasPrefix("the error rate")
                    == true)
            let schema = try StructuralSchema.argo("analysis-run-crd.yaml", field: "status")
            #expect(schema.problems(of: run["status"] ?? [:]) == [])
        }
    }
}
