import Foundation
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

/// An `aviary-test-apiserver` process on a free loopback port, with the kubeconfig it wrote (context
/// `aviary-test`, namespace `default`) in its own temporary directory. Call ``stop()`` in a `defer`
/// (or use ``withTestAPIServer(arguments:_:)``) so the process goes even when a test fails.
public final class TestAPIServerProcess: @unchecked Sendable {
    // @unchecked: every stored property is a constant; `Process` is only signalled and waited for.
    /// The server's base URL, `http://127.0.0.1:PORT`.
    public let url: String
    /// Its port.
    public let port: Int
    /// The kubeconfig it wrote.
    public let kubeconfig: String
    /// The temporary directory holding the kubeconfig and the server's log.
    public let directory: String
    private let process: Process

    /// Starts the double on a free port and waits (up to 120 s on a loaded machine) until its control
    /// API answers.
    public init(arguments: [String] = []) async throws {
        directory = NSTemporaryDirectory() + "aviary-apiserver-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        kubeconfig = directory + "/kubeconfig"
        port = try freePort()
        url = "http://127.0.0.1:\(port)"
        process = Process()
        process.executableURL = URL(
            fileURLWithPath: builtProductsDirectory(containing: "aviary-test-apiserver") + "/aviary-test-apiserver")
        process.arguments = ["--port", String(port), "--kubeconfig-out", kubeconfig] + arguments
        let log = directory + "/apiserver.log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        let url = url
        let process = process
        let kubeconfig = kubeconfig
        let answered = await eventually(within: 120) {
            guard process.isRunning else { return false }
            return await http(.GET, url + "/_double/healthz", timeout: 5)?.status == 200
                && FileManager.default.fileExists(atPath: kubeconfig)
        }
        guard answered else {
            stop()
            throw TestSupportFailure(
                "aviary-test-apiserver did not answer on \(url): "
                    + ((try? String(contentsOfFile: log, encoding: .utf8)) ?? "no log"))
        }
    }

    /// Kills the process, waits for it, and removes its directory.
    public func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: directory)
    }

    /// Calls the control API (`/_double/faults`, `/_double/drop-watches`, ...); the answer's status.
    @discardableResult
    public func control(_ method: HTTPMethod, _ path: String, _ body: String? = nil) async -> Int? {
        let headers = body == nil ? [] : [("Content-Type", "application/json")]
        return await http(method, url + path, body: body.map { Data($0.utf8) }, headers: headers)?.status
    }
}

/// Runs `body` with a started double and stops it afterwards, whether `body` throws or not.
public func withTestAPIServer<T>(
    arguments: [String] = [], _ body: (TestAPIServerProcess) async throws -> T
) async throws -> T {
    let server = try await TestAPIServerProcess(arguments: arguments)
    defer { server.stop() }
    return try await body(server)
}
