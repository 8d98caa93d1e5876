import AviaryCore
import AviaryJSON
import AviaryKubernetes
import AviaryServer
import AviaryTestSupport
import Foundation
import Testing

/// A job metric on a cluster, as Argo runs it: a `batch/v1` Job in the run's namespace, named
/// `RUN-UID.METRIC.1`, owned by the AnalysisRun, with Argo's annotations and uid label and the
/// template's own labels. The double has no Job controller, so the test plays it: it sets the
/// Job's status through the status subresource, as the Job controller would.
extension CanaryOnKubernetesTests {
    static func jobManifest(image: String) -> String {
        rollout(image: image, analysedBy: "smoke-test") + """

            ---
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata: {name: smoke-test}
            spec:
              metrics:
              - name: smoke
                provider:
                  job:
                    metadata:
                      labels: {team: checkout}
                      annotations: {note: from-the-template}
                    spec:
                      backoffLimit: 1
                      template:
                        spec:
                          restartPolicy: Never
                          containers:
                          - name: smoke
                            image: curlimages/curl:8.5.0
                            command: [curl, -fsS, http://sample-app-canary/healthz]
            """
    }

    @Test(arguments: [("Complete", true), ("Failed", false)])
    func aJobMetricRunsAsAJobOwnedByItsRun(condition: String, passes: Bool) async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.kubectl(["apply", "-f", "-"], input: Self.jobManifest(image: "sample-app:v1"))
            try cluster.startController()
            let first = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            #expect(try cluster.list("jobs").isEmpty, "no Job before an analysis runs")
            try cluster.kubectl(["apply", "-f", "-"], input: Self.jobManifest(image: "sample-app:v2"))

            var jobs: [JSONValue] = []
            let created = try await eventually(within: 120) {
                jobs = try cluster.list("jobs")
                return !jobs.isEmpty
            }
            try #require(created, "the analysis step creates a Job")
            #expect(jobs.count == 1)
            let job = jobs[0]
            let run = try #require(try analysisRuns(cluster).first)
            let runName = try #require(run[at: "metadata", "name"]?.stringValue)
            let uid = try #require(run[at: "metadata", "uid"]?.stringValue)
            let name = try #require(job[at: "metadata", "name"]?.stringValue)
            #expect(name == "\(uid).smoke.1")
            #expect(job[at: "metadata", "ownerReferences", 0, "kind"]?.stringValue == "AnalysisRun")
            #expect(job[at: "metadata", "ownerReferences", 0, "uid"]?.stringValue == uid)
            #expect(job[at: "metadata", "ownerReferences", 0, "controller"] == .bool(true))
            #expect(job[at: "metadata", "labels", "analysisrun.argoproj.io/uid"]?.stringValue == uid)
            #expect(job[at: "metadata", "labels", "team"]?.stringValue == "checkout")
            #expect(job[at: "metadata", "annotations", "analysisrun.argoproj.io/name"]?.stringValue == runName)
            #expect(job[at: "metadata", "annotations", "analysisrun.argoproj.io/metric-name"]?.stringValue == "smoke")
            #expect(job[at: "metadata", "annotations", "note"]?.stringValue == "from-the-template")
            #expect(job[at: "spec", "backoffLimit"]?.integerValue == 1)
            #expect(job[at: "spec", "template", "spec", "containers", 0, "image"]?.stringValue == "curlimages/curl:8.5.0")
            try await Task.sleep(for: .seconds(3))
            #expect(try view(cluster)?.stableHash == first.stableHash, "the step waits while the Job runs")

            // The Job controller's part: the Job finishes.
            let status =
                passes
                ? #"{"status":{"succeeded":1,"conditions":[{"type":"Complete","status":"True"}]}}"#
                : #"{"status":{"failed":2,"conditions":[{"type":"Failed","status":"True","reason":"BackoffLimitExceeded","message":"Job has reached the specified backoff limit"}]}}"#
            try cluster.kubectl(["patch", "job", name, "--subresource=status", "--type=merge", "-p", status])
            if passes {
                _ = try await waitFor("a completed Job lets the update finish", cluster) {
                    $0.phase == "Healthy" && $0.stableHash != first.stableHash
                }
            } else {
                _ = try await waitFor("a failed Job aborts the update", cluster) {
                    $0.phase == "Degraded" && $0.stableHash == first.stableHash
                }
            }
            let finished = try #require(try analysisRuns(cluster).first)
            let result = try #require(finished[at: "status", "metricResults", 0])
            #expect(result["phase"]?.stringValue == (passes ? "Successful" : "Failed"), "\(result)")
            let measurement = try #require(result["measurements"]?.arrayValue?.first)
            #expect(measurement[at: "metadata", "job-name"]?.stringValue == name, "\(measurement)")
            if !passes {
                #expect(measurement["message"]?.stringValue?.contains("BackoffLimitExceeded") == true, "\(measurement)")
            }
        }
    }
}

/// The Job of a job metric and how its status reads, as tables.
@Suite struct MetricJobTests {
    @Test(arguments: [
        ("4b894e38-a358-40f7-a75b-eabc0af35d39", "smoke", 1, "4b894e38-a358-40f7-a75b-eabc0af35d39.smoke.1"),
        (nil, "Load_Test", 3, "run-1.load-test.3"),
        (
            "4b894e38-a358-40f7-a75b-eabc0af35d39", "a-very-long-metric-name-that-goes-on-and-on", 12,
            "4b894e38-a358-40f7-a75b-eabc0af35d39.a-very-long-metric-name.12"
        ),
    ] as [(String?, String, Int, String)])
    func jobNamesAreArgosShortenedToALabel(uid: String?, metric: String, number: Int, expected: String) {
        let name = MetricJob.name(runUID: uid, runName: "run-1", metric: metric, number: number)
        #expect(name == expected)
        #expect(name.count <= 63)
    }

    static func job(_ conditions: String) throws -> KubernetesObject {
        try KubernetesObject(
            json: JSONValue(parsing: Data(#"{"metadata":{"name":"j"},"status":{"conditions":\#(conditions)}}"#.utf8)))
    }

    @Test(arguments: [
        ("[]", nil),
        (#"[{"type":"Suspended","status":"True"}]"#, nil),
        (#"[{"type":"Complete","status":"False"}]"#, nil),
        (#"[{"type":"Complete","status":"True"}]"#, ProviderOutcome.phase(.successful, message: "job j completed", metadata: ["job-name": "j"])),
        (
            #"[{"type":"Failed","status":"True","reason":"DeadlineExceeded","message":"Job was active longer than specified deadline"}]"#,
            ProviderOutcome.phase(
                .failed, message: "job j failed (DeadlineExceeded: Job was active longer than specified deadline)",
                metadata: ["job-name": "j"])
        ),
    ] as [(String, ProviderOutcome?)])
    func aJobsConditionsGiveTheMeasurement(conditions: String, expected: ProviderOutcome?) throws {
        #expect(MetricJob.outcome(of: try Self.job(conditions)) == expected)
    }
}
