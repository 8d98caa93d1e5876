import AviaryRoutes
import NIOConcurrencyHelpers
import Synchronization

/// A latency histogram updated with relaxed atomics: counts per bucket (not cumulative) and
/// the sum, in microseconds.
final class LatencyHistogram: Sendable {
    /// The buckets' upper bounds in milliseconds (Prometheus' defaults, from 1 ms), then +Inf.
    static let boundsMilliseconds: [Double] = [1, 2.5, 5, 10, 25, 50, 100, 250, 500, 1_000, 2_500, 5_000, 10_000]
    private static let boundsMicroseconds: [Int] = boundsMilliseconds.map { Int($0 * 1_000) }

    /// One bucket's count (an `Atomic` cannot sit in an array itself).
    private final class Count: Sendable {
        let value = Atomic<Int>(0)
    }

    private let counts: [Count]
    private let sumMicroseconds = Atomic<Int>(0)

    init() {
        counts = (0...Self.boundsMilliseconds.count).map { _ in Count() }
    }

    /// Counts one answer that took `nanoseconds`.
    func record(nanoseconds: Int64) {
        let microseconds = Int(max(0, nanoseconds) / 1_000)
        var index = 0
        while index < Self.boundsMicroseconds.count, microseconds > Self.boundsMicroseconds[index] { index += 1 }
        counts[index].value.add(1, ordering: .relaxed)
        sumMicroseconds.add(microseconds, ordering: .relaxed)
    }

    /// A snapshot with nothing counted.
    static let empty = LatencySnapshot(
        boundsMilliseconds: boundsMilliseconds,
        cumulativeCounts: Array(repeating: 0, count: boundsMilliseconds.count + 1),
        sumMilliseconds: 0)

    var snapshot: LatencySnapshot {
        var cumulative = 0
        let buckets = counts.map { count in
            cumulative += count.value.load(ordering: .relaxed)
            return cumulative
        }
        return LatencySnapshot(
            boundsMilliseconds: Self.boundsMilliseconds, cumulativeCounts: buckets,
            sumMilliseconds: Double(sumMicroseconds.load(ordering: .relaxed)) / 1_000)
    }
}

/// Answers that reached clients, by status class, with their latency: what a service and an
/// endpoint both count.
final class AnswerCounts: Sendable {
    let responses2xx = Atomic<Int>(0)
    let responses3xx = Atomic<Int>(0)
    let responses4xx = Atomic<Int>(0)
    let responses5xx = Atomic<Int>(0)
    let latency = LatencyHistogram()

    /// Counts one answer with `status` that took `nanoseconds` from the request.
    func count(status: UInt, nanoseconds: Int64) {
        switch status / 100 {
        case 2: responses2xx.add(1, ordering: .relaxed)
        case 3: responses3xx.add(1, ordering: .relaxed)
        case 4: responses4xx.add(1, ordering: .relaxed)
        case 5: responses5xx.add(1, ordering: .relaxed)
        default: break
        }
        latency.record(nanoseconds: nanoseconds)
    }

    /// The 2xx, 3xx, 4xx and 5xx counts now.
    var byClass: (Int, Int, Int, Int) {
        (
            responses2xx.load(ordering: .relaxed), responses3xx.load(ordering: .relaxed),
            responses4xx.load(ordering: .relaxed), responses5xx.load(ordering: .relaxed)
        )
    }
}

/// Answers summed over the event loops, as a snapshot reads them.
struct AnswerSums {
    var ok = 0
    var redirect = 0
    var clientError = 0
    var serverError = 0
    var latency = LatencyHistogram.empty

    mutating func add(_ answers: AnswerCounts) {
        let (ok, redirect, clientError, serverError) = answers.byClass
        self.ok += ok
        self.redirect += redirect
        self.clientError += clientError
        self.serverError += serverError
        latency = latency.adding(answers.latency.snapshot)
    }
}

/// What one event loop counts for an endpoint: only that loop writes it, so two loops never
/// contend for the same cache line on the hot path.
final class EndpointCounters: Sendable {
    let requests = Atomic<Int>(0)
    let answers = AnswerCounts()
    /// Connections it refused or dropped before an answer, and answers that did not come in time.
    let failures = Atomic<Int>(0)

    /// Counts one answer that reached the client, from request to end of response.
    func countResponse(status: UInt, nanoseconds: Int64) {
        answers.count(status: status, nanoseconds: nanoseconds)
    }
}

/// Counters of one endpoint (a pod), kept across table swaps while a table names it: the
/// requests it was sent and its answers by class, with their latency. One set per event loop
/// (`subscript(shard:)`), summed when read.
public final class EndpointStats: Sendable {
    private let shards: [EndpointCounters]

    init(shards: Int = 1) {
        self.shards = (0..<max(1, shards)).map { _ in EndpointCounters() }
    }

    /// The counters event loop `shard` writes (`UpstreamPool.shard`).
    subscript(shard: Int) -> EndpointCounters { shards[shard < shards.count ? shard : 0] }

    /// The counters now, summed over the loops.
    public var snapshot: EndpointStatsSnapshot {
        var answers = AnswerSums()
        var requests = 0
        var failures = 0
        for shard in shards {
            answers.add(shard.answers)
            requests += shard.requests.load(ordering: .relaxed)
            failures += shard.failures.load(ordering: .relaxed)
        }
        return EndpointStatsSnapshot(
            requests: requests, responses2xx: answers.ok, responses3xx: answers.redirect,
            responses4xx: answers.clientError, responses5xx: answers.serverError, failures: failures,
            latency: answers.latency)
    }
}

