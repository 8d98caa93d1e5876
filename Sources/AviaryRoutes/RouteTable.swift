/// The router's whole configuration: named services with their endpoints, and listeners with
/// ordered routes. It is a value: a change builds a new table, which is validated, compiled and
/// swapped in whole, live for the next request.
///
/// It is the one contract between the control plane and the data plane: the local platform
/// computes it from Services, splits and ready pods; the router reads the same shape from its
/// YAML config file, accepts it as JSON or YAML on its admin endpoint (`PUT /table`), reports it
/// on `GET /table` and writes it to its state file.
public struct RouteTable: Codable, Sendable, Equatable {
    /// Backends by name; routes and mirrors refer to them by that name.
    public var services: [String: ServiceDefinition]
    /// The addresses the router listens on, each with its own routes.
    public var listeners: [ListenerDefinition]
    /// Limits and timeouts; missing fields take the defaults of `RouterLimits`.
    public var limits: RouterLimits?

    /// Makes a table.
    public init(
        services: [String: ServiceDefinition] = [:], listeners: [ListenerDefinition] = [],
        limits: RouterLimits? = nil
    ) {
        self.services = services
        self.listeners = listeners
        self.limits = limits
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        services = try container.decodeIfPresent([String: ServiceDefinition].self, forKey: .services) ?? [:]
        listeners = try container.decodeIfPresent([ListenerDefinition].self, forKey: .listeners) ?? []
        limits = try container.decodeIfPresent(RouterLimits.self, forKey: .limits)
    }
}

/// A named backend: the endpoints that are ready to serve it, balanced round-robin.
public struct ServiceDefinition: Codable, Sendable, Equatable {
    /// `IP:port` of each ready endpoint (`localhost` is read as `127.0.0.1`). Empty means the
    /// service has no ready endpoint: requests routed to it get 503.
    public var endpoints: [String]
    /// What the endpoints speak; nil is HTTP/1.1.
    public var `protocol`: BackendProtocol?

    /// Makes a service definition.
    public init(endpoints: [String], protocol: BackendProtocol? = nil) {
        self.endpoints = endpoints
        self.protocol = `protocol`
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        endpoints = try container.decodeIfPresent([String].self, forKey: .endpoints) ?? []
        `protocol` = try container.decodeIfPresent(BackendProtocol.self, forKey: .protocol)
    }
}

/// The protocol the router speaks to a service's endpoints, whatever its clients speak to it.
public enum BackendProtocol: String, Codable, Sendable, Equatable, CaseIterable {
    /// HTTP/1.1 with keep-alive (the default). A request that came over HTTP/2 goes on as
    /// HTTP/1.1.
    case http1
    /// Cleartext HTTP/2 with prior knowledge (what gRPC servers speak): each request is a
    /// stream of one connection per endpoint, trailers and all.
    case h2c
}

/// One listening address and its routes, tried in order; the first that matches a request
/// decides where it goes.
public struct ListenerDefinition: Codable, Sendable, Equatable {
    /// `IP:port` to listen on, for example `127.0.0.1:8080`.
    public var address: String
    /// Routes in order; a request no route matches gets 404.
    public var routes: [RouteDefinition]
    /// TLS the router terminates on this listener; nil serves plain HTTP.
    public var tls: ListenerTLS?

    /// Makes a listener definition.
    public init(address: String, routes: [RouteDefinition], tls: ListenerTLS? = nil) {
        self.address = address
        self.routes = routes
        self.tls = tls
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        address = try container.decode(String.self, forKey: .address)
        routes = try container.decodeIfPresent([RouteDefinition].self, forKey: .routes) ?? []
        tls = try container.decodeIfPresent(ListenerTLS.self, forKey: .tls)
    }
}

/// TLS terminated by the router on one listener: TLS 1.2 and 1.3 only, the certificate chosen
/// by the name the client asks for (SNI). The files are read again when they change, for the
/// connections accepted from then on; open connections keep the certificate they began with.
public struct ListenerTLS: Codable, Sendable, Equatable {
    /// The certificates, at least one. The first is served when the client names no server,
    /// or a name no other certificate lists in its `serverNames`.
    public var certificates: [TLSCertificateFiles]

