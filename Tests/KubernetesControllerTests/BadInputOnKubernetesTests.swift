import AviaryJSON
import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// Input the controller cannot run: a Rollout with an impossible spec gets Argo's InvalidSpec
/// condition (never a crash loop), and RBAC that forbids a verb is named in one line of its log.
extension CanaryOnKubernetesTests {
    /// The seed manifest's Rollout renamed, with a blueGreen strategy beside its canary one.
    static func bothStrategies(name: String) -> String {
        manifest(image: "sample-app:v1").components(separatedBy: "---\n").last!
            .replacingOccurrences(of: "metadata: {name: sample-app}", with: "metadata: {name: \(name)}")
            + """

                blueGreen:
                  activeService: sample-app
            """
    }

    @Test func anImpossibleSpecGetsInvalidSpecWhileTheOthersRunAndAFixClearsIt() async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.kubectl(["apply", "-f", "-"], input: Self.manifest(image: "sample-app:v1"))
            try cluster.kubectl(["apply", "-f", "-"], input: Self.bothStrategies(name: "two-strategies"))
            let controller = try cluster.startController()
            let endpoints = Endpoints(address: try await cluster.endpointsAddress(log: controller.log))
            var invalid: JSONValue?
            let marked = try await eventually(within: 120) {
                invalid = try cluster.object("rollout", "two-strategies")
                return invalid?[at: "status", "phase"]?.stringValue == "Degraded"
            }
            try #require(marked, "\(invalid.map(String.init(describing:)) ?? "no rollout")")
            let conditions = invalid?[at: "status", "conditions"]?.arrayValue ?? []
            let condition = try #require(conditions.first { $0["type"]?.stringValue == "InvalidSpec" })
            #expect(condition["status"]?.stringValue == "True")
            #expect(condition["reason"]?.stringValue == "InvalidSpec")
            #expect(
                condition["message"]?.stringValue
                    == #"The Rollout "two-strategies" is invalid: spec.strategy: Invalid value: multiple strategies can not be listed"#
            )
            #expect(invalid?[at: "status", "message"]?.stringValue?.hasPrefix("InvalidSpec: ") == true)
            #expect(try cluster.list("replicasets").allSatisfy {
                $0[at: "metadata", "ownerReferences", 0, "name"]?.stringValue != "two-strategies"
            }, "nothing is created for an invalid rollout")
            // The valid rollout beside it runs, and the controller stays up.
            _ = try await waitFor("the valid rollout goes Healthy", cluster) { $0.phase == "Healthy" }
            #expect(controller.process.isRunning)
            #expect(await endpoints.text("/healthz")?.text == "ok: leading\n")

            // Fixed (the blueGreen strategy removed): the condition goes and the rollout runs.
            let fixed = Self.manifest(image: "sample-app:v1").components(separatedBy: "---\n").last!
                .replacingOccurrences(of: "metadata: {name: sample-app}", with: "metadata: {name: two-strategies}")
            try cluster.kubectl(["apply", "-f", "-"], input: fixed)
            var healed: JSONValue?
            let healthy = try await eventually(within: 120) {
                healed = try cluster.object("rollout", "two-strategies")
                return healed?[at: "status", "phase"]?.stringValue == "Healthy"
            }
            #expect(healthy, "\(healed.map(String.init(describing:)) ?? "no rollout")")
            #expect(
                (healed?[at: "status", "conditions"]?.arrayValue ?? []).allSatisfy {
                    $0["type"]?.stringValue != "InvalidSpec"
                })
        }
    }

    @Test func aForbiddenVerbIsNamedInTheLogAndTheRolloutGoesOnOnceAllowed() async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.kubectl(["apply", "-f", "-"], input: Self.manifest(image: "sample-app:v1"))
            let controller = try cluster.startController()
            _ = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            // RBAC without `create` on replicasets: the update cannot make its canary ReplicaSet.
            try await cluster.control(
                .POST, "/_double/faults", #"{"status": 403, "request": "create replicasets", "agent": "aviary"}"#)
            try cluster.kubectl(["apply", "-f", "-"], input: Self.manifest(image: "sample-app:v2"))
            var line: String?
            let logged = await eventually(within: 60) {
                let text = (try? String(contentsOfFile: controller.log, encoding: .utf8)) ?? ""
                line = text.split(separator: "\n").first { $0.contains("403 Forbidden") }
                    .map(String.init)
                return line != nil
            }
            let text = try String(contentsOfFile: controller.log, encoding: .utf8)
            try #require(logged, "no error line: \(text)")
            print("the controller's line: \(line ?? "")")
            #expect(line?.contains("create replicasets.apps") == true, "\(text)")
            #expect(line?.contains("lacks RBAC permission") == true, "\(text)")
            #expect(controller.process.isRunning)
            // The reconcile backs off rather than hammering the verb it may not use.
            try await cluster.control(.DELETE, "/_double/requests")
            try await Task.sleep(for: .seconds(10))
            let attempts = try await cluster.requestCounts()["create replicasets"] ?? 0
            print("\(attempts) attempts to create the ReplicaSet in 10 s of 403s")
            #expect(attempts <= 20, "\(attempts) creates in 10 s")
            try await cluster.control(.DELETE, "/_double/faults")
            _ = try await waitFor("once allowed the update pauses at step 1", cluster) {
                $0.stepIndex == 1 && $0.phase == "Paused" && $0.splitWeights["sample-app-canary"] == 10
            }
        }
    }
}
