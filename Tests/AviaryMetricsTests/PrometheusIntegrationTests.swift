import AviaryCore
import AviaryModel
import AviaryTestSupport
import Foundation
import Synchronization
import Testing

@testable import AviaryMetrics

#if canImport(Glibc)
    import Glibc
#endif

/// A free TCP port on 127.0.0.1 (bound, read, released).
func freeLoopbackPort() -> Int {
    let fd = socket(AF_INET, Int32(SOCK_STREAM.rawValue), 0)
    defer { close(fd) }
    var address = sockaddr_in()
    address.sin_family = sa_family_t(AF_INET)
    address.sin_addr.s_addr = inet_addr("127.0.0.1")
    var length = socklen_t(MemoryLayout<sockaddr_in>.size)
    withUnsafeMutablePointer(to: &address) {
        $0.withMemoryRebound(to: sockaddr.self, capacity: 1) {
            _ = bind(fd, $0, length)
            _ = getsockname(fd, $0, &length)
        }
    }
    return Int(UInt16(bigEndian: address.sin_port))
}

/// An exporter of `response_status` counters whose values the test sets.
final class StatusExporter: Sendable {
    private final class Counts: Sendable {
        let value = Mutex<(ok: Int, failed: Int)>((0, 0))
    }

    private let counts = Counts()
    let server: LoopbackServer

    init() throws {
        let counts = self.counts
        server = try LoopbackServer { _ in
            let (ok, failed) = counts.value.withLock { $0 }
            return .respond(
                status: 200,
                body: """
                    # TYPE response_status counter
                    response_status{app="x",role="canary",status="200"} \(ok)
                    response_status{app="x",role="canary",status="500"} \(failed)
                    response_status{app="x",role="stable",status="500"} 50

                    """, contentType: "text/plain; version=0.0.4")
        }
    }

    func set(ok: Int, failed: Int) { counts.value.withLock { $0 = (ok, failed) } }
}

/// A real Prometheus (the `prometheus` on PATH) on a free loopback port, scraping `target`
/// every second, with its data in a temporary directory.
final class PrometheusServer: Sendable {
    let address: String
    private let process: Process
    private let directory: URL

    init(scraping target: String) throws {
        let executable = try PrometheusExecutable.required()
        let port = freeLoopbackPort()
        address = "http://127.0.0.1:\(port)"
        directory = FileManager.default.temporaryDirectory.appendingPathComponent("aviary-prometheus-\(UUID())")
        try FileManager.default.createDirectory(at: directory, withIntermediateDirectories: true)
        let config = """
            global:
              scrape_interval: 1s
              evaluation_interval: 1s
            scrape_configs:
            - job_name: exporter
              static_configs:
              - targets: ["\(target)"]
            """
        try config.write(to: directory.appendingPathComponent("prometheus.yml"), atomically: true, encoding: .utf8)
        // Prometheus runs under a small shell watchdog: if the test process dies before its
        // `defer` can stop it (a killed `swift test`), the watchdog ends Prometheus within a second
        // and removes its data.
        let watchdog = """
            "$AVIARY_PROMETHEUS_EXECUTABLE" "$@" & child=$!
            trap 'kill $child 2>/dev/null; wait $child; exit 0' TERM
            while kill -0 $PPID 2>/dev/null && kill -0 $child 2>/dev/null; do sleep 1; done
            kill $child 2>/dev/null; wait $child
            kill -0 $PPID 2>/dev/null || rm -rf "$AVIARY_PROMETHEUS_DIRECTORY"
            """
        let process = Process()
        process.executableURL = URL(fileURLWithPath: "/bin/sh")
        process.environment = ProcessInfo.processInfo.environment.merging(
            ["AVIARY_PROMETHEUS_DIRECTORY": directory.path, "AVIARY_PROMETHEUS_EXECUTABLE": executable]) { $1 }
        process.arguments = [
            "-c", watchdog, "prometheus",
            "--config.file=\(directory.path)/prometheus.yml", "--storage.tsdb.path=\(directory.path)/data",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ]
        let log = FileManager.default.createFile(atPath: directory.path + "/prometheus.log", contents: nil)
        if log, let handle = FileHandle(forWritingAtPath: directory.path + "/prometheus.log") {
            process.standardOutput = handle
            process.standardError = handle
        }
        try process.run()
        self.process = process
    }

