import AviaryTestSupport
import Foundation
import Testing

/// `aviary analysis backtest` against a real Prometheus whose history the test writes: ten past
/// releases of a service (three bad: 20% errors; the others 1%) backfilled with
/// `promtool tsdb create-blocks-from openmetrics`, then replayed with the seed's template.
@Suite(.serialized, .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct AnalysisBacktestCommandTests {
    static let bad: Set<Int> = [2, 5, 8]

    static func template(condition: String, earlyStop: Bool = false) -> String {
        let annotation =
            earlyStop
            ? """

              annotations:
                aviary.dev/early-stop: |
                  success-rate:
                    errors: sum(response_status{app="shop",release="{{args.release}}",status!~"2.."})
                    total: sum(response_status{app="shop",release="{{args.release}}"})
                    maxErrorRate: 0.05
                    interval: 15s
            """ : ""
        return """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata:
              name: success-rate\(annotation)
            spec:
              args:
              - name: release
              metrics:
              - name: success-rate
                initialDelay: 60s
                interval: 60s
                count: 3
                failureLimit: 0
                successCondition: result[0] >= \(condition)
                provider:
                  prometheus:
                    query: sum(response_status{app="shop",release="{{args.release}}",status=~"2.."}) / sum(response_status{app="shop",release="{{args.release}}"})
            """
    }

    @Test func tenPastReleasesThreeBadAreJudgedAsTheyWereAndATooStrictTemplateFailsGoodOnes() async throws {
        let executable = try PrometheusExecutable.required()
        let promtool = (executable as NSString).deletingLastPathComponent + "/promtool"
        try #require(FileManager.default.isExecutableFile(atPath: promtool), "promtool is not beside prometheus")
        let directory = NSTemporaryDirectory() + "aviary-backtest-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }

        // Ten releases, 15 minutes apart, from three hours ago; 10 minutes of counters each, every 15 s.
        let base = (Date().timeIntervalSince1970 / 900).rounded(.down) * 900 - 3 * 3600
        var samples: [String] = ["# TYPE response_status gauge"]
        var releases = "releases:\n"
        for index in 0..<10 {
            let start = base + Double(index) * 900
            let rate = Self.bad.contains(index) ? 0.2 : 0.01
            var ok: [String] = []
            var failed: [String] = []
            for step in 0...40 {
                let requests = Double(step * 60)
                let errors = (requests * rate).rounded(.down)
                let time = String(format: "%.3f", start + Double(step) * 15)
                ok.append(
                    #"response_status{app="shop",release="r\#(index)",status="200"} \#(Int(requests - errors)) \#(time)"#
                )
                failed.append(
                    #"response_status{app="shop",release="r\#(index)",status="500"} \#(Int(errors)) \#(time)"#)
            }
            samples += ok + failed
            let startText = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: start))
            releases +=
                "- {name: r\(index), start: \(startText), bad: \(Self.bad.contains(index)), args: {release: r\(index)}}\n"
        }
        // A release from before the data: Prometheus holds nothing for it.
        let old = ISO8601DateFormatter().string(from: Date(timeIntervalSince1970: base - 6 * 3600))
        let withGone = releases + "- {name: gone, start: \(old), bad: false, args: {release: gone}}\n"
        samples.append("# EOF")
        try (samples.joined(separator: "\n") + "\n").write(
            toFile: directory + "/history.om", atomically: true, encoding: .utf8)
        let created = try runCommand([
            promtool, "tsdb", "create-blocks-from", "openmetrics", directory + "/history.om", directory + "/data",
        ])
        try #require(created.status == 0, "\(created.output)")

        let port = try freePort()
        try "scrape_configs: []\n".write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let prometheus = Process()
        prometheus.executableURL = URL(fileURLWithPath: executable)
        prometheus.arguments = [
            "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
            "--web.listen-address=127.0.0.1:\(port)", "--log.level=warn",
        ]
        prometheus.standardOutput = FileHandle.nullDevice
        prometheus.standardError = FileHandle.nullDevice
        try prometheus.run()
        defer {
            prometheus.terminate()
            prometheus.waitUntilExit()
        }
        let address = "http://127.0.0.1:\(port)"
        #expect(await eventually(within: 60) { await http(.GET, address + "/-/ready", timeout: 2)?.status == 200 })

        try Self.template(condition: "0.95").write(toFile: directory + "/seed.yaml", atomically: true, encoding: .utf8)
        try Self.template(condition: "0.999").write(
            toFile: directory + "/strict.yaml", atomically: true, encoding: .utf8)
        try Self.template(condition: "0.95", earlyStop: true).write(
            toFile: directory + "/early.yaml", atomically: true, encoding: .utf8)
        try releases.write(toFile: directory + "/releases.yaml", atomically: true, encoding: .utf8)
        try withGone.write(toFile: directory + "/with-gone.yaml", atomically: true, encoding: .utf8)
        let aviary = builtProductsDirectory() + "/aviary"
        func backtest(_ template: String, _ releases: String = "releases.yaml", json: Bool = true) throws -> String {
            let result = try runCommand(
                [
                    aviary, "analysis", "backtest", "-f", "\(directory)/\(template)", "--releases",
                    "\(directory)/\(releases)", "--prometheus", address,
                ] + (json ? ["-o", "json"] : ["--plot", "\(directory)/plot.svg"]))
            #expect(result.status == 0, "\(result.output)")
            return result.output
        }
        func summary(_ output: String, _ index: Int = 0) throws -> [String: Any] {
            let reports = try #require(try JSONSerialization.jsonObject(with: Data(output.utf8)) as? [[String: Any]])
            return try #require(reports[index]["summary"] as? [String: Any])
        }

        let seed = try summary(try backtest("seed.yaml"))
        #expect(seed["bad"] as? Int == 3 && seed["good"] as? Int == 7, "\(seed)")
        #expect(seed["caught"] as? Int == 3 && seed["falseAborts"] as? Int == 0, "\(seed)")
        #expect(seed["medianDecision"] as? Double == 180, "the good ones end after their third measurement: \(seed)")

        let strict = try summary(try backtest("strict.yaml"))
        #expect(strict["falseAborts"] as? Int == 7 && strict["caught"] as? Int == 3, "\(strict)")

        // With early stop the bad releases are stopped at a look, before the first measurement.
        let early = try backtest("early.yaml")
        let withStop = try summary(early, 0)
        let without = try summary(early, 1)
        #expect(withStop["caught"] as? Int == 3 && withStop["falseAborts"] as? Int == 0, "\(withStop)")
        #expect(without["caught"] as? Int == 3, "\(without)")
        let reports = try #require(try JSONSerialization.jsonObject(with: Data(early.utf8)) as? [[String: Any]])
        let stopped = (reports[0]["releases"] as? [[String: Any]] ?? []).filter { $0["bad"] as? Bool == true }
        for release in stopped {
            #expect((release["decidedAfter"] as? Double ?? 999) < 60, "\(release)")
            #expect((release["message"] as? String ?? "").contains("earlyStop"), "\(release)")
        }

        let text = try backtest("seed.yaml", "with-gone.yaml", json: false)
        print(text)
        #expect(text.contains("gone"))
        #expect(text.split(separator: "\n").contains { $0.hasPrefix("gone") && $0.contains("no data") }, "\(text)")
        #expect(text.contains("11 releases (3 bad, 7 good, 1 without data): caught 3 of 3 bad"), "\(text)")
        let plot = try String(contentsOfFile: directory + "/plot.svg", encoding: .utf8)
        #expect(plot.hasPrefix("<svg") && plot.contains("stroke-dasharray") && plot.contains("r2 (bad): Failed"))
    }

    @Test func badInputNamesTheFileAndTheField() throws {
        let directory = NSTemporaryDirectory() + "aviary-backtest-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        try Self.template(condition: "0.95").write(toFile: directory + "/t.yaml", atomically: true, encoding: .utf8)
        try "releases:\n- {name: a, start: yesterday, bad: true}\n".write(
            toFile: directory + "/r.yaml", atomically: true, encoding: .utf8)
        let aviary = builtProductsDirectory() + "/aviary"
        let result = try runCommand([
            aviary, "analysis", "backtest", "-f", directory + "/t.yaml", "--releases", directory + "/r.yaml",
        ])
        #expect(result.status == 2)
        #expect(
            result.output.contains(
                "\(directory)/r.yaml: releases[0].start: is required: an RFC 3339 time such as 2026-12-01T10:00:00Z"),
            "\(result.output)")
    }
}
