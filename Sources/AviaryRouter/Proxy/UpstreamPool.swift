import NIOCore
import NIOHTTP1
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
        while let handler = idle[endpoint.key]?.popLast() {
            handler.idleTimer?.cancel()
            handler.idleTimer = nil
            handler.pool = nil
            if handler.isActive {
                completion(.success(handler))
                return
            }
        }
        let key = endpoint.key
        let stats = self.stats
        ClientBootstrap(group: eventLoop)
            .connectTimeout(connectTimeout)
            .channelOption(.socketOption(.tcp_nodelay), value: 1)
            .channelInitializer { channel in
                channel.eventLoop.makeCompletedFuture {
                    try channel.pipeline.syncOperations.addHTTPClientHandlers()
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
    func release(_ handler: UpstreamHandler, idleTimeout: TimeAmount) {
        handler.delegate = nil
        guard handler.isActive, idle[handler.endpointKey, default: []].count < Self.maximumIdlePerEndpoint else {
            handler.close()
            return
        }
        handler.pool = self
        idle[handler.endpointKey, default: []].append(handler)
        handler.idleTimer = eventLoop.assumeIsolated().scheduleTask(in: idleTimeout) { [weak handler] in
            handler?.close()
        }
        handler.resumeReadsIfPending()
    }

    /// Forgets a connection that closed while idle.
    func remove(_ handler: UpstreamHandler) {
        idle[handler.endpointKey]?.removeAll { $0 === handler }
        handler.pool = nil
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