    /// Stops Prometheus and waits for it to exit (idempotent).
    func stop() {
        if process.isRunning {
            process.terminate()
            process.waitUntilExit()
        }
    }

    /// Stops Prometheus and deletes its data.
    func destroy() {
        stop()
        try? FileManager.default.removeItem(at: directory)
    }

    /// Waits until `query` returns a vector whose first value satisfies `accept`.
    func waitFor(_ query: String, timeout: Duration = .seconds(90), accept: (Double) -> Bool) async throws {
        let deadline = ContinuousClock.now + timeout
        var last = "no answer"
        while ContinuousClock.now < deadline {
            do {
                let (result, _) = try await PrometheusClient.run(
                    PrometheusQuery(address: address, query: query, timeout: .seconds(5)))
                if let value = result.values?.first, accept(value) { return }
                last = result.displayValue
            } catch {
                last = error.description
            }
            try await Task.sleep(for: .milliseconds(250))
        }
        throw PrometheusWaitError(description: "Prometheus never answered \(query) as expected; last: \(last)")
    }
}

struct PrometheusWaitError: Error, CustomStringConvertible {
    var description: String
}

let successRateQuery =
    #"sum(response_status{app="x",role="canary",status=~"2.*"})/sum(response_status{app="x",role="canary"})"#

/// The seed's success-rate template, with the Prometheus address and the run's shape as arguments.
func successRateTemplate(
    extra: String = "count: 3\n    interval: 1s", query: String = successRateQuery
)
    -> AnalysisTemplate
{
    template(
        """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata:
          name: success-rate
        spec:
          args:
          - name: prometheus
          metrics:
          - name: success-rate
            \(extra)
            successCondition: result[0] >= 0.95
            provider:
              prometheus:
                address: "{{args.prometheus}}"
                query: '\(query)'
        """)
}

func makeSuccessRateRun(_ template: AnalysisTemplate, prometheus: String) throws -> AnalysisRun {
    try AnalysisTemplateResolver.makeRun(
        name: "success-rate-run", references: [AnalysisTemplateRef(templateName: "success-rate")],
        args: [Argument(name: "prometheus", value: prometheus)], catalog: AnalysisTemplateCatalog(templates: [template])
    )
}