/// What one event loop counts for a service (see `EndpointCounters`).
final class ServiceCounters: Sendable {
    let requests = Atomic<Int>(0)
    let answers = AnswerCounts()
    let noEndpoint = Atomic<Int>(0)
    let upstreamFailures = Atomic<Int>(0)
    let timeouts = Atomic<Int>(0)
    let retries = Atomic<Int>(0)
    let mirrored = Atomic<Int>(0)
    let mirrorFailures = Atomic<Int>(0)
    let upgrades = Atomic<Int>(0)

    /// Counts one response answered to a client for this service by its status code, and
    /// its latency from the request.
    func countResponse(status: UInt, nanoseconds: Int64) {
        answers.count(status: status, nanoseconds: nanoseconds)
    }
}

/// Counters of one service, kept across table swaps: one set per event loop, updated with
/// relaxed atomics on the hot path by that loop alone, and summed when read as a
/// `ServiceStatsSnapshot`.
public final class ServiceStats: Sendable {
    private let shards: [ServiceCounters]

    init(shards: Int = 1) {
        self.shards = (0..<max(1, shards)).map { _ in ServiceCounters() }
    }

    /// The counters event loop `shard` writes (`UpstreamPool.shard`).
    subscript(shard: Int) -> ServiceCounters { shards[shard < shards.count ? shard : 0] }

    /// The counters now, summed over the loops.
    public var snapshot: ServiceStatsSnapshot {
        var answers = AnswerSums()
        for shard in shards { answers.add(shard.answers) }
        func sum(_ counter: (ServiceCounters) -> Int) -> Int { shards.reduce(0) { $0 + counter($1) } }
        return ServiceStatsSnapshot(
            requests: sum { $0.requests.load(ordering: .relaxed) }, responses2xx: answers.ok,
            responses3xx: answers.redirect, responses4xx: answers.clientError, responses5xx: answers.serverError,
            noEndpoint: sum { $0.noEndpoint.load(ordering: .relaxed) },
            upstreamFailures: sum { $0.upstreamFailures.load(ordering: .relaxed) },
            timeouts: sum { $0.timeouts.load(ordering: .relaxed) },
            retries: sum { $0.retries.load(ordering: .relaxed) },
            mirrored: sum { $0.mirrored.load(ordering: .relaxed) },
            mirrorFailures: sum { $0.mirrorFailures.load(ordering: .relaxed) },
            upgrades: sum { $0.upgrades.load(ordering: .relaxed) }, latency: answers.latency)
    }
}

/// The counters of every service the router has seen, by name, and the router's open
/// upstream connections.
public final class RouterStats: Sendable {
    /// How many sets of counters each service and endpoint keeps: one per event loop.
    let shards: Int
    private let services = NIOLockedValueBox([String: ServiceStats]())
    private let endpoints = NIOLockedValueBox([String: EndpointStats]())
    let openUpstreamConnections = Atomic<Int>(0)

    /// Upstream connections open now, leased or pooled (mirrors included): after the clients
    /// are gone it falls back to the idle pool, so a leak shows as a number that keeps growing.
    public var upstreamConnections: Int { openUpstreamConnections.load(ordering: .relaxed) }

    /// Makes an empty registry for a router of `shards` event loops.
    public init(shards: Int = 1) {
        self.shards = max(1, shards)
    }

    /// The counters of `name`, created on first use. Called when a table is compiled, never per request.
    public func service(_ name: String) -> ServiceStats {
        services.withLockedValue { services in
            if let existing = services[name] { return existing }
            let created = ServiceStats(shards: shards)
            services[name] = created
            return created
        }
    }

    /// Every service's counters now, by name.
    public func snapshot() -> [String: ServiceStatsSnapshot] {
        services.withLockedValue { $0 }.mapValues(\.snapshot)
    }

    /// The counters of the endpoint `key` (`IP:port`), created on first use; called when a
    /// table is compiled.
    func endpoint(_ key: String) -> EndpointStats {
        endpoints.withLockedValue { endpoints in
            if let existing = endpoints[key] { return existing }
            let created = EndpointStats(shards: shards)
            endpoints[key] = created
            return created
        }
    }

    /// Forgets the endpoints no longer in the table: a pod that is gone keeps no counters.
    func keepEndpoints(_ keys: Set<String>) {
        endpoints.withLockedValue { endpoints in endpoints = endpoints.filter { keys.contains($0.key) } }
    }

    /// Every endpoint's counters now, by `IP:port`.
    public func endpointSnapshot() -> [String: EndpointStatsSnapshot] {
        endpoints.withLockedValue { $0 }.mapValues(\.snapshot)
    }
}

extension LatencySnapshot {
    /// The counts of both, bucket by bucket (both have the router's buckets).
    func adding(_ other: LatencySnapshot) -> LatencySnapshot {
        LatencySnapshot(
            boundsMilliseconds: boundsMilliseconds,
            cumulativeCounts: zip(cumulativeCounts, other.cumulativeCounts).map(+),
            sumMilliseconds: sumMilliseconds + other.sumMilliseconds)
    }
}
