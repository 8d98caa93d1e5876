import AviaryTestSupport
import Foundation
import Testing

/// `aviary analysis run` end to end: the built binary runs a template file against a real
/// Prometheus and prints each measurement, the summary, and the exit status of the phase.
@Suite(.serialized, .enabled(if: PrometheusExecutable.isRequired, "prometheus is not on PATH"))
struct AnalysisRunCommandTests {
    static let template = """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata:
          name: success-rate
        spec:
          args:
          - name: query
          - name: address
          metrics:
          - name: success-rate
            count: 2
            interval: 1s
            consecutiveErrorLimit: 0
            successCondition: result[0] >= 0.95
            failureCondition: result[0] < 0.9
            provider:
              prometheus:
                address: "{{args.address}}"
                query: "{{args.query}}"
        """

    struct Case: Sendable, CustomTestStringConvertible {
        var query: String
        var status: Int32
        /// Lines the output must hold.
        var lines: [String]
        var testDescription: String { query }
    }

    static let cases = [
        Case(
            query: "vector(0.97)", status: 0,
            lines: [
                "  success-rate  [0.97]  Successful", "Phase: Successful",
                "  success-rate: Successful  measurements 2 (successful 2, failed 0, inconclusive 0, error 0)",
            ]),
        Case(
            query: "vector(0.5)", status: 1,
            lines: [
                "  success-rate  [0.5]  Failed", "Phase: Failed",
                "Message: Metric \"success-rate\" assessed Failed due to failed (1) > failureLimit (0)",
            ]),
        Case(
            query: "vector(0.92)", status: 3,
            lines: ["  success-rate  [0.92]  Inconclusive", "Phase: Inconclusive"]),
        Case(
            query: "sum(", status: 2,
            lines: ["Phase: Error", "bad_data: ", "parse error"]),
    ]

    @Test func eachPhaseGivesItsLinesAndExitStatus() async throws {
        let directory = NSTemporaryDirectory() + "aviary-analysis-run-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/success-rate.yaml"
        try Self.template.write(toFile: file, atomically: true, encoding: .utf8)
        // No scrape target is needed: the queries are constant expressions Prometheus evaluates.
        let prometheus = try await PrometheusServer(
            directory: directory + "/prometheus", discovery: "http://127.0.0.1:1/sd")
        defer { prometheus.killNine() }

        for check in Self.cases {
            let (status, output) = try runCommand([
                builtProductsDirectory() + "/aviary", "analysis", "run", "-f", file, "--arg", "query=\(check.query)",
                "--arg", "address=\(prometheus.address)", "--state-dir", directory + "/state",
            ])
            #expect(status == check.status, "\(check.query):\n\(output)")
            for line in check.lines {
                #expect(output.contains(line), "\(check.query): no \"\(line)\" in:\n\(output)")
            }
        }
    }

    @Test func anUnreadableFileIsAnErrorThatNamesIt() throws {
        let missing = NSTemporaryDirectory() + "aviary-no-such-template-\(UUID().uuidString).yaml"
        let (status, output) = try runCommand([builtProductsDirectory() + "/aviary", "analysis", "run", "-f", missing])
        #expect(status == 2)
        #expect(output.contains("error: \(missing): cannot be read"), "\(output)")
    }
}

