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
