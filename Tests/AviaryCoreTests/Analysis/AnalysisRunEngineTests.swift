import AviaryExpression
import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

private let prometheus = """
    provider:
      prometheus:
        address: http://127.0.0.1:9090
        query: up
    """

/// One metric named `m` with the given fields, and the Prometheus provider.
private func metricSpec(_ fields: String, name: String = "m") -> String {
    "- name: \(name)\n" + (fields + "\n" + prometheus).split(separator: "\n").map { "  " + $0 }.joined(separator: "\n")
}

@Suite("AnalysisRun state machine")
struct AnalysisRunEngineTests {
    struct Case: Sendable, CustomStringConvertible {
        var name: String
        var fields: String
        var outcomes: [ProviderOutcome]
        var phase: AnalysisPhase
        var times: [Double]
        var message: String? = nil
        var description: String { name }
    }

    static let error = ProviderOutcome.error("Get \"http://127.0.0.1:9090/api/v1/query\": connect: connection refused")

    static let cases: [Case] = [
        Case(
            name: "neither count nor interval: one measurement", fields: "successCondition: result[0] >= 0.95",
            outcomes: [vector(0.97)], phase: .successful, times: [0]),
        Case(
            name: "count without interval is one measurement when count is 1",
            fields: "count: 1\nsuccessCondition: result[0] >= 0.95", outcomes: [vector(0.97)], phase: .successful,
            times: [0]),
        Case(
            name: "count with interval", fields: "count: 3\ninterval: 1m\nsuccessCondition: result[0] >= 0.95",
            outcomes: [vector(0.97)], phase: .successful, times: [0, 60, 120]),
        Case(
            name: "initialDelay postpones the first measurement",
            fields: "count: 2\ninterval: 10s\ninitialDelay: 30s\nsuccessCondition: result[0] >= 0.95",
            outcomes: [vector(0.97)], phase: .successful, times: [30, 40]),
        Case(
            name: "failureLimit 0: the first failure fails the metric",
            fields: "count: 3\ninterval: 10s\nsuccessCondition: result[0] >= 0.95",
            outcomes: [vector(0.97), vector(0.8)],
            phase: .failed, times: [0, 10],
            message: "Metric \"m\" assessed Failed due to failed (1) > failureLimit (0)"),
        Case(
            name: "failureLimit 1 tolerates one failure",
            fields: "count: 3\ninterval: 10s\nfailureLimit: 1\nsuccessCondition: result[0] >= 0.95",
            outcomes: [vector(0.8), vector(0.97)], phase: .successful, times: [0, 10, 20]),
        Case(
            name: "failureLimit 1, two failures",
            fields: "count: 5\ninterval: 10s\nfailureLimit: 1\nsuccessCondition: result[0] >= 0.95",
            outcomes: [vector(0.8), vector(0.97), vector(0.8)], phase: .failed, times: [0, 10, 20],
            message: "Metric \"m\" assessed Failed due to failed (2) > failureLimit (1)"),
        Case(
            name: "failureLimit -1 disables failures; consecutiveSuccessLimit ends it",
            fields:
                "interval: 10s\nfailureLimit: -1\nconsecutiveSuccessLimit: 2\nsuccessCondition: result[0] >= 0.95",
            outcomes: [vector(0.8), vector(0.8), vector(0.97), vector(0.8), vector(0.97), vector(0.97)],
            phase: .successful, times: [0, 10, 20, 30, 40, 50]),
        Case(
            name: "count reached without the success streak, failures under the limit: Inconclusive",
            fields:
                "count: 4\ninterval: 10s\nfailureLimit: 2\nconsecutiveSuccessLimit: 2\nsuccessCondition: result[0] >= 0.95",
            outcomes: [vector(0.97), vector(0.8), vector(0.97), vector(0.8)], phase: .inconclusive,
            times: [0, 10, 20, 30]),
        Case(
            name: "inconclusiveLimit 0: one inconclusive measurement",
            fields: "count: 3\ninterval: 10s\nsuccessCondition: result[0] >= 0.95\nfailureCondition: result[0] < 0.9",
            outcomes: [vector(0.92)], phase: .inconclusive, times: [0],
            message: "Metric \"m\" assessed Inconclusive due to inconclusive (1) > inconclusiveLimit (0)"),
        Case(
            name: "consecutiveErrorLimit defaults to 4: Error on the 5th error in a row, retried every 10 s",
            fields: "interval: 1m\nsuccessCondition: result[0] >= 0.95", outcomes: [error], phase: .error,
            times: [0, 10, 20, 30, 40],
            message:
                "Metric \"m\" assessed Error due to consecutiveErrors (5) > consecutiveErrorLimit (4): \"Error Message: Get \"http://127.0.0.1:9090/api/v1/query\": connect: connection refused\""
        ),
        Case(
            name: "a success resets the error streak",
            fields: "count: 7\ninterval: 1m\nsuccessCondition: result[0] >= 0.95",
            outcomes: [error, error, error, error, vector(0.97), error, error, vector(0.97)],
            phase: .running, times: [0, 10, 20, 30, 40, 100, 110, 120, 180, 240, 300, 360]),
        Case(
            name: "consecutiveErrorLimit 0: the first error ends the metric",
            fields: "consecutiveErrorLimit: 0\nsuccessCondition: result[0] >= 0.95", outcomes: [error], phase: .error,
            times: [0]),
        Case(
            name: "empty result with result[0] is an Error measurement",
            fields: "consecutiveErrorLimit: 0\nsuccessCondition: result[0] >= 0.95", outcomes: [vector()],
            phase: .error, times: [0]),
        Case(
            name: "NaN with result[0] >= 0.95 fails",
            fields: "successCondition: result[0] >= 0.95", outcomes: [vector(.nan)], phase: .failed, times: [0]),
        Case(
            name: "isNaN guard passes NaN",
            fields: "successCondition: isNaN(result[0]) || result[0] >= 0.95", outcomes: [vector(.nan)],
            phase: .successful, times: [0]),
        Case(
            name: "count > 1 without interval is invalid",
            fields: "count: 3\nsuccessCondition: result[0] >= 0.95", outcomes: [vector(0.97)], phase: .error,
            times: [], message: "Analysis spec invalid: metrics[0]: interval must be specified when count > 1"),
    ]

