import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// At rest the controller answers from its informers' caches: no writes and no lists, only the
/// Lease's renewals and the watches it keeps open (bench/kubernetes/run measures 1,000 and 10,000).
extension CanaryOnKubernetesTests {
    @Test func atRestTheControllerNeitherWritesNorLists() async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            let count = 40
            let rollouts = (0..<count).map { index in
                """
                apiVersion: argoproj.io/v1alpha1
                kind: Rollout
                metadata: {name: rest-\(index)}
                spec:
                  replicas: 1
                  selector:
                    matchLabels: {app: rest-\(index)}
                  template:
                    metadata:
                      labels: {app: rest-\(index)}
                    spec:
                      containers: [{name: app, image: "app:v1"}]
                  strategy:
                    canary:
                      steps: [{setWeight: 20}, {pause: {}}]
                """
            }
            try cluster.kubectl(["apply", "-f", "-"], input: rollouts.joined(separator: "\n---\n"))
            try cluster.startController()
            var phases: [String] = []
            let healthy = try await eventually(within: 180) {
                phases = try cluster.list("rollouts").compactMap { $0[at: "status", "phase"]?.stringValue }
                return phases.count == count && phases.allSatisfy { $0 == "Healthy" }
            }
            try #require(healthy, "\(phases)")
            // Two steady-state resyncs (every 5 s) and more pass with nothing changing.
            try await Task.sleep(for: .seconds(3))
            try await cluster.control(.DELETE, "/_double/requests")
            try await Task.sleep(for: .seconds(15))
            let counts = try await cluster.requestCounts()
            print("at rest for 15 s with \(count) Healthy rollouts: \(counts.sorted { $0.key < $1.key })")
            let lease = ["get leases", "update leases"]
            let writes = counts.filter {
                !lease.contains($0.key) && ["create", "update", "patch", "delete"].contains($0.key.split(separator: " ")[0])
            }
            #expect(writes.isEmpty, "writes at rest: \(writes)")
            #expect(counts.keys.filter { $0.hasPrefix("list ") }.isEmpty, "lists at rest: \(counts)")
            #expect((counts["update leases"] ?? 0) >= 1, "the Lease is still renewed: \(counts)")
        }
    }
}
