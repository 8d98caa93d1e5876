/// The `prometheus.yml` that points a Prometheus at the daemon's pods: one `http_sd_configs` job on
/// the daemon's `GET /sd`, with discovery refreshed and targets scraped often enough that a new
/// canary has series within seconds, not the minute Prometheus' default `refresh_interval` gives;
/// and one job on the daemon's own `/metrics` (the controller's metrics and the router's
/// `aviary_router_*` counters per Service and pod).
public struct PrometheusConfiguration: Sendable, Hashable {
    /// The daemon's base URL, e.g. `http://127.0.0.1:7480`.
    public var daemon: String
    /// How often the pods are scraped and rules evaluated, as Prometheus writes durations (`5s`).
    public var scrapeInterval: String
    /// How often `/sd` is read again.
    public var refreshInterval: String
    /// A file holding the daemon's bearer token, when it has one (`--token`).
    public var tokenFile: String?

    /// Whether `text` is a Prometheus duration (`5s`, `1m30s`, `500ms`).
    public static func isDuration(_ text: String) -> Bool {
        text.wholeMatch(of: /([0-9]+(ms|s|m|h|d|w|y))+/) != nil
    }

    /// Creates a configuration; the intervals default to 5 s.
    public init(daemon: String, scrapeInterval: String = "5s", refreshInterval: String = "5s", tokenFile: String? = nil)
    {
        self.daemon = daemon.hasSuffix("/") ? String(daemon.dropLast()) : daemon
        self.scrapeInterval = scrapeInterval
        self.refreshInterval = refreshInterval
        self.tokenFile = tokenFile
    }

    /// The YAML text of `prometheus.yml`.
    public var yaml: String {
        var lines = [
            "# Written by aviary prometheus-config: Prometheus discovers the daemon's pods on GET /sd.",
            "global:",
            "  scrape_interval: \(scrapeInterval)",
            "  evaluation_interval: \(scrapeInterval)",
            "scrape_configs:",
            "  - job_name: aviary-pods",
            "    scrape_interval: \(scrapeInterval)",
            "    scrape_timeout: \(scrapeInterval)",
            "    http_sd_configs:",
            "      - url: \(daemon)/sd",
            "        refresh_interval: \(refreshInterval)",
        ]
        if let tokenFile {
            lines += [
                "        authorization:",
                "          type: Bearer",
                "          credentials_file: \(tokenFile)",
            ]
        }
        let scheme = daemon.hasPrefix("https://") ? "https" : "http"
        let host = daemon.drop { $0 != "/" }.drop { $0 == "/" }.prefix { $0 != "/" }
        lines += [
            "  - job_name: aviary-daemon",
            "    scrape_interval: \(scrapeInterval)",
            "    scrape_timeout: \(scrapeInterval)",
            "    scheme: \(scheme)",
            "    static_configs:",
            "      - targets: [\"\(host)\"]",
        ]
        if let tokenFile {
            lines += [
                "    authorization:",
                "      type: Bearer",
                "      credentials_file: \(tokenFile)",
            ]
        }
        return lines.joined(separator: "\n") + "\n"
    }
}
