import AviaryJSON
import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Synchronization
import Testing

/// The seed's analysis on a cluster: the `success-rate` template's Prometheus query, answered by a
/// Prometheus test server (the double runs no pods for a real Prometheus to scrape), gates a step.
/// The AnalysisRun is a resource with Argo's status shape.
extension CanaryOnKubernetesTests {
    /// A `/api/v1/query` server that answers `successRate` for every query and records the queries.
    final class PrometheusAnswer: Sendable {
        /// The queries received, in order.
        final class Queries: Sendable {
            private let list = Mutex<[String]>([])
            func append(_ query: String) { list.withLock { $0.append(query) } }
            var first: String? { list.withLock { $0.first } }
        }

        let queries = Queries()
        let server: LoopbackServer

        init(successRate: String) throws {
            let queries = self.queries
            server = try LoopbackServer { request in
                guard request.path.hasPrefix("/api/v1/query") else {
                    return .respond(status: 404, body: #"{"status":"error","error":"not here"}"#)
                }
                let query = (request.path.split(separator: "?").dropFirst().first.map(String.init) ?? request.body)
                queries.append(query.removingPercentEncoding ?? query)
                let now = Date().timeIntervalSince1970
                return .respond(
                    status: 200,
                    body: #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":["#
                        + "\(now),\"\(successRate)\"]}]}}")
            }
        }
    }

    static func analysedManifest(image: String, prometheus: String) -> String {
        let steps = ["- setWeight: 10", "- pause: {}", "- setWeight: 33", "- pause: {}"]
        let analysed = [
            "- setWeight: 10", "- analysis:", "    templates:", "    - templateName: success-rate", "    args:",
            "    - name: service-name", "      value: sample-app", "- setWeight: 33",
        ]
        func indented(_ lines: [String]) -> String { lines.map { "      " + $0 }.joined(separator: "\n") }
        let rollout = manifest(image: image).replacingOccurrences(of: indented(steps), with: indented(analysed))
        precondition(rollout.contains("templateName: success-rate"), "the seed manifest's steps changed")
        return rollout + """

            ---
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata: {name: success-rate}
            spec:
              args:
              - name: service-name
              metrics:
              - name: success-rate
                interval: 1s
                count: 3
                failureLimit: 0
                successCondition: result[0] >= 0.95
                provider:
                  prometheus:
                    address: \(prometheus)
                    query: sum(response_status{app="{{args.service-name}}",role="canary",status=~"2.*"})/sum(response_status{app="{{args.service-name}}",role="canary"})
            """
    }

    /// The AnalysisRuns owned by the rollout.
    func analysisRuns(_ cluster: ClusterUnderTest) throws -> [JSONValue] {
        try cluster.list("analysisruns").filter {
            $0[at: "metadata", "ownerReferences", 0, "name"]?.stringValue == "sample-app"
        }
    }

    @Test(arguments: [("0.99", true), ("0.5", false)])
    func theSeedAnalysisGatesTheStep(successRate: String, passes: Bool) async throws {
        let prometheus = try PrometheusAnswer(successRate: successRate)
        defer { prometheus.server.stop() }
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.kubectl(
                ["apply", "-f", "-"], input: Self.analysedManifest(image: "sample-app:v1", prometheus: prometheus.server.url))
            try cluster.startController()
            let first = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            let stable = try #require(first.stableHash)
            try cluster.kubectl(
                ["apply", "-f", "-"], input: Self.analysedManifest(image: "sample-app:v2", prometheus: prometheus.server.url))
            let ended: View
            if passes {
                ended = try await waitFor("a passing analysis lets the update finish", cluster) {
                    $0.phase == "Healthy" && $0.stableHash != stable && $0.stableHash == $0.currentHash
                }
            } else {
                ended = try await waitFor("a failing analysis aborts the update", cluster) {
                    $0.phase == "Degraded" && $0.splitWeights["sample-app-canary"] == 0
                }
                #expect(ended.stableHash == stable)
                #expect(ended.status["abort"] == .bool(true))
                #expect(ended.status["message"]?.stringValue?.contains("success-rate") == true, "\(ended)")
            }
            #expect(ended.canaryWeight ?? 0 == 0)
            // The AnalysisRun: a resource owned by the rollout, with Argo's status shape.
            let runs = try analysisRuns(cluster)
            try #require(runs.count == 1, "\(runs)")
            let run = runs[0]
            #expect(run[at: "metadata", "ownerReferences", 0, "kind"]?.stringValue == "Rollout")
            #expect(run[at: "metadata", "ownerReferences", 0, "controller"] == .bool(true))
            #expect(run[at: "spec", "args", 0, "value"]?.stringValue == "sample-app")
            #expect(run[at: "status", "phase"]?.stringValue == (passes ? "Successful" : "Failed"))
            let result = try #require(run[at: "status", "metricResults", 0])
            #expect(result["name"]?.stringValue == "success-rate")
            #expect(result["phase"]?.stringValue == (passes ? "Successful" : "Failed"))
            let measurements = result["measurements"]?.arrayValue ?? []
            #expect(measurements.count == (passes ? 3 : 1), "\(result)")
            #expect(measurements.first?["value"]?.stringValue == "[\(successRate)]", "\(result)")
            #expect(measurements.first?["startedAt"]?.stringValue?.hasSuffix("Z") == true)
            #expect(result[passes ? "successful" : "failed"]?.integerValue == (passes ? 3 : 1))
            let schema = try StructuralSchema.argo("analysis-run-crd.yaml", field: "status")
            #expect(schema.problems(of: run["status"] ?? [:]) == [])
            // The query went out with the argument filled in.
            let query = try #require(prometheus.queries.first)
            #expect(query.contains(#"response_status{app="sample-app",role="canary""#), "\(query)")
        }
    }
}

