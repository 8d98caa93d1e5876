import AsyncHTTPClient
import AviaryTestSupport
import Foundation
import NIOCore
import NIOHTTP1

#if canImport(Glibc)
    import Glibc
#endif

struct TestFailure: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

/// Waits until `condition` holds, checking every 50 ms, failing after `seconds`.
func waitUntil(
    _ what: String, seconds: Double = 30, _ condition: () async throws -> Bool
) async throws {
    let deadline = ContinuousClock.now + .seconds(seconds)
    while ContinuousClock.now < deadline {
        if (try? await condition()) == true { return }
        try await Task.sleep(for: .milliseconds(50))
    }
    throw TestFailure("timed out waiting for \(what)")
}

/// A child process on loopback, stopped by `stop()` (tests call it in `defer`).
final class ChildProcess: @unchecked Sendable {
    // @unchecked: `process` is set once in init and only read afterwards; Process's
    // terminate, isRunning and waitUntilExit may be called from any thread.
    let process: Process

    init(executable: String, arguments: [String] = [], environment: [String: String]) throws {
        process = Process()
        process.executableURL = URL(fileURLWithPath: builtProductsDirectory(containing: executable) + "/" + executable)
        process.arguments = arguments
        process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
        process.standardOutput = FileHandle.nullDevice
        process.standardError = FileHandle.nullDevice
        try process.run()
    }

    /// Sends SIGTERM and waits for the exit.
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// Sends SIGKILL and waits for the exit, as a crash would end it.
    func kill() {
        if process.isRunning {
            Glibc.kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }
}

/// A running `aviary-sample-app`.
final class SampleApp: Sendable {
    let child: ChildProcess
    let port: Int
    let pod: String
    var endpoint: String { "127.0.0.1:\(port)" }

    init(pod: String, image: String = "sample:v1", environment: [String: String] = [:], client: HTTPClient) async throws
    {
        let port = try freePort()
        self.port = port
        self.pod = pod
        child = try ChildProcess(
            executable: "aviary-sample-app",
            environment: environment.merging(["PORT": String(port), "IMAGE": image, "POD_NAME": pod]) { a, _ in a })
        do {
            try await waitUntil("\(pod) to answer /healthz") {
                try await client.get("http://127.0.0.1:\(port)/healthz").status == 200
            }
        } catch {
            child.stop()
            throw error
        }
    }

    func stop() { child.stop() }

    /// The value of `response_status{status="200"}` on its /metrics.
    func okCount(client: HTTPClient) async throws -> Int {
        let metrics = try await client.get("http://\(endpoint)/metrics").body
        return Int(sampleValue("response_status{status=\"200\"}", in: metrics) ?? 0)
    }
}

/// A response read whole.
struct TestResponse: Sendable {
    var status: UInt
    var headers: HTTPHeaders
    var body: String
}

extension HTTPClient {
    /// Sends a request and reads the whole answer.
    func get(
        _ url: String, method: HTTPMethod = .GET, headers: [(String, String)] = [], body: String? = nil,
        timeout: TimeAmount = .seconds(30)
    ) async throws -> TestResponse {
        var request = HTTPClientRequest(url: url)
        request.method = method
        request.headers = HTTPHeaders(headers)
        if let body { request.body = .bytes(ByteBuffer(string: body)) }
        let response = try await execute(request, timeout: timeout)
        let buffer = try await response.body.collect(upTo: 64 * 1_048_576)
        return TestResponse(status: response.status.code, headers: response.headers, body: String(buffer: buffer))
    }
}

/// Pulls the `pod` field out of the sample app's JSON answer.
func pod(of body: String) -> String? {
    struct Answer: Decodable { var pod: String }
    return try? JSONDecoder().decode(Answer.self, from: Data(body.utf8)).pod
}
