import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryLocal

#if canImport(Glibc)
    import Glibc
#endif

/// The built `aviary` CLI against a live `aviary serve` with sample-app pods: every operation a
/// person types, the status after each, and the live view in a real terminal (tmux).
@Suite(.serialized) struct CLIEndToEndTests {
    @Test func aRolloutThroughEveryOperation() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            try daemon.applyWithCLI(CanaryManifests().yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(await daemon.statusSaysHealthy())

            // set image: the canary pauses at step 1 of 2.
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 1))
            let paused = try daemon.cli(["get", "rollout", "web"])
            #expect(paused.status == 0)
            for expected in [
                "॥ Paused", "Step:          1/2", "aviary-sample-app:green (canary)", "(stable)", "# revision:2",
            ] {
                #expect(paused.output.contains(expected), "get rollout lacks \(expected):\n\(paused.output)")
            }
            #expect(!paused.output.contains("\u{1B}"), "piped output must be plain")
            #expect(try daemon.cli(["list", "rollouts"]).output.contains("web   Canary    Paused"))

            // promote: past the last pause, Healthy on green; status --watch is the gate.
            #expect(try daemon.cli(["promote", "web"]).status == 0)
            #expect(try daemon.cli(["status", "web", "--watch", "--timeout", "90s"]).status == 0)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:green"))

            // abort: back to green, Degraded; status --watch exits 1.
            #expect(try daemon.cli(["set", "image", "web", "*=aviary-sample-app:yellow"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 1))
            #expect(try daemon.cli(["abort", "web"]).status == 0)
            let aborted = try daemon.cli(["status", "web", "--watch", "--timeout", "90s"])
            #expect(aborted.status == 1 && aborted.output.contains("Degraded"), "\(aborted.output)")

            // retry rollout: the steps start again and pause at step 1.
            #expect(try daemon.cli(["retry", "rollout", "web"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 1))
            #expect(try daemon.cli(["status", "web"]).output.hasPrefix("Paused"))

            // undo: back to the stable green template, which skips the steps.
            #expect(try daemon.cli(["undo", "web"]).status == 0)
            #expect(try daemon.cli(["status", "web", "--watch", "--timeout", "90s"]).status == 0)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:green"))

            // pause, then a new image waits; promote --full goes straight to the end.
            #expect(try daemon.cli(["pause", "web"]).status == 0)
            #expect((await daemon.rollout()["spec"] as? [String: Any])?["paused"] as? Bool == true)
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:yellow"]).status == 0)
            #expect(
                await eventually(within: 60) { await daemon.status()["phase"] as? String == "Paused" })
            #expect(try daemon.cli(["promote", "web", "--full"]).status == 0)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:yellow"))
            #expect(await daemon.statusSaysHealthy())

            // restart --in and list analysisruns answer too.
            #expect(try daemon.cli(["restart", "web", "--in", "1h"]).status == 0)
            #expect(try daemon.cli(["list", "analysisruns"]).status == 0)

            // -A lists every namespace with NAMESPACE first; -n one namespace.
            try daemon.applyWithCLI(Self.otherNamespaceRollout)
            let all = try daemon.cli(["list", "rollouts", "-A"])
            let rows = all.output.split(separator: "\n").map { $0.split(separator: " ").map(String.init) }
            #expect(rows.first?.prefix(2) == ["NAMESPACE", "NAME"], "\(all.output)")
            #expect(rows.contains { $0.prefix(2) == ["default", "web"] }, "\(all.output)")
            #expect(rows.contains { $0.prefix(2) == ["shop", "api"] }, "\(all.output)")
            #expect(!(try daemon.cli(["list", "rollouts"]).output.contains("api")))
            #expect(try daemon.cli(["list", "rollouts", "-n", "shop"]).output.contains("api"))
            let wide = try daemon.cli(["list", "rollouts", "-A", "-o", "wide"])
            #expect(
                wide.output.contains("IMAGES") && wide.output.contains("aviary-sample-app:yellow"), "\(wide.output)")
            let runs = try daemon.cli(["list", "analysisruns", "-A"])
            #expect(runs.status == 0, "\(runs.output)")
            let pods = try daemon.cli(["get", "rollout", "web", "-o", "wide"])
            #expect(pods.output.contains("ADDRESS") && pods.output.contains("127.0.0.1:"), "\(pods.output)")
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    /// A second rollout, in namespace `shop`, for `-A`.
    static var otherNamespaceRollout: String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: api, namespace: shop}
        spec:
          replicas: 1
          selector: {matchLabels: {app: api}}
          template:
            metadata: {labels: {app: api}}
            spec:
              containers:
                - name: app
                  image: aviary-sample-app:blue
                  command: ["\(builtProductsDirectory())/aviary-sample-app"]
          strategy: {canary: {steps: [{setWeight: 50}, {pause: {}}]}}
        """
    }

    @Test func withoutADaemonEveryVerbSaysHowToStartItInOneLine() throws {
        let port = PortAllocator.freePort() ?? 1
        let aviary = builtProductsDirectory() + "/aviary"
        for verb in [["get", "rollout", "web"], ["list", "rollouts"], ["promote", "web"], ["status", "web"]] {
            let result = try runCommand([aviary] + verb + ["--server", "127.0.0.1:\(port)"])
            #expect(result.status == 1)
            let lines = result.output.split(separator: "\n")
            #expect(lines.count == 1 && result.output.contains("aviary serve"), "\(verb): \(result.output)")
        }
    }

    @Test(.enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/tmux"), "tmux is not installed"))
    func theLiveViewRedrawsInARealTerminal() async throws {
        let daemon = Daemon()
        try await daemon.start()
        var session: TmuxSession?
        defer { session?.close() }
        do {
            try daemon.applyWithCLI(CanaryManifests().yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            let live = try TmuxSession(
                command: "\(daemon.aviary) get rollout web --watch --server \(daemon.base)", columns: 180, rows: 50)
            session = live
            func pane() -> String { live.capture() }
            #expect(await eventually(within: 30) { pane().contains("✔ Healthy") }, "\(pane())")
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            let redrawn = await eventually(within: 90) {
                let text = pane()
                return text.contains("॥ Paused") && text.contains("aviary-sample-app:green (canary)")
                    && text.contains("# revision:2")
            }
            #expect(redrawn, "\(pane())")
            // Redrawn in place: the header appears once, not once per frame.
            #expect(pane().components(separatedBy: "Namespace:").count == 2, "\(pane())")

            // The daemon goes away: the last view stays with a note; it comes back: the view
            // follows the rollout again (the next change shows up through the new stream).
            daemon.killNine()
            #expect(await eventually(within: 30) { pane().contains("not running") }, "\(pane())")
            try await daemon.start()
            #expect(await eventually(within: 30) { !pane().contains("not running") }, "\(pane())")
            #expect(try daemon.cli(["promote", "web"]).status == 0)
            let promoted = await eventually(within: 90) {
                let text = pane()
                return text.contains("✔ Healthy") && text.contains("aviary-sample-app:green (stable)")
            }
            #expect(promoted, "\(pane())")
            try live.send(keys: "C-c")
            #expect(await eventually(within: 10) { !live.hasSession }, "the live view did not end on Ctrl-C")
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }
}

extension Daemon {
    /// Whether `aviary status web` says Healthy within 30 s. A pod's readiness may flap on a
    /// loaded machine (the rollout is Progressing until it is back), so it is asked until it
    /// agrees; what it said last is recorded when it never does.
    func statusSaysHealthy() async -> Bool {
        var said = ""
        let healthy = await eventually(within: 30) {
            said = (try? cli(["status", "web"]).output) ?? ""
            return said.hasPrefix("Healthy")
        }
        if !healthy { Issue.record("aviary status web said: \(said)") }
        return healthy
    }
}
