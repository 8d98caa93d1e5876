import AviaryRoutes

/// The router's counters (`GET /stats` of its admin endpoint) in Prometheus' text format, for
/// the daemon's `/metrics`: per Service and per pod, requests, answers by status class and a
/// latency histogram, so an analysis can ask the router's own numbers (for example the canary
/// Service's share of 5xx answers) without instrumenting the application.
public enum RouterMetrics {
    /// Who an endpoint (`IP:port`) is: its pod and namespace.
    public struct Pod: Sendable, Equatable {
        /// The pod's name.
        public var name: String
        /// The pod's namespace.
        public var namespace: String

        /// Makes one.
        public init(name: String, namespace: String) {
            self.name = name
            self.namespace = namespace
        }
    }

    /// The exposition text of `report`; `pods` names the endpoints (one not named is labelled
    /// by its address alone).
    public static func exposition(_ report: RouterStatsReport, pods: [String: Pod]) -> String {
        var text = ""
        func family(_ name: String, _ type: String, _ help: String) {
            text += "# HELP \(name) \(help)\n# TYPE \(name) \(type)\n"
        }
        func line(_ name: String, _ labels: [(String, String)], _ value: String) {
            let rendered = labels.map { "\($0.0)=\"\(escape($0.1))\"" }.joined(separator: ",")
            text += "\(name){\(rendered)} \(value)\n"
        }
        func classes(_ counts: [(String, Int)], _ name: String, _ labels: [(String, String)]) {
            for (code, count) in counts { line(name, labels + [("code", code)], String(count)) }
        }
        func histogram(_ name: String, _ latency: LatencySnapshot, _ labels: [(String, String)]) {
            for (bound, count) in zip(latency.boundsMilliseconds, latency.cumulativeCounts) {
                line(name + "_bucket", labels + [("le", seconds(bound))], String(count))
            }
            line(name + "_bucket", labels + [("le", "+Inf")], String(latency.count))
            line(name + "_sum", labels, seconds(latency.sumMilliseconds))
            line(name + "_count", labels, String(latency.count))
        }
        let services = report.services.sorted { $0.key < $1.key }
        family("aviary_router_requests_total", "counter", "Requests the router routed to a Service.")
        for (name, stats) in services {
            line("aviary_router_requests_total", [("service", name)], String(stats.requests))
        }
        family(
            "aviary_router_responses_total", "counter",
            "Answers clients got for a Service by status class, the router's own 502, 503 and 504 included.")
        for (name, stats) in services {
            classes(
                [
                    ("2xx", stats.responses2xx), ("3xx", stats.responses3xx), ("4xx", stats.responses4xx),
                    ("5xx", stats.responses5xx),
                ], "aviary_router_responses_total", [("service", name)])
        }
        family(
            "aviary_router_request_duration_seconds", "histogram",
            "Time from a request to the end of its answer, per Service.")
        for (name, stats) in services {
            histogram("aviary_router_request_duration_seconds", stats.latency, [("service", name)])
        }
        let endpoints = report.endpoints.sorted { $0.key < $1.key }.map { endpoint, stats in
            let pod = pods[endpoint]
            var labels = [("endpoint", endpoint)]
            if let pod { labels += [("namespace", pod.namespace), ("pod", pod.name)] }
            return (labels, stats)
        }
        family("aviary_router_pod_requests_total", "counter", "Requests the router sent to a pod (each attempt).")
        for (labels, stats) in endpoints { line("aviary_router_pod_requests_total", labels, String(stats.requests)) }
        family("aviary_router_pod_responses_total", "counter", "A pod's answers that reached clients, by status class.")
        for (labels, stats) in endpoints {
            classes(
                [
                    ("2xx", stats.responses2xx), ("3xx", stats.responses3xx), ("4xx", stats.responses4xx),
                    ("5xx", stats.responses5xx),
                ], "aviary_router_pod_responses_total", labels)
        }
        family(
            "aviary_router_pod_failures_total", "counter",
            "Connections a pod refused or dropped before answering, and answers it did not give in time.")
        for (labels, stats) in endpoints { line("aviary_router_pod_failures_total", labels, String(stats.failures)) }
        family(
            "aviary_router_pod_request_duration_seconds", "histogram",
            "Time from a request to the end of a pod's answer.")
        for (labels, stats) in endpoints {
            histogram("aviary_router_pod_request_duration_seconds", stats.latency, labels)
        }
        return text
    }

    /// Milliseconds as seconds, without float noise (`0.0025`, not `0.0025000000000000001`).
    private static func seconds(_ milliseconds: Double) -> String {
        let text = String(milliseconds / 1_000)
        return text.hasSuffix(".0") ? String(text.dropLast(2)) : text
    }

    /// A label value escaped as the text format wants (backslash, quote, newline).
    private static func escape(_ value: String) -> String {
        value.replacingOccurrences(of: "\\", with: "\\\\").replacingOccurrences(of: "\"", with: "\\\"")
            .replacingOccurrences(of: "\n", with: "\\n")
    }
}
