import AviaryAPI
import AviaryClient
import AviaryModel
import Foundation

/// What `scripts/chaos` is asked to do.
public struct ChaosOptions: Sendable {
    /// Releases in all (each sets a new image on one rollout).
    public var rollouts = 20
    /// kill -9's of the daemon.
    public var kills = 20
    /// Chooses good and bad releases, the moments of the kills and the downtimes.
    public var seed: UInt64 = 1
    /// The `aviary` binary; `aviary-sample-app` is looked up beside it.
    public var aviaryExecutable: String
    /// Rollouts of the sample app that run side by side; the releases go round them.
    public var apps = 4
    /// Requests per second to each app's all-traffic Service.
    public var requestsPerSecond = 20

    /// Options with the defaults of the command line.
    public init(aviaryExecutable: String) {
        self.aviaryExecutable = aviaryExecutable
    }
}

/// What a chaos run counted.
public struct ChaosReport: Sendable, Equatable {
    /// Releases of good images and of `bad-` images.
    public var goodReleases = 0
    /// Releases of `bad-` images (20% errors).
    public var badReleases = 0
    /// Good releases that ended Healthy on the new image.
    public var promoted = 0
    /// Bad releases that ended aborted, the stable image serving all traffic.
    public var aborted = 0
    /// Daemon kills by the moment they hit (`while scaling`, `mid-analysis`, `after a status write`).
    public var kills: [String: Int] = [:]
    /// Router kills.
    public var routerKills = 0
    /// Acknowledged changes (a rollout created, an image set) missing after a restart.
    public var lost = 0
    /// Releases that did not reach their outcome within the deadline after the last restart.
    public var unconverged = 0
    /// Pod or router processes left running that the daemon does not know of.
    public var orphans = 0
    /// What the clients saw.
    public var clients = ClientCounts()

    /// An empty report.
    public init() {}

    /// Zero lost, unconverged, client errors and orphans.
    public var succeeded: Bool { lost == 0 && unconverged == 0 && clients.clientErrors == 0 && orphans == 0 }

    /// The last line of the run.
    public var finalLine: String {
        "lost: \(lost), unconverged: \(unconverged), client errors outside bad canaries: \(clients.clientErrors)"
    }

    /// The counts printed at the end.
    public var summary: String {
        let killText = kills.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let answered = clients.answers.values.reduce(0, +)
        return """
            releases: \(goodReleases + badReleases) (good \(goodReleases), bad \(badReleases)); promoted \(promoted), aborted \(aborted)
            daemon kills (kill -9): \(kills.values.reduce(0, +)) (\(killText)); router kills (kill -9): \(routerKills)
            client requests: \(clients.requests), answered 200: \(answered), errors from bad canaries (expected): \(clients.badCanaryErrors)
            retried once the router was back (refused or reset while it was killed, retried like a load balancer): \(clients.retriedAfterRouterRestart)
            orphaned processes: \(orphans)
            \(finalLine)
            """
    }
}

/// `scripts/chaos`: rollouts of the sample app under steady traffic while the daemon and the
/// router are killed with SIGKILL at chosen moments; every release must still end right.
public enum Chaos {
    /// The moments a daemon kill aims at, in turn within a round, in the order a release passes
    /// them: its first analysis, the status written when the step moves on, the promotion's
    /// scale-up; a round with more kills starts over. A moment not seen within 20 s gets a kill
    /// at that time anyway, reported as random.
    static let moments = ["mid-analysis", "after a status write", "while scaling"]

    /// Runs the chaos, writing progress lines to `write`; stops everything it started before it
    /// returns or throws.
    public static func run(
        _ options: ChaosOptions, write: @escaping @Sendable (String) -> Void
    ) async throws
        -> ChaosReport
    {
        let cluster = ReliabilityCluster(name: "chaos", aviary: options.aviaryExecutable, write: write)
        let run = ChaosRun(options: options, cluster: cluster)
        do {
            let report = try await run.run()
            cluster.stopAll()
            return report
        } catch {
            run.trafficTask?.cancel()
            cluster.stopAll()
            throw error
        }
    }
}

/// The state of one chaos run.
final class ChaosRun {
    let options: ChaosOptions
    let cluster: ReliabilityCluster
    var random: SeededGenerator
    var report = ChaosReport()
    let ledger = ClientLedger()
    let window = RouterRestartWindow()
    var trafficTask: Task<Void, Never>?
    /// The last image the daemon acknowledged for each app.
    var acknowledged: [String: String] = [:]
    /// Each app's stable image.
    var stable: [String: String] = [:]
    var versions: [String: Int] = [:]
    var lostChanges: Set<String> = []

    init(options: ChaosOptions, cluster: ReliabilityCluster) {
        self.options = options
        self.cluster = cluster
        random = SeededGenerator(seed: options.seed)
    }

    func log(_ text: String) { cluster.log(text) }