    /// Makes a listener's TLS.
    public init(certificates: [TLSCertificateFiles]) {
        self.certificates = certificates
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        certificates = try container.decodeIfPresent([TLSCertificateFiles].self, forKey: .certificates) ?? []
    }
}

/// A certificate and its key, as PEM files on the router's host.
public struct TLSCertificateFiles: Codable, Sendable, Equatable {
    /// The certificate chain, leaf first.
    public var certificateFile: String
    /// The leaf's private key.
    public var keyFile: String
    /// The server names (SNI) this certificate is served for: exact names, or `*.example.com`
    /// for one label in front of `example.com`. Not needed on the first certificate.
    public var serverNames: [String]?

    /// Makes a certificate entry.
    public init(certificateFile: String, keyFile: String, serverNames: [String]? = nil) {
        self.certificateFile = certificateFile
        self.keyFile = keyFile
        self.serverNames = serverNames
    }
}

/// A route: which requests it takes (`match`), where they go (`backends`, by weight) and
/// what share of them is copied elsewhere (`mirror`).
public struct RouteDefinition: Codable, Sendable, Equatable {
    /// An optional name, shown in errors and stats (Argo's managed route name).
    public var name: String?
    /// Which requests the route takes; no match takes every request.
    public var match: RouteMatch?
    /// Where matching requests go, chosen by weight.
    public var backends: [BackendReference]
    /// A share of matching requests copied to another service, whose answers are dropped.
    public var mirror: MirrorDefinition?
    /// Keeps each client on one backend over its session; nil picks a backend per request.
    public var sticky: StickyDefinition?

    /// Makes a route.
    public init(
        name: String? = nil, match: RouteMatch? = nil, backends: [BackendReference], mirror: MirrorDefinition? = nil,
        sticky: StickyDefinition? = nil
    ) {
        self.name = name
        self.match = match
        self.backends = backends
        self.mirror = mirror
        self.sticky = sticky
    }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decodeIfPresent(String.self, forKey: .name)
        match = try container.decodeIfPresent(RouteMatch.self, forKey: .match)
        backends = try container.decodeIfPresent([BackendReference].self, forKey: .backends) ?? []
        mirror = try container.decodeIfPresent(MirrorDefinition.self, forKey: .mirror)
        sticky = try container.decodeIfPresent(StickyDefinition.self, forKey: .sticky)
    }
}

/// Sticky sessions on a weighted route: each session is given a bucket (one of 10,000), and
/// the backends own consecutive ranges of buckets in the order listed, sized by weight. A
/// session keeps its bucket, so it sees one backend while the weights stay; when they change,
/// only the sessions whose buckets changed hands move, and a backend at weight 0 keeps none.
/// Exactly one of `cookie` and `header`.
public struct StickyDefinition: Codable, Sendable, Equatable {
    /// The cookie that carries the bucket: the router sets it (`Path=/; HttpOnly;
    /// SameSite=Lax`, for the browser session) on the first answer to a client without it.
    /// New sessions get buckets spread evenly, so the sessions' split follows the weights.
    public var cookie: String?
    /// A request header (a user or session id) whose value's hash is the bucket; requests
    /// without it are spread by weight.
    public var header: String?

    /// Makes a sticky definition.
    public init(cookie: String? = nil, header: String? = nil) {
        self.cookie = cookie
        self.header = header
    }
}

/// Which requests a route takes. `headers` entries are ORed, as in Argo's `setHeaderRoute`;
/// `anyOf` blocks are ORed and each block's method, path and headers are ANDed, as in Argo's
/// `setMirrorRoute`. When both are given, a request must satisfy both.
public struct RouteMatch: Codable, Sendable, Equatable {
    /// A request matches when any one of these header conditions holds.
    public var headers: [HeaderMatch]?
    /// A request matches when every condition of at least one block holds.
    public var anyOf: [RequestMatch]?

    /// Makes a match.
    public init(headers: [HeaderMatch]? = nil, anyOf: [RequestMatch]? = nil) {
        self.headers = headers
        self.anyOf = anyOf
    }
}

