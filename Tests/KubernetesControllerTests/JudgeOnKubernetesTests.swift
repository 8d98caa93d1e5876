import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// The `aviary.dev/judge` metric plugin on a cluster: its range queries go to Prometheus, the
/// report is the measurement's value in Argo's status shape, and a slower canary aborts the update.
extension CanaryOnKubernetesTests {
    /// Answers every range query with 20 points around 100 ms, 30% more when the query is the
    /// canary's.
    static func rangePrometheus() throws -> LoopbackServer {
        try LoopbackServer { request in
            guard request.path.hasPrefix("/api/v1/query_range") else {
                return .respond(status: 404, body: #"{"status":"error","error":"not here"}"#)
            }
            let raw = request.path.split(separator: "?").dropFirst().first.map(String.init) ?? request.body
            let query = raw.replacingOccurrences(of: "+", with: " ").removingPercentEncoding ?? raw
            let scale = query.contains("canary") ? 1.3 : 1.0
            let now = Date().timeIntervalSince1970
            let points = (0..<20).map { index in
                "[\(now - Double(20 - index)),\"\(0.1 * scale * (1 + 0.05 * sin(Double(index))))\"]"
            }
            return .respond(
                status: 200,
                body: #"{"status":"success","data":{"resultType":"matrix","result":[{"metric":{},"values":["#
                    + points.joined(separator: ",") + "]}]}}")
        }
    }

    static func judgedManifest(image: String, prometheus: String) -> String {
        rollout(image: image, analysedBy: "canary-judge") + """

            ---
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata: {name: canary-judge}
            spec:
              metrics:
              - name: judge
                provider:
                  plugin:
                    aviary.dev/judge:
                      address: \(prometheus)
                      lookback: 20s
                      step: 1s
                      metrics:
                      - name: latency
                        canary: avg(latency_seconds{role="canary"})
                        baseline: avg(latency_seconds{role="stable"})
                        direction: increase
            """
    }

    @Test func theJudgeAbortsASlowerCanaryAndItsReportIsTheMeasurement() async throws {
        let prometheus = try Self.rangePrometheus()
        defer { prometheus.stop() }
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.kubectl(
                ["apply", "-f", "-"], input: Self.judgedManifest(image: "sample-app:v1", prometheus: prometheus.url))
            try cluster.startController()
            _ = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            try cluster.kubectl(
                ["apply", "-f", "-"], input: Self.judgedManifest(image: "sample-app:v2", prometheus: prometheus.url))
            let ended = try await waitFor("the judge aborts the update", cluster) {
                $0.phase == "Degraded" && $0.splitWeights["sample-app-canary"] == 0
            }
            let message = ended.status["message"]?.stringValue ?? ""
            #expect(message.contains("Metric \"judge\" assessed Failed"), "\(message)")

            let runs = try analysisRuns(cluster)
            try #require(runs.count == 1, "\(runs)")
            let measurement = try #require(runs[0][at: "status", "metricResults", 0, "measurements", 0])
            #expect(measurement["phase"]?.stringValue == "Failed")
            #expect(measurement["message"]?.stringValue == "judge: Fail (score 0): latency High")
            let value = try #require(measurement["value"]?.stringValue)
            let report = try #require(try JSONSerialization.jsonObject(with: Data(value.utf8)) as? [String: Any])
            #expect(report["classification"] as? String == "Fail")
            let metrics = try #require(report["metrics"] as? [[String: Any]])
            #expect(metrics.first?["classification"] as? String == "High")
            #expect((metrics.first?["canary"] as? [String: Any])?["count"] as? Int == 20)
            let schema = try StructuralSchema.argo("analysis-run-crd.yaml", field: "status")
            #expect(schema.problems(of: runs[0]["status"] ?? [:]) == [])
        }
    }
}
