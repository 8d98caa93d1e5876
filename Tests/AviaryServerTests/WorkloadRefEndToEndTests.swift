import AviaryTestSupport
import Foundation
import Testing

/// `workloadRef` on one host (#24): a Rollout that takes its pod template from a Deployment applied
/// to the daemon beside it, as a team migrating from a Deployment writes it for Argo. The daemon
/// runs on the simulated platform.
@Suite(.serialized) struct WorkloadRefEndToEndTests {
    static func deployment(image: String) -> String {
        """
        apiVersion: apps/v1
        kind: Deployment
        metadata: {name: web, namespace: shop}
        spec:
          replicas: 3
          strategy: {type: RollingUpdate}
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: web, image: "\(image)"}]
        """
    }

    static let rollout = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: web, namespace: shop}
        spec:
          replicas: 2
          workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web, scaleDown: onsuccess}
          strategy:
            canary:
              steps: [{setWeight: 50}, {pause: {}}]
        """

    static func rolloutState(_ daemon: Daemon) async -> (phase: String?, step: Int?, images: Set<String>) {
        let status = (await daemon.call(.GET, "/api/v1/rollouts/web?namespace=shop"))?.json["status"] as? [String: Any]
        let replicaSets =
            (await daemon.call(.GET, "/api/v1/replicasets?namespace=shop&rollout=web"))?.json["replicaSets"]
            as? [[String: Any]]
            ?? []
        let images = replicaSets.filter { ($0["replicas"] as? Int ?? 0) > 0 }.flatMap {
            $0["images"] as? [String] ?? []
        }
        return (status?["phase"] as? String, status?["currentStepIndex"] as? Int, Set(images))
    }

    static func deploymentReplicas(_ daemon: Daemon) async -> Int? {
        let deployment = (await daemon.call(.GET, "/api/v1/deployments/web?namespace=shop"))?.json
        return (deployment?["spec"] as? [String: Any])?["replicas"] as? Int
    }

    @Test func aRolloutRunsItsDeploymentsTemplateAndScalesTheDeploymentDown() async throws {
        try await Daemon.run(extraArguments: ["--platform", "simulated"]) { daemon in
            let file = daemon.stateDirectory + "/web.yaml"
            try (Self.deployment(image: "web:1") + "\n---\n" + Self.rollout).write(
                toFile: file, atomically: true, encoding: .utf8)
            let applied = try daemon.cli(["apply", "-f", file])
            #expect(applied.status == 0, "\(applied.output)")
            #expect(applied.output.contains("kept for the Rollouts whose workloadRef names it"), "\(applied.output)")

            var state = await Self.rolloutState(daemon)
            let healthy = await eventually(within: 60) {
                state = await Self.rolloutState(daemon)
                return state.phase == "Healthy" && state.images == ["web:1"]
            }
            #expect(healthy, "\(state)")
            // scaleDown: onsuccess sets the Deployment's replicas to 0 once the Rollout is Healthy.
            let scaledDown = await eventually(within: 30) { await Self.deploymentReplicas(daemon) == 0 }
            let replicas = await Self.deploymentReplicas(daemon)
            #expect(scaledDown, "replicas \(String(describing: replicas))")

            // A new image in the Deployment is a new revision that goes through the steps.
            try Self.deployment(image: "web:2").write(toFile: file, atomically: true, encoding: .utf8)
            #expect(try daemon.cli(["apply", "-f", file]).status == 0)
            let paused = await eventually(within: 60) {
                state = await Self.rolloutState(daemon)
                return state.phase == "Paused" && state.step == 1 && state.images == ["web:1", "web:2"]
            }
            #expect(paused, "\(state)")
            #expect(try daemon.cli(["promote", "web", "-n", "shop"]).status == 0)
            let promoted = await eventually(within: 60) {
                state = await Self.rolloutState(daemon)
                return state.phase == "Healthy" && state.images == ["web:2"]
            }
            #expect(promoted, "\(state)")
            // `set image` would write a template the rollout does not have: it says where the image is.
            let setImage = try daemon.cli(["set", "image", "web", "web=web:3", "-n", "shop"])
            #expect(setImage.status != 0)
            #expect(
                setImage.output.contains(
                    "rollout \"web\" takes its pod template from Deployment web (spec.workloadRef): change the image "
                        + "in the Deployment and `aviary apply` it"), "\(setImage.output)")
        }
    }

    /// Argo's workloadRef may also name a ReplicaSet: kept for its template and selector, its own
    /// pods not run.
    @Test func aRolloutRunsAReplicaSetsTemplate() async throws {
        try await Daemon.run(extraArguments: ["--platform", "simulated"]) { daemon in
            let replicaSet = Self.deployment(image: "web:7").replacingOccurrences(of: "kind: Deployment", with: "kind: ReplicaSet")
                .replacingOccurrences(of: "  strategy: {type: RollingUpdate}\n", with: "")
            let rollout = Self.rollout.replacingOccurrences(
                of: "kind: Deployment, name: web, scaleDown: onsuccess", with: "kind: ReplicaSet, name: web")
            let file = daemon.stateDirectory + "/web.yaml"
            try (replicaSet + "\n---\n" + rollout).write(toFile: file, atomically: true, encoding: .utf8)
            let applied = try daemon.cli(["apply", "-f", file])
            #expect(applied.status == 0, "\(applied.output)")
            #expect(applied.output.contains("one host runs no ReplicaSet's own pods"), "\(applied.output)")
            var state = await Self.rolloutState(daemon)
            let healthy = await eventually(within: 60) {
                state = await Self.rolloutState(daemon)
                return state.phase == "Healthy" && state.images == ["web:7"]
            }
            #expect(healthy, "\(state)")
        }
    }

    @Test func aRolloutWhoseDeploymentIsMissingSaysSoAndStartsOnceItIsApplied() async throws {
        try await Daemon.run(extraArguments: ["--platform", "simulated"]) { daemon in
            try daemon.applyWithCLI(Self.rollout)
            var message = ""
            let waiting = await eventually(within: 30) {
                let status =
                    (await daemon.call(.GET, "/api/v1/rollouts/web?namespace=shop"))?.json["status"]
                    as? [String: Any]
                message = status?["message"] as? String ?? ""
                return message.contains("web")
                    && (status?["conditions"] as? [[String: Any]] ?? []).contains {
                        $0["reason"] as? String == "InvalidSpec"
                    }
            }
            #expect(waiting, "\(message)")
            try daemon.applyWithCLI(Self.deployment(image: "web:1"))
            let healthy = await eventually(within: 60) { await Self.rolloutState(daemon).phase == "Healthy" }
            let final = await Self.rolloutState(daemon)
            #expect(healthy, "\(final)")
        }
    }
}
