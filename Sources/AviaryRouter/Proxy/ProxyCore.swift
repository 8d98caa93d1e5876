import NIOConcurrencyHelpers
import NIOCore
import Synchronization

/// Holds the live compiled table; swapped whole, read without a lock on the hot path.
///
/// Readers keep the table they last read and compare one atomic generation number per request;
/// only when it moved do they take the lock to fetch the new table.
public final class RouteTableStore: Sendable {
    private let table: NIOLockedValueBox<CompiledRouteTable>
    private let generationCounter = Atomic<Int>(0)

    /// Makes a store holding `initial`.
    public init(_ initial: CompiledRouteTable) {
        table = NIOLockedValueBox(initial)
    }

    /// The number of the current table; it grows by one per swap.
    public var generation: Int { generationCounter.load(ordering: .acquiring) }

    /// The current table and its generation.
    public func snapshot() -> (generation: Int, table: CompiledRouteTable) {
        table.withLockedValue { (generationCounter.load(ordering: .acquiring), $0) }
    }

    /// Makes `newTable` the one the next request sees.
    public func replace(_ newTable: CompiledRouteTable) {
        table.withLockedValue { current in
            current = newTable
            generationCounter.add(1, ordering: .releasing)
        }
    }
}

/// What every proxy connection shares: the table store, the counters, and one upstream pool
/// per event loop.
final class ProxyCore: Sendable {
    let store: RouteTableStore
    let stats: RouterStats
    private let pools: [ObjectIdentifier: NIOLoopBound<UpstreamPool>]

    init(store: RouteTableStore, stats: RouterStats, pools: [ObjectIdentifier: NIOLoopBound<UpstreamPool>]) {
        self.store = store
        self.stats = stats
        self.pools = pools
    }

    /// The pool of `eventLoop`; call on that loop.
    func pool(for eventLoop: any EventLoop) -> UpstreamPool {
        guard let pool = pools[ObjectIdentifier(eventLoop)] else {
            preconditionFailure("no upstream pool for an event loop outside the router's group")
        }
        return pool.value
    }

    /// Makes one pool per loop of `group`, each created on its own loop.
    static func makePools(
        _ group: any EventLoopGroup, stats: RouterStats
    ) async throws -> [ObjectIdentifier: NIOLoopBound<UpstreamPool>] {
        var pools: [ObjectIdentifier: NIOLoopBound<UpstreamPool>] = [:]
        let loops = Array(group.makeIterator())
        let turns = TurnPolicy.forLoops(loops.count, cores: System.coreCount)
        for (shard, loop) in loops.enumerated() {
            pools[ObjectIdentifier(loop)] = try await loop.submit {
                if let slice = turns.timeSlice { TimeSlice.request(nanoseconds: slice) }
                return NIOLoopBound(
                    UpstreamPool(eventLoop: loop, stats: stats, shard: shard, turns: turns), eventLoop: loop)
            }.get()
        }
        return pools
    }

    /// Closes the pooled connections to endpoints not in `endpointKeys` (see
    /// `UpstreamPool.closeIdle(notIn:)`).
    func closeIdle(notIn endpointKeys: Set<String>) async {
        for (_, pool) in pools {
            try? await pool.eventLoop.submit { pool.value.closeIdle(notIn: endpointKeys) }.get()
        }
    }

    /// Closes every pooled connection.
    func closePools() async {
        for (_, pool) in pools {
            try? await pool.eventLoop.submit { pool.value.closeAll() }.get()
        }
    }
}
