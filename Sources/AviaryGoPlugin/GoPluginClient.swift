import Foundation

/// What a plugin and its host agree on before they talk (go-plugin's `HandshakeConfig`): the
/// application protocol version and a cookie, passed in the environment, that tells the binary it
/// was started as a plugin.
public struct GoPluginHandshake: Sendable, Equatable {
    public var protocolVersion: Int
    public var magicCookieKey: String
    public var magicCookieValue: String

    public init(protocolVersion: Int, magicCookieKey: String, magicCookieValue: String) {
        self.protocolVersion = protocolVersion
        self.magicCookieKey = magicCookieKey
        self.magicCookieValue = magicCookieValue
    }
}

/// What went wrong talking to a plugin; each message says which step failed.
public enum GoPluginError: Error, Equatable, Sendable, CustomStringConvertible {
    /// The binary could not be started, or exited, or printed no usable handshake line.
    case handshake(String)
    /// The connection to it failed or closed.
    case connection(String)
    /// It broke yamux's, net/rpc's or gob's rules.
    case protocolViolation(String)
    /// A call it answered with an error.
    case remote(method: String, message: String)

    public var description: String {
        switch self {
        case .handshake(let text), .connection(let text), .protocolViolation(let text): text
        case .remote(let method, let message): "\(method): \(message)"
        }
    }
}

/// The handshake line a go-plugin binary prints on stdout once it listens:
/// `CORE-PROTOCOL|APP-PROTOCOL|NETWORK|ADDRESS|PROTOCOL[|SERVER-CERT]`, e.g.
/// `1|1|unix|/tmp/plugin123|netrpc|`.
public struct GoPluginAddress: Sendable, Equatable {
    public var appProtocolVersion: Int
    public var network: String
    public var address: String

    init(appProtocolVersion: Int, network: String, address: String) {
        self.appProtocolVersion = appProtocolVersion
        self.network = network
        self.address = address
    }

    /// Reads the line as go-plugin's client does, refusing what Aviary cannot speak.
    public init(handshakeLine line: String, expecting handshake: GoPluginHandshake) throws(GoPluginError) {
        let parts = line.trimmingCharacters(in: .whitespacesAndNewlines).split(
            separator: "|", omittingEmptySubsequences: false)
        guard parts.count >= 4 else {
            throw .handshake(
                "the plugin printed \"\(line)\" where go-plugin's handshake line "
                    + "CORE-PROTOCOL|APP-PROTOCOL|NETWORK|ADDRESS|PROTOCOL belongs; is it built with hashicorp/go-plugin?"
            )
        }
        guard parts[0] == "1" else {
            throw .handshake("the plugin speaks go-plugin core protocol \(parts[0]); Aviary speaks 1")
        }
        guard let app = Int(parts[1]), app == handshake.protocolVersion else {
            throw .handshake(
                "the plugin speaks plugin protocol \(parts[1]); Argo's \(handshake.magicCookieValue) plugins speak "
                    + "\(handshake.protocolVersion)")
        }
        if parts.count >= 5, !parts[4].isEmpty, parts[4] != "netrpc" {
            throw .handshake(
                "the plugin serves \(parts[4]); Argo's plugins are served over netrpc (go-plugin's net/rpc)")
        }
        if parts.count >= 6, !parts[5].isEmpty {
            throw .handshake("the plugin asks for mutual TLS (go-plugin's AutoMTLS), which Argo does not use")
        }
        appProtocolVersion = app
        network = String(parts[2])
        address = String(parts[3])
    }
}

/// A running go-plugin binary and the yamux session to it, as go-plugin's `Client` with the
/// net/rpc protocol: the binary is started with the handshake's cookie and protocol version in
/// its environment, prints where it listens, and is then asked for its implementations by name
/// (`Dispenser.Dispense`), each served on a stream of its own.
///
/// What the plugin writes to stderr (hclog's lines) and, after its handshake, to stdout goes to
/// `log`, line by line, whether it comes on the pipes or on go-plugin's stdout and stderr streams.
public final class GoPluginClient: Sendable {
    /// The binary's path, for messages.
    public let executable: String
    private let process: Process

