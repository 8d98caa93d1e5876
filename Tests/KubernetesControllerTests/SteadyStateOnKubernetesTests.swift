import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// At rest the controller answers from its informers' caches: no writes and no lists, only the
/// Lease's renewals and the watches it keeps open, and it reconciles nothing between its full
/// passes (bench/kubernetes/run measures 1,000 and 10,000).
extension CanaryOnKubernetesTests {
    @Test func atRestTheControllerNeitherWritesNorLists() async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            let count = 40
            try cluster.kubectl(["apply", "-f", "-"], input: ClusterUnderTest.basicCanaries("rest", count: count))
            let controller = try cluster.startController()
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
            // Nothing a rollout reads changed, so the platform's change stamps let the 5-second
            // passes skip every rollout (without them, each pass reconciled all 40 again).
            let address = try await cluster.endpointsAddress(log: controller.log)
            let exchange = await http(.GET, "\(address)/metrics")
            let metrics = exchange.map { String(decoding: $0.body, as: UTF8.self) } ?? ""
            let skipped = sampleValue("aviary_reconcile_steady_pass_skipped", in: metrics)
            #expect((skipped ?? 0) >= Double(count), "skipped at rest: \(String(describing: skipped))")
        }
    }
}
