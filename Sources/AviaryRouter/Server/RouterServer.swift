import AviaryRoutes
import Foundation
import NIOConcurrencyHelpers
import NIOCore
import NIOHTTP1
import NIOPosix
import NIOSSL

/// The router: binds the listeners of the current table, swaps tables whole, persists the last
/// accepted one, and serves the admin endpoint. The CLI's `aviary router` and in-process tests
/// (and the local platform) all run it through this type.
public actor RouterServer {
    /// Where the router keeps the last accepted table, if anywhere.
    public let statePath: String?
    /// The counters of every service.
    public nonisolated let stats: RouterStats
    nonisolated let store: RouteTableStore
    private let group: any EventLoopGroup
    private let ownsGroup: Bool
    private let core: ProxyCore
    private var listeners: [String: any Channel] = [:]
    /// The TLS each bound listener hands its new connections, by address as written.
    private var security: [String: ListenerSecurity] = [:]
    /// The TLS of the current table's listeners that terminate it.
    private var tlsContexts: [String: ListenerTLSContext] = [:]
    /// Re-reads certificate files that changed, while any listener terminates TLS.
    private var certificateWatcher: Task<Void, Never>?
    /// The last reload failure reported per listener, so a broken file is reported once.
    private var reportedReloadFailures: [String: String] = [:]
    private let log: @Sendable (String) -> Void
    private var admin: (any Channel)?

    /// Makes a router with an empty table; `start(with:)` or `apply` gives it one.
    ///
    /// - Parameters:
    ///   - group: the event loops to run on; by default the router makes `threads` of them and
    ///     shuts them down in `shutdown()`.
    ///   - threads: how many event loops to make when no `group` is given; nil means one per core.
    ///   - statePath: where to persist every accepted table (JSON), if anywhere.
    ///   - log: receives one line per event the router tells of by itself (a certificate
    ///     reloaded, or a changed one that could not be read).
    public init(
        group: (any EventLoopGroup)? = nil, threads: Int? = nil, statePath: String? = nil,
        log: @escaping @Sendable (String) -> Void = { _ in }
    ) async throws {
        self.log = log
        self.ownsGroup = group == nil
        let group = group ?? MultiThreadedEventLoopGroup(numberOfThreads: max(1, threads ?? System.coreCount))
        self.group = group
        self.statePath = statePath
        self.stats = RouterStats(shards: Array(group.makeIterator()).count)
        let empty = try CompiledRouteTable(RouteTable(), stats: stats, source: "empty table")
        self.store = RouteTableStore(empty)
        self.core = ProxyCore(store: store, stats: stats, pools: try await ProxyCore.makePools(group, stats: stats))
    }

    /// The table requests are routed by now.
    public nonisolated var currentTable: RouteTable { store.snapshot().table.table }

    /// The number of tables accepted so far.
    public nonisolated var generation: Int { store.generation }

    /// The bound address of each listener, by the address written in the table (useful when
    /// the table asks for port 0).
    public func boundListenerAddresses() -> [String: SocketAddress] {
        listeners.compactMapValues(\.localAddress)
    }

    /// Validates `table`, swaps it in for the next request, binds its new listeners, closes the
    /// listeners it no longer has, and writes it to the state file. A refused table (invalid, or
    /// a listener that cannot be bound, which puts the previous table back) changes no listener
    /// and throws a `RouteTableError` naming `source` and every problem.
    @discardableResult
    public func apply(_ table: RouteTable, source: String) async throws -> Int {
        let compiled = try CompiledRouteTable(table, stats: stats, source: source)
        let contexts = try loadTLS(of: table, source: source)
        // The table goes in before its new listeners accept: a request on a listener bound while
        // the old table was still in (every listener of a router that just started) was answered
        // 503 "not in the route table".
        let previous = store.snapshot().table
        store.replace(compiled)
        var opened: [String: any Channel] = [:]
        for (index, listener) in table.listeners.enumerated() where listeners[listener.address] == nil {
            guard let address = compiled.listeners[listener.address]?.socketAddress else { continue }
            let security = ListenerSecurity(contexts[listener.address])
            do {
                opened[listener.address] = try await bind(
                    address, listenerAddress: listener.address, security: security)
                self.security[listener.address] = security
            } catch {
                for address in opened.keys { self.security[address] = nil }
                store.replace(previous)
                for channel in opened.values { try? await channel.close() }
                throw RouteTableError(
                    source: source,
                    problems: [
                        "listeners[\(index)].address: cannot listen on \(listener.address) (\(error)); pick a free port"
                    ]
                )
            }
        }
        listeners.merge(opened) { old, _ in old }
        let kept = Set(table.listeners.map(\.address))
        for (address, channel) in listeners where !kept.contains(address) {
            listeners[address] = nil
            security[address] = nil
            try? await channel.close()
        }
        for (address, security) in security {
            security.context.withLockedValue { $0 = contexts[address] }
        }
        tlsContexts = contexts
        reportedReloadFailures = [:]
        watchCertificates()
        // Pods the table dropped (a retired ReplicaSet's) keep no pooled connection open, and
        // no counters.
        let endpointKeys = Set(table.services.values.flatMap(\.endpoints))
        stats.keepEndpoints(endpointKeys)
        await core.closeIdle(notIn: endpointKeys)
        if let statePath {
            try persist(table, to: statePath)
        }
        return store.generation
    }

    /// The TLS of every listener of `table` that terminates it: kept from the running table
    /// where its definition is the same, loaded afresh otherwise. Throws a `RouteTableError`
    /// naming each file that cannot be read; nothing is changed then.
    private func loadTLS(of table: RouteTable, source: String) throws -> [String: ListenerTLSContext] {
        var contexts: [String: ListenerTLSContext] = [:]
        var problems: [String] = []
        for (index, listener) in table.listeners.enumerated() {
            guard let tls = listener.tls else { continue }
            if let running = tlsContexts[listener.address], running.definition == tls {
                contexts[listener.address] = running
                continue
            }
            do {
                contexts[listener.address] = try ListenerTLSContext(tls, path: "listeners[\(index)].tls")
            } catch {
                problems.append(error.problem)
            }
        }
        if !problems.isEmpty { throw RouteTableError(source: source, problems: problems) }
        return contexts
    }

    /// Starts (or stops) the task that re-reads changed certificate files once a second.
    private func watchCertificates() {
        if tlsContexts.isEmpty {
            certificateWatcher?.cancel()
            certificateWatcher = nil
            return
        }
        guard certificateWatcher == nil else { return }
        certificateWatcher = Task { [weak self] in
            while !Task.isCancelled {
                try? await Task.sleep(for: .seconds(1))
                await self?.reloadChangedCertificates()
            }
        }
    }

    /// Re-reads the certificates of each TLS listener whose files changed; connections accepted
    /// from then on get the new ones. A file that cannot be read keeps the running certificate
    /// and is reported once.
    func reloadChangedCertificates() {
        for (address, context) in tlsContexts.sorted(by: { $0.key < $1.key }) {
            do {
                if try context.reloadIfChanged(path: "listener \(address) tls") {
                    reportedReloadFailures[address] = nil
                    log("listener \(address): certificate files changed; new connections get the new certificate")
                }
            } catch {
                guard reportedReloadFailures[address] != error.problem else { continue }
                reportedReloadFailures[address] = error.problem
                log("listener \(address): kept the running certificate: \(error.problem)")
            }
        }
    }

    /// Starts the admin endpoint on `host:port` (loopback); returns the bound address.
    public func startAdmin(host: String = "127.0.0.1", port: Int) async throws -> SocketAddress {
        let channel = try await ServerBootstrap(group: group)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelInitializer { [self] channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.configureHTTPServerPipeline(withErrorHandling: true)
                    try channel.pipeline.syncOperations.addHandler(AdminHandler(router: self))
                }
            }
            .bind(host: host, port: port)
            .get()
        admin = channel
        guard let address = channel.localAddress else { throw ChannelError.inappropriateOperationForState }
        return address
    }

    /// Closes the admin endpoint, every listener and pooled connection, and the event loops
    /// the router made itself.
    public func shutdown() async {
        certificateWatcher?.cancel()
        certificateWatcher = nil
        try? await admin?.close()
        admin = nil
        for channel in listeners.values { try? await channel.close() }
        listeners = [:]
        await core.closePools()
        if ownsGroup { try? await group.shutdownGracefully() }
    }

    private func bind(
        _ address: SocketAddress, listenerAddress: String, security: ListenerSecurity
    ) async throws -> any Channel {
        let core = self.core
        return try await ServerBootstrap(group: group)
            .serverChannelOption(.backlog, value: 1024)
            .serverChannelOption(.socketOption(.so_reuseaddr), value: 1)
            .childChannelOption(.socketOption(.tcp_nodelay), value: 1)
            .childChannelOption(.allowRemoteHalfClosure, value: true)
            .childChannelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    let tls = security.context.withLockedValue { $0?.context }
                    if let tls {
                        try channel.pipeline.syncOperations.addHandler(NIOSSLServerHandler(context: tls))
                    }
                    try channel.pipeline.syncOperations.addHandler(
                        ProtocolSniffer(core: core, listenerAddress: listenerAddress, isTLS: tls != nil))
                }
            }
            .bind(to: address)
            .get()
    }

    private func persist(_ table: RouteTable, to path: String) throws {
        do {
            try Data(table.jsonText().utf8).write(to: URL(fileURLWithPath: path), options: .atomic)
        } catch {
            throw RouteTableError(
                source: path,
                problems: ["cannot write the state file (\(error)); check the directory exists and is writable"])
        }
    }
}

/// What a bound listener hands each connection it accepts: its TLS, if it terminates any.
/// Set by each accepted table, so a listener can start or stop terminating TLS in place.
final class ListenerSecurity: Sendable {
    let context: NIOLockedValueBox<ListenerTLSContext?>

    init(_ context: ListenerTLSContext?) {
        self.context = NIOLockedValueBox(context)
    }
}
