import AviaryTestSupport
import Foundation
import Testing

/// Argo's `--qps`, `--burst` and `--rollout-threads`: the controller's requests to the API server
/// stay within the limit it is given, and a value it cannot use is one line naming the flag.
extension CanaryOnKubernetesTests {
    @Test func theQPSFlagBoundsTheControllersRequests() async throws {
        try await withCluster { cluster in
            try cluster.installCRDs()
            // 40 new rollouts need about 240 writes: minutes at 2 a second, a few seconds at the
            // default 40.
            try cluster.kubectl(["apply", "-f", "-"], input: ClusterUnderTest.basicCanaries("slow", count: 40))
            let (_, log) = try cluster.startController(["--qps", "2", "--burst", "2", "--rollout-threads", "4"])
            let address = try await cluster.endpointsAddress(log: log)
            let ready = await eventually(within: 120) { await http(.GET, "\(address)/readyz")?.status == 200 }
            let output = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            try #require(ready, "the controller never became ready: \(output)")
            try await cluster.control(.DELETE, "/_double/requests")
            let started = ContinuousClock.now
            var counts: [String: Int] = [:]
            let busy = try await eventually(within: 60) {
                counts = try await cluster.requestCounts()
                return (counts["patch rollouts/status"] ?? 0) + (counts["create replicasets"] ?? 0) >= 1
            }
            try #require(busy, "the controller wrote nothing: \(counts)")
            try await Task.sleep(for: .seconds(8))
            counts = try await cluster.requestCounts()
            let seconds = Double((ContinuousClock.now - started).components.seconds) + 1
            // The Lease has a client and a limit of its own; watches are long requests opened once.
            let limited = counts.filter { !$0.key.hasSuffix(" leases") && !$0.key.hasPrefix("watch ") }
                .values.reduce(0, +)
            // 2 a second, a burst of 2 and at most 4 reconciles with a request in flight.
            let bound = Int(2 * seconds) + 2 + 4
            #expect(limited <= bound, "\(limited) requests in \(seconds) s, more than --qps 2 allows: \(counts)")
            let phases = try cluster.list("rollouts").compactMap { $0[at: "status", "phase"]?.stringValue }
            #expect(phases.filter { $0 == "Healthy" }.count < 40, "all Healthy already: the limit did nothing")
        }
    }

    @Test func aLimitTheControllerCannotUseIsOneLineNamingTheFlag() throws {
        let aviary = builtProductsDirectory(containing: "aviary") + "/aviary"
        let cases: [([String], String)] = [
            (["--platform", "kubernetes", "--qps", "0"], "--qps 0.0: must be a number of requests per second above 0"),
            (["--platform", "kubernetes", "--burst", "0"], "--burst 0: must be at least 1"),
            (["--platform", "kubernetes", "--rollout-threads", "0"], "--rollout-threads 0: must be from 1 to 1000"),
            (
                ["--platform", "kubernetes", "--rollout-resync", "1"],
                "--rollout-resync 1.0: must be at least 5 seconds"
            ),
            (
                ["--platform", "kubernetes", "--aws-target-group-binding-api-version", "v1"],
                "--aws-target-group-binding-api-version v1: must be GROUP/VERSION, such as elbv2.k8s.aws/v1beta1"
            ),
            (["--qps", "100"], "--qps applies to --platform kubernetes only"),
            (["--rollout-resync", "60"], "--rollout-resync applies to --platform kubernetes only"),
            (["--rollout-threads", "20"], "--rollout-threads applies to --platform kubernetes only"),
        ]
        for (arguments, message) in cases {
            let (status, output) = try runCommand([aviary, "serve"] + arguments)
            #expect(status != 0, "\(arguments) was taken")
            #expect(output.contains(message), "\(arguments): \(output)")
        }
    }
}
