import AviaryRoutes
import Foundation
import NIOCore
import NIOHTTP1
import Synchronization

/// The limits of `RouterLimits` with defaults filled in.
public struct ResolvedLimits: Sendable, Equatable {
    /// Largest request head in bytes (431 beyond).
    public var maxHeaderBytes: Int
    /// Largest request body in bytes (413 beyond).
    public var maxBodyBytes: Int
    /// Connect timeout.
    public var connectTimeout: TimeAmount
    /// Time to the response head (504 beyond).
    public var responseTimeout: TimeAmount
    /// Idle time after which a pooled upstream connection is closed.
    public var upstreamIdleTimeout: TimeAmount

    init(_ limits: RouterLimits?) {
        maxHeaderBytes = limits?.maxHeaderBytes ?? 16_384
        maxBodyBytes = limits?.maxBodyBytes ?? 10_485_760
        connectTimeout = .milliseconds(Int64(limits?.connectTimeoutMs ?? 2_000))
        responseTimeout = .milliseconds(Int64(limits?.responseTimeoutMs ?? 30_000))
        upstreamIdleTimeout = .milliseconds(Int64(limits?.upstreamIdleTimeoutMs ?? 60_000))
    }
}

/// One endpoint of a service, with its address resolved once per table.
public struct UpstreamEndpoint: Sendable, Hashable {
    /// The endpoint as written in the table (`127.0.0.1:8081`), also the pool key.
    public let key: String
    /// The address to connect to.
    public let address: SocketAddress
    /// Its counters, kept across tables that name it.
    let stats: EndpointStats

    init(key: String, address: SocketAddress, stats: EndpointStats = EndpointStats()) {
        self.key = key
        self.address = address
        self.stats = stats
    }

    public static func == (left: UpstreamEndpoint, right: UpstreamEndpoint) -> Bool {
        left.key == right.key && left.address == right.address
    }

    public func hash(into hasher: inout Hasher) {
        hasher.combine(key)
    }
}

/// A service of a compiled table: its endpoints and the round-robin cursor over them.
///
/// An endpoint that refused or dropped a connection is passed over for `ejectionTime`
/// (unless every endpoint is), so one dead endpoint costs one failed attempt, not every
/// other request.
public final class CompiledService: Sendable {
    /// How long an endpoint that failed a connection is passed over.
    public static let ejectionTime = TimeAmount.seconds(5)

    /// The service name.
    public let name: String
    /// The ready endpoints.
    public let endpoints: [UpstreamEndpoint]
    /// Counters of this service, shared by every table that names it.
    public let stats: ServiceStats
    /// Its endpoints speak cleartext HTTP/2 (`BackendProtocol.h2c`).
    public let speaksHTTP2: Bool
    private let cursor = Atomic<Int>(0)
    /// Per endpoint, the uptime in nanoseconds until which it is passed over (0: never failed).
    private let ejectedUntil: [EjectionDeadline]

    init(name: String, endpoints: [UpstreamEndpoint], stats: ServiceStats, speaksHTTP2: Bool = false) {
        self.name = name
        self.speaksHTTP2 = speaksHTTP2
        self.endpoints = endpoints
        self.stats = stats
        self.ejectedUntil = endpoints.map { _ in EjectionDeadline() }
    }

    /// The next endpoint in round-robin order that is not passed over and is not `excluded`;
    /// when there is none, the next in order regardless. Nil when the service has no endpoint.
    public func nextEndpoint(excluding excluded: UpstreamEndpoint? = nil) -> UpstreamEndpoint? {
        guard !endpoints.isEmpty else { return nil }
        let count = UInt(endpoints.count)
        let start = Int(UInt(bitPattern: cursor.wrappingAdd(1, ordering: .relaxed).oldValue) % count)
        var now: Int64?
        for offset in 0..<endpoints.count {
            let index = (start + offset) % endpoints.count
            if endpoints[index] == excluded { continue }
            let until = ejectedUntil[index].value.load(ordering: .relaxed)
            if until != 0 {
                let current = now ?? NIODeadline.now().uptimeNanoseconds.clampedToInt64
                now = current
                if current < until { continue }
            }
            return endpoints[index]
        }
        return endpoints[start]
    }

