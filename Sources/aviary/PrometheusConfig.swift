import ArgumentParser
import AviaryLocal
import AviaryClient

/// `aviary prometheus-config`: the `prometheus.yml` for a Prometheus of one's own.
struct PrometheusConfig: ParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "prometheus-config",
        abstract: "Print a prometheus.yml that scrapes the daemon's pods, found on its GET /sd.",
        discussion: """
            Discovery is refreshed and pods are scraped every 5 s by default, so a new canary has \
            series within seconds (Prometheus' default refresh_interval of 60 s leaves a new canary \
            without data for up to a minute, and its analysis then errors).

            Examples:
              aviary prometheus-config > prometheus.yml && prometheus --config.file=prometheus.yml
              aviary prometheus-config --server http://127.0.0.1:7480 --token-file /etc/aviary/token
            """)

    @Option(help: "The daemon's address (default: $AVIARY_SERVER or http://127.0.0.1:7480).")
    var server: String?

    @Option(help: "How often to scrape the pods (a Prometheus duration).")
    var scrapeInterval = "5s"

    @Option(help: "How often to read /sd again (a Prometheus duration).")
    var refreshInterval = "5s"

    @Option(help: "A file holding the daemon's bearer token, when it runs with --token.")
    var tokenFile: String?

    func validate() throws {
        for (flag, value) in [("--scrape-interval", scrapeInterval), ("--refresh-interval", refreshInterval)]
        where !PrometheusConfiguration.isDuration(value) {
            throw ValidationError("\(flag) \(value) is not a Prometheus duration; write it like 5s, 30s or 1m")
        }
    }

    /// The configuration the flags describe.
    var configuration: PrometheusConfiguration {
        PrometheusConfiguration(
            daemon: APIClient(server: server).server, scrapeInterval: scrapeInterval, refreshInterval: refreshInterval,
            tokenFile: tokenFile)
    }

    func run() {
        print(configuration.yaml, terminator: "")
    }
}