    /// The plugin's process id.
    public var processIdentifier: Int32 { process.processIdentifier }
    private let session: YamuxSession
    private let control: NetRPCClient

    /// How long a plugin may take to print its handshake line (go-plugin's default, 1 minute).
    public static let startTimeout: Duration = .seconds(60)

    /// Starts `executable` with `arguments` and connects to it.
    public static func start(
        executable: String, arguments: [String] = [], handshake: GoPluginHandshake,
        environment: [String: String] = ProcessInfo.processInfo.environment,
        startTimeout: Duration = startTimeout, log: @escaping @Sendable (String) -> Void
    ) async throws -> GoPluginClient {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        var environment = environment
        environment[handshake.magicCookieKey] = handshake.magicCookieValue
        environment["PLUGIN_PROTOCOL_VERSIONS"] = String(handshake.protocolVersion)
        environment["PLUGIN_MIN_PORT"] = "10000"
        environment["PLUGIN_MAX_PORT"] = "25000"
        process.environment = environment
        let stdout = Pipe()
        let stderr = Pipe()
        process.standardOutput = stdout
        process.standardError = stderr
        process.standardInput = FileHandle.nullDevice

        let lines = LineCollector()
        let (handshakeLines, handshakeContinuation) = AsyncStream.makeStream(of: String?.self)
        stdout.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                handshakeContinuation.yield(nil)
                return
            }
            // The first line is the handshake; anything the plugin prints after it is logged.
            for line in lines.stdout.append(data) {
                if lines.takeHandshake() { handshakeContinuation.yield(line) } else { log(line) }
            }
        }
        stderr.fileHandleForReading.readabilityHandler = { handle in
            let data = handle.availableData
            if data.isEmpty {
                handle.readabilityHandler = nil
                return
            }
            for line in lines.stderr.append(data) {
                lines.remember(line)
                log(line)
            }
        }
        do {
            try process.run()
        } catch {
            throw GoPluginError.handshake("cannot start the plugin \(executable): \(error.localizedDescription)")
        }
        let line: String
        do {
            line = try await firstLine(of: handshakeLines, within: startTimeout, executable: executable, lines: lines)
            let address = try GoPluginAddress(handshakeLine: line, expecting: handshake)
            let session = try await YamuxSession.connect(network: address.network, address: address.address)
            // The control stream, then the plugin's stdout and stderr streams, in go-plugin's order.
            let control = NetRPCClient(session: session, stream: try await session.openStream())
            // What the plugin writes to its stdout and stderr after Serve comes on these two; it is
            // logged line by line, never kept.
            for buffer in [LineCollector.Buffer(), LineCollector.Buffer()] {
                _ = try await session.openStream { bytes in
                    for line in buffer.append(Data(bytes)) { log(line) }
                }
            }
            return GoPluginClient(executable: executable, process: process, session: session, control: control)
        } catch {
            process.terminate()
            throw error
        }
    }

    private init(executable: String, process: Process, session: YamuxSession, control: NetRPCClient) {
        self.executable = executable
        self.process = process
        self.session = session
        self.control = control
    }

    private static func firstLine(
        of lines: AsyncStream<String?>, within timeout: Duration, executable: String, lines collector: LineCollector
    ) async throws -> String {
        let first = try await withThrowingTaskGroup(of: String??.self) { group in
            group.addTask {
                for await line in lines { return .some(line) }
                return .some(nil)
            }
            group.addTask {
                try await Task.sleep(for: timeout)
                return nil
            }
            let first = try await group.next() ?? nil
            group.cancelAll()
            return first
        }
        switch first {
        case .some(.some(let line)): return line
        case .some(.none):
            try? await Task.sleep(for: .milliseconds(100))
            let said = collector.lastLines.isEmpty ? "" : ": " + collector.lastLines.joined(separator: " | ")
            throw GoPluginError.handshake("the plugin \(executable) exited before its handshake\(said)")
        case .none:
            throw GoPluginError.handshake(
                "the plugin \(executable) printed no handshake line within \(timeout); "
                    + "is it a go-plugin binary of the right kind?")
        }
    }

    /// Asks the plugin for the implementation named `name` (e.g. `RpcMetricProviderPlugin`) and
    /// returns a net/rpc client of it (its methods are `Plugin.NAME`).
    public func dispense(_ name: String) async throws -> NetRPCClient {
        let reply = try await control.call("Dispenser.Dispense", .string(name), as: .string)
        guard case .uint(let id) = reply, let brokerID = UInt32(exactly: id) else {
            throw GoPluginError.protocolViolation("Dispenser.Dispense answered \(reply), not a stream id")
        }
        // go-plugin's MuxBroker: a new stream that says which id it is for, and is acknowledged.
        let stream = try await session.openStream()
        try await session.write(littleEndian(brokerID), on: stream)
        var ack: [UInt8] = []
        while ack.count < 4 { ack += try await session.read(from: stream) }
        guard Array(ack.prefix(4)) == littleEndian(brokerID) else {
            throw GoPluginError.protocolViolation("the plugin acknowledged stream \(ack.prefix(4)), not \(brokerID)")
        }
        let client = NetRPCClient(session: session, stream: stream)
        if ack.count > 4 { await client.prepend(Array(ack.dropFirst(4))) }
        return client
    }

    /// Whether the binary is still running and the session open.
    public var isRunning: Bool {
        get async { process.isRunning ? !(await session.isClosed) : false }
    }

    /// Asks the plugin to quit (`Control.Quit`), then stops it: SIGTERM, and SIGKILL after 2 s.
    public func stop() async {
        if process.isRunning {
            _ = try? await withThrowingTaskGroup(of: Void.self) { group in
                group.addTask { _ = try await self.control.call("Control.Quit", .bool(true), as: .bool) }
                group.addTask { try await Task.sleep(for: .seconds(2)) }
                try await group.next()
                group.cancelAll()
            }
        }
        await session.close(reason: "the plugin was stopped")
        let deadline = ContinuousClock.now + .seconds(2)
        if process.isRunning { process.terminate() }
        while process.isRunning, ContinuousClock.now < deadline { try? await Task.sleep(for: .milliseconds(20)) }
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
    }

    private func littleEndian(_ value: UInt32) -> [UInt8] {
        (0..<4).map { UInt8(truncatingIfNeeded: value >> (8 * $0)) }
    }
}

