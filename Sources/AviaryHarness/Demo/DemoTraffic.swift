import AsyncHTTPClient
import Foundation
import NIOCore

/// What clients of the demo's all-traffic Service have seen so far.
public struct TrafficCounts: Sendable, Equatable {
    /// Answers with status 200, by the image that answered.
    public var answers: [String: Int] = [:]
    /// Errors by the image that answered (a 5xx names it), or `(no answer)`.
    public var errors: [String: Int] = [:]

    /// Requests that got any outcome.
    public var requests: Int { answers.values.reduce(0, +) + errorCount }
    /// Requests that failed.
    public var errorCount: Int { errors.values.reduce(0, +) }

    /// The counts since `earlier`.
    public func since(_ earlier: TrafficCounts) -> TrafficCounts {
        TrafficCounts(
            answers: answers.reduce(into: [:]) { $0[$1.key] = $1.value - (earlier.answers[$1.key] ?? 0) }
                .filter { $0.value != 0 },
            errors: errors.reduce(into: [:]) { $0[$1.key] = $1.value - (earlier.errors[$1.key] ?? 0) }
                .filter { $0.value != 0 })
    }

    /// `1234 requests (sample-app:v1 1100, sample-app:v2 134), 0 errors`.
    public var line: String {
        let images = answers.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        let failed = errors.sorted { $0.key < $1.key }.map { "\($0.key) \($0.value)" }.joined(separator: ", ")
        return "\(requests) requests (\(images)), \(errorCount) errors" + (failed.isEmpty ? "" : " (\(failed))")
    }
}

/// Counts the outcomes of the demo's requests; the sender and the display share it.
actor TrafficCounter {
    private(set) var counts = TrafficCounts()

    func record(image: String, ok: Bool) {
        if ok { counts.answers[image, default: 0] += 1 } else { counts.errors[image, default: 0] += 1 }
    }
}

/// Steady load on one loopback port: `perSecond` GET / requests, each started on time whatever
/// the others do (a slow answer does not slow the rate), until the task is cancelled.
enum DemoTraffic {
    static func run(port: Int, perSecond: Int, counter: TrafficCounter) async {
        let period = Duration.seconds(1) / perSecond
        let clock = ContinuousClock()
        await withDiscardingTaskGroup { group in
            var next = clock.now
            while !Task.isCancelled {
                group.addTask { await send(port: port, counter: counter) }
                next += period
                do { try await Task.sleep(until: next, clock: clock) } catch { break }
            }
            group.cancelAll()
        }
    }

    /// The image that answers `GET /` on `port`, nil when nothing answers 200 with one.
    static func answeringImage(port: Int) async -> String? {
        guard
            let response = try? await HTTPClient.shared.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/"), timeout: .seconds(5)),
            response.status.code == 200, let body = try? await response.body.collect(upTo: 1 << 20)
        else { return nil }
        return ((try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any])?["image"] as? String
    }

    /// One request; a request cut short because the demo ends is not counted.
    static func send(port: Int, counter: TrafficCounter) async {
        do {
            let response = try await HTTPClient.shared.execute(
                HTTPClientRequest(url: "http://127.0.0.1:\(port)/"), timeout: .seconds(5))
            let body = try await response.body.collect(upTo: 1 << 20)
            let object = (try? JSONSerialization.jsonObject(with: Data(buffer: body))) as? [String: Any]
            let image = object?["image"] as? String ?? "(no image)"
            if Task.isCancelled { return }
            await counter.record(image: image, ok: response.status.code == 200 && object?["image"] != nil)
        } catch {
            if Task.isCancelled { return }
            await counter.record(image: "(no answer)", ok: false)
        }
    }
}