    @Test(arguments: cases)
    func metricRules(_ testCase: Case) {
        var simulation = Simulation(makeRun("metrics:\n" + metricSpec(testCase.fields)), ["m": testCase.outcomes])
        let run = simulation.runToEnd(limit: 400)
        #expect(run.phase == testCase.phase)
        #expect(simulation.times(of: "m") == testCase.times)
        if let message = testCase.message { #expect(run.status?.message == message) }
    }

    @Test func countsAndSummary() {
        var simulation = Simulation(
            makeRun(
                "metrics:\n"
                    + metricSpec("count: 3\ninterval: 10s\nfailureLimit: 1\nsuccessCondition: result[0] >= 0.95")),
            ["m": [vector(0.8), Self.error, vector(0.97), vector(0.97)]])
        let run = simulation.runToEnd()
        let result = run.result("m")
        #expect(run.phase == .successful)
        #expect(result?.count == 3)
        #expect(result?.successful == 2)
        #expect(result?.failed == 1)
        #expect(result?.error == 1)
        #expect(result?.consecutiveError == 0)
        #expect(result?.measurements?.map(\.phase) == [.failed, .error, .successful, .successful])
        #expect(result?.measurements?.first?.value == "[0.8]")
        #expect(run.status?.runSummary == RunSummary(count: 1, successful: 1, failed: 0, inconclusive: 0, error: 0))
        #expect(run.status?.startedAt == "2027-01-15T08:00:00Z")
        #expect(run.status?.completedAt == "2027-01-15T08:00:30Z")
    }

    @Test func indefiniteMetricRunsUntilTerminated() {
        var simulation = Simulation(
            makeRun("metrics:\n" + metricSpec("interval: 10s\nsuccessCondition: result[0] >= 0.95")),
            ["m": [vector(0.97)]])
        simulation.terminateAt = 35
        let run = simulation.runToEnd()
        #expect(simulation.times(of: "m") == [0, 10, 20, 30])
        #expect(run.phase == .successful)
        #expect(run.status?.message == "Run Terminated")
        #expect(run.result("m")?.phase == .successful)
    }

    @Test func terminatedBeforeAnyMeasurementIsSuccessful() {
        var run = makeRun("metrics:\n" + metricSpec("initialDelay: 1m\nsuccessCondition: result[0] >= 0.95"))
        run = AnalysisRunEngine.reconcile(run, now: epoch).run
        #expect(run.phase == .running)
        run = AnalysisRunEngine.terminate(run)
        run = AnalysisRunEngine.reconcile(run, now: epoch.addingTimeInterval(5)).run
        #expect(run.phase == .successful)
        #expect(run.status?.metricResults?.isEmpty == true)
    }

    @Test func failedMetricTerminatesTheOthers() {
        let spec =
            "metrics:\n" + metricSpec("interval: 10s\nsuccessCondition: result[0] >= 0.95", name: "forever") + "\n"
            + metricSpec("count: 5\ninterval: 15s\nsuccessCondition: result[0] >= 0.95", name: "bad")
        var simulation = Simulation(makeRun(spec), ["forever": [vector(0.97)], "bad": [vector(0.97), vector(0.5)]])
        let run = simulation.runToEnd()
        #expect(run.phase == .failed)
        #expect(simulation.times(of: "bad") == [0, 15])
        #expect(simulation.times(of: "forever") == [0, 10])
        #expect(run.result("forever")?.phase == .successful)
        #expect(run.status?.message == "Metric \"bad\" assessed Failed due to failed (1) > failureLimit (0)")
        #expect(run.status?.runSummary == RunSummary(count: 2, successful: 1, failed: 1, inconclusive: 0, error: 0))
    }

    @Test func worstPhaseWins() {
        // Both metrics end in the same reconcile: Failed is worse than Error.
        let spec =
            "metrics:\n" + metricSpec("consecutiveErrorLimit: 0\nsuccessCondition: result[0] >= 0.95", name: "errs")
            + "\n" + metricSpec("successCondition: result[0] >= 0.95", name: "fails")
        var simulation = Simulation(makeRun(spec), ["errs": [Self.error], "fails": [vector(0.1)]])
        let run = simulation.runToEnd()
        #expect(run.phase == .failed)
        #expect(run.result("errs")?.phase == .error)
        #expect(run.result("fails")?.phase == .failed)
        #expect(AnalysisRunEngine.isWorse(.failed, than: .error))
        #expect(AnalysisRunEngine.isWorse(.error, than: .inconclusive))
        #expect(AnalysisRunEngine.isWorse(.inconclusive, than: .pending))
        #expect(AnalysisRunEngine.isWorse(.pending, than: .running))
        #expect(AnalysisRunEngine.isWorse(.running, than: .successful))
    }

    @Test func dryRunMetricsAreMeasuredButDoNotDecide() {
        let spec =
            "dryRun:\n- metricName: experimental\nmetrics:\n"
            + metricSpec("count: 2\ninterval: 10s\nsuccessCondition: result[0] >= 0.95", name: "good") + "\n"
            + metricSpec("successCondition: result[0] >= 0.95", name: "experimental")
        var simulation = Simulation(makeRun(spec), ["good": [vector(0.97)], "experimental": [vector(0.1)]])
        let run = simulation.runToEnd()
        #expect(run.phase == .successful)
        #expect(simulation.times(of: "good") == [0, 10])
        let dry = run.result("experimental")
        #expect(dry?.dryRun == true)
        #expect(dry?.phase == .failed)
        #expect(dry?.message == "Metric assessed Failed due to failed (1) > failureLimit (0)")
        #expect(run.status?.runSummary == RunSummary(count: 1, successful: 1, failed: 0, inconclusive: 0, error: 0))
        #expect(run.status?.dryRunSummary == RunSummary(count: 1, successful: 0, failed: 1, inconclusive: 0, error: 0))
    }

    @Test func dryRunRuleMustMatch() {
        let spec = "dryRun:\n- metricName: nothing-like-this\nmetrics:\n" + metricSpec("successCondition: 'true'")
        let run = AnalysisRunEngine.reconcile(makeRun(spec), now: epoch).run
        #expect(run.phase == .error)
        #expect(run.status?.message == "Analysis spec invalid: dryRun[0]: Rule didn't match any metric name(s)")
    }

    @Test(arguments: [(nil as Int?, 10), (3, 3), (20, 12)])
    func measurementRetention(limit: Int?, kept: Int) {
        let retention = limit.map { "measurementRetention:\n- metricName: m\n  limit: \($0)\n" } ?? ""
        var simulation = Simulation(
            makeRun(retention + "metrics:\n" + metricSpec("interval: 10s\nsuccessCondition: result[0] >= 0.95")),
            ["m": [vector(0.97)]])
        simulation.terminateAt = 115
        let run = simulation.runToEnd()
        #expect(run.result("m")?.count == 12)
        #expect(run.result("m")?.measurements?.count == kept)
        #expect(run.result("m")?.measurements?.last?.finishedAt == "2027-01-15T08:01:50Z")
    }

    @Test func nextReconcileFollowsIntervalAndErrorRetry() {
        var run = makeRun("metrics:\n" + metricSpec("interval: 5m\nsuccessCondition: result[0] >= 0.95"))
        var step = AnalysisRunEngine.reconcile(run, now: epoch)
        #expect(step.measurements.map(\.metricName) == ["m"])
        #expect(step.nextReconcileAt == nil)  // only a measurement in flight
        #expect(step.run.result("m")?.phase == .running)
        run = AnalysisRunEngine.record(
            Self.error, for: step.measurements[0], in: step.run, now: epoch.addingTimeInterval(2))
        step = AnalysisRunEngine.reconcile(run, now: epoch.addingTimeInterval(2))
        #expect(step.measurements.isEmpty)
        #expect(step.nextReconcileAt == epoch.addingTimeInterval(12))
        step = AnalysisRunEngine.reconcile(step.run, now: epoch.addingTimeInterval(12))
        run = AnalysisRunEngine.record(
            vector(1), for: step.measurements[0], in: step.run, now: epoch.addingTimeInterval(13))
        step = AnalysisRunEngine.reconcile(run, now: epoch.addingTimeInterval(13))
        #expect(step.nextReconcileAt == epoch.addingTimeInterval(313))
    }

    @Test func staleOutcomeAfterTerminationChangesNothing() {
        var step = AnalysisRunEngine.reconcile(
            makeRun("metrics:\n" + metricSpec("interval: 10s\nsuccessCondition: result[0] >= 0.95")), now: epoch)
        let request = step.measurements[0]
        step = AnalysisRunEngine.reconcile(AnalysisRunEngine.terminate(step.run), now: epoch.addingTimeInterval(1))
        #expect(step.run.phase == .successful)
        #expect(step.run.result("m")?.measurements?.isEmpty == true)
        let after = AnalysisRunEngine.record(vector(0.1), for: request, in: step.run, now: epoch.addingTimeInterval(2))
        #expect(after == step.run)
    }

    @Test func adoptedRunRetakesMeasurementsThatWereInFlight() {
        let spec = "metrics:\n" + metricSpec("count: 2\ninterval: 10s\nsuccessCondition: result[0] >= 0.95")
        let step = AnalysisRunEngine.reconcile(makeRun(spec), now: epoch)
        #expect(AnalysisRunEngine.reconcile(step.run, now: epoch.addingTimeInterval(60)).measurements.isEmpty)
        let adopted = AnalysisRunEngine.abandonInFlightMeasurements(step.run)
        #expect(adopted.result("m")?.measurements?.isEmpty == true)
        let again = AnalysisRunEngine.reconcile(adopted, now: epoch.addingTimeInterval(60))
        #expect(again.measurements.map(\.metricName) == ["m"])
    }

    @Test func argumentsAreSubstitutedAndSecretsRedacted() {
        let spec = """
            args:
            - name: service
              value: checkout
            - name: token
              valueFrom:
                secretKeyRef:
                  name: prometheus
                  key: token
            metrics:
            - name: m
              successCondition: result[0] >= 0.95
              provider:
                prometheus:
                  address: http://127.0.0.1:9090
                  query: sum(rate(x{service="{{args.service}}"}[1m]))
                  headers:
                  - key: Authorization
                    value: Bearer {{ args.token }}
            """
        let secrets = SecretStore(["prometheus": ["token": "s3cr3t-value"]])
        let step = AnalysisRunEngine.reconcile(makeRun(spec), secrets: secrets, now: epoch)
        let request = step.measurements[0]
        #expect(request.metric.provider.prometheus?.query == "sum(rate(x{service=\"checkout\"}[1m]))")
        #expect(request.metric.provider.prometheus?.headers?.first?.value == "Bearer s3cr3t-value")
        #expect(request.redactions == ["s3cr3t-value"])
        let run = AnalysisRunEngine.record(
            .error("401 Unauthorized for token s3cr3t-value"), for: request, in: step.run, now: epoch)
        #expect(run.result("m")?.measurements?.last?.message == "401 Unauthorized for token *****")
        // The run's own spec keeps the reference, never the value.
        #expect(!String(describing: run).contains("s3cr3t-value"))
    }

    @Test(arguments: [
        ("args:\n- name: service\n", "Unable to resolve metric arguments: args.service was not resolved"),
        (
            "args:\n- name: token\n  valueFrom:\n    secretKeyRef:\n      name: missing\n      key: token\n",
            "Unable to resolve metric arguments: secret \"missing\" has no key \"token\" (add it to secrets.yaml in the state directory)"
        ),
        ("", "Unable to resolve metric arguments: metric \"m\": unresolved template tag {{args.service}}"),
    ])
    func unresolvableArgumentsEndTheRunInError(args: String, message: String) {
        let spec =
            args
            + "metrics:\n- name: m\n  provider:\n    prometheus:\n      address: http://x\n      query: up{s=\"{{args.service}}\"}"
        let run = AnalysisRunEngine.reconcile(makeRun(spec), now: epoch).run
        #expect(run.phase == .error)
        #expect(run.status?.message?.hasPrefix(message) == true)
    }

    @Test(arguments: [
        ("failureLimit: -2", "failureLimit must be >= 0, or -1 to be disabled"),
        ("failureLimit: -1", "failureLimit and consecutiveSuccessLimit cannot both be disabled"),
        (
            "count: 2\ninterval: 1s\nfailureLimit: 3",
            "count (2) must be >= failureLimit + consecutiveSuccessLimit (3 + 0) if both >= 0"
        ),
        ("inconclusiveLimit: -1", "inconclusiveLimit must be >= 0"),
    ])
    func invalidMetrics(fields: String, problem: String) {
        let run = AnalysisRunEngine.reconcile(makeRun("metrics:\n" + metricSpec(fields)), now: epoch).run
        #expect(run.phase == .error)
        #expect(run.status?.message == "Analysis spec invalid: metrics[0]: \(problem)")
    }

    @Test func completedRunIsLeftAlone() {
        var simulation = Simulation(makeRun("metrics:\n" + metricSpec("successCondition: 'true'")), [:])
        let run = simulation.runToEnd()
        let again = AnalysisRunEngine.reconcile(run, now: epoch.addingTimeInterval(999))
        #expect(again.run == run)
        #expect(again.measurements.isEmpty)
        #expect(again.nextReconcileAt == nil)
    }

    @Test(arguments: ["2027-01-15T08:00:00Z", "2027-01-15T08:00:00.250Z", "1999-12-31T23:59:59Z"])
    func timestampsRoundTrip(text: String) {
        let date = RFC3339.parse(text)
        #expect(date != nil)
        #expect(date.map { RFC3339.format($0, milliseconds: true) } == text)
        #expect(RFC3339.parse("2027-01-15T09:00:00+01:00") == RFC3339.parse("2027-01-15T08:00:00Z"))
    }
}
