import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// `antiAffinity` on a cluster, as Argo injects it: the new ReplicaSet's pods prefer (or require)
/// nodes without the stable ReplicaSet's pods, added to the template's own pod anti-affinity.
extension CanaryOnKubernetesTests {
    @Test(arguments: [true, false])
    func antiAffinityKeepsTheNewPodsOffTheStablePodsNodes(preferred: Bool) async throws {
        func manifest(_ image: String) -> String {
            let rule =
                preferred
                ? "{preferredDuringSchedulingIgnoredDuringExecution: {weight: 40}}"
                : "{requiredDuringSchedulingIgnoredDuringExecution: {}}"
            return Self.manifest(image: image).replacingOccurrences(
                of: "      canaryService: sample-app-canary\n",
                with: "      antiAffinity: \(rule)\n      canaryService: sample-app-canary\n")
        }
        try await withCluster { cluster in
            try cluster.installCRDs()
            #expect(manifest("sample-app:v1").contains("antiAffinity"))
            try cluster.kubectl(["apply", "-f", "-"], input: manifest("sample-app:v1"))
            try cluster.startController()
            let first = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            let stable = try #require(first.stableHash)
            let firstSet = try #require(first.replicaSets.first)
            #expect(firstSet[at: "spec", "template", "spec", "affinity"] == nil, "nothing to avoid at first")

            try cluster.kubectl(["apply", "-f", "-"], input: manifest("sample-app:v2"))
            let updated = try await waitFor("the new ReplicaSet exists", cluster) { $0.replicaSets.count == 2 }
            let newSet = try #require(
                updated.replicaSets.first {
                    $0[at: "metadata", "labels", "rollouts-pod-template-hash"]?.stringValue != stable
                })
            let podAntiAffinity = try #require(newSet[at: "spec", "template", "spec", "affinity", "podAntiAffinity"])
            let term: JSONValue?
            if preferred {
                let entry = podAntiAffinity[at: "preferredDuringSchedulingIgnoredDuringExecution", 0]
                #expect(entry?["weight"]?.integerValue == 40)
                term = entry?["podAffinityTerm"]
            } else {
                term = podAntiAffinity[at: "requiredDuringSchedulingIgnoredDuringExecution", 0]
            }
            #expect(term?["topologyKey"]?.stringValue == "kubernetes.io/hostname")
            let expression = term?[at: "labelSelector", "matchExpressions", 0]
            #expect(expression?["key"]?.stringValue == "rollouts-pod-template-hash")
            #expect(expression?["operator"]?.stringValue == "In")
            #expect(expression?[at: "values", 0]?.stringValue == stable)
        }
    }
}