    func run() async throws -> ChaosReport {
        let appCount = max(1, min(options.apps, options.rollouts))
        let rounds = (options.rollouts + appCount - 1) / appCount
        try await cluster.startDaemon()
        try await cluster.startPrometheus()
        log(
            "aviary serve on \(cluster.client.server), prometheus on \(cluster.prometheusAddress), state in \(cluster.stateDirectory)"
        )
        try await cluster.applyApps(prefix: "chaos", count: appCount, image: "sample-app:v1")
        for app in cluster.apps {
            acknowledged[app.name] = "sample-app:v1"
            stable[app.name] = "sample-app:v1"
            versions[app.name] = 1
        }
        let healthy = try await HarnessEnvironment.eventually(within: 120) {
            for app in self.cluster.apps
            where !(await self.cluster.isSettled(app, image: "sample-app:v1", aborted: false)) {
                return false
            }
            return true
        }
        guard healthy else {
            var lines: [String] = []
            for app in cluster.apps { lines.append(await cluster.describe(app)) }
            throw DemoError("the rollouts did not become Healthy within 120 s:\n" + lines.joined(separator: "\n"))
        }
        let ports = cluster.apps.map(\.rootPort)
        log(
            "\(appCount) rollouts Healthy on sample-app:v1 (2 pods each); \(options.requestsPerSecond) requests/s to each all-traffic Service"
        )
        let ledger = self.ledger
        let window = self.window
        let rate = options.requestsPerSecond
        trafficTask = Task { await ClientTraffic.run(ports: ports, perSecond: rate, ledger: ledger, window: window) }
        try await Task.sleep(for: .seconds(2))

        let routerKills = max(1, options.kills / 10)
        var released = 0
        for round in 0..<rounds {
            let apps = Array(cluster.apps.prefix(min(appCount, options.rollouts - released)))
            released += apps.count
            let kills = options.kills / rounds + (round < options.kills % rounds ? 1 : 0)
            let killsRouter = round * routerKills / rounds != (round + 1) * routerKills / rounds
            try await playRound(round + 1, of: rounds, apps: apps, kills: kills, killRouter: killsRouter)
        }
        trafficTask?.cancel()
        await trafficTask?.value
        try await checkLost()
        report.clients = await ledger.counts
        report.lost = lostChanges.count
        _ = try await HarnessEnvironment.eventually(within: 30) { await self.orphans().isEmpty }
        report.orphans = await orphans().count
        for sample in report.clients.errorSamples { log("client error: \(sample)") }
        return report
    }

    // MARK: Rounds

    func playRound(_ round: Int, of rounds: Int, apps: [ReliabilityApp], kills: Int, killRouter: Bool) async throws {
        var expected: [String: (image: String, bad: Bool)] = [:]
        var releaseLine: [String] = []
        for app in apps {
            let version = (versions[app.name] ?? 1) + 1
            versions[app.name] = version
            // The seed mixes them; the first release is good and the second bad so that every run
            // has both.
            let number = report.goodReleases + report.badReleases
            let bad = number == 0 ? false : number == 1 ? true : Double.random(in: 0..<1, using: &random) < 0.3
            let image = bad ? "sample-app:bad-v\(version)" : "sample-app:v\(version)"
            expected[app.name] = (image, bad)
            if bad { report.badReleases += 1 } else { report.goodReleases += 1 }
            releaseLine.append("\(app.name)=\(image)")
        }
        log(
            "round \(round)/\(rounds): set image \(releaseLine.joined(separator: ", ")); \(kills) daemon kills"
                + (killRouter ? ", 1 router kill" : ""))
        for app in apps {
            guard let image = expected[app.name]?.image else { continue }
            let acked = try await HarnessEnvironment.eventually(within: 60) { await self.cluster.setImage(app, image) }
            guard acked else { throw DemoError("set image \(app.name)=\(image) was not acknowledged within 60 s") }
            acknowledged[app.name] = image
        }
        // The router is killed between two daemon kills, at a place the seed picks.
        let routerSlot = killRouter ? Int.random(in: min(1, kills)...kills, using: &random) : -1
        for index in 0...kills {
            if index == routerSlot {
                try await Task.sleep(for: .milliseconds(Int.random(in: 100..<1500, using: &random)))
                try await killTheRouter(apps: apps)
            }
            guard index < kills else { break }
            try await Task.sleep(for: .milliseconds(Int.random(in: 0..<1000, using: &random)))
            let moment = Chaos.moments[index % Chaos.moments.count]
            try await killTheDaemon(aimingAt: moment, number: index + 1, of: kills)
        }
        // Every release of the round reaches its outcome after the last restart.
        var pending = apps
        let deadline = Date().addingTimeInterval(150)
        while !pending.isEmpty && Date() < deadline {
            var still: [ReliabilityApp] = []
            for app in pending {
                guard let (image, bad) = expected[app.name] else { continue }
                let target = bad ? stable[app.name] ?? "" : image
                if await cluster.isSettled(app, image: target, aborted: bad) {
                    if bad { report.aborted += 1 } else { report.promoted += 1 }
                    stable[app.name] = target
                    log("\(app.name) \(image): \(bad ? "aborted, \(target) serves all traffic" : "promoted, Healthy")")
                } else {
                    still.append(app)
                }
            }
            pending = still
            if !pending.isEmpty { try await Task.sleep(for: .milliseconds(500)) }
        }
        for app in pending {
            report.unconverged += 1
            log("UNCONVERGED \(await cluster.describe(app))")
        }
        let counts = await ledger.counts
        log(
            "round \(round): traffic \(counts.requests) requests, \(counts.clientErrors) client errors, \(counts.badCanaryErrors) bad-canary errors, \(counts.retriedAfterRouterRestart) retried"
        )
    }

