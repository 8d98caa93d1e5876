import AsyncHTTPClient
import AviaryPlatform
import AviaryRoutes
import Foundation
import Logging
import NIOCore

/// The router as its own process: started once, adopted by a restarted daemon (same PID), fed
/// the listeners through its admin API (`PUT /table`). Because it is a separate process, traffic
/// keeps flowing at the last table while the daemon is down.
public actor RouterSupervisor {
    struct Record: Codable, Equatable {
        var process: ProcessIdentity
        var adminPort: Int
    }

    private let command: [String]?
    private let tablePath: String
    private let stateStore: any PlatformStateStore
    private let logPath: String
    private let logger: Logger
    private var record: Record?

    /// Creates the handle. `command` starts the router (`aviary router`); `--admin ADDRESS` and
    /// `--state tablePath` are added. Nil means the daemon runs without a data plane (API only).
    public init(
        command: [String]?, tablePath: String, stateStore: any PlatformStateStore, logPath: String, logger: Logger
    ) {
        self.command = command
        self.tablePath = tablePath
        self.stateStore = stateStore
        self.logPath = logPath
        self.logger = logger
    }

    /// The admin API's base URL, once the router runs.
    public var adminURL: String? { record.map { "http://127.0.0.1:\($0.adminPort)" } }

    /// The router's PID, once it runs.
    public var pid: Int32? { record?.process.pid }

    /// Adopts the router an earlier daemon started if it still runs (same PID and start time)
    /// and answers; otherwise starts a new one and waits until its admin API answers.
    public func startOrAdopt() async throws {
        guard let command, let executable = command.first else {
            logger.warning("no router command: Services get no listeners")
            return
        }
        let saved = try stateStore.loadPlatformState().flatMap { try? JSONDecoder().decode(Record.self, from: $0) }
        let running = saved.flatMap { ProcessControl.liveness(of: $0.process) == .running ? $0 : nil }
        // A router that a daemon killed between starting it and saving its record left behind
        // would keep the listeners' ports and serve an old table.
        let strays = await ProcessControl.stopUnrecordedWriters(
            to: logPath, in: (logPath as NSString).deletingLastPathComponent, keeping: running?.process)
        if !strays.isEmpty { logger.warning("stopped a router no saved state named (process group \(strays))") }
        if let saved = running {
            record = saved
            if await answers() {
                logger.info("adopted the router (pid \(saved.process.pid))")
                return
            }
            await ProcessControl.stop(saved.process, grace: 2)
        }
        guard let port = PortAllocator.freePort() else {
            throw SpawnError(command: executable, reason: "no free loopback port for the router's admin API")
        }
        let environment = ProcessInfo.processInfo.environment.filter { ["PATH", "HOME", "LANG"].contains($0.key) }
        let process = try ProcessControl.spawn(
            arguments: command + ["--admin", "127.0.0.1:\(port)", "--state", tablePath], environment: environment,
            logPath: logPath)
        let started = Record(process: process, adminPort: port)
        record = started
        try stateStore.savePlatformState(try JSONEncoder().encode(started))
        let deadline = Date().addingTimeInterval(30)
        while Date() < deadline {
            if await answers() {
                logger.info("started the router (pid \(process.pid), admin 127.0.0.1:\(port))")
                return
            }
            if case .exited(let how) = ProcessControl.liveness(of: process) {
                throw SpawnError(command: executable, reason: "the router exited at start (\(how)); see \(logPath)")
            }
            try await Task.sleep(for: .milliseconds(50))
        }
        throw SpawnError(
            command: executable, reason: "the router's admin API did not answer within 30 s; see \(logPath)")
    }

    private func answers() async -> Bool {
        guard let adminURL else { return false }
        do {
            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: adminURL + "/table"), timeout: .seconds(2))
            _ = try await response.body.collect(upTo: 16 << 20)
            return response.status == .ok
        } catch {
            return false
        }
    }

    /// The router's counters (`GET /stats`), nil when it cannot be reached.
    public func stats() async -> RouterStatsReport? {
        guard let adminURL else { return nil }
        do {
            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: adminURL + "/stats"), timeout: .seconds(2))
            let body = try await response.body.collect(upTo: 16 << 20)
            guard response.status == .ok else { return nil }
            return try JSONDecoder().decode(RouterStatsReport.self, from: Data(body.readableBytesView))
        } catch {
            return nil
        }
    }

    /// Sends the table to the router (`PUT /table`, JSON with sorted keys); returns whether the router took it.
    public func publish(_ table: RouteTable) async -> Bool {
        guard let adminURL else { return true }
        var request = HTTPClientRequest(url: adminURL + "/table")
        request.method = .PUT
        request.headers.add(name: "Content-Type", value: "application/json")
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        request.body = .bytes(ByteBuffer(bytes: (try? encoder.encode(table)) ?? Data("{}".utf8)))
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(10))
            let body = try await response.body.collect(upTo: 1 << 20)
            if response.status != .ok && response.status != .noContent {
                logger.error("the router refused the table: \(response.status) \(String(buffer: body))")
                return false
            }
            return true
        } catch {
            logger.error("cannot reach the router's admin API: \(error)")
            return false
        }
    }

    /// Starts a new router when the one it runs has exited (killed, crashed); returns whether it
    /// did. The new router loads the last table from `--state`, so it serves at once; the caller
    /// should send the current table again too.
    public func restartIfExited() async -> Bool {
        guard let record, case .exited(let how) = ProcessControl.liveness(of: record.process) else { return false }
        logger.error("the router (pid \(record.process.pid)) exited (\(how)); starting a new one")
        do {
            try await startOrAdopt()
            return true
        } catch {
            logger.error("cannot restart the router: \(error)")
            return false
        }
    }

    /// Checks the router every `interval` and restarts it when it has exited, calling
    /// `restarted` after each restart; until the task is cancelled.
    public func supervise(interval: Duration = .milliseconds(200), restarted: @Sendable () async -> Void) async {
        while !Task.isCancelled {
            if await restartIfExited() { await restarted() }
            try? await Task.sleep(for: interval)
        }
    }

    /// Stops the router (SIGTERM, then SIGKILL).
    public func stop() async {
        guard let record else { return }
        await ProcessControl.stop(record.process, grace: 5)
        self.record = nil
    }
}

/// The local platform's data plane: the router process, fed the platform's route table.
public struct LocalDataPlane: DataPlane {
    /// The router process.
    public let router: RouterSupervisor
    /// The platform whose Services and splits it serves.
    public let platform: LocalPlatform

    /// Creates the pair.
    public init(router: RouterSupervisor, platform: LocalPlatform) {
        self.router = router
        self.platform = platform
    }

    public func startOrAdopt() async throws {
        try await router.startOrAdopt()
        let router = self.router
        await platform.setTableSink { table in await router.publish(table) }
    }

    /// The router's counters (`GET /stats`) as Prometheus text, its endpoints named by pod.
    public func metricsText() async -> String {
        guard let report = await router.stats() else { return "" }
        var pods: [String: RouterMetrics.Pod] = [:]
        for pod in await platform.podRecords() {
            pods[pod.address] = RouterMetrics.Pod(name: pod.name, namespace: pod.namespace)
        }
        return RouterMetrics.exposition(report, pods: pods)
    }

    /// A restarted router gets the whole table again.
    public func supervise() async {
        let platform = self.platform
        await router.supervise { await platform.republishRoutes() }
    }

    public func stop() async {
        await router.stop()
    }
}
