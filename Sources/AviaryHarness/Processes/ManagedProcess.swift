import AsyncHTTPClient
import AviaryLocal
import Foundation

/// A process the harness starts (`aviary serve`, Prometheus) with its output in a log file, and
/// stops with SIGTERM, then SIGKILL: the one way the demo, chaos, soak and the tests run one.
public final class ManagedProcess {
    /// What it is, for messages.
    public let name: String
    /// The running process.
    public let process: Process
    /// Where its standard output and error go.
    public let logPath: String

    /// Starts `arguments` with `environment` added to this process's own.
    public init(name: String, arguments: [String], environment: [String: String], logPath: String) throws {
        self.name = name
        self.logPath = logPath
        process = Process()
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        FileManager.default.createFile(atPath: logPath, contents: nil)
        let log = FileHandle(forWritingAtPath: logPath)
        process.standardOutput = log
        process.standardError = log
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    /// Its process ID.
    public var pid: Int32 { process.processIdentifier }

    /// The tail of its output, for an error message.
    public func logTail(lines: Int = 15) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// SIGTERM, up to `seconds` to exit, then SIGKILL.
    public func stop(seconds: Double = 30) {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }

    /// SIGKILL, and waits for it.
    public func killNine() {
        guard process.isRunning else { return }
        kill(pid, SIGKILL)
        process.waitUntilExit()
    }
}

/// `aviary serve` on a loopback port with its own state directory, started until `/healthz`
/// answers: the daemon of the demo, chaos, soak and the end-to-end tests.
public final class DaemonProcess {
    /// The `aviary` binary.
    public let aviary: String
    /// Its `--state-dir`.
    public let stateDirectory: String
    /// Its loopback port.
    public let port: Int
    /// Its `--token`, if any.
    public let token: String?
    /// The running daemon, nil before `start` and after `killNine` or `stop`.
    public private(set) var process: ManagedProcess?

    /// The API's base URL.
    public var base: String { "http://127.0.0.1:\(port)" }

    /// A daemon to be started.
    public init(aviary: String, stateDirectory: String, port: Int, token: String? = nil) {
        self.aviary = aviary
        self.stateDirectory = stateDirectory
        self.port = port
        self.token = token
    }

    /// Starts `aviary serve` with its output in `logPath` and the binary's directory first on
    /// PATH (the daemon starts `aviary router` from there), and waits up to 60 s for `/healthz`.
    public func start(logPath: String, extraArguments: [String] = []) async throws {
        let binDirectory = (aviary as NSString).deletingLastPathComponent
        let path = binDirectory + ":" + (ProcessInfo.processInfo.environment["PATH"] ?? "/usr/bin:/bin")
        let process = try ManagedProcess(
            name: "aviary serve",
            arguments: [aviary, "serve", "--state-dir", stateDirectory, "--listen", "127.0.0.1:\(port)"]
                + extraArguments + (token.map { ["--token", $0] } ?? []),
            environment: ["PATH": path], logPath: logPath)
        self.process = process
        let (health, token) = (base + "/healthz", token)
        let up = try await HarnessEnvironment.eventually(within: 60) {
            await HarnessEnvironment.answers(health, token: token)
        }
        guard up else { throw DemoError("aviary serve did not start:\n\(process.logTail())") }
    }

    /// kill -9 of the daemon alone (its pods and router keep running); returns the PID it had.
    @discardableResult
    public func killNine() -> Int32? {
        guard let process else { return nil }
        process.killNine()
        self.process = nil
        return process.pid
    }

    /// SIGTERM and up to 30 s to exit (the daemon stops its pods and router), then SIGKILL.
    public func stop() {
        process?.stop()
        process = nil
    }
}

extension ManagedProcess {
    /// Starts Prometheus on a free loopback port of `directory`, scraping every `interval` the
    /// pods that the daemon at `daemon` lists on `/sd`, and waits until it is ready. Returns the
    /// process and its address.
    static func prometheus(
        binary: String, directory: String, daemon: String, interval: String
    ) async throws -> (process: ManagedProcess, address: String) {
        let port = try HarnessEnvironment.freePort()
        let address = "http://127.0.0.1:\(port)"
        let config = PrometheusConfiguration(daemon: daemon, scrapeInterval: interval, refreshInterval: interval).yaml
        try config.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let process = try ManagedProcess(
            name: "prometheus",
            arguments: [
                binary, "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/prometheus-data",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
            ], environment: [:], logPath: directory + "/prometheus.log")
        let up = try await HarnessEnvironment.eventually(within: 60) {
            await HarnessEnvironment.answers(address + "/-/ready")
        }
        guard up else {
            process.stop()
            throw DemoError("prometheus did not start:\n\(process.logTail())")
        }
        return (process, address)
    }
}

/// Runs `body` in a task that SIGINT (Ctrl-C) and SIGTERM cancel; `body` is expected to stop
/// whatever it started when cancelled. Throws `Interrupted` when a signal ended it.
public func runCancellableBySignals<T: Sendable>(_ body: @escaping @Sendable () async throws -> T) async throws -> T {
    let task = Task { try await body() }
    let signals = [SIGINT, SIGTERM].map { number in
        signal(number, SIG_IGN)
        let source = DispatchSource.makeSignalSource(signal: number, queue: .global())
        source.setEventHandler { task.cancel() }
        source.resume()
        return source
    }
    defer { signals.forEach { $0.cancel() } }
    do {
        return try await task.value
    } catch {
        if task.isCancelled { throw Interrupted() }
        throw error
    }
}

/// A run that SIGINT or SIGTERM stopped (by convention the command then exits 130).
public struct Interrupted: Error, CustomStringConvertible {
    public var description: String { "interrupted" }
}

/// What the harness looks up and waits for.
public enum HarnessEnvironment {
    /// The first executable `name` on PATH.
    static func executableOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// A free loopback port, or an error saying none could be found.
    public static func freePort() throws -> Int {
        guard let port = PortAllocator.freePort() else {
            throw DemoError("cannot find a free loopback port; close some listeners and run the demo again")
        }
        return port
    }

    /// Whether `url` answers 200 within a second (sent with `token` as a bearer token).
    public static func answers(_ url: String, token: String? = nil) async -> Bool {
        var request = HTTPClientRequest(url: url)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        do {
            let response = try await HTTPClient.shared.execute(request, timeout: .seconds(1))
            _ = try await response.body.collect(upTo: 1 << 20)
            return response.status.code == 200
        } catch {
            return false
        }
    }

    /// Polls `condition` every 200 ms until it holds or `seconds` pass.
    public static func eventually(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
        let deadline = Date().addingTimeInterval(seconds)
        while Date() < deadline {
            if try await condition() { return true }
            try await Task.sleep(for: .milliseconds(200))
        }
        return try await condition()
    }
}

/// A reason the demo could not run, for the user.
public struct DemoError: Error, CustomStringConvertible {
    /// What went wrong and what to do.
    public var description: String

    init(_ description: String) { self.description = description }
}