    // MARK: Kills

    /// Waits for the moment (up to 20 s), kills the daemon with SIGKILL, keeps it down for a
    /// while, starts it again and checks that nothing acknowledged was lost.
    func killTheDaemon(aimingAt moment: String, number: Int, of total: Int) async throws {
        let seen = try await HarnessEnvironment.eventually(within: 20) { await self.isAt(moment) }
        if moment != "after a status write" {
            try await Task.sleep(for: .milliseconds(Int.random(in: 0..<300, using: &random)))
        }
        let pid = cluster.killDaemon()
        let label = seen ? moment : "at random (\(moment) not seen within 20 s)"
        report.kills[label, default: 0] += 1
        let down = Int.random(in: 200..<2000, using: &random)
        log("kill -9 daemon (pid \(pid)) \(label); down for \(down) ms")
        try await Task.sleep(for: .milliseconds(down))
        try await cluster.startDaemon()
        try await checkLost()
    }

    /// Whether the platform is at `moment` now.
    func isAt(_ moment: String) async -> Bool {
        switch moment {
        case "while scaling":
            let sets = (try? await cluster.client.replicaSets()) ?? []
            return sets.contains { $0.replicas != $0.readyReplicas }
        case "mid-analysis":
            let runs = (try? await cluster.client.analysisRuns(namespace: nil)) ?? []
            return runs.contains { $0.status?.phase == .running }
        default:
            // A rollout's status changed since the last look: the controller is writing statuses.
            let first = await statuses()
            try? await Task.sleep(for: .milliseconds(50))
            let second = await statuses()
            return first != nil && second != nil && first != second
        }
    }

    func statuses() async -> String? {
        guard let rollouts = try? await cluster.client.rollouts(namespace: nil),
            let encoded = try? APIJSON.encoder().encode(rollouts.map(\.status))
        else { return nil }
        return String(decoding: encoded, as: UTF8.self)
    }

    /// kill -9 of the router while the daemon runs: clients may retry what found no listener
    /// until the daemon's new router serves every app's all-traffic port again.
    func killTheRouter(apps: [ReliabilityApp]) async throws {
        guard let pid = cluster.routerPID() else {
            throw DemoError("no router process found for \(cluster.stateDirectory)")
        }
        let start = Date()
        window.set(true)
        kill(pid, SIGKILL)
        report.routerKills += 1
        let back = try await HarnessEnvironment.eventually(within: 30) {
            guard let new = self.cluster.routerPID(), new != pid else { return false }
            for app in self.cluster.apps {
                guard case .answer = await LoopbackClient.get(port: app.rootPort, timeout: .seconds(1)) else {
                    return false
                }
            }
            return true
        }
        // A request refused just before the new router listened is still on its way back.
        try await Task.sleep(for: .milliseconds(500))
        window.set(false)
        guard back else { throw DemoError("the daemon did not start a new router within 30 s after kill -9") }
        log(
            "kill -9 router (pid \(pid)); a new router served every port after \(String(format: "%.1f", Date().timeIntervalSince(start))) s"
        )
    }

    /// Every acknowledged image is still the one in its rollout's spec.
    func checkLost() async throws {
        for app in cluster.apps {
            guard let image = acknowledged[app.name] else { continue }
            let current = await cluster.specImage(app)
            if current != image, lostChanges.insert("\(app.name)=\(image)").inserted {
                log("LOST \(app.name): acknowledged \(image), the daemon has \(current ?? "no rollout")")
            }
        }
    }

    /// Processes writing into the state directory's logs that are neither a pod the daemon lists
    /// nor its router.
    func orphans() async -> [Int32] {
        let pods = (try? await cluster.client.pods()) ?? []
        var known = Set(pods.compactMap { $0.pid.map(Int32.init) })
        if let router = cluster.routerPID() { known.insert(router) }
        return ProcessTable.pids(writingUnder: cluster.stateDirectory + "/logs").filter { !known.contains($0) }
    }
}
