import Foundation
import Testing

@testable import AviaryMetrics

/// Which pods a Prometheus that scrapes the daemon's /sd has not scraped yet, from its targets API.
@Suite struct ScrapeReadinessTests {
    static func target(
        _ address: String, job: String = "aviary-pods", lastScrape: String = "2026-12-02T06:00:00.1Z",
        health: String = "up"
    ) -> String {
        """
        {"discoveredLabels": {"__address__": "\(address)", "job": "\(job)"},
         "labels": {"instance": "\(address)", "job": "\(job)"}, "scrapePool": "\(job)",
         "health": "\(health)", "lastScrape": "\(lastScrape)"}
        """
    }

    static func targets(_ entries: String...) -> Data {
        Data(#"{"status": "success", "data": {"activeTargets": [\#(entries.joined(separator: ","))], "droppedTargets": []}}"#.utf8)
    }

    static let wanted: Set<String> = ["127.0.0.1:4001", "127.0.0.1:4002"]

    static let rows: [(body: Data, unscraped: Set<String>)] = [
        // Both scraped: nothing to wait for, whatever their health (a pod without /metrics is "down").
        (targets(target("127.0.0.1:4001"), target("127.0.0.1:4002", health: "down")), []),
        // Discovered, never scraped (Prometheus writes the zero time).
        (targets(target("127.0.0.1:4001"), target("127.0.0.1:4002", lastScrape: "0001-01-01T00:00:00Z")), ["127.0.0.1:4002"]),
        // Not discovered yet.
        (targets(target("127.0.0.1:4001")), ["127.0.0.1:4002"]),
        // Scraped by another job does not count.
        (targets(target("127.0.0.1:4001"), target("127.0.0.1:4002", job: "node")), ["127.0.0.1:4002"]),
        // An answer that does not decode: everything is still to be scraped.
        (Data("<html>".utf8), wanted),
    ]

    @Test(arguments: rows.indices)
    func unscrapedPods(row: Int) {
        #expect(ScrapeReadiness.unscraped(targetsBody: Self.rows[row].body, wanted: Self.wanted) == Self.rows[row].unscraped)
    }

    @Test func onlyAPrometheusWithThePodsJobIsWaitedFor() {
        let ours = #"{"status": "success", "data": {"yaml": "scrape_configs:\n- job_name: aviary-pods\n  http_sd_configs: []\n"}}"#
        let theirs = #"{"status": "success", "data": {"yaml": "scrape_configs:\n- job_name: node\n"}}"#
        #expect(ScrapeReadiness.scrapesPods(configBody: Data(ours.utf8)))
        #expect(!ScrapeReadiness.scrapesPods(configBody: Data(theirs.utf8)))
        #expect(!ScrapeReadiness.scrapesPods(configBody: Data("404 page not found".utf8)))
    }
}