/// Splits a pipe's bytes into lines, and keeps the last stderr lines for messages.
final class LineCollector: @unchecked Sendable {
    final class Buffer: @unchecked Sendable {
        private let lock = NSLock()
        private var pending = Data()

        func append(_ data: Data) -> [String] {
            lock.lock()
            defer { lock.unlock() }
            pending.append(data)
            var lines: [String] = []
            while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                lines.append(String(decoding: pending[pending.startIndex..<newline], as: UTF8.self))
                pending.removeSubrange(pending.startIndex...newline)
            }
            // A line without its end is cut rather than kept growing.
            if pending.count > 64 * 1024 {
                lines.append(String(decoding: pending, as: UTF8.self))
                pending.removeAll()
            }
            return lines
        }
    }

    let stdout = Buffer()
    let stderr = Buffer()
    private let lock = NSLock()
    private var kept: [String] = []
    private var handshakeTaken = false

    /// True for the first stdout line only.
    func takeHandshake() -> Bool {
        lock.lock()
        defer { lock.unlock() }
        defer { handshakeTaken = true }
        return !handshakeTaken
    }

    func remember(_ line: String) {
        lock.lock()
        defer { lock.unlock() }
        kept.append(line)
        if kept.count > 5 { kept.removeFirst() }
    }

    var lastLines: [String] {
        lock.lock()
        defer { lock.unlock() }
        return kept
    }
}
