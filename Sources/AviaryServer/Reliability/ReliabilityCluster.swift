import Foundation
import NIOHTTP1

/// One sample-app rollout of a reliability run and its three Services' ports.
struct ReliabilityApp: Sendable {
    var name: String
    var rootPort: Int
    var stablePort: Int
    var canaryPort: Int

    /// The container the releases change.
    static let container = "app"
}

/// The platform a reliability run works on: `aviary serve` (which starts the router and the
/// pods) and a real Prometheus on free loopback ports, in a temporary directory, with rollouts of
/// the sample app whose `success-rate` analysis decides within seconds.
final class ReliabilityCluster {
    let directory: String
    let aviary: String
    let write: @Sendable (String) -> Void
    private(set) var daemon: DemoProcess?
    private(set) var prometheus: DemoProcess?
    private(set) var daemonPort = 0
    private(set) var prometheusAddress = ""
    private(set) var daemonStarts = 0
    var apps: [ReliabilityApp] = []
    let timeFormatter: DateFormatter

    var stateDirectory: String { directory + "/state" }
    var client: APIClient { APIClient(server: "http://127.0.0.1:\(daemonPort)", token: nil, environment: [:]) }

    init(name: String, aviary: String, write: @escaping @Sendable (String) -> Void) {
        directory = NSTemporaryDirectory() + "aviary-\(name)-" + UUID().uuidString.prefix(8)
        self.aviary = aviary
        self.write = write
        timeFormatter = DateFormatter()
        timeFormatter.dateFormat = "HH:mm:ss.S"
    }

    func log(_ text: String) {
        write(timeFormatter.string(from: Date()) + "  " + text + "\n")
    }

    // MARK: Processes

    /// Starts `aviary serve` (again, on the same port and state directory) and waits for /healthz.
    func startDaemon() async throws {
        if daemonPort == 0 {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            daemonPort = try DemoEnvironment.freePort()
        }
        let binDirectory = (aviary as NSString).deletingLastPathComponent
        let path = binDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        daemonStarts += 1
        daemon = try DemoProcess(
            name: "aviary serve",
            arguments: [aviary, "serve", "--state-dir", stateDirectory, "--listen", "127.0.0.1:\(daemonPort)"],
            environment: ["PATH": path], logPath: directory + "/serve-\(daemonStarts).log")
        let server = client.server
        let up = try await DemoEnvironment.eventually(within: 60) { await DemoEnvironment.answers(server + "/healthz") }
        guard up else { throw DemoError("aviary serve did not start:\n\(daemon?.logTail() ?? "")") }
    }

    /// kill -9 of the daemon (its pods and router keep running); returns its PID.
    @discardableResult
    func killDaemon() -> Int32 {
        guard let daemon else { return 0 }
        kill(daemon.pid, SIGKILL)
        daemon.process.waitUntilExit()
        self.daemon = nil
        return daemon.pid
    }

    /// The running router of this state directory.
    func routerPID() -> Int32? {
        ProcessTable.pids(withArguments: ["router", stateDirectory + "/router-table.json"]).first
    }

    /// Starts Prometheus scraping the pods every second through the daemon's /sd.
    func startPrometheus() async throws {
        guard let binary = DemoEnvironment.executableOnPath("prometheus") else {
            throw DemoError(
                "prometheus is not on PATH; the analyses query a real Prometheus. Install it with "
                    + "`apt-get install -y prometheus` (as root) and run again")
        }
        let started = try await DemoProcess.prometheus(
            binary: binary, directory: directory, daemon: client.server, interval: "1s")
        prometheus = started.process
        prometheusAddress = started.address
    }

    /// Stops the daemon (which stops its pods and router), then anything of the run still alive
    /// (a pod or router a killed daemon left), Prometheus, and removes the directory.
    func stopAll(keepDirectory: Bool = false) {
        daemon?.stop()
        daemon = nil
        for pid in ProcessTable.pids(writingUnder: stateDirectory) { kill(-pid, SIGKILL) }
        for pid in ProcessTable.pids(writingUnder: stateDirectory) { kill(pid, SIGKILL) }
        prometheus?.stop()
        prometheus = nil
        if !keepDirectory { try? FileManager.default.removeItem(atPath: directory) }
    }

    // MARK: Rollouts

