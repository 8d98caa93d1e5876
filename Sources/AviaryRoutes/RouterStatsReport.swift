/// What the router's `GET /stats` answers, in the shapes both sides of the admin API read:
/// the router writes them, the local platform reads them for the daemon's `/metrics`.

/// What `GET /stats` answers: the table generation and every service's counters.
public struct RouterStatsReport: Codable, Sendable, Equatable {
    /// The number of tables accepted so far.
    public var generation: Int
    /// Upstream connections open now, leased or idle in the pool.
    public var upstreamConnections: Int
    /// Counters by service name.
    public var services: [String: ServiceStatsSnapshot]
    /// Counters by endpoint (`IP:port`, a pod), for the endpoints of the current table.
    public var endpoints: [String: EndpointStatsSnapshot]

    /// Makes one.
    public init(
        generation: Int, upstreamConnections: Int, services: [String: ServiceStatsSnapshot],
        endpoints: [String: EndpointStatsSnapshot]
    ) {
        self.generation = generation
        self.upstreamConnections = upstreamConnections
        self.services = services
        self.endpoints = endpoints
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
    /// Time from the request to the end of its answer, for every answer a client got
    /// (the router's own included; a tunnel counts to its 101).
    public var latency: LatencySnapshot

    /// Makes one.
    public init(
        requests: Int, responses2xx: Int, responses3xx: Int, responses4xx: Int, responses5xx: Int, noEndpoint: Int,
        upstreamFailures: Int, timeouts: Int, retries: Int, mirrored: Int, mirrorFailures: Int, upgrades: Int,
        latency: LatencySnapshot
    ) {
        self.requests = requests
        self.responses2xx = responses2xx
        self.responses3xx = responses3xx
        self.responses4xx = responses4xx
        self.responses5xx = responses5xx
        self.noEndpoint = noEndpoint
        self.upstreamFailures = upstreamFailures
        self.timeouts = timeouts
        self.retries = retries
        self.mirrored = mirrored
        self.mirrorFailures = mirrorFailures
        self.upgrades = upgrades
        self.latency = latency
    }
}

/// An endpoint's counters at one moment, as `GET /stats` reports them.
public struct EndpointStatsSnapshot: Codable, Sendable, Equatable {
    /// Requests sent to it (each attempt of a retried request).
    public var requests: Int
    /// Its answers that reached the client, by status class.
    public var responses2xx: Int
    public var responses3xx: Int
    public var responses4xx: Int
    public var responses5xx: Int
    /// Connections it refused or dropped before answering, and answers that timed out.
    public var failures: Int
    /// Time from the request to the end of its answer, for answers that reached the client.
    public var latency: LatencySnapshot

    /// Makes one.
    public init(
        requests: Int, responses2xx: Int, responses3xx: Int, responses4xx: Int, responses5xx: Int, failures: Int,
        latency: LatencySnapshot
    ) {
        self.requests = requests
        self.responses2xx = responses2xx
        self.responses3xx = responses3xx
        self.responses4xx = responses4xx
        self.responses5xx = responses5xx
        self.failures = failures
        self.latency = latency
    }
}

/// A latency histogram at one moment, as Prometheus reads one: cumulative counts per upper
/// bound in milliseconds, the last for +Inf (so it is the count of answers), and the sum.
public struct LatencySnapshot: Codable, Sendable, Equatable {
    /// Upper bounds in milliseconds, without the final +Inf.
    public var boundsMilliseconds: [Double]
    /// Answers that took at most each bound, then all of them.
    public var cumulativeCounts: [Int]
    /// The sum of all answers' times, in milliseconds.
    public var sumMilliseconds: Double

    /// The number of answers counted.
    public var count: Int { cumulativeCounts.last ?? 0 }

    /// Makes one.
    public init(boundsMilliseconds: [Double], cumulativeCounts: [Int], sumMilliseconds: Double) {
        self.boundsMilliseconds = boundsMilliseconds
        self.cumulativeCounts = cumulativeCounts
        self.sumMilliseconds = sumMilliseconds
    }
}