/// A condition on one request header: its name (any case) and how its value must look.
/// A header sent several times matches when any of its values does.
public struct HeaderMatch: Codable, Sendable, Equatable {
    /// The header name, compared without regard to case.
    public var name: String
    /// The value must equal this.
    public var exact: String?
    /// The value must start with this.
    public var prefix: String?
    /// The whole value must match this regular expression.
    public var regex: String?

    /// Makes a header condition; give exactly one of `exact`, `prefix`, `regex`.
    public init(name: String, exact: String? = nil, prefix: String? = nil, regex: String? = nil) {
        self.name = name
        self.exact = exact
        self.prefix = prefix
        self.regex = regex
    }

    /// The value condition, as a `StringMatch`.
    public var value: StringMatch { StringMatch(exact: exact, prefix: prefix, regex: regex) }
}

/// A block of conditions that must all hold (Argo's `setMirrorRoute` match entry).
public struct RequestMatch: Codable, Sendable, Equatable {
    /// The request method, for example `{exact: GET}`.
    public var method: StringMatch?
    /// The request path without its query, for example `{prefix: /api}`.
    public var path: StringMatch?
    /// Header conditions, all of which must hold.
    public var headers: [HeaderMatch]?

    /// Makes a block.
    public init(method: StringMatch? = nil, path: StringMatch? = nil, headers: [HeaderMatch]? = nil) {
        self.method = method
        self.path = path
        self.headers = headers
    }
}

/// How a string must look: exactly one of `exact`, `prefix` or `regex` (a whole-string match).
/// Argo's `StringMatch` of `setHeaderRoute` and `setMirrorRoute` steps has the same fields.
public struct StringMatch: Codable, Sendable, Hashable {
    /// The string must equal this.
    public var exact: String?
    /// The string must start with this.
    public var prefix: String?
    /// The whole string must match this regular expression.
    public var regex: String?

    /// Makes a string condition; give exactly one of the three.
    public init(exact: String? = nil, prefix: String? = nil, regex: String? = nil) {
        self.exact = exact
        self.prefix = prefix
        self.regex = regex
    }
}

/// A weighted backend of a route.
public struct BackendReference: Codable, Sendable, Equatable {
    /// The service's name under `services`.
    public var service: String
    /// The relative weight (0 or more; default 1). `[{stable, 90}, {canary, 10}]` sends
    /// exactly 1 request in 10 to the canary, spread evenly.
    public var weight: Int?

    /// Makes a backend reference.
    public init(service: String, weight: Int? = nil) {
        self.service = service
        self.weight = weight
    }
}

/// Copies `percent` of a route's requests to `service` and drops its answers.
public struct MirrorDefinition: Codable, Sendable, Equatable {
    /// The service that receives the copies.
    public var service: String
    /// The share of matching requests copied, 0 to 100; spread evenly (at 5, every 20th).
    public var percent: Double

    /// Makes a mirror.
    public init(service: String, percent: Double) {
        self.service = service
        self.percent = percent
    }
}

/// Limits and timeouts of the proxy. Every field is optional; `resolved` fills in defaults.
public struct RouterLimits: Codable, Sendable, Equatable {
    /// Largest request head (request line and headers) in bytes; bigger gets 431. Default 16384.
    public var maxHeaderBytes: Int?
    /// Largest request body in bytes; bigger gets 413. Default 10485760 (10 MiB).
    public var maxBodyBytes: Int?
    /// Time to connect to an endpoint before answering 504. Default 2000 ms.
    public var connectTimeoutMs: Int?
    /// Time from sending a request to the response head before answering 504. Default 30000 ms.
    public var responseTimeoutMs: Int?
    /// How long an idle pooled upstream connection is kept. Default 60000 ms.
    public var upstreamIdleTimeoutMs: Int?

    /// Makes limits; nil fields take defaults.
    public init(
        maxHeaderBytes: Int? = nil, maxBodyBytes: Int? = nil, connectTimeoutMs: Int? = nil,
        responseTimeoutMs: Int? = nil, upstreamIdleTimeoutMs: Int? = nil
    ) {
        self.maxHeaderBytes = maxHeaderBytes
        self.maxBodyBytes = maxBodyBytes
        self.connectTimeoutMs = connectTimeoutMs
        self.responseTimeoutMs = responseTimeoutMs
        self.upstreamIdleTimeoutMs = upstreamIdleTimeoutMs
    }
}
