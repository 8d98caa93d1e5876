import AviaryCore
import AviaryGoPlugin
import Crypto
import Foundation

/// Runs Argo Rollouts' plugins of one kind (metric providers or traffic routers) as Argo's
/// controller does: each plugin named in the kind's list of the ConfigMap `argo-rollouts-config`
/// (`metricProviderPlugins`, `trafficRouterPlugins`) is a go-plugin binary, started on its first
/// call (downloaded first when its location is `http(s)://`, and checked against its `sha256`),
/// initialised once (`InitPlugin`), and started again when it has exited. One process serves every
/// metric or rollout that names the plugin.
public actor ArgoPluginHost {
    /// The data of `argo-rollouts-config` (nil: there is none), read at each plugin start.
    public typealias ConfigurationSource = @Sendable () async throws -> [String: String]?

    private let kind: ArgoPluginConfiguration.Kind
    private let configuration: ConfigurationSource
    private let configurationPlace: String
    private let binDirectory: String
    private let log: @Sendable (_ plugin: String, _ line: String) -> Void
    private var running: [String: (client: GoPluginClient, rpc: NetRPCClient)] = [:]
    private var starting: [String: Task<NetRPCClient, any Error>] = [:]
    /// Downloaded binaries, by plugin name: the URL and digest they came from.
    private var downloaded: [String: (location: String, path: String)] = [:]
    /// Where the running plugins' pids are kept, so that a daemon started after one that was killed
    /// can stop the plugins it left (they are not its pods: nothing adopts them).
    private let processRecord: String?
    /// How long a call through `call(_:_:_:)` may go unanswered before the plugin is stopped.
    let callTimeout: Duration
    private var reaped = false
    /// The keys and values of a Secret of the controller's namespace (nil: none), for `headersFrom`.
    private let secret: (@Sendable (String) async -> [String: String]?)?

    /// - Parameters:
    ///   - kind: the plugins this host runs (metric providers unless told).
    ///   - configuration: reads the ConfigMap's data.
    ///   - configurationPlace: where that ConfigMap is, for messages (`namespace argo-rollouts`).
    ///   - binDirectory: where downloaded plugins are kept (`plugin-bin/NAMESPACE/NAME`, as Argo).
    ///   - log: each line a plugin writes to stderr (hclog's JSON lines, as go-plugin forwards them).
    ///   - processRecord: a file that lists the running plugins' pids; those a killed daemon left are
    ///     stopped before the first plugin starts. Nil: none is kept.
    ///   - secret: reads a Secret of the controller's namespace by name, for a download's `headersFrom`.
    ///   - callTimeout: how long a traffic router or step plugin call may go unanswered (Argo sets no
    ///     bound; a hung plugin would hold the reconciles that wait on it).
    public init(
        kind: ArgoPluginConfiguration.Kind = .metricProvider, configuration: @escaping ConfigurationSource,
        configurationPlace: String, binDirectory: String,
        processRecord: String? = nil, secret: (@Sendable (String) async -> [String: String]?)? = nil,
        callTimeout: Duration = defaultCallTimeout,
        log: @escaping @Sendable (_ plugin: String, _ line: String) -> Void
    ) {
        self.kind = kind
        self.callTimeout = callTimeout
        self.secret = secret
        self.processRecord = processRecord
        self.configuration = configuration
        self.configurationPlace = configurationPlace
        self.binDirectory = binDirectory
        self.log = log
    }

    /// The net/rpc client of the running plugin `name`, started (and initialised) if it is not running,
    /// or if its stream broke while it runs (a plugin answers no more calls on a broken stream).
    func plugin(named name: String) async throws -> NetRPCClient {
        if let current = running[name] {
            if await current.client.isRunning, await !current.rpc.isBroken { return current.rpc }
            running[name] = nil
            await current.client.stop()
        }
        if let pending = starting[name] { return try await pending.value }
        let task = Task { try await self.start(name) }
        starting[name] = task
        defer { starting[name] = nil }
        return try await task.value
    }

    /// How long a traffic router or step plugin call may go unanswered by default.
    public static let defaultCallTimeout = Duration.seconds(60)

    /// Calls `method` of the plugin `name` with `argument`. A call left unanswered for `callTimeout`
    /// stops the plugin, taken as stuck (the next call starts it again; the calls it was serving end
    /// with an error) and throws, naming the plugin, the method and the bound. The bound
    /// starts when the request is written, not while it waits for the requests before it to be.
    func call(_ name: String, _ method: String, _ argument: GobValue) async throws -> GobValue {
        let rpc = try await plugin(named: name)
        let timeout = callTimeout
        let (sent, sending) = AsyncStream<Void>.makeStream()
        let reply = try await withThrowingTaskGroup(of: GobValue?.self) { group in
            group.addTask {
                try await rpc.call(method, argument, as: .interface) {
                    sending.yield()
                    sending.finish()
                }
            }
            group.addTask {
                for await _ in sent { break }
                try await Task.sleep(for: timeout)
                return nil
            }
            defer { group.cancelAll() }
            let first = try await group.next() ?? nil
            // Closing the session ends the call still waiting, so the group can end.
            if first == nil { await self.stop(name, serving: rpc) }
            return first
        }
        guard let reply else {
            throw ArgoPluginError(
                "\(kind.noun) \(name) did not answer \(method) within \(timeout); it was stopped, and the next call "
                    + "starts it again")
        }
        return reply
    }

    /// Stops the plugin `name` if `rpc` is still the client of its running process.
    private func stop(_ name: String, serving rpc: NetRPCClient) async {
        guard let current = running[name], current.rpc === rpc else { return }
        running[name] = nil
        recordProcesses()
        await current.client.stop()
    }

    /// Whether `argo-rollouts-config` lists `name` with `disabled: true` (Argo skips a disabled step
    /// plugin's steps); false when it cannot be read.
    func isDisabled(_ name: String) async -> Bool {
        (try? await configured(name))?.disabled == true
    }

    /// Stops every plugin (go-plugin's `CleanupClients`).
    public func stopAll() async {
        let clients = running.values.map(\.client)
        running = [:]
        for client in clients { await client.stop() }
        recordProcesses()
    }

    /// Stops the plugins an earlier process recorded in `processRecord` and left running: each pid
    /// whose command line still starts with the recorded binary gets SIGKILL.
    public func stopOrphans() {
        guard !reaped, let processRecord else { return }
        reaped = true
        guard let text = try? String(contentsOfFile: processRecord, encoding: .utf8) else { return }
        for line in text.split(separator: "\n") {
            guard let space = line.firstIndex(of: " "), let pid = Int32(line[..<space]) else { continue }
            let executable = String(line[line.index(after: space)...])
            guard let commandLine = FileManager.default.contents(atPath: "/proc/\(pid)/cmdline"),
                commandLine.split(separator: 0).first.map({ String(decoding: $0, as: UTF8.self) }) == executable
            else { continue }
            kill(pid, SIGKILL)
        }
        try? FileManager.default.removeItem(atPath: processRecord)
    }

    /// Writes the running plugins' `PID EXECUTABLE` lines to `processRecord`.
    private func recordProcesses() {
        guard let processRecord else { return }
        let lines = running.values.map { "\($0.client.processIdentifier) \($0.client.executable)\n" }.joined()
        if lines.isEmpty {
            try? FileManager.default.removeItem(atPath: processRecord)
        } else {
            try? FileManager.default.createDirectory(
                atPath: (processRecord as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
            try? lines.write(toFile: processRecord, atomically: true, encoding: .utf8)
        }
    }

    private func start(_ name: String) async throws -> NetRPCClient {
        stopOrphans()
        let item = try await configured(name)
        let executable = try await binary(for: item)
        let log = self.log
        let client = try await GoPluginClient.start(
            executable: executable, arguments: item.args, handshake: kind.handshake, log: { log(name, $0) })
        do {
            let rpc = try await client.dispense(kind.dispenseName)
            let reply = try await rpc.call("Plugin.InitPlugin", .nilInterface, as: .interface)
            if let error = GoTypes.rpcError(reply) {
                throw ArgoPluginError("plugin \(name) failed to initialise (InitPlugin): \(error)")
            }
            running[name] = (client, rpc)
            recordProcesses()
            return rpc
        } catch {
            await client.stop()
            throw error
        }
    }

    private func configured(_ name: String) async throws -> ArgoPluginItem {
        let place = "ConfigMap \(ArgoPluginConfiguration.configMapName) in \(configurationPlace)"
        let data: [String: String]?
        do {
            data = try await configuration()
        } catch {
            throw ArgoPluginError("cannot read the \(place) that lists \(kind.noun)s: \(error)")
        }
        guard let data else {
            throw ArgoPluginError(
                "\(kind.noun) \(name) is not configured: there is no \(place); add one whose \(kind.rawValue) "
                    + "lists \(name) with its location")
        }
        let items = try ArgoPluginConfiguration.plugins(kind, in: data)
        guard let item = items.first(where: { $0.name == name }) else {
            throw ArgoPluginError(
                "\(kind.noun) \(name) is not configured: add it to \(kind.rawValue) of the \(place) "
                    + "(- name: \(name), location: file://… or https://…)")
        }
        return item
    }

    /// The executable of `item`: its file, or the download of its URL (once, verified).
    private func binary(for item: ArgoPluginItem) async throws -> String {
        switch try item.source {
        case .file(let path):
            let absolute = URL(fileURLWithPath: path).standardizedFileURL.path
            guard FileManager.default.isExecutableFile(atPath: absolute) else {
                throw ArgoPluginError(
                    "plugin \(item.name): location \(item.location): \(absolute) "
                        + (FileManager.default.fileExists(atPath: absolute) ? "is not executable" : "does not exist"))
            }
            return absolute
        case .download(let url):
            if let done = downloaded[item.name], done.location == url + (item.sha256 ?? "") { return done.path }
            let (directory, filename) = try item.directoryAndFilename
            let folder = (binDirectory as NSString).appendingPathComponent(directory)
            let path = (folder as NSString).appendingPathComponent(filename)
            var headers: [(String, String)] = []
            for name in item.headersFrom {
                guard let values = await secret?(name) else {
                    throw ArgoPluginError(
                        "plugin \(item.name): headersFrom names the Secret \(name), which is not in \(configurationPlace); "
                            + "create it with the download's headers as its keys")
                }
                headers += values.sorted { $0.key < $1.key }.map { ($0.key, $0.value) }
            }
            let bytes = try await Self.download(url, headers: headers, plugin: item.name)
            if let expected = item.sha256 {
                let actual = SHA256.hash(data: bytes).map { String(format: "%02x", $0) }.joined()
                guard actual == expected.lowercased() else {
                    throw ArgoPluginError(
                        "plugin \(item.name): the sha256 of \(url) is \(actual), not the \(expected) the ConfigMap "
                            + "gives; nothing was run")
                }
            }
            do {
                try FileManager.default.createDirectory(atPath: folder, withIntermediateDirectories: true)
                try bytes.write(to: URL(fileURLWithPath: path), options: .atomic)
                try FileManager.default.setAttributes([.posixPermissions: 0o700], ofItemAtPath: path)
            } catch {
                throw ArgoPluginError("plugin \(item.name): cannot write \(path): \(error.localizedDescription)")
            }
            downloaded[item.name] = (url + (item.sha256 ?? ""), path)
            return path
        }
    }

    /// The largest plugin binary downloaded.
    static let maximumBinaryBytes = 512 * 1024 * 1024

    private static func download(_ url: String, headers: [(String, String)], plugin: String) async throws -> Data {
        let response: MetricHTTPResponse
        do {
            response = try await MetricHTTP.send(
                MetricHTTPRequest(method: .GET, url: url, headers: headers, timeout: .seconds(300)),
                bodyLimit: maximumBinaryBytes)
        } catch {
            throw ArgoPluginError("plugin \(plugin): failed to download \(url): \(error)")
        }
        guard (200..<300).contains(response.status) else {
            throw ArgoPluginError("plugin \(plugin): failed to download \(url): response code \(response.status)")
        }
        return response.body
    }
}

/// A plugin that could not be run; the message names the plugin and what to fix.
struct ArgoPluginError: Error, CustomStringConvertible {
    var description: String
    init(_ description: String) { self.description = description }
}

extension ArgoPluginConfiguration.Kind {
    /// How Argo's controller and its plugins of this kind recognise each other (go-plugin's
    /// handshake: the cookie names the kind).
    var handshake: GoPluginHandshake {
        let cookie =
            switch self {
            case .metricProvider: "metricprovider"
            case .trafficRouter: "trafficrouter"
            case .step: "step"
            }
        return GoPluginHandshake(
            protocolVersion: 1, magicCookieKey: "ARGO_ROLLOUTS_RPC_PLUGIN", magicCookieValue: cookie)
    }

    /// The implementation a plugin of this kind serves.
    var dispenseName: String {
        switch self {
        case .metricProvider: "RpcMetricProviderPlugin"
        case .trafficRouter: "RpcTrafficRouterPlugin"
        case .step: "RpcStepPlugin"
        }
    }

    /// What messages call a plugin of this kind.
    var noun: String {
        switch self {
        case .metricProvider: "metric plugin"
        case .trafficRouter: "traffic router plugin"
        case .step: "step plugin"
        }
    }
}