    /// Passes `endpoint` over for `ejectionTime` after a refused or dropped connection.
    public func markFailed(_ endpoint: UpstreamEndpoint) {
        guard let index = endpoints.firstIndex(of: endpoint) else { return }
        let until = (NIODeadline.now() + Self.ejectionTime).uptimeNanoseconds.clampedToInt64
        ejectedUntil[index].value.store(until, ordering: .relaxed)
    }
}

/// Until when (uptime nanoseconds) an endpoint is passed over; a class because atomics cannot
/// live in an array.
final class EjectionDeadline: Sendable {
    let value = Atomic<Int64>(0)
}

extension UInt64 {
    fileprivate var clampedToInt64: Int64 { Int64(clamping: self) }
}

/// A string condition ready to evaluate.
enum CompiledStringMatch: Sendable {
    case exact(String)
    case prefix(String)
    case regex(NSRegularExpression)

    func matches<S: StringProtocol>(_ value: S) -> Bool {
        switch self {
        case .exact(let expected): return value == expected
        case .prefix(let prefix): return value.hasPrefix(prefix)
        case .regex(let expression):
            let text = String(value)
            let whole = NSRange(text.startIndex..<text.endIndex, in: text)
            return expression.firstMatch(in: text, options: [.anchored], range: whole)?.range == whole
        }
    }
}

/// A header condition ready to evaluate.
struct CompiledHeaderMatch: Sendable {
    let name: String
    let value: CompiledStringMatch

    func matches(_ headers: HTTPHeaders) -> Bool {
        headers[name].contains { value.matches($0) }
    }
}

/// A block of ANDed conditions ready to evaluate.
struct CompiledRequestMatch: Sendable {
    let method: CompiledStringMatch?
    let path: CompiledStringMatch?
    let headers: [CompiledHeaderMatch]

    func matches(method requestMethod: String, path requestPath: Substring, headers requestHeaders: HTTPHeaders) -> Bool
    {
        if let method, !method.matches(requestMethod) { return false }
        if let path, !path.matches(requestPath) { return false }
        return headers.allSatisfy { $0.matches(requestHeaders) }
    }
}

/// A route's match ready to evaluate: any of `headers`, and any of `anyOf`.
struct CompiledMatch: Sendable {
    let headers: [CompiledHeaderMatch]?
    let anyOf: [CompiledRequestMatch]?

    func matches(method: String, path: Substring, headers requestHeaders: HTTPHeaders) -> Bool {
        if let headers, !headers.contains(where: { $0.matches(requestHeaders) }) { return false }
        if let anyOf, !anyOf.contains(where: { $0.matches(method: method, path: path, headers: requestHeaders) }) {
            return false
        }
        return true
    }
}

/// A route of a compiled table, with its weighted and mirror cursors.
public final class CompiledRoute: Sendable {
    /// The route's name, or `listener routes[i]` when it has none.
    public let name: String
    let match: CompiledMatch?
    let backends: [CompiledService]
    let schedule: WeightedSchedule
    let mirror: CompiledService?
    let mirrorShare: EvenShare
    let sticky: StickySessions?
    private let cursor = Atomic<Int>(0)
    private let mirrorCursor = Atomic<Int>(0)

    init(
        name: String, match: CompiledMatch?, backends: [CompiledService], schedule: WeightedSchedule,
        mirror: CompiledService?, mirrorShare: EvenShare, sticky: StickySessions? = nil
    ) {
        self.name = name
        self.match = match
        self.backends = backends
        self.schedule = schedule
        self.mirror = mirror
        self.mirrorShare = mirrorShare
        self.sticky = sticky
    }

