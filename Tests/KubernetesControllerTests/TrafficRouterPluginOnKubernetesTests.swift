import AviaryJSON
import AviaryTestSupport
import Foundation
import Testing

/// One of Argo's traffic router plugins that Aviary does not implement itself: a go-plugin binary
/// (built from Go source here, as Argo's are) that `trafficRouterPlugins` of the controller
/// namespace's `argo-rollouts-config` lists. Its "router" is a JSON file the test reads.
extension TrafficProvidersOnKubernetesTests {
    @Test(.enabled(if: GoPluginPeer.isRequired))
    func aTrafficRouterPluginBinaryCarriesTheSplit() async throws {
        try #require(ClusterUnderTest.kubectl != nil, "kubectl is needed for this test")
        let binary = try GoPluginPeer.build(GoPluginPeer.trafficRouterPluginSource)
        let directory = NSTemporaryDirectory() + "aviary-router-plugin-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let (stateFile, verifyFile, failFile) = (directory + "/state.json", directory + "/verify", directory + "/fail")
        let router = Router(
            name: "plugin binary", crds: [], objects: "",
            routing: "plugins:\n  aviary-test/router: {stateFile: \(stateFile), verifyFile: \(verifyFile), "
                + "failFile: \(failFile)}",
            headerRoute: true, mirrorRoute: true, kind: "", object: "", userObject: "", weight: { _ in nil })

        let cluster = try ClusterUnderTest()
        defer { cluster.stop() }
        try cluster.installCRDs()
        try cluster.kubectl(
            ["apply", "-f", "-"],
            input: GoPluginPeer.argoConfigMap(binary: binary, list: "trafficRouterPlugins", name: "aviary-test/router"))
        try cluster.kubectl(["apply", "-f", "-"], input: Self.services + Self.rollout(router, image: "web:v1"))
        let controller = try cluster.startController()
        func status() throws -> JSONValue { try cluster.object("rollout", "web")?["status"] ?? [:] }
        func state() -> JSONValue {
            (try? JSONValue(parsing: Data(contentsOf: URL(fileURLWithPath: stateFile)))) ?? [:]
        }
        func wait(_ what: String, _ condition: (JSONValue, JSONValue) -> Bool) async throws {
            var last: (JSONValue, JSONValue) = ([:], [:])
            let held = try await eventually(within: 120) {
                last = (try status(), state())
                return condition(last.0, last.1)
            }
            let log = (try? String(contentsOfFile: controller.log, encoding: .utf8)) ?? ""
            try #require(held, "\(what): status \(last.0)\nrouter \(last.1)\nlog \(log.suffix(3000))")
        }
        try await wait("v1 goes Healthy") { status, _ in status["phase"]?.stringValue == "Healthy" }

        // The plugin says NotVerified: Argo holds the setWeight step until it says Verified.
        try "NotVerified".write(toFile: verifyFile, atomically: true, encoding: .utf8)
        try cluster.kubectl(["apply", "-f", "-"], input: Self.rollout(router, image: "web:v2"))
        try await wait("the canary gets 10% and the step waits for the plugin's verification") { status, router in
            router["weight"]?.integerValue == 10 && status[path: "canary", "weights", "verified"] == .bool(false)
                && status["currentStepIndex"]?.integerValue == 0
        }
        try "Verified".write(toFile: verifyFile, atomically: true, encoding: .utf8)
        try await wait("once verified, the header and mirror routes are set and the rollout pauses") { status, _ in
            status["phase"]?.stringValue == "Paused" && status["currentStepIndex"]?.integerValue == 3
        }
        let paused = try status()
        let routed = state()
        #expect(routed["weight"]?.integerValue == 10)
        #expect(routed["canaryHash"] == paused["currentPodHash"])
        #expect(routed["stableHash"] == paused["stableRS"])
        #expect(
            routed[path: "headerRoutes", "header"]
                == Self.json(#"[{headerName: X-Canary, headerValue: {exact: "yes"}}]"#))
        #expect(
            routed[path: "mirrorRoutes", "mirror"] == Self.json("{match: [{method: {exact: GET}}], percentage: 50}"))
        // The Rollout as the plugin received it.
        let rollout = try #require(try cluster.object("rollout", "web"))
        let received = routed["rollout"] ?? [:]
        #expect(received["name"] == "web")
        #expect(received["namespace"] == "default")
        #expect(received["uid"] == rollout[at: "metadata", "uid"])
        #expect(received["kind"] == "Rollout")
        #expect(received["apiVersion"] == "argoproj.io/v1alpha1")
        #expect(received["canaryService"] == "web-canary")
        #expect(received["stableService"] == "web-stable")
        #expect(received["managedRoutes"] == Self.json("[header, mirror]"))
        #expect(received["replicas"]?.integerValue == 4)
        #expect(paused[path: "canary", "weights", "verified"] == .bool(true))

        // A plugin error holds the reconcile and is named on the rollout; the abort goes through once it clears.
        try "quota exceeded".write(toFile: failFile, atomically: true, encoding: .utf8)
        try cluster.kubectl([
            "patch", "rollout", "web", "--subresource=status", "--type", "merge", "-p", #"{"status":{"abort":true}}"#,
        ])
        try await wait("the plugin's error is on the rollout") { status, _ in
            status["message"]?.stringValue
                == "TrafficRoutingError: failed to set weight via plugin: quota exceeded"
        }
        try FileManager.default.removeItem(atPath: failFile)
        try await wait("abort returns the weight to 0 and removes the managed routes") { status, router in
            status["phase"]?.stringValue == "Degraded" && router["weight"]?.integerValue == 0
                && router["headerRoutes"] == [:] && router["mirrorRoutes"] == [:]
        }
        #expect(state()["calls"]?.arrayValue?.contains("RemoveManagedRoutes") == true)

        try cluster.kubectl([
            "patch", "rollout", "web", "--subresource=status", "--type", "merge", "-p", #"{"status":{"abort":false}}"#,
        ])
        try await wait("retry runs the steps again") { status, router in
            status["phase"]?.stringValue == "Paused" && router["weight"]?.integerValue == 10
                && router[path: "headerRoutes", "header"] != nil
        }
        try cluster.kubectl([
            "patch", "rollout", "web", "--subresource=status", "--type", "merge", "-p",
            #"{"status":{"promoteFull":true}}"#,
        ])
        try await wait("a full promotion ends at weight 0 on one hash, without routes") { status, router in
            status["phase"]?.stringValue == "Healthy" && status["stableRS"] == status["currentPodHash"]
                && router["weight"]?.integerValue == 0 && router["stableHash"] == status["stableRS"]
                && router["headerRoutes"] == [:]
        }
        #expect(controller.process.isRunning)
    }
}
