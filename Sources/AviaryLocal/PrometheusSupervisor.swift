import Foundation
import Logging

/// `aviary serve --prometheus`: a Prometheus (the `prometheus` on PATH) that scrapes the daemon's
/// pods through `GET /sd` with short intervals (`PrometheusConfiguration`), its configuration and
/// data under `STATE_DIR/prometheus`, started again when it exits and stopped with the daemon.
/// One that an earlier daemon left running (after `kill -9`) is stopped first: it holds the port
/// and the data directory's lock.
public actor PrometheusSupervisor {
    /// Where it listens, `HOST:PORT`.
    public let listen: String
    private let directory: String
    private let logPath: String
    private let token: String?
    /// How often the pods are scraped and `/sd` read again.
    private let interval: String
    private let logger: Logger
    private var process: ProcessIdentity?
    private var restarts = 0

    /// Creates the handle; `token` is the daemon's bearer token, written to a file Prometheus reads.
    public init(
        listen: String, stateDirectory: String, logPath: String, token: String?, interval: String = "5s",
        logger: Logger
    ) {
        self.listen = listen
        self.interval = interval
        self.directory = (stateDirectory as NSString).appendingPathComponent("prometheus")
        self.logPath = logPath
        self.token = token
        self.logger = logger
    }

    /// Its base URL, `http://HOST:PORT`.
    public nonisolated var url: String { "http://\(listen)" }

    private var pidPath: String { (directory as NSString).appendingPathComponent("process.json") }

    /// Writes `prometheus.yml` for the daemon at `daemonURL` and starts Prometheus; throws when it
    /// cannot be started (not installed: the message says how to install it).
    public func start(daemonURL: String) async throws {
        try FileManager.default.createDirectory(
            atPath: directory, withIntermediateDirectories: true, attributes: [.posixPermissions: 0o700])
        if let data = FileManager.default.contents(atPath: pidPath),
            let earlier = try? JSONDecoder().decode(ProcessIdentity.self, from: data),
            ProcessControl.liveness(of: earlier) == .running
        {
            logger.info("stopping the Prometheus an earlier daemon left running (pid \(earlier.pid))")
            await ProcessControl.stop(earlier, grace: 10)
        }
        // One a daemon killed before it wrote process.json started.
        await ProcessControl.stopUnrecordedWriters(
            to: logPath, in: (logPath as NSString).deletingLastPathComponent, keeping: nil, grace: 10)
        var tokenFile: String?
        if let token {
            let path = (directory as NSString).appendingPathComponent("token")
            _ = FileManager.default.createFile(
                atPath: path, contents: Data(token.utf8), attributes: [.posixPermissions: 0o600])
            tokenFile = path
        }
        let configuration = PrometheusConfiguration(
            daemon: daemonURL, scrapeInterval: interval, refreshInterval: interval, tokenFile: tokenFile)
        let configPath = (directory as NSString).appendingPathComponent("prometheus.yml")
        try Data(configuration.yaml.utf8).write(to: URL(fileURLWithPath: configPath))
        try spawn(configPath: configPath)
    }

    private func spawn(configPath: String) throws {
        let environment = ProcessInfo.processInfo.environment.filter { ["PATH", "HOME", "LANG"].contains($0.key) }
        do {
            let started = try ProcessControl.spawn(
                arguments: [
                    "prometheus", "--config.file=\(configPath)",
                    "--storage.tsdb.path=\((directory as NSString).appendingPathComponent("data"))",
                    "--storage.tsdb.retention.time=2d", "--web.listen-address=\(listen)",
                ],
                environment: environment, logPath: logPath)
            process = started
            try JSONEncoder().encode(started).write(to: URL(fileURLWithPath: pidPath))
            logger.info("started Prometheus (pid \(started.pid)) on \(url), scraping the pods through /sd")
        } catch let error as SpawnError {
            throw SpawnError(
                command: "prometheus",
                reason: "\(error.reason); --prometheus runs the prometheus on PATH: install it "
                    + "(apt-get install -y prometheus) or run aviary serve without --prometheus")
        }
    }

    /// Starts Prometheus again when it has exited (after 1, 2, 4 … 60 s), until the task is cancelled.
    public func supervise(interval: Duration = .seconds(1)) async {
        while !Task.isCancelled {
            try? await Task.sleep(for: interval)
            guard let running = process, case .exited(let how) = ProcessControl.liveness(of: running) else {
                continue
            }
            restarts += 1
            let delay = min(60, 1 << min(restarts - 1, 6))
            logger.error(
                "Prometheus (pid \(running.pid)) exited (\(how)); starting it again in \(delay) s; see \(logPath)")
            process = nil
            try? await Task.sleep(for: .seconds(delay))
            do {
                try spawn(configPath: (directory as NSString).appendingPathComponent("prometheus.yml"))
            } catch {
                logger.error("cannot start Prometheus again: \(error)")
            }
        }
    }

    /// Stops Prometheus (SIGTERM, then SIGKILL after 10 s: it flushes its head block on SIGTERM).
    public func stop() async {
        guard let process else { return }
        await ProcessControl.stop(process, grace: 10)
        self.process = nil
        try? FileManager.default.removeItem(atPath: pidPath)
    }
}