    /// The backend for a request on a sticky route, by the bucket it carries; a request without
    /// one starts a session: by cookie, it gets the next new bucket and the `Set-Cookie` line to
    /// answer with; by header, the weighted schedule decides.
    func stickyBackend(
        _ sticky: StickySessions, _ head: MessageHead, _ bytes: UnsafeRawBufferPointer
    ) -> (service: CompiledService, setCookie: [UInt8]?) {
        if let bucket = sticky.bucket(of: head, bytes) {
            return (backends[sticky.backend(forBucket: bucket)], nil)
        }
        guard case .cookie = sticky.key else { return (nextBackend(), nil) }
        let bucket = sticky.newBucket()
        return (backends[sticky.backend(forBucket: bucket)], sticky.setCookieLine(bucket: bucket))
    }

    /// `stickyBackend` for an HTTP/2 request, by its fields; the cookie to set is a field value.
    func stickyBackend(
        _ sticky: StickySessions, fields: some Sequence<(name: String, value: String)>
    ) -> (service: CompiledService, setCookie: String?) {
        if let bucket = sticky.bucket(ofFields: fields) {
            return (backends[sticky.backend(forBucket: bucket)], nil)
        }
        guard case .cookie = sticky.key else { return (nextBackend(), nil) }
        let bucket = sticky.newBucket()
        return (backends[sticky.backend(forBucket: bucket)], sticky.setCookieValue(bucket: bucket))
    }

    /// The backend for the next request, by the weighted schedule.
    public func nextBackend() -> CompiledService {
        backends[schedule.pick(cursor.wrappingAdd(1, ordering: .relaxed).oldValue)]
    }

    /// The mirror service when the next request is one the mirror share selects.
    public func nextMirror() -> CompiledService? {
        guard let mirror else { return nil }
        return mirrorShare.isSelected(mirrorCursor.wrappingAdd(1, ordering: .relaxed).oldValue) ? mirror : nil
    }
}

/// A listener of a compiled table.
public final class CompiledListener: Sendable {
    /// The address as written in the table.
    public let address: String
    /// The resolved address to bind.
    public let socketAddress: SocketAddress
    /// The routes in order.
    public let routes: [CompiledRoute]
    /// Whether a route before the first unconditional one matches on headers: only then does
    /// the proxy make `HTTPHeaders` from a request head.
    let matchesHeaders: Bool

    init(address: String, socketAddress: SocketAddress, routes: [CompiledRoute]) {
        self.address = address
        self.socketAddress = socketAddress
        self.routes = routes
        self.matchesHeaders = routes.prefix { $0.match != nil }.contains { route in
            route.match?.headers != nil || route.match?.anyOf?.contains { !$0.headers.isEmpty } == true
        }
    }

    /// The first route that takes a request with this method, path (no query) and headers.
    public func route(method: String, path: Substring, headers: HTTPHeaders) -> CompiledRoute? {
        routes.first { $0.match?.matches(method: method, path: path, headers: headers) ?? true }
    }
}

/// A validated route table with everything the hot path needs built once: resolved addresses,
/// compiled matchers, weighted schedules and cursors. Immutable apart from its atomic cursors,
/// so every event loop reads it without a lock.
public final class CompiledRouteTable: Sendable {
    /// The table it was built from.
    public let table: RouteTable
    /// Listeners by address as written.
    public let listeners: [String: CompiledListener]
    /// Limits with defaults filled in.
    public let limits: ResolvedLimits