/// `aviary analysis run` with Argo's Datadog provider: the keys come from secrets.yaml (the entry
/// `datadog`, as Argo reads the Secret `datadog`), and a local server answers as Datadog's v2 API.
@Suite(.serialized) struct DatadogAnalysisRunCommandTests {
    @Test func aDatadogTemplateRunsWithTheKeysOfSecretsYaml() async throws {
        let datadog = try LoopbackServer { request in
            guard request.path == "/api/v2/query/scalar", request.headers["dd-api-key"] == "k1" else {
                return .respond(status: 403, body: #"{"errors":["Forbidden"]}"#)
            }
            return .respond(
                status: 200,
                body: #"{"data":{"type":"scalar_response","attributes":{"columns":[{"name":"a","type":"number","values":[0.01]}]}}}"#)
        }
        defer { datadog.stop() }
        let directory = NSTemporaryDirectory() + "aviary-datadog-run-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/state", withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/error-rate.yaml"
        try """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata:
              name: error-rate
            spec:
              args:
              - name: service
              metrics:
              - name: error-rate
                count: 2
                interval: 1s
                consecutiveErrorLimit: 0
                successCondition: default(result, 0) < 0.05
                provider:
                  datadog:
                    apiVersion: v2
                    interval: 5m
                    queries:
                      a: sum:trace.http.request.errors{service:{{args.service}}}.as_count()
                      b: sum:trace.http.request.hits{service:{{args.service}}}.as_count()
                    formula: a / b
            """.write(toFile: file, atomically: true, encoding: .utf8)
        func run(apiKey: String) throws -> (Int32, String) {
            try "datadog:\n  api-key: \(apiKey)\n  app-key: a1\n  address: \(datadog.url)\n".write(
                toFile: directory + "/state/secrets.yaml", atomically: true, encoding: .utf8)
            return try runCommand([
                builtProductsDirectory() + "/aviary", "analysis", "run", "-f", file, "--arg", "service=checkout",
                "--state-dir", directory + "/state",
            ])
        }
        // Without keys the measurement says where they are read from.
        let (missing, said) = try runCommand([
            builtProductsDirectory() + "/aviary", "analysis", "run", "-f", file, "--arg", "service=checkout",
            "--state-dir", directory + "/state",
        ])
        #expect(missing == 2, "\(said)")
        #expect(
            said.contains("failed to find the credentials for datadog metrics provider")
                && said.contains("Secrets are read from \(directory)/state/secrets.yaml"), "\(said)")
        let (status, output) = try run(apiKey: "k1")
        #expect(status == 0, "\(output)")
        #expect(output.contains("  error-rate  0.01  Successful"), "\(output)")
        #expect(output.contains("Phase: Successful"), "\(output)")
        let (refused, refusal) = try run(apiKey: "wrong")
        #expect(refused == 2, "\(refusal)")
        #expect(refusal.contains(#"received authentication error response code: 403 {"errors":["Forbidden"]}"#), "\(refusal)")
    }
}

/// `aviary analysis run` with one of Argo's metric plugins: the ConfigMap in the file (or in
/// `--argo-config`) lists the go-plugin binary, which is started for the run and stopped after it.
@Suite(.serialized, .enabled(if: GoPluginPeer.isRequired))
struct AnalysisRunPluginCommandTests {
    static func file(binary: String, phase: String, withConfigMap: Bool) -> String {
        let configMap =
            GoPluginPeer.argoConfigMap(binary: binary, args: ["--run-marker=\(UUID().uuidString)"]) + "\n---\n"
        return (withConfigMap ? configMap : "") + GoPluginPeer.analysisTemplate(phase: phase, value: "[0.97]")
    }

    @Test func thePluginMeasuresAndIsStoppedAfterTheRun() async throws {
        let binary = try GoPluginPeer.build(GoPluginPeer.metricPluginSource)
        let directory = NSTemporaryDirectory() + "aviary-analysis-plugin-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let file = directory + "/plugin.yaml"
        let text = Self.file(binary: binary, phase: "Successful", withConfigMap: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        let (status, output) = try runCommand([
            builtProductsDirectory() + "/aviary", "analysis", "run", "-f", file, "--state-dir", directory + "/state",
        ])
        #expect(status == 0, "\(output)")
        #expect(output.contains("  plugin-rate  [0.97]  Successful"), "\(output)")
        #expect(output.contains("measurements 2 (successful 2"), "\(output)")
        // The plugin process is gone with the command.
        let marker = String(try #require(text.split(separator: "\"").first { $0.hasPrefix("--run-marker=") }))
        let processes = try FileManager.default.contentsOfDirectory(atPath: "/proc").filter { Int($0) != nil }
        let alive = processes.filter { entry in
            FileManager.default.contents(atPath: "/proc/\(entry)/cmdline")
                .map { String(decoding: $0, as: UTF8.self).contains(marker) } ?? false
        }
        #expect(alive.isEmpty, "the plugin still runs: \(alive)")

        // The ConfigMap from --argo-config; a Failed measurement is exit status 1.
        let templateOnly = directory + "/template.yaml"
        try Self.file(binary: binary, phase: "Failed", withConfigMap: false)
            .write(toFile: templateOnly, atomically: true, encoding: .utf8)
        let (failed, failedOutput) = try runCommand([
            builtProductsDirectory() + "/aviary", "analysis", "run", "-f", templateOnly, "--argo-config", file,
            "--state-dir", directory + "/state",
        ])
        #expect(failed == 1, "\(failedOutput)")
        #expect(failedOutput.contains("  plugin-rate  [0.97]  Failed"), "\(failedOutput)")

        // Without the ConfigMap, the measurement's Error says where to list the plugin.
        let (unlisted, unlistedOutput) = try runCommand([
            builtProductsDirectory() + "/aviary", "analysis", "run", "-f", templateOnly,
            "--state-dir", directory + "/state",
        ])
        #expect(unlisted == 2, "\(unlistedOutput)")
        #expect(
            unlistedOutput.contains(
                "metric plugin aviary-test/peer is not configured: there is no ConfigMap argo-rollouts-config in "
                    + templateOnly),
            "\(unlistedOutput)")
    }
}
