import AviaryCore
import AviaryModel
import Testing

@testable import AviaryMetrics

@Suite("aviary analysis run: preparing and reporting")
struct AdHocAnalysisTests {
    static let file = """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata:
          name: success-rate
        spec:
          args:
          - name: service
          - name: threshold
            value: "0.95"
          metrics:
          - name: success-rate
            successCondition: result[0] >= {{args.threshold}}
            provider:
              prometheus:
                address: http://127.0.0.1:9090
                query: up{service="{{args.service}}"}
        """

    @Test func argumentsParse() throws {
        #expect(try AdHocAnalysis.parseArgument("query=a=b") == Argument(name: "query", value: "a=b"))
        #expect(throws: AdHocAnalysisError.self) { try AdHocAnalysis.parseArgument("novalue") }
        #expect(throws: AdHocAnalysisError.self) { try AdHocAnalysis.parseArgument("=x") }
    }

    @Test func templateBecomesARun() throws {
        let run = try AdHocAnalysis.makeRun(
            text: Self.file, file: "t.yaml", args: [Argument(name: "service", value: "checkout")])
        #expect(run.metadata.name == "success-rate-adhoc")
        #expect(run.spec.args?.first == Argument(name: "service", value: "checkout"))
    }

    @Test func missingArgumentSaysHowToSupplyIt() {
        #expect(
            throws: AdHocAnalysisError(
                description:
                    "t.yaml: args.service was not resolved: supply it (e.g. --arg service=VALUE) or give it a value in the template"
            )
        ) { try AdHocAnalysis.makeRun(text: Self.file, file: "t.yaml", args: []) }
    }

    @Test func prometheusAddressFlagStandsInForAMissingAddress() throws {
        let withoutAddress = Self.file.replacingOccurrences(of: "        address: http://127.0.0.1:9090\n", with: "")
        let arguments = [Argument(name: "service", value: "checkout")]
        let refusal = #expect(throws: AdHocAnalysisError.self) {
            try AdHocAnalysis.makeRun(text: withoutAddress, file: "t.yaml", args: arguments)
        }
        #expect(refusal?.description.contains("prometheus.address") == true)
        let run = try AdHocAnalysis.makeRun(
            text: withoutAddress, file: "t.yaml", args: arguments, defaultPrometheusAddress: "http://127.0.0.1:9090")
        #expect(run.metadata.name == "success-rate-adhoc")
    }

    @Test func unknownTemplateNameListsTheChoices() {
        #expect(
            throws: AdHocAnalysisError(description: "t.yaml: no template named \"x\" (the file has: success-rate)")
        ) { try AdHocAnalysis.makeRun(text: Self.file, file: "t.yaml", templateName: "x", args: []) }
    }

    @Test(arguments: [
        (AnalysisPhase.successful, Int32(0)), (.failed, 1), (.error, 2), (.inconclusive, 3), (.running, 2),
    ])
    func exitCodes(phase: AnalysisPhase, code: Int32) {
        #expect(AdHocAnalysis.exitCode(for: phase) == code)
    }

    @Test func measurementLine() {
        var measurement = AviaryModel.Measurement(phase: .failed, value: "[0.8]")
        measurement.finishedAt = "2026-11-28T12:00:05.250Z"
        #expect(
            AdHocAnalysis.line(metric: "success-rate", measurement: measurement)
                == "12:00:05  success-rate  [0.8]  Failed")
        measurement.phase = .error
        measurement.value = nil
        measurement.message = "connect: connection refused"
        #expect(
            AdHocAnalysis.line(metric: "m", measurement: measurement)
                == "12:00:05  m  -  Error  connect: connection refused")
    }
}
