import AviaryHarness
import AviaryTestSupport
import Foundation
import Testing

/// Whether the browser tests run: where Chromium, chromedriver and Selenium are installed, and
/// always under CI (`CI` set), where the test command installs them and their absence fails.
enum SeleniumBrowser {
    static let isInstalled =
        FileManager.default.isExecutableFile(atPath: "/usr/bin/chromium")
        && FileManager.default.isExecutableFile(atPath: "/usr/bin/chromedriver")
        && (try? runCommand(["/usr/bin/env", "python3", "-c", "import selenium"]).status) == 0
    static let isRequired = isInstalled || ProcessInfo.processInfo.environment["CI"] != nil
}

/// Chromium with Selenium against a real daemon with real pods (dashboard_browser.py): the list,
/// a rollout paused mid-canary after an analysis, its chart and split, Promote and Abort without a
/// reload, a POST without the CSRF token, a failed analysis, sign-in with a token, read-only.
@Suite(.serialized, .enabled(if: SeleniumBrowser.isRequired, "chromium, chromedriver or selenium is missing"))
struct DashboardBrowserTests {
    static let script = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .appendingPathComponent("dashboard_browser.py").path

    /// Two rollouts whose analyses read the daemon's own API with the `web` provider (no Prometheus
    /// needed): `web`'s passes (2 replicas ≥ 1), `broken`'s fails (1 replica < 100).
    static func manifest(api: String) -> Data {
        Data(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata: {name: replicas}
            spec:
              args: [{name: rollout}, {name: minimum}]
              metrics:
              - name: replicas
                interval: 1s
                count: 3
                successCondition: "result >= {{args.minimum}}"
                failureCondition: "result < {{args.minimum}}"
                provider:
                  web:
                    url: "\(api)/api/v1/rollouts/{{args.rollout}}?namespace=default"
                    jsonPath: "{$.spec.replicas}"
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web}
            spec:
              replicas: 2
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec:
                  containers:
                  - {name: web, image: sample-app:v1, command: [aviary-sample-app], ports: [{name: http, containerPort: 8080}]}
              strategy:
                canary:
                  canaryService: web-canary
                  stableService: web-stable
                  steps:
                  - setWeight: 25
                  - analysis:
                      templates: [{templateName: replicas}]
                      args: [{name: rollout, value: web}, {name: minimum, value: "1"}]
                  - setWeight: 50
                  - pause: {}
                  - setWeight: 75
                  - pause: {}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-stable}
            spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
            ---
            apiVersion: v1
            kind: Service
            metadata: {name: web-canary}
            spec: {selector: {app: web}, ports: [{port: 80, targetPort: http}]}
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: broken}
            spec:
              replicas: 1
              selector: {matchLabels: {app: broken}}
              template:
                metadata: {labels: {app: broken}}
                spec:
                  containers:
                  - {name: app, image: sample-app:v1, command: [aviary-sample-app], ports: [{name: http, containerPort: 8080}]}
              strategy:
                canary:
                  steps:
                  - setWeight: 50
                  - analysis:
                      templates: [{templateName: replicas}]
                      args: [{name: rollout, value: broken}, {name: minimum, value: "100"}]
            """.utf8)
    }

    func status(_ daemon: Daemon, _ name: String) async -> [String: Any] {
        ((await daemon.call(.GET, "/api/v1/rollouts/\(name)?namespace=default"))?.json["status"] as? [String: Any])
            ?? [:]
    }

    func setImage(_ daemon: Daemon, _ name: String, container: String) async throws {
        let body = Data(#"{"container": "\#(container)", "image": "sample-app:v2"}"#.utf8)
        let answer = try #require(
            await daemon.call(.POST, "/api/v1/rollouts/\(name)/image?namespace=default", body: body))
        #expect(answer.status == 200, "\(answer.text)")
    }

    /// Runs the script; its output is attached to a failure.
    func drive(_ arguments: [String]) throws {
        let (status, output) = try runCommand(["/usr/bin/env", "python3", Self.script] + arguments)
        #expect(status == 0, "dashboard_browser.py \(arguments.first ?? ""):\n\(output)")
    }

    @Test(.timeLimit(.minutes(8))) func theCanaryStoryInABrowser() async throws {
        // No router: the Services need no listeners for the pages.
        try await Daemon.run(extraArguments: ["--no-router"]) { daemon in
            let applied = try #require(await daemon.call(.POST, "/api/v1/apply", body: Self.manifest(api: daemon.base)))
            #expect(applied.status == 200, "\(applied.text)")
            for name in ["web", "broken"] {
                let healthy = await eventually(within: 90) {
                    await status(daemon, name)["phase"] as? String == "Healthy"
                }
                try #require(healthy, "\(name) became Healthy")
            }
            try await setImage(daemon, "web", container: "web")
            try await setImage(daemon, "broken", container: "app")
            let paused = await eventually(within: 120) {
                let status = await status(daemon, "web")
                return status["phase"] as? String == "Paused" && status["currentStepIndex"] as? Int == 3
            }
            let webStatus = await status(daemon, "web")
            try #require(paused, "web paused after its analysis: \(webStatus)")
            let degraded = await eventually(within: 120) {
                await status(daemon, "broken")["phase"] as? String == "Degraded"
            }
            let brokenStatus = await status(daemon, "broken")
            try #require(degraded, "broken degraded by its analysis: \(brokenStatus)")
            let screenshots = ProcessInfo.processInfo.environment["AVIARY_SCREENSHOTS"]
            try drive(["canary", daemon.base] + (screenshots.map { ["--screenshots", $0] } ?? []))
        }
    }

    @Test(.timeLimit(.minutes(5))) func signInAndReadOnlyInABrowser() async throws {
        let token = "browser-\(UUID().uuidString)"
        let daemon = Daemon(token: token)
        do {
            try await daemon.start(extraArguments: ["--no-router"])
            let applied = try #require(await daemon.call(.POST, "/api/v1/apply", body: DashboardEndToEndTests.manifest))
            #expect(applied.status == 200)
            try drive(["login", daemon.base, token])
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
        try await Daemon.run(extraArguments: ["--no-router", "--dashboard", "read-only"]) { daemon in
            let applied = try #require(await daemon.call(.POST, "/api/v1/apply", body: DashboardEndToEndTests.manifest))
            #expect(applied.status == 200)
            try drive(["read-only", daemon.base])
        }
    }

    @Test(.timeLimit(.minutes(5))) func thePageSaysWhenItLostTheDaemonAndComesBack() async throws {
        let daemon = Daemon()
        let directory = NSTemporaryDirectory() + "aviary-reconnect-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        var script: ManagedProcess?
        do {
            try await daemon.start(extraArguments: ["--no-router"])
            let applied = try #require(await daemon.call(.POST, "/api/v1/apply", body: DashboardEndToEndTests.manifest))
            #expect(applied.status == 200)
            let running = ["/usr/bin/env", "python3", Self.script, "reconnect", daemon.base, directory]
            script = try ManagedProcess(
                name: "dashboard_browser.py", arguments: running, environment: [:], logPath: directory + "/browser.log")
            let connected = await eventually(within: 90) {
                FileManager.default.fileExists(atPath: directory + "/connected")
            }
            try #require(connected, "the page connected: \(script?.logTail() ?? "")")
            daemon.killNine()
            let lost = await eventually(within: 90) { FileManager.default.fileExists(atPath: directory + "/lost") }
            try #require(lost, "the page noticed: \(script?.logTail() ?? "")")
            // The same state directory and port: the page's stream connects to it again.
            try await daemon.start(extraArguments: ["--no-router"])
            let finished = await eventually(within: 90) { script?.process.isRunning == false }
            #expect(finished && script?.process.terminationStatus == 0, "\(script?.logTail(lines: 40) ?? "")")
        } catch {
            script?.stop(seconds: 5)
            await daemon.cleanUp()
            try? FileManager.default.removeItem(atPath: directory)
            throw error
        }
        script?.stop(seconds: 5)
        await daemon.cleanUp()
        try? FileManager.default.removeItem(atPath: directory)
    }
}
