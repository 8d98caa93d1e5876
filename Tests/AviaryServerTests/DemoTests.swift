import AviaryServer
import Foundation
import Testing

/// The demo's manifests as the demo adapts them.
@Suite struct DemoManifestsTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("examples/demo").path

    @Test func theBundledManifestsGetThePortsAndTheAddressAndKeepTheQuery() throws {
        let bundled = try DemoManifests.read(from: Self.examples)
        let ports = DemoManifests.Ports(root: 31001, stable: 31002, canary: 31003)
        let adapted = try bundled.adapted(ports: ports, prometheus: "http://127.0.0.1:39090", fast: true)
        for port in [31001, 31002, 31003] { #expect(adapted.rollout.contains("    port: \(port)\n")) }
        #expect(!adapted.rollout.contains("port: 8080"))
        #expect(adapted.rollout.contains("containerPort: 8080"), "the container's port is left alone")
        #expect(adapted.template.contains("address: http://127.0.0.1:39090"))
        #expect(adapted.template.contains("interval: 3s") && adapted.template.contains("initialDelay: 6s"))
        let query = { (text: String) in text.split(separator: "\n").first { $0.contains("query:") } }
        #expect(query(adapted.template) == query(bundled.template))
        let slow = try bundled.adapted(ports: ports, prometheus: "http://127.0.0.1:39090", fast: false)
        #expect(slow.template.contains("interval: 10s"))
    }

    @Test(arguments: ["address: http://127.0.0.1:9090", "interval: 10s"])
    func anEditedTemplateIsRefusedNamingTheField(line: String) throws {
        var bundled = try DemoManifests.read(from: Self.examples)
        bundled.template = bundled.template.replacingOccurrences(of: line, with: line + "0")
        #expect {
            try bundled.adapted(
                ports: .init(root: 1, stable: 2, canary: 3), prometheus: "http://127.0.0.1:1", fast: true)
        } throws: { error in
            "\(error)".contains("examples/demo/success-rate.yaml") && "\(error)".contains("git checkout examples/demo")
        }
    }
}

/// `aviary demo --fast --no-watch` end to end: the built binary, a real Prometheus, real pods.
@Suite(.serialized) struct DemoEndToEndTests {
    @Test func theGoodReleaseIsPromotedAndTheBadOneRolledBackByItsAnalysis() throws {
        let summaryPath = NSTemporaryDirectory() + "aviary-demo-summary-\(UUID().uuidString).json"
        defer { try? FileManager.default.removeItem(atPath: summaryPath) }
        let result = try runCommand([
            builtProductsDirectory() + "/aviary", "demo", "--fast", "--no-watch", "--summary-json", summaryPath,
            "--manifests", DemoManifestsTests.examples,
        ])
        #expect(result.status == 0, "aviary demo failed:\n\(result.output)")
        let summary = try JSONDecoder().decode(
            DemoSummary.self, from: try Data(contentsOf: URL(fileURLWithPath: summaryPath)))
        try #require(summary.releases.count == 2, "\(result.output)")
        let good = summary.releases[0]
        let bad = summary.releases[1]
        #expect(good.image == "sample-app:v2" && good.outcome == "Promoted")
        #expect(good.clientErrors == 0, "clients saw errors during the good release:\n\(result.output)")
        #expect(good.requests > 100)
        #expect(bad.image == "sample-app:bad-v3" && bad.outcome == "Aborted")
        #expect(bad.message.contains("success-rate"), "the abort names the failed metric: \(bad.message)")
        // Only the canary's share fails: its weight (10%) times its error rate (20%), plus noise.
        let bound = Int((0.10 * 0.20 * Double(bad.requests)).rounded(.up)) + 5
        #expect(bad.clientErrors <= bound, "\(bad.clientErrors) errors of \(bad.requests) requests")

        // Everything the demo started is gone: the daemon, Prometheus and the temporary directory.
        for name in ["aviary serve", "prometheus"] {
            let line = result.output.split(separator: "\n").first { $0.contains("  \(name) (pid ") }
            let pid = line.flatMap { $0.split(separator: "(pid ").last?.split(separator: ")").first }.flatMap {
                Int32($0)
            }
            let started = try #require(pid, "the output names \(name)'s pid:\n\(result.output)")
            #expect(!isRunning(started), "\(name) (pid \(started)) is still running")
        }
        let state = result.output.split(separator: "\n").first { $0.contains("state in ") }
        let directory = state.flatMap { $0.components(separatedBy: "state in ").last }.map {
            ($0 as NSString).deletingLastPathComponent
        }
        let demoDirectory = try #require(directory)
        #expect(!FileManager.default.fileExists(atPath: demoDirectory), "\(demoDirectory) was left behind")
    }
}
