import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import KubernetesTestDouble
import Synchronization
import Testing

/// The package root, from this file's path (Tests/KubernetesDoubleTests/DoubleHarness.swift).
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// The shared folder beside the package (in a worktree, a symlink; in CI, a copy).
let sharedFolder = URL(fileURLWithPath: packageRoot).deletingLastPathComponent().appendingPathComponent("shared").path

let kubectlPath = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// What a finished command printed.
struct CommandOutput {
    var status: Int32
    var stdout: String
    var stderr: String
    var combined: String { stdout + stderr }
}

/// Runs a program to completion, stdin from `input`, and collects its output.
func run(_ executable: String, _ arguments: [String], input: String? = nil, environment: [String: String] = [:])
    throws -> CommandOutput
{
    let process = Process()
    process.executableURL = URL(fileURLWithPath: executable)
    process.arguments = arguments
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
    let stdout = Pipe()
    let stderr = Pipe()
    let stdin = Pipe()
    process.standardOutput = stdout
    process.standardError = stderr
    process.standardInput = stdin
    try process.run()
    if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
    try? stdin.fileHandleForWriting.close()
    let errorData = TextBuffer()
    let errorReader = Thread {
        errorData.append(stderr.fileHandleForReading.readDataToEndOfFile())
    }
    errorReader.start()
    let outputData = stdout.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    while errorReader.isExecuting || !errorReader.isFinished { Thread.sleep(forTimeInterval: 0.01) }
    return CommandOutput(
        status: process.terminationStatus, stdout: String(decoding: outputData, as: UTF8.self),
        stderr: errorData.text)
}

/// Waits until `condition` holds, checking every 50 ms, up to `seconds`.
func eventually(within seconds: Double, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = ContinuousClock.now + .milliseconds(Int64(seconds * 1000))
    while ContinuousClock.now < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// A double running in this process, with a kubeconfig and a kubectl cache directory of its own.
final class KubectlHarness: Sendable {
    let server: TestAPIServer
    let directory: String
    let kubeconfig: String

    init(podReadyAfter: Duration = .zero, token: String? = nil) async throws {
        server = try await TestAPIServer.start(port: 0, podReadyAfter: podReadyAfter, requiredToken: token)
        directory = NSTemporaryDirectory() + "aviary-k8s-double-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        kubeconfig = directory + "/kubeconfig"
        try Kubeconfig.make(server: server.url, token: token).write(toFile: kubeconfig, atomically: true, encoding: .utf8)
    }

    /// kubectl against the double; each harness has its own discovery cache.
    func kubectl(_ arguments: [String], input: String? = nil) throws -> CommandOutput {
        try run(
            kubectlPath ?? "/usr/bin/kubectl",
            ["--kubeconfig", kubeconfig, "--cache-dir", directory + "/cache"] + arguments, input: input,
            environment: ["HOME": directory])
    }

    /// Writes a file into the harness's directory and returns its path.
    func file(_ name: String, _ contents: String) throws -> String {
        let path = directory + "/" + name
        try contents.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// A control-API or raw API call; returns the status and body.
    func call(_ method: String, _ path: String, body: String? = nil, headers: [String: String] = [:]) async throws
        -> (status: Int, body: String, headers: [String: String])
    {
        var request = URLRequest(url: URL(string: server.url + path)!)
        request.httpMethod = method
        request.timeoutInterval = 10
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        if let body {
            request.httpBody = Data(body.utf8)
            request.setValue("application/json", forHTTPHeaderField: "Content-Type")
        }
        let (data, response) = try await URLSession.shared.data(for: request)
        let http = response as! HTTPURLResponse
        var fields: [String: String] = [:]
        for (name, value) in http.allHeaderFields { fields["\(name)".lowercased()] = "\(value)" }
        return (http.statusCode, String(decoding: data, as: UTF8.self), fields)
    }

    func shutdown() async {
        try? await server.shutdown()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// A long-running kubectl (such as `get -w`) whose output is read while it runs.
final class BackgroundCommand {
    private let process: Process
    private let output = TextBuffer()

    init(_ executable: String, _ arguments: [String], environment: [String: String] = [:]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        let pipe = Pipe()
        process.standardOutput = pipe
        process.standardError = pipe
        let output = output
        pipe.fileHandleForReading.readabilityHandler = { handle in
            output.append(handle.availableData)
        }
        try process.run()
        self.process = process
    }

    var text: String { output.text }

    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }
}

/// Runs `body` against a fresh in-process double and shuts it down afterwards, also on failure.
func withHarness(
    podReadyAfter: Duration = .zero, token: String? = nil, _ body: (KubectlHarness) async throws -> Void
) async throws {
    let harness = try await KubectlHarness(podReadyAfter: podReadyAfter, token: token)
    do {
        try await body(harness)
    } catch {
        await harness.shutdown()
        throw error
    }
    await harness.shutdown()
}

/// Output collected from a pipe on another thread.
final class TextBuffer: Sendable {
    private let data = Mutex(Data())

    func append(_ chunk: Data) {
        data.withLock { $0.append(chunk) }
    }

    var text: String { String(decoding: data.withLock { $0 }, as: UTF8.self) }
}
