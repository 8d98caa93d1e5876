import NIOConcurrencyHelpers

/// The app's counters, shared by all event loops, and the deterministic error schedule.
///
/// Errors are spread evenly: request n (counting from 1) fails when
/// `floor(n * rate) > floor((n - 1) * rate)`, so at 20% requests 5, 10, 15, ... fail and any
/// 100 consecutive requests hold exactly 20 failures.
final class SampleMetrics: Sendable {
    /// Upper bounds of the latency histogram, in seconds (Prometheus client defaults).
    static let bucketBounds: [Double] = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10]

    private struct State {
        var applicationRequests = 0
        var statusCounts: [Int: Int] = [:]
        var bucketCounts = [Int](repeating: 0, count: SampleMetrics.bucketBounds.count)
        var durationSum = 0.0
        var durationCount = 0
    }

    private let state = NIOLockedValueBox(State())
    private let errorPartsPerMillion: Int

    init(errorPartsPerMillion: Int) {
        self.errorPartsPerMillion = errorPartsPerMillion
    }

    /// Counts one application request and says whether the schedule makes it fail.
    func nextRequestFails() -> Bool {
        let rate = errorPartsPerMillion
        return state.withLockedValue { state in
            state.applicationRequests += 1
            let n = state.applicationRequests
            return (n * rate) / 1_000_000 > ((n - 1) * rate) / 1_000_000
        }
    }

    /// Records one answered application request.
    func record(status: Int, seconds: Double) {
        state.withLockedValue { state in
            state.statusCounts[status, default: 0] += 1
            for (index, bound) in Self.bucketBounds.enumerated() where seconds <= bound {
                state.bucketCounts[index] += 1
            }
            state.durationSum += seconds
            state.durationCount += 1
        }
    }

    /// The counters in the Prometheus text exposition format (version 0.0.4).
    func exposition() -> String {
        let snapshot = state.withLockedValue { $0 }
        var text = "# HELP response_status Application responses answered, by HTTP status.\n"
        text += "# TYPE response_status counter\n"
        for (status, count) in snapshot.statusCounts.sorted(by: { $0.key < $1.key }) {
            text += "response_status{status=\"\(status)\"} \(count)\n"
        }
        // Received whole, answered or not yet: a test knows the app holds a delayed request.
        text += "# HELP requests_received_total Application requests read whole, answered or not.\n"
        text += "# TYPE requests_received_total counter\n"
        text += "requests_received_total \(snapshot.applicationRequests)\n"
        text += "# HELP http_request_duration_seconds Time from request head to the end of the response.\n"
        text += "# TYPE http_request_duration_seconds histogram\n"
        for (index, bound) in Self.bucketBounds.enumerated() {
            text += "http_request_duration_seconds_bucket{le=\"\(bound)\"} \(snapshot.bucketCounts[index])\n"
        }
        text += "http_request_duration_seconds_bucket{le=\"+Inf\"} \(snapshot.durationCount)\n"
        text += "http_request_duration_seconds_sum \(snapshot.durationSum)\n"
        text += "http_request_duration_seconds_count \(snapshot.durationCount)\n"
        return text
    }
}