    /// Validates `table` and builds it; throws a `RouteTableError` listing every problem.
    public init(_ table: RouteTable, stats: RouterStats = RouterStats(), source: String) throws {
        var problems: [String] = []
        var services: [String: CompiledService] = [:]
        for (name, service) in table.services.sorted(by: { $0.key < $1.key }) {
            var endpoints: [UpstreamEndpoint] = []
            for (index, endpoint) in service.endpoints.enumerated() {
                if let address = Self.parseAddress(endpoint) {
                    endpoints.append(UpstreamEndpoint(key: endpoint, address: address, stats: stats.endpoint(endpoint)))
                } else {
                    problems.append(
                        "services.\(name).endpoints[\(index)]: \"\(endpoint)\" is not IP:port; write it as 127.0.0.1:8081"
                    )
                }
            }
            services[name] = CompiledService(
                name: name, endpoints: endpoints, stats: stats.service(name), speaksHTTP2: service.protocol == .h2c)
        }

        func service(_ name: String, at path: String) -> CompiledService? {
            if let service = services[name] { return service }
            let known = services.keys.sorted().joined(separator: ", ")
            problems.append(
                "\(path): unknown service \"\(name)\"; define it under services (defined: \(known.isEmpty ? "none" : known))"
            )
            return nil
        }

        var listeners: [String: CompiledListener] = [:]
        for (listenerIndex, listener) in table.listeners.enumerated() {
            let listenerPath = "listeners[\(listenerIndex)]"
            guard let socketAddress = Self.parseAddress(listener.address) else {
                problems.append(
                    "\(listenerPath).address: \"\(listener.address)\" is not IP:port; write it as 127.0.0.1:8080")
                continue
            }
            if listeners[listener.address] != nil {
                problems.append("\(listenerPath).address: \(listener.address) is listed twice; merge the two listeners")
                continue
            }
            var routes: [CompiledRoute] = []
            for (routeIndex, route) in listener.routes.enumerated() {
                let routePath = "\(listenerPath).routes[\(routeIndex)]"
                if route.backends.isEmpty {
                    problems.append("\(routePath).backends: a route needs at least one backend")
                }
                var backends: [CompiledService] = []
                var weights: [Int] = []
                for (backendIndex, backend) in route.backends.enumerated() {
                    let backendPath = "\(routePath).backends[\(backendIndex)]"
                    let weight = backend.weight ?? 1
                    if weight < 0 {
                        problems.append("\(backendPath).weight: \(weight) is negative; use 0 or more")
                    }
                    if let compiled = service(backend.service, at: "\(backendPath).service") {
                        backends.append(compiled)
                        weights.append(weight)
                    }
                }
                let match = route.match.map { Self.compile($0, at: "\(routePath).match", problems: &problems) }
                var mirror: CompiledService?
                if let definition = route.mirror {
                    mirror = service(definition.service, at: "\(routePath).mirror.service")
                    if !(0...100).contains(definition.percent) {
                        problems.append("\(routePath).mirror.percent: \(definition.percent) is not within 0...100")
                    }
                }
                let sticky = route.sticky.flatMap {
                    Self.compile($0, weights: weights, at: "\(routePath).sticky", problems: &problems)
                }
                let schedule = WeightedSchedule(weights: weights)
                if schedule == nil, !route.backends.isEmpty, weights.allSatisfy({ $0 >= 0 }),
                    weights.count == route.backends.count
                {
                    problems.append(
                        "\(routePath).backends: weights must have a positive sum (and a sum divided by their "
                            + "greatest common divisor of at most \(WeightedSchedule.maximumPeriod))")
                }
                if let schedule {
                    routes.append(
                        CompiledRoute(
                            name: route.name ?? "\(listener.address) routes[\(routeIndex)]", match: match ?? nil,
                            backends: backends, schedule: schedule, mirror: mirror,
                            mirrorShare: EvenShare(percent: route.mirror?.percent ?? 0), sticky: sticky))
                }
            }
            listeners[listener.address] = CompiledListener(
                address: listener.address, socketAddress: socketAddress, routes: routes)
        }

        let limits = table.limits ?? RouterLimits()
        for (field, value) in [
            ("maxHeaderBytes", limits.maxHeaderBytes), ("maxBodyBytes", limits.maxBodyBytes),
            ("connectTimeoutMs", limits.connectTimeoutMs), ("responseTimeoutMs", limits.responseTimeoutMs),
            ("upstreamIdleTimeoutMs", limits.upstreamIdleTimeoutMs),
        ] {
            if let value, value <= 0 {
                problems.append("limits.\(field): \(value) must be positive")
            }
        }
        if !problems.isEmpty {
            throw RouteTableError(source: source, problems: problems)
        }
        self.table = table
        self.listeners = listeners
        self.limits = ResolvedLimits(table.limits)
    }

