import Foundation

/// Discovery lag is not an error. A Prometheus that finds the pods through the daemon's
/// `GET /sd` (the `aviary-pods` job that `aviary prometheus-config` and `serve --prometheus`
/// write) has no series of a new canary until it has read `/sd` again and scraped the pod once;
/// a query in that window answers an empty vector, which would count against
/// `consecutiveErrorLimit`. So before such a query the daemon waits, at most `timeout`, until
/// Prometheus' targets API shows every ready pod scraped at least once (whatever its health: a
/// pod without `/metrics` must not hold measurements up). A Prometheus without that job is
/// queried at once.
public enum ScrapeReadiness {
    /// The scrape job of the pods, as `PrometheusConfiguration` names it.
    public static let jobName = "aviary-pods"

    /// Whether `configBody` (the answer of `GET /api/v1/status/config`) has the pods' job.
    public static func scrapesPods(configBody: Data) -> Bool {
        guard let object = try? JSONSerialization.jsonObject(with: configBody) as? [String: Any],
            let yaml = (object["data"] as? [String: Any])?["yaml"] as? String
        else { return false }
        return yaml.contains("job_name: \(jobName)")
    }

    /// The addresses among `wanted` that the pods' job has not scraped yet, from `targetsBody`
    /// (the answer of `GET /api/v1/targets?state=active`); all of `wanted` when it does not decode.
    public static func unscraped(targetsBody: Data, wanted: Set<String>) -> Set<String> {
        guard let object = try? JSONSerialization.jsonObject(with: targetsBody) as? [String: Any],
            let targets = (object["data"] as? [String: Any])?["activeTargets"] as? [[String: Any]]
        else { return wanted }
        var scraped: Set<String> = []
        for target in targets {
            let labels = target["labels"] as? [String: String] ?? [:]
            let discovered = target["discoveredLabels"] as? [String: String] ?? [:]
            guard (target["scrapePool"] as? String ?? labels["job"]) == jobName,
                let lastScrape = target["lastScrape"] as? String, !lastScrape.hasPrefix("0001-")
            else { continue }
            if let instance = labels["instance"] { scraped.insert(instance) }
            if let address = discovered["__address__"] { scraped.insert(address) }
        }
        return wanted.subtracting(scraped)
    }

    /// Waits until the Prometheus at `address` has scraped every address `wanted()` gives, or
    /// `timeout` passed, or it does not scrape the pods' job; returns the addresses still not
    /// scraped (empty when there is nothing to wait for).
    public static func wait(
        prometheus address: String, wanted: @Sendable () async -> Set<String>, timeout: Duration = .seconds(30),
        poll: Duration = .milliseconds(500)
    ) async -> Set<String> {
        var base = address
        while base.hasSuffix("/") { base.removeLast() }
        guard let config = try? await MetricHTTP.send(
            MetricHTTPRequest(method: .GET, url: base + "/api/v1/status/config", timeout: .seconds(5))),
            config.status == 200, scrapesPods(configBody: config.body)
        else { return [] }
        let clock = ContinuousClock()
        let deadline = clock.now.advanced(by: timeout)
        while true {
            let pods = await wanted()
            guard !pods.isEmpty else { return [] }
            var missing = pods
            if let targets = try? await MetricHTTP.send(
                MetricHTTPRequest(method: .GET, url: base + "/api/v1/targets?state=active", timeout: .seconds(5))),
                targets.status == 200
            {
                missing = unscraped(targetsBody: targets.body, wanted: pods)
            }
            if missing.isEmpty || clock.now >= deadline || Task.isCancelled { return missing }
            try? await Task.sleep(for: poll)
        }
    }
}
