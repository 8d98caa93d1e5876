import AviaryJSON
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
            // With the preferred rule, the template has a preferred term of its own, which stays.
            let own =
                preferred
                ? "      affinity: {podAntiAffinity: {preferredDuringSchedulingIgnoredDuringExecution: "
                    + "[{weight: 10, podAffinityTerm: {labelSelector: {matchLabels: {app: sample-app}}, "
                    + "topologyKey: topology.kubernetes.io/zone}}]}}\n"
                : ""
            return Self.manifest(image: image).replacingOccurrences(
                of: "      canaryService: sample-app-canary\n",
                with: "      antiAffinity: \(rule)\n      canaryService: sample-app-canary\n"
            ).replacingOccurrences(of: "    spec:\n      containers:\n", with: "    spec:\n\(own)      containers:\n")
        }
        func ownTerms(_ replicaSet: JSONValue) -> [JSONValue] {
            replicaSet[at: "spec", "template", "spec", "affinity", "podAntiAffinity"]?[
                "preferredDuringSchedulingIgnoredDuringExecution"]?.arrayValue?.filter {
                    $0[at: "podAffinityTerm", "topologyKey"]?.stringValue == "topology.kubernetes.io/zone"
                } ?? []
        }
        try await withCluster { cluster in
            try cluster.installCRDs()
            #expect(manifest("sample-app:v1").contains("antiAffinity"))
            try cluster.kubectl(["apply", "-f", "-"], input: manifest("sample-app:v1"))
            try cluster.startController()
            let first = try await waitFor("the first version goes Healthy", cluster) { $0.phase == "Healthy" }
            let stable = try #require(first.stableHash)
            let firstSet = try #require(first.replicaSets.first)
            #expect(ownTerms(firstSet).count == (preferred ? 1 : 0), "the template's own term")
            #expect(
                firstSet[at: "spec", "template", "spec", "affinity", "podAntiAffinity"]?[
                    "requiredDuringSchedulingIgnoredDuringExecution"] == nil && ownTerms(firstSet).count
                    == (firstSet[
                        at: "spec", "template", "spec", "affinity", "podAntiAffinity",
                        "preferredDuringSchedulingIgnoredDuringExecution"]?.arrayValue?.count ?? 0),
                "nothing to avoid at first")

            try cluster.kubectl(["apply", "-f", "-"], input: manifest("sample-app:v2"))
            let updated = try await waitFor("the new ReplicaSet exists", cluster) { $0.replicaSets.count == 2 }
            let newSet = try #require(
                updated.replicaSets.first {
                    $0[at: "metadata", "labels", "rollouts-pod-template-hash"]?.stringValue != stable
                })
            let podAntiAffinity = try #require(newSet[at: "spec", "template", "spec", "affinity", "podAntiAffinity"])
            let term: JSONValue?
            if preferred {
                let entry = podAntiAffinity[at: "preferredDuringSchedulingIgnoredDuringExecution", 1]
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
            let newHash = try #require(newSet[at: "metadata", "labels", "rollouts-pod-template-hash"]?.stringValue)

            // Promoted, the new ReplicaSet is stable: its injected term goes, its own stays (Argo).
            try cluster.kubectl([
                "patch", "rollout", "sample-app", "--subresource=status", "--type", "merge", "-p",
                #"{"status":{"promoteFull":true}}"#,
            ])
            let promoted = try await waitFor("the new version is stable and its rule is gone", cluster) { view in
                let set = view.replicaSets.first {
                    $0[at: "metadata", "labels", "rollouts-pod-template-hash"]?.stringValue == newHash
                }
                let terms =
                    set?[at: "spec", "template", "spec", "affinity", "podAntiAffinity"].map {
                        ($0["preferredDuringSchedulingIgnoredDuringExecution"]?.arrayValue ?? [])
                            + ($0["requiredDuringSchedulingIgnoredDuringExecution"]?.arrayValue ?? [])
                    } ?? []
                return view.phase == "Healthy" && view.stableHash == newHash && terms.count == (preferred ? 1 : 0)
            }
            let promotedSet = try #require(
                promoted.replicaSets.first {
                    $0[at: "metadata", "labels", "rollouts-pod-template-hash"]?.stringValue == newHash
                })
            #expect(ownTerms(promotedSet).count == (preferred ? 1 : 0))
            if !preferred { #expect(promotedSet[at: "spec", "template", "spec", "affinity"] == nil) }
        }
    }
}
