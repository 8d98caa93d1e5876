import NIOCore
import NIOPosix

/// Idle upstream connections of one event loop, by endpoint. Used only on its loop, so it
/// needs no lock; a client connection leases from the pool of its own loop, so both sides of
/// an exchange run on one thread.
final class UpstreamPool {
    /// The most idle connections kept per endpoint; more are closed when released. High
    /// enough for a burst's worth: HTTP/2 clients send many streams at once, and every one
    /// leases a connection, so a lower cap closed connections after one burst only to open
    /// them again for the next (h2load's 160 streams cost a connect every 30 requests at 128).
    /// The idle timeout closes what a burst left.
    static let maximumIdlePerEndpoint = 1024

    /// The idle connections to one endpoint. A connection keeps a reference to its endpoint's
    /// list, so releasing it costs no lookup by the endpoint's key; a list is retired when its
    /// endpoint leaves the table, and a connection released into a retired list is closed.
    final class IdleList {
        var handlers: [UpstreamHandler] = []
        var isRetired = false
    }

    let eventLoop: any EventLoop
    /// Which of the router's event loops this is (0, 1, …): the set of counters and round-robin
    /// positions its requests use (see `ServiceStats`).
    let shard: Int
    private let stats: RouterStats
    private var idle: [String: IdleList] = [:]
    /// The connections that HTTP/2 clients' streams use.
    let streams: StreamUpstreams
    /// The loop's end-of-turn flushes: HTTP/1.1 connections (client and upstream) and HTTP/2 client
    /// connections.
    let flusher: TickFlusher

    init(eventLoop: any EventLoop, stats: RouterStats, shard: Int = 0, turns: TurnPolicy = .crowded) {
        self.eventLoop = eventLoop
        self.flusher = TickFlusher(eventLoop: eventLoop, turns: turns)
        self.shard = shard
        self.stats = stats
        self.streams = StreamUpstreams(eventLoop: eventLoop)
    }

    /// Leases a connection to `endpoint`: an idle one when there is one, else a new one; for a
    /// service that speaks only HTTP/2, a new stream of the router's connection to the endpoint.
    func acquire(
        _ endpoint: UpstreamEndpoint, of service: CompiledService, connectTimeout: TimeAmount,
        _ completion: @escaping (Result<UpstreamHandler, any Error>) -> Void
    ) {
        if !service.speaksHTTP2, let handler = leaseIdle(endpoint) {
            completion(.success(handler))
        } else {
            connect(endpoint, of: service, connectTimeout: connectTimeout, completion)
        }
    }

    /// Leases an idle open connection to `endpoint`, if there is one: the hot path, which
    /// allocates nothing and touches no timer (the idle timer notices the lease when it fires).
    func leaseIdle(_ endpoint: UpstreamEndpoint) -> UpstreamHandler? {
        guard let list = idle[endpoint.key] else { return nil }
        while let handler = list.handlers.popLast() {
            handler.pool = nil
            if handler.isActive { return handler }
        }
        return nil
    }