    /// A route's sticky sessions; nil (with a problem) when it names neither or both keys, or a
    /// name that is not a token.
    private static func compile(
        _ sticky: StickyDefinition, weights: [Int], at path: String, problems: inout [String]
    ) -> StickySessions? {
        func isToken(_ name: String) -> Bool { !name.isEmpty && name.utf8.allSatisfy(\.isTokenCharacter) }
        switch (sticky.cookie, sticky.header) {
        case (let cookie?, nil):
            guard isToken(cookie) else {
                problems.append("\(path).cookie: \"\(cookie)\" is not a cookie name; use letters, digits and -_.")
                return nil
            }
            return StickySessions(key: .cookie(cookie), weights: weights)
        case (nil, let header?):
            guard isToken(header) else {
                problems.append("\(path).header: \"\(header)\" is not a header name; use letters, digits and -_.")
                return nil
            }
            return StickySessions(key: .header(header.lowercased()), weights: weights)
        default:
            problems.append("\(path): give exactly one of cookie and header")
            return nil
        }
    }

    /// Reads `IP:port`, `[IPv6]:port` or `localhost:port` (as 127.0.0.1).
    static func parseAddress(_ text: String) -> SocketAddress? {
        guard let colon = text.lastIndex(of: ":"), let port = Int(text[text.index(after: colon)...]),
            (0...65535).contains(port)
        else { return nil }
        var host = String(text[..<colon])
        if host.hasPrefix("["), host.hasSuffix("]") { host = String(host.dropFirst().dropLast()) }
        if host == "localhost" { host = "127.0.0.1" }
        return try? SocketAddress(ipAddress: host, port: port)
    }

    private static func compile(_ match: RouteMatch, at path: String, problems: inout [String]) -> CompiledMatch? {
        if match.headers == nil && match.anyOf == nil {
            problems.append("\(path): give headers or anyOf, or leave match out to take every request")
            return nil
        }
        let headers = match.headers.map { entries in
            entries.enumerated().compactMap { compile($1, at: "\(path).headers[\($0)]", problems: &problems) }
        }
        let anyOf = match.anyOf.map { blocks in
            blocks.enumerated().map { index, block in
                let blockPath = "\(path).anyOf[\(index)]"
                return CompiledRequestMatch(
                    method: block.method.flatMap { compile($0, at: "\(blockPath).method", problems: &problems) },
                    path: block.path.flatMap { compile($0, at: "\(blockPath).path", problems: &problems) },
                    headers: (block.headers ?? []).enumerated().compactMap {
                        compile($1, at: "\(blockPath).headers[\($0)]", problems: &problems)
                    })
            }
        }
        return CompiledMatch(headers: headers, anyOf: anyOf)
    }

    private static func compile(
        _ header: HeaderMatch, at path: String, problems: inout [String]
    )
        -> CompiledHeaderMatch?
    {
        if header.name.isEmpty {
            problems.append("\(path).name: a header condition needs the header's name")
        }
        guard let value = compile(header.value, at: path, problems: &problems) else { return nil }
        return CompiledHeaderMatch(name: header.name, value: value)
    }

    private static func compile(
        _ match: StringMatch, at path: String, problems: inout [String]
    )
        -> CompiledStringMatch?
    {
        switch (match.exact, match.prefix, match.regex) {
        case (let exact?, nil, nil): return .exact(exact)
        case (nil, let prefix?, nil): return .prefix(prefix)
        case (nil, nil, let pattern?):
            do {
                return .regex(try NSRegularExpression(pattern: pattern))
            } catch {
                problems.append("\(path).regex: \"\(pattern)\" is not a valid regular expression")
                return nil
            }
        default:
            problems.append("\(path): give exactly one of exact, prefix or regex")
            return nil
        }
    }
}
