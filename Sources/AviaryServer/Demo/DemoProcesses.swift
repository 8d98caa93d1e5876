import AsyncHTTPClient
import AviaryLocal
import Foundation

/// The processes the demo starts: `aviary serve` and Prometheus, each with its output in a log
/// file of the demo's directory, and stopped (with everything the daemon started) by `stop`.
final class DemoProcess {
    let name: String
    let process: Process
    let logPath: String

    /// Starts `arguments` with `environment` added to the demo's own.
    init(name: String, arguments: [String], environment: [String: String], logPath: String) throws {
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

    var pid: Int32 { process.processIdentifier }

    /// The tail of its output, for an error message.
    func logTail(lines: Int = 15) -> String {
        let text = (try? String(contentsOfFile: logPath, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").suffix(lines).joined(separator: "\n")
    }

    /// SIGTERM, up to `seconds` to exit, then SIGKILL.
    func stop(seconds: Double = 30) {
        guard process.isRunning else { return }
        kill(pid, SIGTERM)
        let deadline = Date().addingTimeInterval(seconds)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(pid, SIGKILL) }
        process.waitUntilExit()
    }
}

extension DemoProcess {
    /// Starts Prometheus on a free loopback port of `directory`, scraping every `interval` the
    /// pods that the daemon at `daemon` lists on `/sd`, and waits until it is ready. Returns the
    /// process and its address.
    static func prometheus(
        binary: String, directory: String, daemon: String, interval: String
    ) async throws -> (process: DemoProcess, address: String) {
        let port = try DemoEnvironment.freePort()
        let address = "http://127.0.0.1:\(port)"
        let config = """
            global:
              scrape_interval: \(interval)
              evaluation_interval: \(interval)
            scrape_configs:
              - job_name: aviary-pods
                scrape_interval: \(interval)
                scrape_timeout: \(interval)
                http_sd_configs:
                  - url: \(daemon)/sd
                    refresh_interval: \(interval)

            """
        try config.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let process = try DemoProcess(
            name: "prometheus",
            arguments: [
                binary, "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/prometheus-data",
                "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
            ], environment: [:], logPath: directory + "/prometheus.log")
        let up = try await DemoEnvironment.eventually(within: 60) {
            await DemoEnvironment.answers(address + "/-/ready")
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

/// Looks up helpers for the demo.
enum DemoEnvironment {
    /// The first executable `name` on PATH.
    static func executableOnPath(_ name: String) -> String? {
        let path = ProcessInfo.processInfo.environment["PATH"] ?? "/usr/local/bin:/usr/bin:/bin"
        return path.split(separator: ":").map { "\($0)/\(name)" }.first {
            FileManager.default.isExecutableFile(atPath: $0)
        }
    }

    /// A free loopback port, or an error saying none could be found.
    static func freePort() throws -> Int {
        guard let port = PortAllocator.freePort() else {
            throw DemoError("cannot find a free loopback port; close some listeners and run the demo again")
        }
        return port
    }

    /// Whether `url` answers 200 within a second.
    static func answers(_ url: String) async -> Bool {
        do {
            let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(1))
            _ = try await response.body.collect(upTo: 1 << 20)
            return response.status.code == 200
        } catch {
            return false
        }
    }

    /// Polls `condition` every 200 ms until it holds or `seconds` pass.
    static func eventually(within seconds: Double, _ condition: () async throws -> Bool) async throws -> Bool {
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
