import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import AviaryKubernetes

/// The directory holding the package's built executables (next to the test bundle).
func builtProductsDirectory() -> String {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    var directory = (executable as NSString).deletingLastPathComponent
    while !directory.isEmpty, directory != "/",
        !FileManager.default.fileExists(atPath: directory + "/aviary-test-apiserver")
    {
        directory = (directory as NSString).deletingLastPathComponent
    }
    return directory
}

/// A real `aviary-test-apiserver` process on a free loopback port, with its control API.
/// Call ``stop()`` in a `defer` so that it goes away when a test fails.
final class APIServerDouble {
    let process: Process
    let url: String
    let logFile: String

    struct StartFailure: Error, CustomStringConvertible {
        var description: String
    }

    /// Starts the double and waits (up to 60 s) for its `listening on URL` line.
    init(arguments: [String] = []) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: builtProductsDirectory() + "/aviary-test-apiserver")
        process.arguments = ["--port", "0"] + arguments
        let logFile = FileManager.default.temporaryDirectory.appendingPathComponent(
            "aviary-apiserver-\(UUID().uuidString).log"
        ).path
        _ = FileManager.default.createFile(atPath: logFile, contents: nil)
        let log = try FileHandle(forWritingTo: URL(fileURLWithPath: logFile))
        process.standardOutput = log
        process.standardError = log
        try process.run()
        try? log.close()
        let deadline = Date().addingTimeInterval(60)
        var url: String?
        while Date() < deadline, process.isRunning {
            let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            if let line = text.split(separator: "\n").first(where: { $0.hasPrefix("listening on ") }) {
                url = String(line.dropFirst("listening on ".count)).trimmingCharacters(in: .whitespaces)
                break
            }
            usleep(20_000)
        }
        guard let url else {
            if process.isRunning { kill(process.processIdentifier, SIGKILL) }
            let text = (try? String(contentsOfFile: logFile, encoding: .utf8)) ?? ""
            throw StartFailure(description: "aviary-test-apiserver did not start: \(text)")
        }
        self.process = process
        self.url = url
        self.logFile = logFile
    }

    /// Kills the process and waits for it.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: logFile)
    }

    /// A client of the double with Aviary's default policy unless told otherwise.
    func client(policy: RequestPolicy = RequestPolicy(qps: 1000, burst: 1000)) throws -> KubernetesClient {
        try KubernetesClient(configuration: ClientConfiguration(server: url), policy: policy)
    }

    /// Calls the control API (`/_double/...`); fails the test on a non-2xx answer.
    func control(_ method: NIOHTTP1.HTTPMethod, _ path: String, _ body: String? = nil) async throws {
        var request = HTTPClientRequest(url: url + path)
        request.method = method
        if let body {
            request.headers.add(name: "Content-Type", value: "application/json")
            request.body = .bytes(ByteBuffer(string: body))
        }
        // A pooled connection the double has just closed fails at once; the control calls are idempotent.
        var attempt = 0
        var answer: HTTPClientResponse?
        while answer == nil {
            do {
                answer = try await HTTPClient.shared.execute(request, timeout: .seconds(30))
            } catch let error as HTTPClientError where error == .remoteConnectionClosed && attempt < 3 {
                attempt += 1
            }
        }
        let response = answer!
        let text = String(buffer: try await response.body.collect(upTo: 1 << 20))
        #expect((200..<300).contains(Int(response.status.code)), "\(method) \(path): \(response.status) \(text)")
    }

    func dropWatches() async throws { try await control(.POST, "/_double/drop-watches") }
    func compact() async throws { try await control(.POST, "/_double/compact") }
    func clearFaults() async throws { try await control(.DELETE, "/_double/faults") }
    func injectFault(status: Int, count: Int, retryAfterSeconds: Int? = nil) async throws {
        let retry = retryAfterSeconds.map { #", "retryAfterSeconds": \#($0)"# } ?? ""
        try await control(.POST, "/_double/faults", #"{"status": \#(status), "count": \#(count)\#(retry)}"#)
    }
}
