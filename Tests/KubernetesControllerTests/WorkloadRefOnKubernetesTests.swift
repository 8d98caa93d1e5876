import AviaryJSON
import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// `workloadRef` on a cluster, Argo's migration from a Deployment: the Rollout has no template
/// and no selector of its own, takes both from the Deployment, scales the Deployment down as its
/// `scaleDown` says once its first revision is up, and a change of the Deployment's template is
/// a new revision that goes through the steps.
extension CanaryOnKubernetesTests {
    /// The seed Rollout's `selector:` and `template:` lines (a spec's members) with `image`: what
    /// a workloadRef's object holds instead of the Rollout.
    static func selectorAndTemplate(image: String) -> (rollout: String, range: Range<String.Index>) {
        let rollout = manifest(image: image)
        let start = rollout.range(of: "  selector:\n")!.lowerBound
        let end = rollout.range(of: "  strategy:\n")!.lowerBound
        return (rollout, start..<end)
    }

    static func deployment(image: String, replicas: Int = 4) -> String {
        let (rollout, range) = selectorAndTemplate(image: image)
        return "apiVersion: apps/v1\nkind: Deployment\nmetadata: {name: sample-app}\nspec:\n  replicas: \(replicas)\n"
            + rollout[range]
    }

    /// A PodTemplate of the seed's pod template: `template:` at the top level.
    static func podTemplate(image: String) -> String {
        let (rollout, range) = selectorAndTemplate(image: image)
        let template = rollout[range].split(separator: "\n").drop { !$0.hasPrefix("  template:") }
            .map { $0.dropFirst(2) }.joined(separator: "\n")
        return "apiVersion: v1\nkind: PodTemplate\nmetadata: {name: sample-app}\n" + template + "\n"
    }

    /// The seed's canary with `workloadRef` in place of the template and the selector.
    static func workloadRefManifest(scaleDown: String) -> String {
        let (rollout, range) = selectorAndTemplate(image: "unused")
        return rollout.replacingCharacters(
            in: range,
            with: "  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: sample-app, scaleDown: \(scaleDown)}\n")
    }

    func deploymentReplicas(_ cluster: ClusterUnderTest) throws -> Int64? {
        try cluster.object("deployment", "sample-app")?[at: "spec", "replicas"]?.integerValue
    }

    func image(of replicaSet: JSONValue) -> String? {
        replicaSet[at: "spec", "template", "spec", "containers", 0, "image"]?.stringValue
    }

    /// Whether the Deployment is at `generation` and the Rollout says it observed it, within a minute.
    func observesGeneration(_ generation: Int64, _ cluster: ClusterUnderTest) async throws -> Bool {
        try await eventually(within: 60) {
            try cluster.object("deployment", "sample-app")?[at: "metadata", "generation"]?.integerValue == generation
                && view(cluster)?.status["workloadObservedGeneration"]?.stringValue == String(generation)
        }
    }

    @Test(arguments: ["onsuccess", "progressively"])
    func aDeploymentsTemplateIsRolledOutAndTheDeploymentScaledDown(scaleDown: String) async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            let manifest = Self.workloadRefManifest(scaleDown: scaleDown)
            #expect(!manifest.contains("template:") && manifest.contains("workloadRef"))
            try cluster.kubectl(["apply", "-f", "-"], input: Self.deployment(image: "sample-app:v1"))
            try cluster.kubectl(["apply", "-f", "-"], input: manifest)
            try cluster.startController()

            let first = try await waitFor("the Deployment's template is up", cluster) {
                $0.phase == "Healthy" && $0.replicaSets.count == 1
            }
            #expect(first.replicaSets.first.map(image) == "sample-app:v1")
            #expect(first.replicaSets.first?[at: "spec", "selector", "matchLabels", "app"]?.stringValue == "sample-app")
            let scaledDown = try await eventually(within: 60) { try deploymentReplicas(cluster) == 0 }
            #expect(scaledDown, "the Deployment is scaled to 0 once the rollout is Healthy (\(scaleDown))")
            // The scale is a change of the Deployment's spec, so its generation is 2 now.
            #expect(try await observesGeneration(2, cluster))

