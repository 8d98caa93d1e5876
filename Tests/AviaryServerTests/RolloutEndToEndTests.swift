import AviaryTestSupport
import Foundation
import NIOHTTP1
import Testing

@testable import AviaryLocal

/// The manifests of a canary of the sample app with three Services on free loopback ports.
struct CanaryManifests {
    let rootPort = PortAllocator.freePort() ?? 0
    let canaryPort = PortAllocator.freePort() ?? 0
    let stablePort = PortAllocator.freePort() ?? 0
    var trafficRouting = true
    var command: [String] = [builtProductsDirectory() + "/aviary-sample-app"]
    var progressDeadlineSeconds: Int?
    /// Extra lines under `spec:` (two-space indented), e.g. `  rollbackWindow: {revisions: 2}`.
    var specExtra = ""
    /// The canary's steps, as YAML list items indented for `steps:`.
    var steps = """
                - setWeight: 25
                - pause: {}
        """
    /// Extra lines under `trafficRouting:` (managedRoutes).
    var managedRoutes = ""
    /// The router under `trafficRouting:`, one line per element, indented from `trafficRouting:`'s children.
    var router = ["smi:", "  rootService: web"]
    /// Annotations of the root Service `web`.
    var rootAnnotations: [String: String] = [:]
    /// Ping-pong Services `web-ping` (on `canaryPort`) and `web-pong` (on `stablePort`) instead
    /// of `web-canary` and `web-stable`; pair it with a router that allows it (Istio).
    var pingPong = false

    var sideNames: (canary: String, stable: String) { pingPong ? ("web-ping", "web-pong") : ("web-canary", "web-stable") }

    var yaml: String {
        let commandList = command.map { "\"\($0)\"" }.joined(separator: ", ")
        let services =
            pingPong
            ? "      pingPong: {pingService: web-ping, pongService: web-pong}"
            : "      canaryService: web-canary\n      stableService: web-stable"
        let routing =
            trafficRouting
            ? """
            \(services)
                  scaleDownDelaySeconds: 1
                  trafficRouting:
            \(managedRoutes)
            \(router.map { "        " + $0 }.joined(separator: "\n"))
            """ : ""
        let deadline =
            (progressDeadlineSeconds.map { "  progressDeadlineSeconds: \($0)\n  progressDeadlineAbort: true\n" } ?? "")
            + (specExtra.isEmpty ? "" : specExtra + "\n")
        return """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata:
              name: web
            spec:
              replicas: 4
            \(deadline)  selector:
                matchLabels:
                  app: web
              template:
                metadata:
                  labels:
                    app: web
                spec:
                  containers:
                    - name: app
                      image: aviary-sample-app:blue
                      command: [\(commandList)]
                      ports:
                        - name: http
                          containerPort: 8080
                      readinessProbe:
                        httpGet:
                          path: /healthz
                          port: http
                        periodSeconds: 1
              strategy:
                canary:
            \(routing)
                  canaryMetadata:
                    labels:
                      role: canary
                  stableMetadata:
                    labels:
                      role: stable
                  steps:
            \(steps)
            ---
            \(service("web", rootPort, annotations: rootAnnotations))
            ---
            \(service(sideNames.canary, canaryPort))
            ---
            \(service(sideNames.stable, stablePort))
            """
    }

    func service(_ name: String, _ port: Int, annotations: [String: String] = [:]) -> String {
        let annotationLines = annotations.sorted { $0.key < $1.key }.map { "    \($0.key): \"\($0.value)\"" }
        return """
            apiVersion: v1
            kind: Service
            metadata:
              name: \(name)
            \(annotations.isEmpty ? "" : "  annotations:\n" + annotationLines.joined(separator: "\n"))
            spec:
              selector:
                app: web
              ports:
                - port: \(port)
                  targetPort: http
            """
    }
}

extension Daemon {
    /// The rollout `web` as the API returns it.
    func rollout() async -> [String: Any] {
        (await call(.GET, "/api/v1/rollouts/web"))?.json ?? [:]
    }

    func status() async -> [String: Any] {
        await rollout()["status"] as? [String: Any] ?? [:]
    }

