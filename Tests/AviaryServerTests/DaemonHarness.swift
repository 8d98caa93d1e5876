import AsyncHTTPClient
import Foundation
import NIOCore
import NIOHTTP1
import Testing

@testable import AviaryLocal

/// The directory holding the package's built executables (`aviary`, `aviary-sample-app`).
func builtProductsDirectory() -> String {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    var directory = (executable as NSString).deletingLastPathComponent
    while !directory.isEmpty, directory != "/", !FileManager.default.fileExists(atPath: directory + "/aviary") {
        directory = (directory as NSString).deletingLastPathComponent
    }
    return directory
}

/// Polls `condition` every 50 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(50))
    }
    return try await condition()
}

/// One HTTP exchange on loopback.
struct Exchange {
    var status: Int
    var body: Data
    var headers = HTTPHeaders()
    var text: String { String(decoding: body, as: UTF8.self) }
    var json: [String: Any] { (try? JSONSerialization.jsonObject(with: body)) as? [String: Any] ?? [:] }
}

func http(
    _ method: HTTPMethod, _ url: String, body: Data? = nil, headers: [(String, String)] = [], timeout: Int64 = 30
) async -> Exchange? {
    var request = HTTPClientRequest(url: url)
    request.method = method
    for (name, value) in headers { request.headers.add(name: name, value: value) }
    if let body { request.body = .bytes(ByteBuffer(bytes: body)) }
    do {
        let response = try await HTTPClient.shared.execute(request, timeout: .seconds(timeout))
        let collected = try await response.body.collect(upTo: 64 << 20)
        return Exchange(status: Int(response.status.code), body: Data(buffer: collected), headers: response.headers)
    } catch {
        return nil
    }
}

/// Runs a command to completion and returns its exit status and output.
func runCommand(_ arguments: [String], environment: [String: String] = [:]) throws -> (status: Int32, output: String) {
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
final class Daemon {
    let stateDirectory: String
    let port: Int
    let token: String?
    private(set) var process: Process?
    private var lastArguments: [String] = []
    var base: String { "http://127.0.0.1:\(port)" }
    var aviary: String { builtProductsDirectory() + "/aviary" }

    init(stateDirectory: String? = nil, token: String? = nil) {
        self.stateDirectory = stateDirectory ?? NSTemporaryDirectory() + "aviary-serve-test-" + UUID().uuidString
        self.port = PortAllocator.freePort() ?? 17480
        self.token = token
    }

    /// Starts `aviary serve` and waits until `/healthz` answers.
    func start(extraArguments: [String] = []) async throws {
        lastArguments = extraArguments
        let process = Process()
        process.executableURL = URL(fileURLWithPath: aviary)
        process.arguments =
            ["serve", "--state-dir", stateDirectory, "--listen", "127.0.0.1:\(port)"] + extraArguments
            + (token.map { ["--token", $0] } ?? [])
        try FileManager.default.createDirectory(atPath: stateDirectory, withIntermediateDirectories: true)
        let log = stateDirectory + "/serve-\(UUID().uuidString.prefix(6)).out"
        FileManager.default.createFile(atPath: log, contents: nil)
        process.standardOutput = FileHandle(forWritingAtPath: log)
        process.standardError = FileHandle(forWritingAtPath: log)
        try process.run()
        self.process = process
        let headers = token.map { [("Authorization", "Bearer \($0)")] } ?? []
        let up = await eventually(within: 60) { await http(.GET, base + "/healthz", headers: headers)?.status == 200 }
        try #require(
            up, "aviary serve did not answer /healthz: \((try? String(contentsOfFile: log, encoding: .utf8)) ?? "")")
    }

    /// kill -9 of the daemon only (pods and router keep running).
    func killNine() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGKILL)
        process.waitUntilExit()
        self.process = nil
    }

    /// SIGTERM and wait (the daemon stops pods and the router).
    func terminate() {
        guard let process, process.isRunning else { return }
        kill(process.processIdentifier, SIGTERM)
        let deadline = Date().addingTimeInterval(30)
        while process.isRunning && Date() < deadline { usleep(20_000) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        self.process = nil
    }

    /// An API call with the daemon's token.
    func call(_ method: HTTPMethod, _ path: String, body: Data? = nil) async -> Exchange? {
        await http(method, base + path, body: body, headers: token.map { [("Authorization", "Bearer \($0)")] } ?? [])
    }

    /// Runs the `aviary` CLI against this daemon.
    func cli(_ arguments: [String]) throws -> (status: Int32, output: String) {
        try runCommand(
            [aviary] + arguments, environment: ["AVIARY_SERVER": base, "AVIARY_TOKEN": token ?? ""])
    }

    /// The PIDs of the pods the daemon runs now.
    func podPIDs() async -> [Int32] {
        let pods = (await call(.GET, "/api/v1/pods"))?.json["pods"] as? [[String: Any]] ?? []
        return pods.compactMap { ($0["pid"] as? Int).map(Int32.init) }
    }

    /// Everything the daemon ever started is stopped: pods, router, the daemon itself.
    func cleanUp() async {
        if process == nil { try? await start(extraArguments: lastArguments) }
        let pids = await podPIDs()
        terminate()
        // A daemon that failed to stop its pods must not leave them behind.
        for pid in pids where isRunning(pid) { kill(-pid, SIGKILL) }
        try? FileManager.default.removeItem(atPath: stateDirectory)
    }
}

/// What a series of requests to a listener got back.
struct TrafficSample {
    var images: [String: Int] = [:]
    var errors = 0
    var total: Int { images.values.reduce(0, +) + errors }

    /// The share (0...1) of answers from `image`.
    func share(of image: String) -> Double {
        total == 0 ? 0 : Double(images[image] ?? 0) / Double(total)
    }
}

/// Sends `count` GET / requests to `127.0.0.1:port` one after another and counts the images that
/// answered (the sample app names its `IMAGE`); anything but a 200 with an image is an error.
func sendTraffic(port: Int, count: Int, headers: [(String, String)] = []) async -> TrafficSample {
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
func isRunning(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 && ProcessControl.state(of: pid) != "Z"
}

/// The PID of the running router whose table lives in `stateDirectory` (found in /proc by its
/// `--state` argument, since an adopted router's parent is no longer the daemon).
func routerPID(stateDirectory: String) -> Int32? {
    let table = stateDirectory + "/router-table.json"
    let entries = (try? FileManager.default.contentsOfDirectory(atPath: "/proc")) ?? []
    for entry in entries {
        guard let pid = Int32(entry),
            let data = FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
        else { continue }
        let arguments = data.split(separator: 0).map { String(decoding: $0, as: UTF8.self) }
        if arguments.contains("router") && arguments.contains(table) && isRunning(pid) { return pid }
    }
    return nil
}
