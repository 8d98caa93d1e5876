import AviaryTestSupport
import Foundation
import NIOHTTP1
import Testing

@testable import AviaryLocal

/// A real Prometheus finds the pods through the daemon's `/sd` endpoint and can query them by
/// their pod labels, `role="canary"` included.
@Suite(.serialized, .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct ServiceDiscoveryTests {
    @Test func prometheusScrapesThePodsWithTheirLabels() async throws {
        let executable = try PrometheusExecutable.required()
        let daemon = Daemon()
        try await daemon.start(extraArguments: ["--no-router"])
        let prometheusPort = PortAllocator.freePort() ?? 19090
        let directory = daemon.stateDirectory + "/prometheus"
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        let configuration = """
            global:
              scrape_interval: 1s
            scrape_configs:
              - job_name: aviary-pods
                http_sd_configs:
                  - url: \(daemon.base)/sd
                    refresh_interval: 1s
            """
        try configuration.write(toFile: directory + "/prometheus.yml", atomically: true, encoding: .utf8)
        let prometheus = Process()
        prometheus.executableURL = URL(fileURLWithPath: executable)
        prometheus.arguments = [
            "--config.file=\(directory)/prometheus.yml", "--storage.tsdb.path=\(directory)/data",
            "--web.listen-address=127.0.0.1:\(prometheusPort)",
        ]
        prometheus.standardOutput = FileHandle(forWritingAtPath: "/dev/null")
        prometheus.standardError = FileHandle(forWritingAtPath: "/dev/null")
        do {
            try prometheus.run()
            var manifests = CanaryManifests()
            manifests.trafficRouting = false
            try daemon.applyWithCLI(manifests.yaml)
            #expect(await daemon.waitHealthy(image: "aviary-sample-app:blue"))
            #expect(try daemon.cli(["set", "image", "web", "app=aviary-sample-app:green"]).status == 0)
            #expect(await daemon.waitPaused(atStep: 1))

            let sd = try #require(await daemon.call(.GET, "/sd"))
            let groups = try #require(try JSONSerialization.jsonObject(with: sd.body) as? [[String: Any]])
            #expect(groups.count == (await daemon.pods()).filter { $0["ready"] as? Bool == true }.count)

            let query = "count(up{app=\"web\",role=\"canary\",rollout=\"web\"} == 1)"
            let encoded = query.addingPercentEncoding(withAllowedCharacters: .alphanumerics) ?? ""
            var canaryTargets = 0
            let scraped = await eventually(within: 60) {
                guard let answer = await http(.GET, "http://127.0.0.1:\(prometheusPort)/api/v1/query?query=\(encoded)"),
                    let data = answer.json["data"] as? [String: Any],
                    let result = (data["result"] as? [[String: Any]])?.first,
                    let value = (result["value"] as? [Any])?.last as? String
                else { return false }
                canaryTargets = Int(value) ?? 0
                return canaryTargets >= 1
            }
            #expect(scraped, "Prometheus sees the canary pod with role=\"canary\"")
            #expect(canaryTargets == 1)
        } catch {
            if prometheus.isRunning { prometheus.terminate() }
            await daemon.cleanUp()
            throw error
        }
        if prometheus.isRunning {
            prometheus.terminate()
            prometheus.waitUntilExit()
        }
        await daemon.cleanUp()
    }
}
