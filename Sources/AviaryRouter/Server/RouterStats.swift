import NIOConcurrencyHelpers
import Synchronization

/// Counters of one service, kept across table swaps. Updated with relaxed atomics on the hot
/// path; read as a `ServiceStatsSnapshot`.
public final class ServiceStats: Sendable {
    let requests = Atomic<Int>(0)
    let responses2xx = Atomic<Int>(0)
    let responses3xx = Atomic<Int>(0)
    let responses4xx = Atomic<Int>(0)
    let responses5xx = Atomic<Int>(0)
    let noEndpoint = Atomic<Int>(0)
    let upstreamFailures = Atomic<Int>(0)
    let timeouts = Atomic<Int>(0)
    let retries = Atomic<Int>(0)
    let mirrored = Atomic<Int>(0)
    let mirrorFailures = Atomic<Int>(0)
    let upgrades = Atomic<Int>(0)

    /// Counts one response answered to a client for this service by its status code.
    func countResponse(status: UInt) {
        switch status / 100 {
        case 2: responses2xx.add(1, ordering: .relaxed)
        case 3: responses3xx.add(1, ordering: .relaxed)
        case 4: responses4xx.add(1, ordering: .relaxed)
        case 5: responses5xx.add(1, ordering: .relaxed)
        default: break
        }
    }

    /// The counters now.
    public var snapshot: ServiceStatsSnapshot {
        ServiceStatsSnapshot(
            requests: requests.load(ordering: .relaxed),
            responses2xx: responses2xx.load(ordering: .relaxed),
            responses3xx: responses3xx.load(ordering: .relaxed),
            responses4xx: responses4xx.load(ordering: .relaxed),
            responses5xx: responses5xx.load(ordering: .relaxed),
            noEndpoint: noEndpoint.load(ordering: .relaxed),
            upstreamFailures: upstreamFailures.load(ordering: .relaxed),
            timeouts: timeouts.load(ordering: .relaxed),
            retries: retries.load(ordering: .relaxed),
            mirrored: mirrored.load(ordering: .relaxed),
            mirrorFailures: mirrorFailures.load(ordering: .relaxed),
            upgrades: upgrades.load(ordering: .relaxed))
    }
}

/// A service's counters at one moment, as `GET /stats` reports them.
public struct ServiceStatsSnapshot: Codable, Sendable, Equatable {
    /// Requests routed to the service (retries not counted again).
    public var requests: Int
    /// Responses answered to clients, by status class (including the router's own 502/503/504).
    public var responses2xx: Int
    /// 3xx responses.
    public var responses3xx: Int
    /// 4xx responses.
    public var responses4xx: Int
    /// 5xx responses.
    public var responses5xx: Int
    /// Requests answered 503 because the service had no ready endpoint.
    public var noEndpoint: Int
    /// Requests answered 502: connect refused or connection lost before the response began.
    public var upstreamFailures: Int
    /// Requests answered 504: no response head within the response timeout.
    public var timeouts: Int
    /// Idempotent requests retried on another endpoint after a connect or reset failure.
    public var retries: Int
    /// Copies of requests sent to this service as a mirror.
    public var mirrored: Int
    /// Mirror copies that failed (their answers are dropped either way).
    public var mirrorFailures: Int
    /// Requests answered 101 and carried on as tunnels (WebSocket and other upgrades).
    public var upgrades: Int
}

/// The counters of every service the router has seen, by name, and the router's open
/// upstream connections.
public final class RouterStats: Sendable {
    private let services = NIOLockedValueBox([String: ServiceStats]())
    let openUpstreamConnections = Atomic<Int>(0)

    /// Upstream connections open now, leased or pooled (mirrors included): after the clients
    /// are gone it falls back to the idle pool, so a leak shows as a number that keeps growing.
    public var upstreamConnections: Int { openUpstreamConnections.load(ordering: .relaxed) }

    /// Makes an empty registry.
    public init() {}

    /// The counters of `name`, created on first use. Called when a table is compiled, never per request.
    public func service(_ name: String) -> ServiceStats {
        services.withLockedValue { services in
            if let existing = services[name] { return existing }
            let created = ServiceStats()
            services[name] = created
            return created
        }
    }

    /// Every service's counters now, by name.
    public func snapshot() -> [String: ServiceStatsSnapshot] {
        services.withLockedValue { $0 }.mapValues(\.snapshot)
    }
}
