import AviaryClient
import AviaryModel
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
    private(set) var daemon: DaemonProcess?
    private(set) var prometheus: ManagedProcess?
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

    /// Starts `aviary serve` (again, on the same port and state directory) with `extraArguments`
    /// and waits for /healthz.
    func startDaemon(extraArguments: [String] = []) async throws {
        if daemonPort == 0 {
            try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
            daemonPort = try HarnessEnvironment.freePort()
        }
        daemonStarts += 1
        let daemon = DaemonProcess(aviary: aviary, stateDirectory: stateDirectory, port: daemonPort)
        self.daemon = daemon
        try await daemon.start(logPath: directory + "/serve-\(daemonStarts).log", extraArguments: extraArguments)
    }

    /// kill -9 of the daemon (its pods and router keep running); returns its PID.
    @discardableResult
    func killDaemon() -> Int32 {
        defer { daemon = nil }
        return daemon?.killNine() ?? 0
    }

    /// The running router of this state directory.
    func routerPID() -> Int32? {
        ProcessTable.pids(withArguments: ["router", stateDirectory + "/router-table.json"]).first
    }

    /// Starts Prometheus scraping the pods every second through the daemon's /sd.
    func startPrometheus() async throws {
        guard let binary = HarnessEnvironment.executableOnPath("prometheus") else {
            throw DemoError(
                "prometheus is not on PATH; the analyses query a real Prometheus. Install it with "
                    + "`apt-get install -y prometheus` (as root) and run again")
        }
        let started = try await ManagedProcess.prometheus(
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
                name: "\(prefix)-\(index)", rootPort: try HarnessEnvironment.freePort(),
                stablePort: try HarnessEnvironment.freePort(), canaryPort: try HarnessEnvironment.freePort())
        }
        try await apply(
            [ReliabilityManifests.template(prometheus: prometheusAddress)]
                + apps.map { ReliabilityManifests.rollout($0, image: image) })
    }

    /// Applies YAML documents in one request; throws the daemon's message.
    func apply(_ documents: [String]) async throws {
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

    /// An app's rollout as the daemon has it now (nil: no rollout or no answer).
    func rollout(_ app: ReliabilityApp) async -> Rollout? {
        try? await client.rollout(app.name, namespace: "default")
    }

    /// Sets the image of an app's rollout; true when the daemon acknowledged it (200).
    func setImage(_ app: ReliabilityApp, _ image: String) async -> Bool {
        do {
            try await client.setImage(
                rollout: app.name, container: ReliabilityApp.container, image: image, namespace: nil)
            return true
        } catch {
            return false
        }
    }

    /// The image in an app's rollout spec, as the daemon has it now (nil: no rollout or no answer).
    func specImage(_ app: ReliabilityApp) async -> String? {
        await rollout(app)?.spec.template?.spec.containers.first?.image
    }

    /// Whether an app has settled: its 2 pods ready and all of `image`, no canary weight, the
    /// rollout `Healthy` (promoted: `image` is its new stable) or aborted (`image` is the old
    /// stable), and 10 requests to its all-traffic Service all answered 200 by `image`.
    func isSettled(_ app: ReliabilityApp, image: String, aborted: Bool) async -> Bool {
        guard let status = await rollout(app)?.status, let own = try? await client.pods(rollout: app.name) else {
            return false
        }
        let weight = status.canary?.weights?.canary.weight ?? 0
        let podsSettled = own.count == 2 && own.allSatisfy { $0.image == image && $0.ready }
        let phaseSettled =
            aborted
            ? status.isAborted
            : status.phase == .healthy && status.stableRS != nil && status.stableRS == status.currentPodHash
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
        let status = await rollout(app)?.status
        let pods = (try? await client.pods(rollout: app.name)) ?? []
        let podText = pods.map { pod in
            var notes: [String] = []
            if !pod.ready { notes.append("not ready on port \(pod.port)") }
            if pod.restarts > 0 { notes.append("\(pod.restarts) restarts") }
            if let ended = pod.lastTermination, !pod.ready { notes.append("last ended: \(ended)") }
            return pod.image + (notes.isEmpty ? "" : " (\(notes.joined(separator: ", ")))")
        }.joined(separator: ", ")
        return "\(app.name): phase \(status?.phase?.rawValue ?? "?"), abort \(status?.isAborted ?? false), "
            + "step \(status?.currentStepIndex ?? -1), message \(status?.message ?? "-"); pods: \(podText)"
    }
}