    /// The daemon's pods: name, image, ready, pid, restarts.
    func pods() async -> [[String: Any]] {
        (await call(.GET, "/api/v1/pods"))?.json["pods"] as? [[String: Any]] ?? []
    }

    /// Applies the manifests through the CLI, as a user would.
    func applyWithCLI(_ yaml: String) throws {
        let file = stateDirectory + "/manifests-\(UUID().uuidString.prefix(6)).yaml"
        try yaml.write(toFile: file, atomically: true, encoding: .utf8)
        let result = try cli(["apply", "-f", file])
        try #require(result.status == 0, "aviary apply failed: \(result.output)")
    }

    /// Waits for the rollout to be Healthy with `images` on all its ready pods.
    func waitHealthy(image: String, replicas: Int = 4) async -> Bool {
        await eventually(within: 90) {
            let status = await status()
            let pods = await pods()
            return status["phase"] as? String == "Healthy" && (status["availableReplicas"] as? Int) == replicas
                && pods.count == replicas
                && pods.allSatisfy { $0["image"] as? String == image && $0["ready"] as? Bool == true }
        }
    }

    /// Waits for the rollout to pause at step `index`.
    func waitPaused(atStep index: Int) async -> Bool {
        await eventually(within: 90) {
            let status = await status()
            return status["phase"] as? String == "Paused" && status["currentStepIndex"] as? Int == index
        }
    }
}

