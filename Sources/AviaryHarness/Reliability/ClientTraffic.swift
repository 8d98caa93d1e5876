import Foundation
import NIOCore
import Synchronization

/// What the clients of the reliability runs saw, classified the way `scripts/chaos` reports it.
public struct ClientCounts: Sendable, Equatable {
    /// Requests sent (a retried request counts once).
    public var requests = 0
    /// 200 answers by the image that answered.
    public var answers: [String: Int] = [:]
    /// Error answers from a `bad-` image: the bad canary doing what it was built to do.
    public var badCanaryErrors = 0
    /// Requests that found no router listening (refused, reset) while the router was being killed
    /// and restarted, and that got an answer when the client tried again, as a load balancer
    /// retries an idempotent GET.
    public var retriedAfterRouterRestart = 0
    /// Everything else that failed: an error answer from a good or stable image, an error from the
    /// router itself, or no answer outside a router restart (or none even after retrying).
    public var clientErrors = 0
    /// The first few client errors, for the report.
    public var errorSamples: [String] = []

    /// Adds `other`'s counts.
    mutating func add(_ other: ClientCounts) {
        requests += other.requests
        answers.merge(other.answers, uniquingKeysWith: +)
        badCanaryErrors += other.badCanaryErrors
        retriedAfterRouterRestart += other.retriedAfterRouterRestart
        clientErrors += other.clientErrors
        errorSamples += other.errorSamples.prefix(max(0, 10 - errorSamples.count))
    }
}

/// Whether the router is being killed and restarted now: the only time a client retries a
/// request that got no answer.
final class RouterRestartWindow: Sendable {
    private let open = Atomic<Bool>(false)

    var isOpen: Bool { open.load(ordering: .relaxed) }

    func set(_ value: Bool) { open.store(value, ordering: .relaxed) }
}

/// Counts outcomes; shared by the request tasks of one run.
actor ClientLedger {
    private(set) var counts = ClientCounts()

    func record(_ outcome: LoopbackClient.Outcome, port: Int, retried: Bool) {
        counts.requests += 1
        if retried { counts.retriedAfterRouterRestart += 1 }
        switch outcome {
        case .answer(let status, let body):
            let object = (try? JSONSerialization.jsonObject(with: Data(body))) as? [String: Any]
            let image = object?["image"] as? String
            if status == 200, let image {
                counts.answers[image, default: 0] += 1
            } else if let image, Self.isBad(image) {
                counts.badCanaryErrors += 1
            } else {
                let text = String(decoding: body.prefix(160), as: UTF8.self)
                fail("port \(port): HTTP \(status) from \(image ?? "the router"): \(text)")
            }
        case .noAnswer(let why):
            fail("port \(port): no answer" + (retried ? " even after the router was back" : "") + ": \(why)")
        }
    }

    private func fail(_ sample: String) {
        counts.clientErrors += 1
        if counts.errorSamples.count < 10 { counts.errorSamples.append(sample) }
    }

    /// Whether an image is one of the bad releases (the sample app fails 20% of requests).
    static func isBad(_ image: String) -> Bool {
        image.split(separator: ":").last?.hasPrefix("bad-") ?? false
    }
}

/// Steady GET / load on loopback ports.
enum ClientTraffic {
    /// Sends `perSecond` requests per second to each port, each started on time whatever the
    /// others do, until the task is cancelled. A request that gets no answer while `window` is
    /// open is sent again every 100 ms (for up to 30 s) until it gets one.
    static func run(ports: [Int], perSecond: Int, ledger: ClientLedger, window: RouterRestartWindow) async {
        let period = Duration.seconds(1) / perSecond
        let clock = ContinuousClock()
        await withDiscardingTaskGroup { group in
            var next = clock.now
            while !Task.isCancelled {
                for port in ports {
                    group.addTask { await send(port: port, ledger: ledger, window: window) }
                }
                next += period
                do { try await Task.sleep(until: next, clock: clock) } catch { break }
            }
        }
    }

    static func send(port: Int, ledger: ClientLedger, window: RouterRestartWindow) async {
        var outcome = await LoopbackClient.get(port: port)
        var retried = false
        if case .noAnswer = outcome, window.isOpen {
            retried = true
            let deadline = Date().addingTimeInterval(30)
            while case .noAnswer = outcome, Date() < deadline {
                try? await Task.sleep(for: .milliseconds(100))
                outcome = await LoopbackClient.get(port: port)
            }
        }
        await ledger.record(outcome, port: port, retried: retried)
    }
}
