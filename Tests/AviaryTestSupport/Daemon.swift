import AsyncHTTPClient
import AviaryHarness
import AviaryLocal
import Foundation
import NIOCore
import NIOHTTP1

/// One HTTP exchange on loopback.
public struct Exchange: Sendable {
    /// The status code.
    public var status: Int
    /// The body.
    public var body: Data
    /// The response headers.
    public var headers = HTTPHeaders()
    /// The body as UTF-8 text.
    public var text: String { String(decoding: body, as: UTF8.self) }
    /// The body as a JSON object (empty when it is not one).
    public var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
}

/// An HTTP client that answers a redirect with the redirect (it lives as long as the test process).
let clientShowingRedirects = HTTPClient(
    eventLoopGroupProvider: .singleton, configuration: HTTPClient.Configuration(redirectConfiguration: .disallow))

/// Sends one request; nil when it failed before an answer. `followRedirects: false` returns a
/// 3xx answer as it is.
public func http(
    _ method: HTTPMethod, _ url: String, body: Data? = nil, headers: [(String, String)] = [], timeout: Int64 = 30,
    followRedirects: Bool = true
) async -> Exchange? {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    do {
        let client = followRedirects ? HTTPClient.shared : clientShowingRedirects
        let response = try await client.execute(request, timeout: .seconds(timeout))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Exchange(status: Int(response.status.code), body: Data(buffer: collected), headers: response.headers)
    } catch {
        return nil
    }
}

/// Runs a command to completion and returns its exit status and output.
public func runCommand(
    _ arguments: [String], environment: [String: String] = [:]
) throws -> (status: Int32, output: String) {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    process.environment = ProcessInfo.processInfo.environment.merging(environment) { _, new in new }
    let pipe = Pipe()
    process.standardOutput = pipe
    process.standardError = pipe
    try process.run()
    let data = pipe.fileHandleForReading.readDataToEndOfFile()
    process.waitUntilExit()
    return (process.terminationStatus, String(decoding: data, as: UTF8.self))
}

/// An `aviary serve` process on a free loopback port with its own state directory.
public final class Daemon {
    /// Its state directory.
    public let stateDirectory: String
    private let daemon: DaemonProcess
    private var lastArguments: [String] = []
    /// Its loopback port.
    public var port: Int { daemon.port }
    /// The API's base URL.
    public var base: String { daemon.base }
    /// The `aviary` binary.
    public var aviary: String { daemon.aviary }

    /// A daemon to be started (with `--token token` when given).
    public init(stateDirectory: String? = nil, token: String? = nil) {
        self.stateDirectory = stateDirectory ?? NSTemporaryDirectory() + "aviary-serve-test-" + UUID().uuidString
        daemon = DaemonProcess(
            aviary: builtProductsDirectory() + "/aviary", stateDirectory: self.stateDirectory,
            port: PortAllocator.freePort() ?? 17480, token: token)
    }

    /// Starts `aviary serve` and waits until `/healthz` answers.
    public func start(extraArguments: [String] = []) async throws {
        lastArguments = extraArguments
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        try await daemon.start(
            logPath: stateDirectory + "/serve-\(UUID().uuidString.prefix(6)).out", extraArguments: extraArguments)
    }

    /// kill -9 of the daemon only (pods and router keep running).
    public func killNine() {
        daemon.killNine()
    }

    /// SIGTERM and wait (the daemon stops pods and the router).
    public func terminate() {
        daemon.stop()
    }

    /// An API call with the daemon's token.
    public func call(_ method: HTTPMethod, _ path: String, body: Data? = nil) async -> Exchange? {
        await http(
            method, base + path, body: body, headers: daemon.token.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    /// Runs the `aviary` CLI against this daemon.
    public func cli(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runCommand([aviary] + arguments, environment: ["AVIARY_SERVER": base, "AVIARY_TOKEN": daemon.token ?? ""])
    }

    /// The PIDs of the pods the daemon runs now.
    public func podPIDs() async -> [Int32] {
        let pods = (await call(.GET, "/api/v1/pods"))?.json["pods"] as? [[String: Any]] ?? []
        return pods.compactMap { ($0["pid"] as? Int).map(Int32.init) }
    }

    /// Starts a daemon (with `extraArguments`), runs `body` with it, and stops everything it
    /// started, also when `body` throws.
    public static func run(extraArguments: [String] = [], _ body: (Daemon) async throws -> Void) async throws {
        let daemon = Daemon()
        do {
            try await daemon.start(extraArguments: extraArguments)
            try await body(daemon)
        } catch {
            await daemon.cleanUp()
            throw error
        }
        await daemon.cleanUp()
    }

    /// Everything the daemon ever started is stopped: pods, router, the daemon itself.
    public func cleanUp() async {
        if daemon.process == nil { try? await start(extraArguments: lastArguments) }
        let pids = await podPIDs()
        terminate()
        // A daemon that failed to stop its pods must not leave them behind.
        for pid in pids where isRunning(pid) { kill(-pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}

/// What a series of requests to a listener got back.
public struct TrafficSample: Sendable {
    /// Answers per image.
    public var images: [String: Int] = [:]
    /// Requests without a 200 naming an image.
    public var errors = 0
    /// All requests.
    public var total: Int { images.values.reduce(0, +) + errors }

    /// The share (0...1) of answers from `image`.
    public func share(of image: String) -> Double {
        total == 0 ? 0 : Double(images[image] ?? 0) / Double(total)
    }
}

/// Sends `count` GET / requests to `127.0.0.1:port` one after another and counts the images that
/// answered (the sample app names its `IMAGE`); anything but a 200 with an image is an error.
public func sendTraffic(port: Int, count: Int, headers: [(String, String)] = []) async -> TrafficSample {
    var sample = TrafficSample()
    for _ in 0..<count {
        guard let answer = await http(.GET, "http://127.0.0.1:\(port)/", headers: headers, timeout: 10),
            answer.status == 200, let image = answer.json["image"] as? String
        else {
            sample.errors += 1
            continue
        }
        sample.images[image, default: 0] += 1
    }
    return sample
}

/// Whether a process runs (a zombie waiting for its parent does not).
public func isRunning(_ pid: Int32) -> Bool {
    ProcessTable.isAlive(pid)
}

/// The PID of the running router whose table lives in `stateDirectory` (found in /proc by its
/// `--state` argument, since an adopted router's parent is no longer the daemon).
public func routerPID(stateDirectory: String) -> Int32? {
    ProcessTable.pids(withArguments: ["router", stateDirectory + "/router-table.json"]).first
}

extension Daemon {
    /// Runs `body`, with `background` (traffic, say) going beside it, then cancels `background`
    /// and stops the daemon and everything it started, whether `body` returned or threw.
    public func run(beside background: Task<Void, Never>? = nil, _ body: () async throws -> Void) async throws {
        do {
            try await body()
        } catch {
            background?.cancel()
            await cleanUp()
            throw error
        }
        background?.cancel()
        await cleanUp()
    }
}
