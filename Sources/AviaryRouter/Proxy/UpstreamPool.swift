import NIOCore
import NIOPosix

/// Idle upstream connections of one event loop, by endpoint. Used only on its loop, so it
/// needs no lock; a client connection leases from the pool of its own loop, so both sides of
/// an exchange run on one thread.
final class UpstreamPool {
    /// The most idle connections kept per endpoint; more are closed when released.
    static let maximumIdlePerEndpoint = 128

    let eventLoop: any EventLoop
    private let stats: RouterStats
    private var idle: [String: [UpstreamHandler]] = [:]

    init(eventLoop: any EventLoop, stats: RouterStats) {
        self.eventLoop = eventLoop
        self.stats = stats
    }

    /// Leases a connection to `endpoint`: an idle one when there is one, else a new one.
    func acquire(
        _ endpoint: UpstreamEndpoint, connectTimeout: TimeAmount,
        _ completion: @escaping (Result<UpstreamHandler, any Error>) -> Void
    ) {
        if let handler = leaseIdle(endpoint) {
            completion(.success(handler))
        } else {
            connect(endpoint, connectTimeout: connectTimeout, completion)
        }
    }

    /// Leases an idle open connection to `endpoint`, if there is one: the hot path, which
    /// allocates nothing and touches no timer (the idle timer notices the lease when it fires).
    func leaseIdle(_ endpoint: UpstreamEndpoint) -> UpstreamHandler? {
        while let handler = idle[endpoint.key]?.popLast() {
            handler.pool = nil
            if handler.isActive { return handler }
        }
        return nil
    }

    /// Opens a new connection to `endpoint`.
    func connect(
        _ endpoint: UpstreamEndpoint, connectTimeout: TimeAmount,
        _ completion: @escaping (Result<UpstreamHandler, any Error>) -> Void
    ) {
        let key = endpoint.key
        let stats = self.stats
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHandler(UpstreamHandler(endpointKey: key, stats: stats))
                }
            }
            .connect(to: endpoint.address)
            .assumeIsolated()
            .whenComplete { result in
                completion(
                    result.flatMap { channel in
                        Result { try channel.pipeline.syncOperations.handler(type: UpstreamHandler.self) }
                    })
            }
    }

    /// Takes back a connection whose exchange ended cleanly; it is closed after `idleTimeout`
    /// unused, or at once when the endpoint already has enough idle connections.
    ///
    /// The idle timer is lazy: releasing only stamps the idle deadline, and a timer is scheduled
    /// only when none is pending for the connection. When it fires it closes the connection if it
    /// is still idle past its deadline, waits again if it was reused since, and stops if it is
    /// leased. So a connection reused many times a second schedules about one timer per
    /// `idleTimeout`, not one per request.
    func release(_ handler: UpstreamHandler, idleTimeout: TimeAmount) {
        handler.delegate = nil
        guard handler.isActive, idle[handler.endpointKey, default: []].count < Self.maximumIdlePerEndpoint else {
            handler.close()
            return
        }
        handler.pool = self
        idle[handler.endpointKey, default: []].append(handler)
        handler.idleDeadline = eventLoop.now + idleTimeout
        if handler.idleTimer == nil {
            armIdleTimer(handler)
        }
        handler.resumeReadsIfPending()
    }

    private func armIdleTimer(_ handler: UpstreamHandler) {
        // Strong captures: the timer ends with the connection (`channelInactive` cancels it), and
        // weak ones would put the handler's reference counts on the slow path for good.
        handler.idleTimer = eventLoop.assumeIsolated().scheduleTask(deadline: handler.idleDeadline) {
            handler.idleTimer = nil
            guard handler.pool === self else { return }
            if self.eventLoop.now >= handler.idleDeadline {
                handler.close()
            } else {
                self.armIdleTimer(handler)
            }
        }
    }

    /// Forgets a connection that closed while idle.
    func remove(_ handler: UpstreamHandler) {
        idle[handler.endpointKey]?.removeAll { $0 === handler }
        handler.pool = nil
    }

    /// Closes the idle connections to endpoints not in `endpointKeys`: after a table swap
    /// removes a pod, its pooled connections would otherwise stay open until their idle timeout
    /// (and a pod that is gone never gets a request that would notice).
    func closeIdle(notIn endpointKeys: Set<String>) {
        for key in idle.keys where !endpointKeys.contains(key) {
            for handler in idle.removeValue(forKey: key) ?? [] {
                handler.idleTimer?.cancel()
                handler.idleTimer = nil
                handler.pool = nil
                handler.close()
            }
        }
    }

    /// Closes every idle connection.
    func closeAll() {
        let handlers = idle.values.flatMap { $0 }
        idle.removeAll()
        for handler in handlers {
            handler.idleTimer?.cancel()
            handler.pool = nil
            handler.close()
        }
    }
}