/// Whole rollouts through `aviary serve`, the CLI, real sample-app pods and the router.
@Suite(.serialized) struct RolloutEndToEndTests {
    @Test func aCanaryPausesAtItsStepAndPromotionReplacesTheOldPods() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            let manifests = CanaryManifests()
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))

            let setImage = try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"])
            #expect(setImage.status == 0, "\(setImage.output)")
            #expect(await daemon.waitPaused(atStep: 1))
            let json = try daemon.cli(["get", "rollout", "web", "-o", "json"])
            #expect(json.status == 0)
            let object = try #require(try JSONSerialization.jsonObject(with: Data(json.output.utf8)) as? [String: Any])
            let status = try #require(object["status"] as? [String: Any])
            let weights = (status["canary"] as? [String: Any])?["weights"] as? [String: Any]
            #expect((weights?["canary"] as? [String: Any])?["weight"] as? Int == 25)
            let pods = await daemon.pods()
            #expect(pods.filter { $0["image"] as? String == "aviary-sample-app:green" }.count == 1)
            #expect(pods.filter { $0["image"] as? String == "aviary-sample-app:blue" }.count == 4)
            let canaryPod = try #require(pods.first { $0["image"] as? String == "aviary-sample-app:green" })
            #expect((canaryPod["labels"] as? [String: String])?["role"] == "canary")

            let yaml = try daemon.cli(["get", "rollout", "web", "-o", "yaml"])
            #expect(yaml.output.contains("currentStepIndex: 1"))

            let root = await sendTraffic(port: manifests.rootPort, count: 2000)
            #expect(root.errors == 0)
            #expect(abs(root.share(of: "aviary-sample-app:green") - 0.25) <= 0.02, "root split: \(root.images)")
            let stable = await sendTraffic(port: manifests.stablePort, count: 100)
            #expect(stable.images == ["aviary-sample-app:blue": 100], "the stable service answers only the old image")
            let canary = await sendTraffic(port: manifests.canaryPort, count: 100)
            #expect(canary.images == ["aviary-sample-app:green": 100], "the canary service answers only the new image")

            let promote = try daemon.cli(["promote", "web"])
            #expect(promote.status == 0, "\(promote.output)")
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:green"))
            let promoted = await eventually(within: 30) {
                await sendTraffic(port: manifests.rootPort, count: 50).images == ["aviary-sample-app:green": 50]
            }
            #expect(promoted, "after promote every request reaches the new image")

            let pids = await daemon.podPIDs()
            let delete = try daemon.cli(["delete", "rollout", "web"])
            #expect(delete.status == 0, "\(delete.output)")
            #expect(await eventually(within: 30) { await daemon.pods().isEmpty })
            #expect(await eventually(within: 30) { pids.allSatisfy { !isRunning($0) } }, "deleted pods are stopped")
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    @Test func withoutTrafficRoutingTheSplitFollowsTheReplicaCounts() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            var manifests = CanaryManifests()
            manifests.trafficRouting = false
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 1))
            // Let the scale-down of the old pods settle: the step is done once old pods are gone.
            let pods = await daemon.pods().filter { $0["ready"] as? Bool == true }
            let green = pods.filter { $0["image"] as? String == "aviary-sample-app:green" }.count
            #expect(green >= 1 && green < pods.count)
            let sample = await sendTraffic(port: manifests.rootPort, count: 2000)
            #expect(sample.errors == 0)
            let expected = Double(green) / Double(pods.count)
            #expect(
                abs(sample.share(of: "aviary-sample-app:green") - expected) <= 0.02,
                "\(green) of \(pods.count) pods are new: \(sample.images)")
            #expect(try daemon.cli(["promote", "web"]).status == 0)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:green"))
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    @Test func aHeaderRouteSendsMatchingRequestsToTheCanary() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            var manifests = CanaryManifests()
            manifests.managedRoutes = """
                        managedRoutes:
                          - name: canary-header
                """
            manifests.steps = """
                            - setCanaryScale:
                                replicas: 1
                            - setHeaderRoute:
                                name: canary-header
                                match:
                                  - headerName: X-Canary
                                    headerValue:
                                      exact: "yes"
                            - pause: {}
                """
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 2))
            let marked = await sendTraffic(port: manifests.rootPort, count: 100, headers: [("X-Canary", "yes")])
            #expect(marked.images == ["aviary-sample-app:green": 100], "header matches go to the canary")
            let plain = await sendTraffic(port: manifests.rootPort, count: 100)
            #expect(plain.images == ["aviary-sample-app:blue": 100], "weight 0: the rest stays on stable")
            #expect(try daemon.cli(["promote", "web"]).status == 0)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:green"))
            let after = await eventually(within: 30) {
                await sendTraffic(port: manifests.rootPort, count: 20, headers: [("X-Canary", "yes")]).images
                    == ["aviary-sample-app:green": 20]
            }
            #expect(after)
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    /// The root Service's annotations ask the router for TLS and sticky sessions: over HTTPS,
    /// 200 sessions of 5 requests each see one version each, about a quarter of them the
    /// canary's at weight 25, and after abort every session is on stable.
    @Test func aRootServiceWithTLSAndStickySessionsKeepsEachSessionOnOneVersion() async throws {
        let directory = NSTemporaryDirectory() + "aviary-tls-e2e-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let made = try runCommand([
            "/usr/bin/env", "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
            "-nodes", "-keyout", directory + "/web.key", "-out", directory + "/web.crt", "-days", "2",
            "-subj", "/CN=web", "-addext", "subjectAltName=DNS:localhost",
        ])
        try #require(made.status == 0, "openssl: \(made.output)")
        let daemon = Daemon()
        try await daemon.start()
        do {
            var manifests = CanaryManifests()
            manifests.rootAnnotations = [
                "aviary.dev/tls-cert-file": directory + "/web.crt", "aviary.dev/tls-key-file": directory + "/web.key",
                "aviary.dev/sticky-cookie": "web-side",
            ]
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 1))
            // Each session: a first request without the cookie, then 4 with the one it was given.
            let script = """
                import http.client, json, ssl, sys
                port, ca, count = int(sys.argv[1]), sys.argv[2], int(sys.argv[3])
                cookies = sys.argv[4:]
                context = ssl.create_default_context(cafile=ca)
                def get(cookie):
                    connection = http.client.HTTPSConnection("localhost", port, context=context, timeout=20)
                    connection.request("GET", "/", headers={"Cookie": cookie} if cookie else {})
                    response = connection.getresponse()
                    image = json.loads(response.read())["image"]
                    set_cookie = response.getheader("Set-Cookie") or ""
                    connection.close()
                    return image, set_cookie.split(";")[0]
                sessions = []
                for cookie in cookies or [None] * count:
                    image, given = get(cookie)
                    cookie = cookie or given
                    images = {image} | {get(cookie)[0] for _ in range(0 if cookies else 4)}
                    sessions.append({"cookie": cookie, "images": sorted(images)})
                print(json.dumps(sessions))
                """
            try script.write(toFile: directory + "/sessions.py", atomically: true, encoding: .utf8)
            struct Session: Decodable {
                let cookie: String
                let images: [String]
            }
            func sessions(_ arguments: [String]) throws -> [Session] {
                let result = try runCommand(
                    [
                        "/usr/bin/env", "python3", directory + "/sessions.py", String(manifests.rootPort),
                        directory + "/web.crt",
                    ] + arguments)
                guard result.status == 0, let line = result.output.split(separator: "\n").last else {
                    throw TestSupportFailure("the HTTPS sessions failed: \(result.output)")
                }
                return try JSONDecoder().decode([Session].self, from: Data(line.utf8))
            }
            let during = try sessions(["200"])
            #expect(
                during.allSatisfy { $0.images.count == 1 && $0.cookie.hasPrefix("web-side=") }, "\(during.prefix(3))")
            let onCanary = during.filter { $0.images == ["aviary-sample-app:green"] }.count
            #expect(abs(onCanary - 50) <= 10, "\(onCanary) of 200 sessions on the canary at weight 25")
            // The router's own numbers, per Service and per pod, on the daemon's /metrics.
            let metrics = await http(.GET, daemon.base + "/metrics")?.text ?? ""
            // The root's listener routes to the canary and stable Services: their counts add up.
            let routed = metrics.split(separator: "\n").filter {
                $0.hasPrefix(#"aviary_router_requests_total{service="web-canary"} "#)
                    || $0.hasPrefix(#"aviary_router_requests_total{service="web-stable"} "#)
            }
            let total = routed.compactMap { Int($0.split(separator: " ").last!) }.reduce(0, +)
            #expect(routed.count == 2 && total >= 1_000, "\(routed)")
            #expect(metrics.contains(#"aviary_router_pod_responses_total{endpoint="127.0.0.1:"#), "no pod lines")
            #expect(metrics.contains(#",pod="web-"#) && metrics.contains(#"code="2xx"} "#), "pods are not named")
            #expect(try daemon.cli(["abort", "web"]).status == 0)
            let afterAbort = await eventually(within: 60) {
                (try? sessions(["0"] + during.map(\.cookie)))?.allSatisfy { $0.images == ["aviary-sample-app:blue"] }
                    ?? false
            }
            #expect(afterAbort, "after abort every session is on stable")
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    /// `aviary.dev/tls-secret`: the root Service terminates TLS with a Secret applied beside it,
    /// and a re-applied Secret rotates the certificate for new connections.
    @Test func aServiceTerminatesTLSWithASecretAndARotatedSecretIsServed() async throws {
        let directory = NSTemporaryDirectory() + "aviary-tls-secret-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        /// A Secret manifest of a new self-signed certificate for localhost named `commonName`.
        func secret(_ commonName: String) throws -> String {
            let made = try runCommand([
                "/usr/bin/env", "openssl", "req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1",
                "-nodes", "-keyout", "\(directory)/\(commonName).key", "-out", "\(directory)/\(commonName).crt",
                "-days", "2", "-subj", "/CN=\(commonName)", "-addext", "subjectAltName=DNS:localhost",
            ])
            try #require(made.status == 0, "openssl: \(made.output)")
            func base64(_ file: String) throws -> String {
                try Data(contentsOf: URL(fileURLWithPath: "\(directory)/\(file)")).base64EncodedString()
            }
            return """
                apiVersion: v1
                kind: Secret
                metadata:
                  name: web-tls
                type: kubernetes.io/tls
                data:
                  tls.crt: \(try base64(commonName + ".crt"))
                  tls.key: \(try base64(commonName + ".key"))
                """
        }
        /// The common name of the certificate the root listener serves to a new connection.
        func served(_ port: Int) throws -> String {
            let result = try runCommand([
                "/bin/sh", "-c",
                "openssl s_client -connect 127.0.0.1:\(port) -servername localhost </dev/null 2>/dev/null "
                    + "| openssl x509 -noout -subject -nameopt RFC2253",
            ])
            return result.output.trimmingCharacters(in: .whitespacesAndNewlines)
        }
        let daemon = Daemon()
        try await daemon.start()
        do {
            var manifests = CanaryManifests()
            manifests.rootAnnotations = ["aviary.dev/tls-secret": "web-tls"]
            try daemon.applyWithCLI(try secret("first") + "\n---\n" + manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            let port = manifests.rootPort
            #expect(await eventually(within: 30) { (try? served(port)) == "subject=CN=first" })
            // Healthy is the daemon's view; the router gets the ready pods on its next table, a moment later.
            var https = ""
            let answered = await eventually(within: 30) {
                https =
                    (try? runCommand([
                        "/usr/bin/env", "curl", "-sS", "--max-time", "20", "--cacert", directory + "/first.crt",
                        "--resolve", "localhost:\(port):127.0.0.1", "-w", "\\n%{http_code} %{http_version}",
                        "https://localhost:\(port)/",
                    ]).output) ?? ""
                return https.hasSuffix("\n200 2")
            }
            #expect(answered, "HTTPS (and h2 by ALPN) with the Secret's certificate: \(https)")
            try daemon.applyWithCLI(try secret("second"))
            #expect(
                await eventually(within: 30) { (try? served(port)) == "subject=CN=second" },
                "the re-applied Secret's certificate is served to new connections")
            // Its files are the daemon's own, readable by nobody else.
            let key = daemon.stateDirectory + "/tls/default.web-tls.key"
            let mode = (try FileManager.default.attributesOfItem(atPath: key)[.posixPermissions] as? Int) ?? 0
            #expect(mode == 0o600, "\(String(mode, radix: 8))")
            // Once no Service names the Secret, its key is not kept on disk.
            #expect(try daemon.cli(["delete", "service", "web"]).status == 0)
            #expect(
                await eventually(within: 30) {
                    (try? FileManager.default.contentsOfDirectory(atPath: daemon.stateDirectory + "/tls")) == []
                }, "the files of default/web-tls are removed with the last Service that named it")
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    /// `rollbackWindow`: `undo` back to the previous revision skips the steps (no pause), so the
    /// old version serves again at once; the status says FastRolledBack.
    @Test func anUndoWithinTheRollbackWindowSkipsTheSteps() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            var manifests = CanaryManifests()
            manifests.specExtra = "  rollbackWindow: {revisions: 2}"
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 1))
            #expect(try daemon.cli(["promote", "web"]).status == 0)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:green"))

            let undo = try daemon.cli(["undo", "web"])
            #expect(undo.status == 0, "\(undo.output)")
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"), "back on blue without a pause")
            let status = await daemon.status()
            #expect((status["duration"] as? [String: Any])?["completionStatus"] as? String == "FastRolledBack")
            #expect(status["pauseConditions"] == nil)
            let events =
                (await daemon.call(.GET, "/api/v1/rollouts/web/events"))?.json["events"] as? [[String: Any]] ?? []
            #expect(events.contains { $0["reason"] as? String == "RollbackWithinWindow" })
            #expect(
                events.filter { $0["reason"] as? String == "RolloutPaused" }.count == 1,
                "the only pause is the update to green's")
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    /// On one host an Ingress, VirtualService or route has nothing to route: Aviary's router
    /// splits the stable Service's listener instead, out of `maxTrafficWeight`.
    @Test func aRolloutWrittenForNGINXSplitsTheStableServiceOnOneHost() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            var manifests = CanaryManifests()
            manifests.router = ["nginx:", "  stableIngress: web"]
            manifests.managedRoutes = "        maxTrafficWeight: 200"
            manifests.steps = """
                            - setWeight: 50
                            - pause: {}
                """
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 1))
            let weights = (await daemon.status()["canary"] as? [String: Any])?["weights"] as? [String: Any]
            #expect((weights?["canary"] as? [String: Any])?["weight"] as? Int == 50)
            let sent = await sendTraffic(port: manifests.stablePort, count: 400)
            let green = sent.images["aviary-sample-app:green"] ?? 0
            #expect((60...140).contains(green), "50 of 200 is a quarter of 400 requests, got \(sent.images)")
            #expect(try daemon.cli(["promote", "web"]).status == 0)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:green"))
            let after = await eventually(within: 30) {
                await sendTraffic(port: manifests.stablePort, count: 20).images == ["aviary-sample-app:green": 20]
            }
            #expect(after)
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    /// `pingPong` (with Istio or ALB, as Argo allows): the Service `web` (the VirtualService's,
    /// or ALB's `rootService`) splits between `web-ping` and `web-pong`; the stable pods stay
    /// behind one of them, the other follows the new pods, and at promotion they swap roles
    /// (`status.canary.stablePingPong`).
    @Test(arguments: [
        ["istio:", "  virtualService: {name: web}"],
        ["alb:", "  ingress: web", "  servicePort: 80", "  rootService: web"],
    ])
    func pingAndPongTakeTurnsAsTheStableService(router: [String]) async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            var manifests = CanaryManifests()
            manifests.pingPong = true
            manifests.router = router
            manifests.steps = """
                            - setWeight: 50
                            - pause: {}
                """
            let (ping, pong, root) = (manifests.canaryPort, manifests.stablePort, manifests.rootPort)
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(await eventually(within: 30) { await sendTraffic(port: ping, count: 10).images.keys.sorted() == ["aviary-sample-app:blue"] })

            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 1))
            let weights = (await daemon.status()["canary"] as? [String: Any])?["weights"] as? [String: Any]
            #expect((weights?["canary"] as? [String: Any])?["serviceName"] as? String == "web-pong")
            #expect((weights?["stable"] as? [String: Any])?["serviceName"] as? String == "web-ping")
            #expect(await eventually(within: 30) { await sendTraffic(port: pong, count: 20).images == ["aviary-sample-app:green": 20] })
            #expect(await sendTraffic(port: ping, count: 20).images == ["aviary-sample-app:blue": 20])
            let split = await sendTraffic(port: root, count: 200)
            let green = split.images["aviary-sample-app:green"] ?? 0
            #expect((80...120).contains(green), "half of 200 requests to the canary, got \(split.images)")

            #expect(try daemon.cli(["promote", "web"]).status == 0)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:green"))
            #expect((await daemon.status()["canary"] as? [String: Any])?["stablePingPong"] as? String == "pong")
            #expect(await sendTraffic(port: root, count: 20).images == ["aviary-sample-app:green": 20])
            #expect(await sendTraffic(port: pong, count: 20).images == ["aviary-sample-app:green": 20])

            // The next release goes behind ping, while pong keeps the stable pods.
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:yellow"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 1))
            #expect(await eventually(within: 30) { await sendTraffic(port: ping, count: 20).images == ["aviary-sample-app:yellow": 20] })
            #expect(await sendTraffic(port: pong, count: 20).images == ["aviary-sample-app:green": 20])
            #expect(try daemon.cli(["promote", "web"]).status == 0)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:yellow"))
            #expect((await daemon.status()["canary"] as? [String: Any])?["stablePingPong"] as? String == "ping")
            #expect(await sendTraffic(port: root, count: 20).images == ["aviary-sample-app:yellow": 20])
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    @Test func killNineWhilePausedThenANewServeAdoptsThePods() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            let manifests = CanaryManifests()
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 1))
            let before = await daemon.podPIDs().sorted()
            #expect(before.count == 5)

            // Traffic runs through the kill and the restart.
            let traffic = Task { await sendTraffic(port: manifests.rootPort, count: 600) }
            try await Task.sleep(for: .milliseconds(300))
            daemon.killNine()
            for pid in before { #expect(kill(pid, 0) == 0, "pod \(pid) must outlive the daemon") }
            let whileDown = await sendTraffic(port: manifests.rootPort, count: 100)
            #expect(whileDown.errors == 0, "requests while the daemon is down: \(whileDown)")

            try await daemon.start()
            let during = await traffic.value
            #expect(during.errors == 0, "requests across kill -9 and restart: \(during)")
            #expect(await daemon.podPIDs().sorted() == before, "the new daemon adopts the same pods")
            let status = await daemon.status()
            #expect(status["phase"] as? String == "Paused")
            #expect(status["currentStepIndex"] as? Int == 1)
            try await Task.sleep(for: .seconds(2))
            #expect(await daemon.podPIDs().sorted() == before, "and does not restart them")

            #expect(try daemon.cli(["promote", "web"]).status == 0)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:green"))

            // SIGTERM with --leave-running keeps the pods; without it, they stop.
            let green = await daemon.podPIDs().sorted()
            daemon.killNine()
            try await daemon.start(extraArguments: ["--leave-running"])
            daemon.terminate()
            for pid in green { #expect(kill(pid, 0) == 0, "--leave-running leaves pod \(pid) running") }
            try await daemon.start()
            #expect(await daemon.podPIDs().sorted() == green)
            daemon.terminate()
            #expect(await eventually(within: 30) { green.allSatisfy { !isRunning($0) } }, "SIGTERM stops the pods")
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    @Test func aRouterKilledWhileTheDaemonRunsIsRestartedWithItsListeners() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            let manifests = CanaryManifests()
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            let first = try #require(routerPID(stateDirectory: daemon.stateDirectory))
            kill(first, SIGKILL)
            let restarted = await eventually(within: 30) {
                guard let pid = routerPID(stateDirectory: daemon.stateDirectory), pid != first else { return false }
                return await sendTraffic(port: manifests.rootPort, count: 1).errors == 0
            }
            #expect(restarted, "the daemon starts a new router that listens on the Services' ports")
            let after = await sendTraffic(port: manifests.rootPort, count: 100)
            #expect(after.images == ["aviary-sample-app:blue": 100], "\(after)")
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    @Test func aPodThatExitsAtOnceBlocksTheRolloutUntilTheProgressDeadline() async throws {
        let daemon = Daemon()
        try await daemon.start()
        do {
            var manifests = CanaryManifests()
            manifests.progressDeadlineSeconds = 8
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))

            // The new revision's command exits at once.
            var broken = manifests
            broken.command = ["/bin/sh", "-c", "echo crashing; exit 1"]
            try daemon.applyWithCLI(broken.yaml.replacingOccurrences(of: "aviary-sample-app:blue", with: "crash:v2"))
            var crashRestarts = 0
            var crashLog = ""
            let degraded = await eventually(within: 90) {
                for pod in await daemon.pods() where pod["image"] as? String == "crash:v2" {
                    crashRestarts = max(crashRestarts, pod["restarts"] as? Int ?? 0)
                    if crashLog.isEmpty, let name = pod["name"] as? String {
                        crashLog = (try? daemon.cli(["logs", name]).output) ?? ""
                    }
                }
                return await daemon.status()["phase"] as? String == "Degraded"
            }
            #expect(degraded)
            let status = await daemon.status()
            #expect(status["currentStepIndex"] as? Int == 0, "the rollout did not progress")
            #expect(status["abort"] as? Bool == true, "progressDeadlineAbort aborts")
            let events =
                (await daemon.call(.GET, "/api/v1/rollouts/web/events"))?.json["events"] as? [[String: Any]] ?? []
            #expect(events.contains { $0["reason"] as? String == "ProgressDeadlineExceeded" })
            let conditions = status["conditions"] as? [[String: Any]] ?? []
            #expect(
                conditions.contains {
                    $0["type"] as? String == "Progressing" && $0["reason"] as? String == "RolloutAborted"
                })
            let pods = await daemon.pods()
            let crashing = pods.filter { $0["image"] as? String == "crash:v2" }
            #expect(crashing.allSatisfy { $0["ready"] as? Bool == false })
            #expect(crashRestarts >= 2, "the crashing pod is restarted with backoff")
            #expect(crashLog.contains("crashing"), "aviary logs prints the pod's output")
            #expect(
                pods.filter { $0["image"] as? String == "aviary-sample-app:blue" && $0["ready"] as? Bool == true }.count
                    == 4)
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }
}
