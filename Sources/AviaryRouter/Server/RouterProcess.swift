import AviaryRoutes
import Dispatch
import Foundation
import NIOCore

#if canImport(Glibc)
    import Glibc
#endif

/// `aviary router` as a function: what the CLI runs and what a test or the local platform can
/// run in-process.
public enum RouterProcess {
    /// What a router process is started with.
    public struct Options: Sendable {
        /// The YAML (or JSON) config file, re-read on SIGHUP.
        public var configPath: String?
        /// `IP:port` of the admin endpoint (loopback), if any.
        public var adminAddress: String?
        /// Where the last accepted table is kept across restarts.
        public var statePath: String?
        /// The number of event loop threads; nil means one per core.
        public var threads: Int?

        /// Makes options.
        public init(
            configPath: String? = nil, adminAddress: String? = nil, statePath: String? = nil, threads: Int? = nil
        ) {
            self.configPath = configPath
            self.adminAddress = adminAddress
            self.statePath = statePath
            self.threads = threads
        }
    }

    /// The table to start with: of the config file and the state file, the one written last
    /// (so an edited config wins over an older pushed table, and a pushed table over an older
    /// config); nil when neither exists.
    public static func initialTable(_ options: Options) throws -> (table: RouteTable, source: String)? {
        func modified(_ path: String?) -> Date? {
            guard let path else { return nil }
            return (try? FileManager.default.attributesOfItem(atPath: path))?[.modificationDate] as? Date
        }
        let configDate = modified(options.configPath)
        let stateDate = modified(options.statePath)
        if let statePath = options.statePath, let stateDate, stateDate >= (configDate ?? .distantPast) {
            return (try RouteTable.load(path: statePath), statePath)
        }
        if let configPath = options.configPath {
            return (try RouteTable.load(path: configPath), configPath)
        }
        return nil
    }

    /// Raises the soft limit of open files (`RLIMIT_NOFILE`) to the hard limit, since every
    /// client connection and every upstream connection holds a descriptor and the usual soft
    /// limit of 1024 would cap the router at a few hundred clients. Returns the limits before
    /// and after (equal when there was nothing to raise or the call failed).
    @discardableResult
    public static func raiseOpenFileLimit() -> (before: UInt64, after: UInt64) {
        var limit = rlimit()
        guard getrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (0, 0) }
        let before = UInt64(limit.rlim_cur)
        guard limit.rlim_cur < limit.rlim_max else { return (before, before) }
        limit.rlim_cur = limit.rlim_max
        guard setrlimit(Int32(RLIMIT_NOFILE.rawValue), &limit) == 0 else { return (before, before) }
        return (before, UInt64(limit.rlim_cur))
    }

    /// Runs a router until SIGTERM or SIGINT. SIGHUP re-reads the config file; a bad file is
    /// reported on standard error and the running table stays. `log` receives one line per event.
    /// The open-file limit is raised to its hard limit first (`raiseOpenFileLimit`).
    public static func run(_ options: Options, log: @escaping @Sendable (String) -> Void) async throws {
        let (before, after) = raiseOpenFileLimit()
        if after > before { log("open-file limit raised from \(before) to \(after)") }
        let router = try await RouterServer(threads: options.threads, statePath: options.statePath, log: log)
        do {
            if let (table, source) = try initialTable(options) {
                try await router.apply(table, source: source)
                log("serving the table from \(source): \(table.listeners.map(\.address).joined(separator: ", "))")
            } else {
                log("no table yet; waiting for PUT /table on the admin endpoint")
            }
            if let adminAddress = options.adminAddress {
                guard let colon = adminAddress.lastIndex(of: ":"),
                    let port = Int(adminAddress[adminAddress.index(after: colon)...])
                else {
                    throw RouteTableError(
                        source: "--admin", problems: ["\(adminAddress) is not IP:port; write 127.0.0.1:7481"])
                }
                let bound = try await router.startAdmin(host: String(adminAddress[..<colon]), port: port)
                log("admin endpoint on \(bound.ipAddress ?? "127.0.0.1"):\(bound.port ?? port)")
            }
        } catch {
            await router.shutdown()
            throw error
        }

        let (signals, continuation) = AsyncStream<Int32>.makeStream()
        let queue = DispatchQueue(label: "aviary-router.signals")
        let sources = [SIGHUP, SIGTERM, SIGINT].map { number in
            signal(number, SIG_IGN)
            let source = DispatchSource.makeSignalSource(signal: number, queue: queue)
            source.setEventHandler { continuation.yield(number) }
            source.resume()
            return source
        }
        defer { for source in sources { source.cancel() } }
        for await number in signals {
            if number != SIGHUP { break }
            guard let configPath = options.configPath else {
                log("SIGHUP: no --config to re-read")
                continue
            }
            do {
                let generation = try await router.apply(try RouteTable.load(path: configPath), source: configPath)
                log("SIGHUP: re-read \(configPath); table generation \(generation)")
            } catch {
                log("SIGHUP: kept the running table: \(error)")
            }
        }
        log("stopping")
        await router.shutdown()
    }
}
