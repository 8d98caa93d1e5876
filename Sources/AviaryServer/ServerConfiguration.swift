import AviaryLocal
import Foundation

/// How `aviary serve` runs: where state lives, where the API listens, who may call it.
public struct ServerConfiguration: Sendable, Equatable {
    /// The state directory (`--state-dir`, default `./.aviary`): the SQLite file and pod logs.
    public var stateDirectory: String
    /// The API's listen host (`--listen`, default `127.0.0.1`).
    public var host: String
    /// The API's listen port (`--listen`, default 7480); 0 picks a free port.
    public var port: Int
    /// The bearer token every API request must carry, and the dashboard's sign-in (`--token-file`,
    /// `AVIARY_TOKEN` or `--token`); required off loopback.
    public var token: String?
    /// Leave pods and the router running on SIGTERM (`--leave-running`).
    public var leaveRunning: Bool
    /// The address Service listeners bind (loopback by default).
    public var serviceAddress: String
    /// Where a Service whose port is taken on `serviceAddress` listens instead
    /// (`--service-address-range`, default 127.0.1.0/24); nil when `--service-address` was given,
    /// and then every Service shares that address and needs a port of its own.
    public var serviceAddressRange: String?
    /// Where the Prometheus the daemon runs listens (`--prometheus`, `--prometheus-listen`); nil: none.
    public var prometheusListen: String?
    /// How often that Prometheus scrapes the pods and reads `/sd` again (`--prometheus-interval`).
    public var prometheusInterval = "5s"
    /// Added to each Service's `spec.ports[0].port` to give the port it listens on (`--service-port-offset`).
    public var servicePortOffset: Int
    /// The command that starts the router as its own process (`aviary router`); nil: no router.
    public var routerCommand: [String]?
    /// The platform rollouts run on (`--platform`, default `local`).
    public var platform: PlatformKind
    /// Pods get the daemon's whole environment, not only `PATH`, `HOME`, `LANG` and `TMPDIR`
    /// (`--pod-env-inherit`).
    public var podEnvironmentInherited: Bool
    /// How long a notification that cannot be delivered is retried before it is given up
    /// (`--notification-retry-for`, seconds, default an hour).
    public var notificationRetryFor: Double = 3600
    /// What the web dashboard at `/` offers (`--dashboard`, default on).
    public var dashboard: DashboardMode = .on

    /// The platforms `aviary serve` can run rollouts on.
    public enum PlatformKind: String, Sendable, Equatable, CaseIterable {
        /// Pods are processes, Services are listeners of the router.
        case local
        /// Pods are ready at once and nothing runs (no processes, no router); for benchmarks and
        /// tests of the controller at scale. Its world lives in memory only.
        case simulated
        /// A Kubernetes API server is the source of truth: Argo's resources are reconciled there
        /// (`KubernetesDaemon`), with ReplicaSets, Service selectors and SMI TrafficSplits.
        case kubernetes
    }

    /// Creates a configuration.
    public init(
        stateDirectory: String = ".aviary", host: String = "127.0.0.1", port: Int = 7480, token: String? = nil,
        leaveRunning: Bool = false, serviceAddress: String = "127.0.0.1",
        serviceAddressRange: String? = "127.0.1.0/24", servicePortOffset: Int = 0, routerCommand: [String]? = nil,
        platform: PlatformKind = .local, podEnvironmentInherited: Bool = false, prometheusListen: String? = nil
    ) {
        self.prometheusListen = prometheusListen
        self.serviceAddressRange = serviceAddressRange
        self.servicePortOffset = servicePortOffset
        self.platform = platform
        self.podEnvironmentInherited = podEnvironmentInherited
        self.stateDirectory = stateDirectory
        self.host = host
        self.port = port
        self.token = token
        self.leaveRunning = leaveRunning
        self.serviceAddress = serviceAddress
        self.routerCommand = routerCommand
    }

    /// Why a configuration cannot be used; the message names the flag and the fix.
    public struct Invalid: Error, Equatable, CustomStringConvertible {
        /// The message.
        public var description: String
    }

    /// Parses `--listen` (`HOST:PORT`, `[V6]:PORT`, or `:PORT` for loopback).
    public static func parseListen(_ text: String) throws(Invalid) -> (host: String, port: Int) {
        let usage = "--listen \(text): expected HOST:PORT such as 127.0.0.1:7480"
        guard let colon = text.lastIndex(of: ":") else { throw Invalid(description: usage) }
        var host = String(text[..<colon])
        if host.hasPrefix("[") && host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host.isEmpty { host = "127.0.0.1" }
        guard let port = Int(text[text.index(after: colon)...]), (0...65535).contains(port) else {
            throw Invalid(description: usage + " (the port must be 0...65535)")
        }
        return (host, port)
    }

    /// Whether `host` is a loopback address: `localhost`, `::1` or an IPv4 address in 127.0.0.0/8
    /// (a name such as `127.example.com` is not: it may resolve to anything).
    public static func isLoopback(_ host: String) -> Bool {
        if host == "localhost" || host == "::1" { return true }
        var address = in_addr()
        guard inet_pton(AF_INET, host, &address) == 1 else { return false }
        return UInt32(bigEndian: address.s_addr) >> 24 == 127
    }

    /// A warning when the state directory (the database, pod logs, secrets.yaml) can be read or
    /// entered by others: a new one is created 0700, an existing one is left as it is (it may be
    /// shared on purpose), and the daemon logs this at start. Nil when the mode is 0700 or stricter.
    public static func stateDirectoryWarning(_ path: String) -> String? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let mode = (attributes[.posixPermissions] as? NSNumber)?.intValue, mode & 0o077 != 0
        else { return nil }
        return "state directory \(path) has mode \(String(mode, radix: 8)): other users may read its database, "
            + "pod logs and secrets.yaml; run `chmod 700 \(path)`"
    }

    /// `--notification-retry-for` must be a number of seconds above 0 (both platforms read it).
    static func checkNotificationRetryFor(_ seconds: Double) throws(Invalid) {
        if !(seconds > 0) {
            throw Invalid(
                description: "--notification-retry-for \(seconds): give a number of seconds above 0, such as 3600")
        }
    }

    /// Checks the rules that span flags: off loopback the API needs a token.
    public func validate() throws(Invalid) {
        if !Self.isLoopback(host) && (token ?? "").isEmpty {
            throw Invalid(
                description:
                    "--listen \(host):\(port) is not a loopback address: pass --token TOKEN so that only "
                    + "callers with `Authorization: Bearer TOKEN` are served, or listen on 127.0.0.1")
        }
        if let token, token.isEmpty {
            throw Invalid(description: "--token is empty: pass a non-empty secret")
        }
        if let serviceAddressRange {
            do {
                _ = try ServiceAddressRange(parsing: serviceAddressRange)
            } catch {
                throw Invalid(description: error.description)
            }
        }
        if !PrometheusConfiguration.isDuration(prometheusInterval) {
            throw Invalid(
                description:
                    "--prometheus-interval \(prometheusInterval) is not a Prometheus duration; write it like 5s or 1s")
        }
        try Self.checkNotificationRetryFor(notificationRetryFor)
        if !(0...60000).contains(servicePortOffset) {
            throw Invalid(description: "--service-port-offset \(servicePortOffset): use a number from 0 to 60000")
        }
    }
}