            // A new image in the Deployment is a new revision: the canary steps run.
            try cluster.kubectl([
                "patch", "deployment", "sample-app", "--type", "json", "-p",
                #"[{"op":"replace","path":"/spec/template/spec/containers/0/image","value":"sample-app:v2"}]"#,
            ])
            let paused = try await waitFor("the Deployment's new template pauses at the first step", cluster) {
                $0.phase == "Paused" && $0.stepIndex == 1 && $0.replicaSets.count == 2
            }
            #expect(paused.replicaSets.compactMap(image).sorted() == ["sample-app:v1", "sample-app:v2"])
            #expect(try await observesGeneration(3, cluster))
            #expect(paused.splitWeights["sample-app-canary"] == 10)
            // A later revision leaves the Deployment as it is (Argo migrates once).
            #expect(try deploymentReplicas(cluster) == 0)
        }
    }

    /// A PodTemplate holds the template too (the Rollout then gives its selector).
    @Test func aPodTemplatesTemplateIsRolledOut() async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            let podTemplate = Self.podTemplate(image: "sample-app:v3")
            #expect(podTemplate.contains("kind: PodTemplate\nmetadata: {name: sample-app}\ntemplate:\n  metadata:\n"))
            try cluster.kubectl(["apply", "-f", "-"], input: podTemplate)
            let rollout = Self.workloadRefManifest(scaleDown: "never").replacingOccurrences(
                of: "  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: sample-app, scaleDown: never}\n",
                with:
                    "  selector: {matchLabels: {app: sample-app}}\n  workloadRef: {apiVersion: v1, kind: PodTemplate, name: sample-app}\n"
            )
            try cluster.kubectl(["apply", "-f", "-"], input: rollout)
            try cluster.startController()
            let healthy = try await waitFor("the PodTemplate's template is up", cluster) {
                $0.phase == "Healthy" && $0.replicaSets.count == 1
            }
            #expect(healthy.replicaSets.first.map(image) == "sample-app:v3")
        }
    }

    /// Argo also reads a ReplicaSet's template and selector (one a Deployment left, say); the
    /// controller watches ReplicaSets other than the rollouts' own for it.
    @Test func aReplicaSetsTemplateIsRolledOut() async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            let (seed, range) = Self.selectorAndTemplate(image: "sample-app:v4")
            try cluster.kubectl(
                ["apply", "-f", "-"],
                input: "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: sample-app-legacy}\nspec:\n  replicas: 0\n"
                    + seed[range])
            let rollout = Self.workloadRefManifest(scaleDown: "never").replacingOccurrences(
                of: "kind: Deployment, name: sample-app, scaleDown: never", with: "kind: ReplicaSet, name: sample-app-legacy")
            try cluster.kubectl(["apply", "-f", "-"], input: rollout)
            try cluster.startController()
            // The rollout's own ReplicaSets, not the one it reads.
            func owned(_ view: View) -> [JSONValue] {
                view.replicaSets.filter { $0[at: "metadata", "name"]?.stringValue != "sample-app-legacy" }
            }
            let healthy = try await waitFor("the ReplicaSet's template is up", cluster) {
                $0.phase == "Healthy" && owned($0).count == 1
            }
            #expect(owned(healthy).first.map(image) == "sample-app:v4")
            // A new image in the ReplicaSet is a new revision.
            let (next, nextRange) = Self.selectorAndTemplate(image: "sample-app:v5")
            try cluster.kubectl(
                ["apply", "-f", "-"],
                input: "apiVersion: apps/v1\nkind: ReplicaSet\nmetadata: {name: sample-app-legacy}\nspec:\n  replicas: 0\n"
                    + next[nextRange])
            let updated = try await waitFor("the ReplicaSet's new template is a new revision", cluster) {
                owned($0).contains { self.image(of: $0) == "sample-app:v5" }
            }
            #expect(owned(updated).count == 2)
        }
    }

    /// Without the Deployment, the Rollout is Degraded with InvalidSpec naming what is missing,
    /// and goes on by itself once the Deployment is applied.
    @Test func aMissingDeploymentIsNamedThenPickedUp() async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.kubectl(["apply", "-f", "-"], input: Self.workloadRefManifest(scaleDown: "never"))
            try cluster.startController()
            let invalid = try await waitFor("the rollout says the Deployment is missing", cluster) {
                $0.phase == "Degraded"
                    && ($0.status["message"]?.stringValue ?? "").contains("no Deployment \"sample-app\"")
            }
            #expect(invalid.replicaSets.isEmpty)
            try cluster.kubectl(["apply", "-f", "-"], input: Self.deployment(image: "sample-app:v1", replicas: 2))
            let healthy = try await waitFor("the Deployment's template is up", cluster) {
                $0.phase == "Healthy" && $0.replicaSets.count == 1
            }
            #expect(healthy.replicaSets.first.map(image) == "sample-app:v1")
            // scaleDown: never leaves the Deployment alone.
            #expect(try deploymentReplicas(cluster) == 2)
        }
    }
}