/// A `valueFrom.secretKeyRef` argument on a cluster: read from a Secret of the run's namespace.
extension CanaryOnKubernetesTests {
    /// The seed canary with the analysis of `template` as the step between `setWeight: 10` and
    /// `setWeight: 33` (in place of the two pauses).
    static func rollout(image: String, analysedBy template: String) -> String {
        let steps = ["- setWeight: 10", "- pause: {}", "- setWeight: 33", "- pause: {}"]
        let analysed = [
            "- setWeight: 10", "- analysis:", "    templates:", "    - templateName: \(template)", "- setWeight: 33",
        ]
        func indented(_ lines: [String]) -> String { lines.map { "      " + $0 }.joined(separator: "\n") }
        let rollout = manifest(image: image).replacingOccurrences(of: indented(steps), with: indented(analysed))
        precondition(rollout.contains("templateName: \(template)"), "the seed manifest's steps changed")
        return rollout
    }

    static func secretManifest(image: String, url: String) -> String {
        rollout(image: image, analysedBy: "authorised") + """

            ---
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata: {name: authorised}
            spec:
              # As in Argo, the template's argument names the Secret (a rollout's analysis arguments
              # cannot): its value is read from the run's namespace when the run starts.
              args:
              - name: token
                valueFrom:
                  secretKeyRef: {name: web-token, key: token}
              metrics:
              - name: authorised
                count: 1
                successCondition: result == 1
                provider:
                  web:
                    url: \(url)/check
                    headers:
                    - key: Authorization
                      value: "Bearer {{args.token}}"
                    jsonPath: "{$.ok}"
            """
    }

    @Test(arguments: [true, false])
    func aSecretKeyRefArgumentIsReadFromTheNamespacesSecret(secretExists: Bool) async throws {
        let server = try LoopbackServer { request in
            request.headers["authorization"] == "Bearer s3cret-value"
                ? .respond(status: 200, body: #"{"ok": 1}"#) : .respond(status: 401, body: #"{"ok": 0}"#)
        }
        defer { server.stop() }
        try await withCluster { cluster in
            try cluster.installCRDs()
            if secretExists {
                try cluster.kubectl(["create", "secret", "generic", "web-token", "--from-literal=token=s3cret-value"])
            }
            try cluster.kubectl(["apply", "-f", "-"], input: Self.secretManifest(image: "sample-app:v1", url: server.url))
            try cluster.startController()
            let first = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            try cluster.kubectl(["apply", "-f", "-"], input: Self.secretManifest(image: "sample-app:v2", url: server.url))
            if secretExists {
                _ = try await waitFor("the authorised analysis lets the update finish", cluster) {
                    $0.phase == "Healthy" && $0.stableHash != first.stableHash
                }
            } else {
                _ = try await waitFor("the analysis without its Secret aborts the update", cluster) {
                    $0.phase == "Degraded" && $0.stableHash == first.stableHash
                }
            }
            let run = try #require(try analysisRuns(cluster).first)
            let text = run.serializedString()
            #expect(!text.contains("s3cret-value"), "the secret's value is never written: \(text)")
            if secretExists {
                #expect(run[at: "status", "phase"]?.stringValue == "Successful", "\(text)")
            } else {
                #expect(run[at: "status", "phase"]?.stringValue == "Error", "\(text)")
                let message = run[at: "status", "message"]?.stringValue ?? ""
                #expect(message.contains(#"secret "web-token" has no key "token""#), "\(message)")
                #expect(message.contains(#"namespace "default""#), "\(message)")
            }
        }
    }
}
