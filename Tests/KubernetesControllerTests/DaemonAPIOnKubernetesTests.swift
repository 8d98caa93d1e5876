import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// The daemon's API on `aviary serve --platform kubernetes` (#20): a CLI pointed at the controller
/// (`--server`) reads from its informers' caches, with no read reaching the API server, and its
/// operations are the merge patches of Argo's plugin.
extension CanaryOnKubernetesTests {
    @Test func theDaemonsAPIReadsFromTheCachesAndOperatesWithThePluginsPatches() async throws {
        try await withCluster { cluster in
            let address = try await pausedAtTenPercent(cluster)
            let aviary = builtProductsDirectory() + "/aviary"

            // `get rollout` against the daemon: every read from the caches, none from the API server.
            try await cluster.control(.DELETE, "/_double/requests")
            let shown = try runCommand([aviary, "get", "rollout", "sample-app", "--server", address])
            #expect(shown.status == 0, "\(shown.output)")
            #expect(shown.output.contains("Paused") && shown.output.contains("Step:          1/4"), "\(shown.output)")
            #expect(shown.output.contains("sample-app:v2 (canary)"), "\(shown.output)")
            let reads = try await cluster.requestCounts().filter {
                $0.key.hasSuffix(" rollouts") || $0.key.hasSuffix(" replicasets") || $0.key.hasSuffix(" pods")
            }
            #expect(reads.isEmpty, "reads that reached the API server: \(reads)")
            let listed = try runCommand([aviary, "list", "rollouts", "--server", address])
            #expect(listed.output.contains("sample-app"), "\(listed.output)")

            // A watch of the rollout and what it owns: a line now, and one when the promote moves it.
            let watch = Task {
                await http(
                    .GET, address + "/api/v1/watch/rollouts/sample-app?owned=true&timeoutSeconds=20", timeout: 30)
            }

            // Operations write the plugin's patches; the controller acts on them.
            let promoted = try runCommand([aviary, "promote", "sample-app", "--server", address])
            #expect(promoted.status == 0, "\(promoted.output)")
            _ = try await waitFor("the promote moves it to 33%", cluster) { $0.phase == "Paused" && $0.stepIndex == 3 }
            let watched = await watch.value
            let lines = (watched?.text ?? "").split(separator: "\n").filter { !$0.isEmpty }
            #expect(watched?.status == 200 && lines.count >= 2, "\(lines.count) lines")
            #expect(
                lines.last.map { $0.contains("\"currentStepIndex\":3") } == true,
                "the last line is the rollout at step 3")
            let aborted = try runCommand([aviary, "abort", "sample-app", "--server", address])
            #expect(aborted.status == 0, "\(aborted.output)")
            _ = try await waitFor("the abort degrades it", cluster) { $0.phase == "Degraded" }
            #expect(try view(cluster)?.status["abort"] == .bool(true))

            // What stays the API server's: manifests and Secrets.
            let apply = await http(.POST, address + "/api/v1/apply", body: Data("{}".utf8), timeout: 10)
            #expect(apply?.status == 405 && (apply?.text ?? "").contains("use kubectl apply"), "\(apply?.text ?? "")")
            #expect(await http(.GET, address + "/api/v1/secrets", timeout: 10)?.status == 404)
            #expect(await http(.GET, address + "/api/v1/watch/secrets", timeout: 10)?.status == 404)
            let notifications = await http(.GET, address + "/api/v1/rollouts/sample-app/notifications", timeout: 10)
            #expect(notifications?.status == 200, "the leader lists them: \(notifications?.text ?? "")")
            let missing = try runCommand([aviary, "get", "rollout", "nope", "--server", address])
            #expect(missing.status != 0 && missing.output.contains("not found"), "\(missing.output)")
        }
    }
}
