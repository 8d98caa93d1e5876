import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Testing

/// The dashboard of `aviary serve --platform kubernetes`: its pages read the API server and its
/// actions write what Argo's plugin writes.
extension CanaryOnKubernetesTests {
    /// The seed canary Healthy on v1 under a controller, then v2 applied and paused at 10%; returns
    /// the address of the controller's endpoints (its API and dashboard).
    func pausedAtTenPercent(_ cluster: ClusterUnderTest) async throws -> String {
        try cluster.installCRDs()
        try cluster.kubectl(["apply", "-f", "-"], input: Self.manifest(image: "sample-app:v1"))
        let controller = try cluster.startController()
        let address = try await cluster.endpointsAddress(log: controller.log)
        _ = try await waitFor("v1 goes Healthy", cluster) { $0.phase == "Healthy" }
        try cluster.kubectl(["apply", "-f", "-"], input: Self.manifest(image: "sample-app:v2"))
        _ = try await waitFor("v2 pauses at 10%", cluster) { $0.phase == "Paused" && $0.stepIndex == 1 }
        return address
    }

    @Test func theDashboardShowsAndSteersARolloutOnTheCluster() async throws {
        try await withCluster { cluster in
            let address = try await pausedAtTenPercent(cluster)

            let browser = DashboardBrowser(base: address)
            let list = try await browser.get("/")
            #expect(
                list.status == 200 && list.text.contains("<tr data-rollout=\"default/sample-app\">"), "\(list.text)")
            let page = try await browser.get("/rollouts/default/sample-app")
            #expect(page.status == 200 && page.text.contains("<span id=\"step\">1/4</span>"), "\(page.text)")
            #expect(page.text.contains("id=\"canary-share\">10%<"))
            #expect(!page.text.contains(">log</a>"), "no pod logs on a cluster")
            #expect(page.text.contains("<strong>RolloutPaused</strong>"), "the Rollout's Kubernetes Events")
            let missing = try await browser.get("/rollouts/default/nope")
            #expect(missing.status == 404)

            // Promote writes the plugin's patch; the controller moves on to 33%.
            let promoted = try await browser.post(
                "/dashboard/rollouts/default/sample-app/promote", fields: [:], csrf: try #require(browser.csrf))
            #expect(promoted.status == 200, "\(promoted.text)")
            _ = try await waitFor("the promote moves it to 33%", cluster) { $0.phase == "Paused" && $0.stepIndex == 3 }
            // Without the CSRF token nothing is written.
            let refused = try await browser.post("/dashboard/rollouts/default/sample-app/abort", fields: [:])
            #expect(refused.status == 403)
            #expect(try view(cluster)?.status["abort"] != .bool(true))
            // Manifests stay the API server's: the daemon's API does not apply them.
            #expect(await http(.POST, address + "/api/v1/apply", body: Data("{}".utf8), timeout: 10)?.status == 405)
        }
    }
}