    /// Opens a new connection to `endpoint`, or, for a service that speaks only HTTP/2, a new
    /// stream that carries the exchange converted (see `HTTP1OverHTTP2Codec`).
    func connect(
        _ endpoint: UpstreamEndpoint, of service: CompiledService, connectTimeout: TimeAmount,
        _ completion: @escaping (Result<UpstreamHandler, any Error>) -> Void
    ) {
        if service.speaksHTTP2 {
            streams.openExchangeStream(to: endpoint, connectTimeout: connectTimeout, stats: stats, completion)
            return
        }
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
    /// `idleTimeout`, not one per request. `now` is a clock reading the caller just took, if any.
    func release(_ handler: UpstreamHandler, idleTimeout: TimeAmount, at now: NIODeadline? = nil) {
        handler.delegate = nil
        // A stream that carried its one exchange ends with it.
        let list = handler.carriesOneExchange ? nil : idleList(of: handler)
        guard let list, handler.isActive, !list.isRetired, list.handlers.count < Self.maximumIdlePerEndpoint else {
            handler.close()
            return
        }
        handler.pool = self
        list.handlers.append(handler)
        handler.idleDeadline = (now ?? eventLoop.now) + idleTimeout
        if handler.idleTimer == nil {
            armIdleTimer(handler)
        }
        handler.resumeReadsIfPending()
    }

    /// Ends a lease: the connection is pooled again when `reusable` (its exchange ended cleanly),
    /// else closed without a word to its delegate.
    func endLease(_ handler: UpstreamHandler, reusable: Bool, idleTimeout: TimeAmount, at now: NIODeadline? = nil) {
        if reusable {
            release(handler, idleTimeout: idleTimeout, at: now)
        } else {
            handler.abandon()
        }
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

    /// The idle list of `handler`'s endpoint: looked up (or made) once per connection.
    private func idleList(of handler: UpstreamHandler) -> IdleList {
        if let list = handler.idleList { return list }
        let list: IdleList
        if let existing = idle[handler.endpointKey] {
            list = existing
        } else {
            list = IdleList()
            idle[handler.endpointKey] = list
        }
        handler.idleList = list
        return list
    }

    /// Forgets a connection that closed while idle.
    func remove(_ handler: UpstreamHandler) {
        handler.idleList?.handlers.removeAll { $0 === handler }
        handler.pool = nil
    }

    /// Closes the idle connections to endpoints not in `endpointKeys`: after a table swap
    /// removes a pod, its pooled connections would otherwise stay open until their idle timeout
    /// (and a pod that is gone never gets a request that would notice).
    func closeIdle(notIn endpointKeys: Set<String>) {
        for key in idle.keys where !endpointKeys.contains(key) {
            if let list = idle.removeValue(forKey: key) { retire(list) }
        }
        streams.close(notIn: endpointKeys)
    }

    /// Closes every idle connection.
    func closeAll() {
        let lists = idle.values
        idle.removeAll()
        lists.forEach(retire)
        streams.closeAll()
    }

    /// Closes a list's idle connections; connections of its endpoint still leased are closed
    /// when they come back.
    private func retire(_ list: IdleList) {
        list.isRetired = true
        let handlers = list.handlers
        list.handlers.removeAll()
        for handler in handlers {
            handler.idleTimer?.cancel()
            handler.idleTimer = nil
            handler.pool = nil
            handler.close()
        }
    }
}

/// Flushes HTTP/1.1 connections once the event loop has handled every event of its turn.
///
/// A flush is a `write` call, and a write to a sleeping peer wakes it. Flushed one by one, the
/// requests of a turn woke the pods once each, and the answers woke the clients once each, and a
/// peer woken on this core took it from the router in the middle of the turn (the kernel's
/// `finish_task_switch` after `write` was 5 to 8% of the router's system time, against 2% for
/// HAProxy). Flushed together at the end of the turn, a peer finds all its bytes in one wake-up.
/// The delay is at most the rest of the turn: tasks run as soon as the loop's ready events are
/// handled.
///
/// HTTP/2 client connections flush in the same batch. (The requests their streams write upstream
/// still go at the end of the client's read: held to the turn's end, they cost the one-thread
/// router 4% of its h2c throughput, as the pods on the other core waited.) After the batch the
/// loop may give up its core (`YieldPacer`), so that the peers it has just woken run now. With
/// fewer loops than cores a turn holds a few HTTP/1.1 channels at most, and the loop may yield after
/// any HTTP/2 connection's flush (`TurnPolicy`).
final class TickFlusher {
    private let eventLoop: any EventLoop
    private var pending: [ChannelHandlerContext] = []
    private var spare: [ChannelHandlerContext] = []
    /// The channels flushed before the turn's end, when the turn held its most.
    private var early: [ChannelHandlerContext] = []
    private var isFlushingEarly = false
    /// HTTP/2 client connections: each hands its frames to its channel and flushes it.
    private var connections: [any TurnEndFlushing] = []
    private var spareConnections: [any TurnEndFlushing] = []
    private var scheduled = false
    private var pacer: YieldPacer
    private let turns: TurnPolicy
    /// Whether the HTTP/2 connections' flushes all go before the yield, and a connection's flush at
    /// the end of its client's read waits for the batch (`TurnPolicy.batchesConnections`).
    var batchesConnections: Bool { turns.batchesConnections }

    /// Gives up the core: `sched_yield`, or what a test puts in its place.
    private let yieldCore: () -> Void

    init(
        eventLoop: any EventLoop, turns: TurnPolicy = .crowded, yieldCore: @escaping () -> Void = { sched_yield() }
    ) {
        self.eventLoop = eventLoop
        self.turns = turns
        self.pacer = YieldPacer(interval: turns.yieldInterval)
        self.yieldCore = yieldCore
    }

    /// Flushes `context`'s channel at the end of this turn (a channel flushed twice is sent once);
    /// or now, with every channel the turn holds, when it holds `turns.mostHeld` of them.
    func flush(_ context: ChannelHandlerContext) {
        pending.append(context)
        if pending.count >= turns.mostHeld && !isFlushingEarly {
            flushEarly()
        } else {
            schedule()
        }
    }

    /// Flushes the channels held so far. One that asks again while they go waits for the turn's end.
    private func flushEarly() {
        isFlushingEarly = true
        swap(&pending, &early)
        for context in early { context.flush() }
        early.removeAll(keepingCapacity: true)
        isFlushingEarly = false
    }

    /// Has `connection` flush at the end of this turn; it asks once a turn.
    func flush(_ connection: any TurnEndFlushing) {
        connections.append(connection)
        schedule()
    }

    private func schedule() {
        guard !scheduled else { return }
        scheduled = true
        eventLoop.assumeIsolated().execute { self.run() }
    }

    /// Every flush of the turn, then the yield: a yield between two flushes would leave the peers
    /// of the second waiting for the loop's core again.
    private func run() {
        scheduled = false
        swap(&pending, &spare)
        swap(&connections, &spareConnections)
        for context in spare { context.flush() }
        for connection in spareConnections {
            connection.flushAtTurnEnd()
            if !batchesConnections { yieldIfDue() }
        }
        spare.removeAll(keepingCapacity: true)
        spareConnections.removeAll(keepingCapacity: true)
        yieldIfDue()
    }

    private func yieldIfDue() {
        if pacer.isDue(at: NIODeadline.now().uptimeNanoseconds) { yieldCore() }
    }
}

/// What flushes its own writes when the loop's turn ends (an HTTP/2 client connection hands over
/// the frames its streams wrote, then flushes its channel).
protocol TurnEndFlushing: AnyObject {
    func flushAtTurnEnd()
}

/// When an event loop gives up its core after a turn's flush: once a millisecond at most, or every
/// half millisecond when the router's loops are as many as the cores.
///
/// On a host whose cores the router shares with its clients and pods, a loop that has work keeps
/// its core until the kernel's time slice ends (a millisecond or more), wherever in a turn that
/// falls, and the clients and pods its flush has just woken wait for it. Measured packet by packet
/// (`LEGS=1 bench/router/run`), that wait was where the router's p99 differed from HAProxy's: the
/// proxy's own window was HAProxy's, the client's turn between a response and its next request was
/// longer. A shorter slice did not help (its end still falls anywhere in a turn, often before the
/// flush, so a peer runs with nothing to read); a `sched_yield` right after the flush does, as the
/// peers then have their bytes. Yielding after every turn cost a tenth of the throughput (each
/// yield cuts the next turn's batch short); once a millisecond took the p99 from 4.27 to 3.24 ms
/// (HAProxy 3.12) for 2% of it (HISTORY.md). A yield with nothing else to run returns at once: an
/// idle host, or one whose cores are the router's own, pays a system call a millisecond at most.
///
/// When the loops are as many as the cores they yield twice as often (`TurnPolicy`).
struct YieldPacer {
    /// The least time between two yields (nanoseconds).
    let interval: UInt64
    private var last: UInt64 = 0

    init(interval: UInt64 = TurnPolicy.spareCore.yieldInterval) { self.interval = interval }

    /// Whether to yield at `now` (nanoseconds, monotonic); when it is, the next is `interval` later.
    mutating func isDue(at now: UInt64) -> Bool {
        guard now &- last >= interval else { return false }
        last = now
        return true
    }
}

/// How an event loop ends its turns, which turns on one question: do the router's loops fill the
/// host's cores, or is a core left over for the clients and pods it shares the host with?
///
/// - The yield interval (`YieldPacer`). With no core left over, a peer woken by a flush runs only
///   when a loop gives its core up, so the loops yield twice as often. With two loops on two cores
///   that took the HTTP/1.1 p99 from 3.54 to 3.25 ms (HAProxy 3.38) and kept the throughput; with
///   one loop on two cores the shorter interval cost 8% of it (HISTORY.md).
/// - Whether HTTP/2 connections flush in one batch with a yield after all of them. With no core
///   left over, a yield between two connections' flushes left the second's client waiting (h2c, two
///   threads, processes started anew each round: p99 8.04 ms batched against 9.08 and 9.55 without,
///   HAProxy's 7.79). With a core left over, a connection flushes at the end of its client's read,
///   the loop may yield after any connection's flush, and the client can run on the other core at
///   once; there the batch cost the one-thread router about 4% against HAProxy (0.952x its
///   throughput, against 1.034 and 0.988x without).
/// - The most HTTP/1.1 channels a turn holds for its end. With a core left over, the clients and
///   pods on it sat idle while a long turn held every byte they were waiting for: one loop on two
///   cores left 5.6 µs of idle core a request against HAProxy's 4.4 (the rig, every process new
///   each round). Sent sixteen channels at a time, the idle fell to 3.4 µs and the throughput rose
///   7% (1.096x HAProxy against 1.012x for the whole turn; 32 gave 1.099x, 64 1.052x, 8 0.995x).
///   `bench/router/run` shows less: over all of a day's rounds 1.008x against 0.990x (44 and 36
///   rounds; single runs from 0.975x to 1.055x with the cap). With no core left over, the peers run only when a loop
///   yields anyway, and the early writes only wake them more often: two loops on two cores gave
///   0.962x at sixteen against 1.050x (HISTORY.md).
/// - The time slice a loop asks the kernel for (`sched_setattr(2)`; Linux 6.12 and later heed it).
///   With no core left over, the pods and clients a flush wakes preempt the loops, and a loop that
///   runs in the default slice (about 1.4 ms here) holds on to its core between yields. Asking for
///   the shortest slice, 100 µs, took the two-thread HTTP/1.1 p99 from 1.19 and 1.38x HAProxy's to
///   1.02 and 0.98x in the rig (every process new each round, 6 and 7 rounds), at a throughput no
///   lower (0.936 and 0.974x against 0.908 and 0.970x). `bench/router/run`, two threads: HTTP/1.1
///   1.003x HAProxy with a p99 of 0.949x (0.975x and 1.054x before), h2c 1.031x and 0.866x (1.085x
///   and 1.024x). Over 48 rounds later the same day the two-thread HTTP/1.1 router was at parity,
///   0.987x (95% interval 0.961 to 1.013) with a p99 of 0.970x. With a core left over it cost
///   throughput (0.958x against 0.985x), so the loops keep the default there.
struct TurnPolicy {
    /// The least time between two yields (nanoseconds).
    let yieldInterval: UInt64
    let batchesConnections: Bool
    /// The most HTTP/1.1 channels a turn holds: the one whose ask makes this many is flushed at
    /// once, with all the others held.
    let mostHeld: Int
    /// The time slice (nanoseconds) each loop asks for when it starts; nil keeps the kernel's.
    let timeSlice: UInt64?

    init(yieldInterval: UInt64, batchesConnections: Bool, mostHeld: Int, timeSlice: UInt64? = nil) {
        self.yieldInterval = yieldInterval
        self.batchesConnections = batchesConnections
        self.mostHeld = mostHeld
        self.timeSlice = timeSlice
    }

    /// The loops fill the cores.
    static let crowded = TurnPolicy(
        yieldInterval: 500_000, batchesConnections: true, mostHeld: .max, timeSlice: 100_000)
    /// A core is left over.
    static let spareCore = TurnPolicy(yieldInterval: 1_000_000, batchesConnections: false, mostHeld: 16)

    /// The policy for `loops` event loops on a host with `cores` cores.
    static func forLoops(_ loops: Int, cores: Int) -> TurnPolicy { loops >= cores ? .crowded : .spareCore }
}