    /// Creates `count` rollouts named `prefix-1`... of `image`, each with 2 pods and 3 Services.
    func applyApps(prefix: String, count: Int, image: String) async throws {
        apps = try (1...count).map { index in
            ReliabilityApp(
                name: "\(prefix)-\(index)", rootPort: try DemoEnvironment.freePort(),
                stablePort: try DemoEnvironment.freePort(), canaryPort: try DemoEnvironment.freePort())
        }
        let documents =
            [ReliabilityManifests.template(prometheus: prometheusAddress)]
            + apps.map { ReliabilityManifests.rollout($0, image: image) }
        _ = try await send(.POST, "/api/v1/apply", body: Data(documents.joined(separator: "\n---\n").utf8))
    }

    /// POST/GET through the API; throws the daemon's message.
    func send(_ method: HTTPMethod, _ path: String, body: Data? = nil) async throws -> Data {
        do {
            return try await client.send(method, path, body: body, contentType: "application/yaml")
        } catch {
            throw DemoError("\(method) \(path): \(error.description)")
        }
    }

    func json(_ path: String) async -> [String: Any]? {
        guard let data = try? await client.send(.GET, path) else { return nil }
        return (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
    }

    /// Sets the image of an app's rollout; true when the daemon acknowledged it (200).
    func setImage(_ app: ReliabilityApp, _ image: String) async -> Bool {
        let body = try? JSONSerialization.data(withJSONObject: ["container": ReliabilityApp.container, "image": image])
        do {
            _ = try await client.send(
                .POST, APIClient.operationPath(rollout: app.name, operation: "image", namespace: nil), body: body)
            return true
        } catch {
            return false
        }
    }

    /// The image in an app's rollout spec, as the daemon has it now (nil: no rollout or no answer).
    func specImage(_ app: ReliabilityApp) async -> String? {
        guard let rollout = await json("/api/v1/rollouts/\(app.name)") else { return nil }
        let template = (rollout["spec"] as? [String: Any])?["template"] as? [String: Any]
        let containers = (template?["spec"] as? [String: Any])?["containers"] as? [[String: Any]]
        return containers?.first?["image"] as? String
    }

    /// Whether an app has settled: its 2 pods ready and all of `image`, no canary weight, the
    /// rollout `Healthy` (promoted: `image` is its new stable) or aborted (`image` is the old
    /// stable), and 10 requests to its all-traffic Service all answered 200 by `image`.
    func isSettled(_ app: ReliabilityApp, image: String, aborted: Bool) async -> Bool {
        guard let rollout = await json("/api/v1/rollouts/\(app.name)"),
            let pods = (await json("/api/v1/pods"))?["pods"] as? [[String: Any]]
        else { return false }
        let status = rollout["status"] as? [String: Any] ?? [:]
        let weight =
            (((status["canary"] as? [String: Any])?["weights"] as? [String: Any])?["canary"] as? [String: Any])?[
                "weight"] as? Int ?? 0
        let own = pods.filter { $0["rollout"] as? String == app.name }
        let podsSettled =
            own.count == 2 && own.allSatisfy { $0["image"] as? String == image && $0["ready"] as? Bool == true }
        let phaseSettled =
            aborted
            ? status["abort"] as? Bool == true
            : status["phase"] as? String == "Healthy" && status["stableRS"] as? String != nil
                && status["stableRS"] as? String == status["currentPodHash"] as? String
        guard podsSettled, phaseSettled, weight == 0 else { return false }
        for _ in 0..<10 {
            guard case .answer(200, let body) = await LoopbackClient.get(port: app.rootPort),
                let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any],
                object["image"] as? String == image
            else { return false }
        }
        return true
    }

    /// One line on an app's state, for a report of what did not settle.
    func describe(_ app: ReliabilityApp) async -> String {
        let rollout = await json("/api/v1/rollouts/\(app.name)")
        let status = rollout?["status"] as? [String: Any] ?? [:]
        let pods = ((await json("/api/v1/pods"))?["pods"] as? [[String: Any]] ?? []).filter {
            $0["rollout"] as? String == app.name
        }
        let podText = pods.map {
            "\($0["image"] as? String ?? "?")\($0["ready"] as? Bool == true ? "" : " (not ready)")"
        }
        .joined(separator: ", ")
        return "\(app.name): phase \(status["phase"] as? String ?? "?"), abort \(status["abort"] as? Bool ?? false), "
            + "step \(status["currentStepIndex"] as? Int ?? -1), message \(status["message"] as? String ?? "-"); pods: \(podText)"
    }
}