@Suite(
    "Analysis against a real Prometheus", .serialized,
    .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct PrometheusIntegrationTests {
    @Test func successRateIsSuccessfulAt97AndFailedAt80() async throws {
        let exporter = try StatusExporter()
        defer { exporter.server.stop() }
        exporter.set(ok: 97, failed: 3)
        let prometheus = try PrometheusServer(scraping: "127.0.0.1:\(exporter.server.port)")
        defer { prometheus.destroy() }
        try await prometheus.waitFor(successRateQuery) { abs($0 - 0.97) < 1e-9 }

        // A range query over the last seconds gives the samples of the window as one list.
        let ranged = metric(
            """
            - name: ranged
              successCondition: len(result) >= 1 && result[0] == 0.97
              provider:
                prometheus:
                  address: \(prometheus.address)
                  query: '\(successRateQuery)'
                  rangeQuery:
                    start: now() - duration("3s")
                    end: now()
                    step: 1s
            """)
        let rangedOutcome = await MetricProviders().measure(request(ranged))
        guard case .value(let values, let display, _) = rangedOutcome else {
            Issue.record("range query failed: \(rangedOutcome)")
            return
        }
        #expect(display.hasPrefix("[0.97"))
        #expect(MeasurementAssessment.phase(of: values, metric: ranged).phase == .successful)

        let runner = AnalysisRunner(provider: MetricProviders())
        let good = await runner.run(try makeSuccessRateRun(successRateTemplate(), prometheus: prometheus.address))
        #expect(good.status?.phase == .successful)
        let goodResult = good.status?.metricResults?.first
        #expect(goodResult?.count == 3)
        #expect(goodResult?.measurements?.map(\.value) == ["[0.97]", "[0.97]", "[0.97]"])

        exporter.set(ok: 80, failed: 20)
        try await prometheus.waitFor(successRateQuery) { abs($0 - 0.8) < 1e-9 }
        let bad = await runner.run(try makeSuccessRateRun(successRateTemplate(), prometheus: prometheus.address))
        #expect(bad.status?.phase == .failed)
        #expect(bad.status?.message == "Metric \"success-rate\" assessed Failed due to failed (1) > failureLimit (0)")
        #expect(bad.status?.metricResults?.first?.measurements?.last?.value == "[0.8]")
    }

    @Test func prometheusStoppedMidRunEndsInErrorWithTheConnectionError() async throws {
        let exporter = try StatusExporter()
        defer { exporter.server.stop() }
        exporter.set(ok: 97, failed: 3)
        let prometheus = try PrometheusServer(scraping: "127.0.0.1:\(exporter.server.port)")
        defer { prometheus.destroy() }
        try await prometheus.waitFor(successRateQuery) { abs($0 - 0.97) < 1e-9 }

        // Indefinite, one error tolerated in a row: after the stop, the 2nd error (10 s later) ends it.
        let template = successRateTemplate(extra: "interval: 1s\n    consecutiveErrorLimit: 1")
        let runner = AnalysisRunner(provider: MetricProviders())
        let run = await runner.run(try makeSuccessRateRun(template, prometheus: prometheus.address)) { update in
            if case .measured(_, let measurement) = update.event, measurement.phase == .successful {
                prometheus.stop()
            }
        }
        #expect(run.status?.phase == .error)
        let message = try #require(run.status?.message)
        #expect(
            message.hasPrefix(
                "Metric \"success-rate\" assessed Error due to consecutiveErrors (2) > consecutiveErrorLimit (1)"))
        #expect(message.contains("connection refused"))
        #expect(message.contains(prometheus.address))
        let phases = run.status?.metricResults?.first?.measurements?.map(\.phase) ?? []
        #expect(phases.suffix(2) == [.error, .error])
        #expect(phases.first == .successful)
    }

    @Test func querySyntaxErrorSurfacesPrometheusMessage() async throws {
        let exporter = try StatusExporter()
        defer { exporter.server.stop() }
        let prometheus = try PrometheusServer(scraping: "127.0.0.1:\(exporter.server.port)")
        defer { prometheus.destroy() }
        try await prometheus.waitFor("vector(1)") { $0 == 1 }

        let template = successRateTemplate(extra: "consecutiveErrorLimit: 0", query: #"sum(response_status{app="x"}"#)
        let run = await AnalysisRunner(provider: MetricProviders()).run(
            try makeSuccessRateRun(template, prometheus: prometheus.address))
        #expect(run.status?.phase == .error)
        let measurement = try #require(run.status?.metricResults?.first?.measurements?.last)
        #expect(measurement.phase == .error)
        #expect(measurement.message?.hasPrefix("bad_data: ") == true)
        #expect(measurement.message?.contains("parse error") == true)
    }

    @Test func longQueriesArePostedAndScalarsAreNumbers() async throws {
        let exporter = try StatusExporter()
        defer { exporter.server.stop() }
        let prometheus = try PrometheusServer(scraping: "127.0.0.1:\(exporter.server.port)")
        defer { prometheus.destroy() }
        try await prometheus.waitFor("vector(1)") { $0 == 1 }
        let long = "scalar(vector(1))" + String(repeating: " + 0", count: 700)
        #expect(long.utf8.count > PrometheusClient.maximumGETQueryBytes)
        let outcome = await MetricProviders(defaultPrometheusAddress: prometheus.address).measure(
            request(metric("- name: long\n  provider:\n    prometheus:\n      query: '\(long)'")))
        #expect(outcome == .value(.float(1), display: "1"))
    }
}
