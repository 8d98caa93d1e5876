import AviaryExpression
import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

@Suite("Early stop in the AnalysisRun state machine")
struct EarlyStopEngineTests {
    static let policy = """
        success-rate:
          errors: sum(errors{app="{{args.app}}"})
          total: sum(requests{app="{{args.app}}"})
          maxErrorRate: 0.05
          alpha: 0.01
          interval: 2s
        """

    /// The seed's metric shape: three measurements 10 s apart, one failure tolerated.
    func run(annotation: String = policy) -> AnalysisRun {
        var run = makeRun(
            """
            args:
            - name: app
              value: shop
            metrics:
            - name: success-rate
              interval: 10s
              count: 3
              failureLimit: 1
              successCondition: result[0] >= 0.95
              provider:
                prometheus:
                  address: http://127.0.0.1:9090
                  query: up
            """)
        run.metadata.annotations = [EarlyStop.annotation: annotation]
        return run
    }

    func counts(_ errors: Double, _ total: Double) -> ProviderOutcome {
        .value(.map(["errors": .float(errors), "total": .float(total)]), display: "")
    }

    @Test func looksComeEveryIntervalWithTheRunsArgumentsAndAStopFailsTheMetricAtOnce() throws {
        var run = run()
        let first = AnalysisRunEngine.reconcile(run, now: epoch)
        #expect(first.measurements.map(\.key) == ["success-rate"])
        #expect(first.nextReconcileAt == epoch.addingTimeInterval(2))
        run = AnalysisRunEngine.record(vector(0.97), for: first.measurements[0], in: first.run, now: epoch)

        let second = AnalysisRunEngine.reconcile(run, now: epoch.addingTimeInterval(2))
        let look = try #require(second.measurements.first)
        #expect(second.measurements.count == 1)
        #expect(look.key == "success-rate (early stop)")
        #expect(look.earlyStop?.errors == #"sum(errors{app="shop"})"#)
        #expect(look.earlyStop?.interval == 2)
        // While the look is in flight, no second one starts.
        #expect(AnalysisRunEngine.reconcile(second.run, now: epoch.addingTimeInterval(5)).measurements.isEmpty)

        run = AnalysisRunEngine.record(counts(3, 150), for: look, in: second.run, now: epoch.addingTimeInterval(2.1))
        let result = try #require(run.status?.metricResults?.first)
        #expect(result.phase == .running)
        #expect(result.metadata?["aviary.dev/early-stop"] == "3 errors in 150 requests, likelihood ratio 0.0498 < 100")

        let third = AnalysisRunEngine.reconcile(run, now: epoch.addingTimeInterval(4.1))
        let secondLook = try #require(third.measurements.first)
        run = AnalysisRunEngine.record(
            counts(60, 300), for: secondLook, in: third.run, now: epoch.addingTimeInterval(4.2))
        #expect(run.status?.phase == .failed)
        #expect(run.status?.metricResults?.first?.phase == .failed)
        let message = try #require(run.status?.message)
        #expect(
            message.hasPrefix(
                "Metric \"success-rate\" assessed Failed due to earlyStop: the error rate is above 0.05 (α 0.01): "
                    + "60 errors in 300 requests, likelihood ratio"), "\(message)")
        // Four seconds in, where the fixed rule had taken one measurement of three.
        #expect(run.status?.metricResults?.first?.count == 1)
    }

    @Test func looksStartBeforeTheInitialDelayAndCanStopTheMetricBeforeItsFirstMeasurement() throws {
        var delayed = run()
        delayed.spec.metrics[0].initialDelay = try ArgoDuration("12s")
        let first = AnalysisRunEngine.reconcile(delayed, now: epoch)
        #expect(first.measurements.isEmpty)
        #expect(first.nextReconcileAt == epoch.addingTimeInterval(2))
        let second = AnalysisRunEngine.reconcile(first.run, now: epoch.addingTimeInterval(2))
        #expect(second.measurements.map(\.key) == ["success-rate (early stop)"])
        let stopped = AnalysisRunEngine.record(
            counts(12, 50), for: second.measurements[0], in: second.run, now: epoch.addingTimeInterval(2))
        #expect(stopped.status?.phase == .failed)
        #expect(stopped.status?.metricResults?.first?.measurements == nil)
    }

    @Test func aLookThatFailsIsNotEvidenceAndTheNextOneComes() throws {
        let first = AnalysisRunEngine.reconcile(run(), now: epoch)
        var current = AnalysisRunEngine.record(vector(0.97), for: first.measurements[0], in: first.run, now: epoch)
        let second = AnalysisRunEngine.reconcile(current, now: epoch.addingTimeInterval(2))
        current = AnalysisRunEngine.record(
            .error("connection refused"), for: second.measurements[0], in: second.run, now: epoch.addingTimeInterval(2))
        #expect(current.status?.phase == .running)
        #expect(
            current.status?.metricResults?.first?.metadata?["aviary.dev/early-stop"]
                == "look failed: connection refused")
        #expect(AnalysisRunEngine.reconcile(current, now: epoch.addingTimeInterval(4)).measurements.count == 1)
    }

    @Test func aRunTakenOverAfterARestartLooksAgain() throws {
        let first = AnalysisRunEngine.reconcile(run(), now: epoch)
        let measured = AnalysisRunEngine.record(vector(0.97), for: first.measurements[0], in: first.run, now: epoch)
        let looking = AnalysisRunEngine.reconcile(measured, now: epoch.addingTimeInterval(2)).run
        #expect(AnalysisRunEngine.reconcile(looking, now: epoch.addingTimeInterval(9)).measurements.isEmpty)
        let adopted = AnalysisRunEngine.abandonInFlightMeasurements(looking)
        #expect(
            AnalysisRunEngine.reconcile(adopted, now: epoch.addingTimeInterval(9)).measurements.map(\.key) == [
                "success-rate (early stop)"
            ])
    }

    @Test func aHealthyRunEndsAsTheFixedRuleSays() {
        var simulation = Simulation(run(), ["success-rate": [vector(0.97)]])
        let ended = simulation.runToEnd()
        #expect(ended.status?.phase == .successful)
    }

    struct Bad: Sendable, CustomStringConvertible {
        var annotation: String
        var message: String
        var description: String { message }
    }

    @Test(
        arguments: [
            Bad(
                annotation: "[1, 2]",
                message:
                    "aviary.dev/early-stop: must be a mapping from metric name to policy (errors, total, maxErrorRate)"),
            Bad(
                annotation: "other: {errors: a, total: b, maxErrorRate: 0.1}",
                message: "aviary.dev/early-stop: other: names no metric of the run"),
            Bad(
                annotation: "success-rate: {total: b, maxErrorRate: 0.1}",
                message:
                    "aviary.dev/early-stop: success-rate.errors: is required: the PromQL query of the canary's error count so far"
            ),
            Bad(
                annotation: "success-rate: {errors: a, total: b}",
                message:
                    "aviary.dev/early-stop: success-rate.maxErrorRate: is required: the error rate a healthy canary stays under, e.g. 0.05"
            ),
            Bad(
                annotation: "success-rate: {errors: a, total: b, maxErrorRate: 5}",
                message:
                    "aviary.dev/early-stop: success-rate.maxErrorRate: \"5\" is not a rate between 0 and 1, e.g. 0.05"),
            Bad(
                annotation: "success-rate: {errors: a, total: b, maxErrorRate: 0.1, interval: soon}",
                message: "aviary.dev/early-stop: success-rate.interval: \"soon\" is not a duration: use e.g. 2s or 10s"),
            Bad(
                annotation: "success-rate: {errors: a, total: b, maxErrorRate: 0.1, beta: 1}",
                message:
                    "aviary.dev/early-stop: success-rate.beta: is not a policy field: use one of errors, total, maxErrorRate, alpha, interval, address"
            ),
        ])
    func aBadPolicyEndsTheRunInErrorNamingTheField(_ bad: Bad) {
        let reconciled = AnalysisRunEngine.reconcile(run(annotation: bad.annotation), now: epoch)
        #expect(reconciled.run.status?.phase == .error)
        #expect(reconciled.run.status?.message == "Analysis spec invalid: " + bad.message)
    }

    @Test func templatesCarryTheirPoliciesIntoTheRun() throws {
        let yaml = { (name: String, metric: String, annotation: String) in
            """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata:
              name: \(name)
              annotations:
                aviary.dev/early-stop: |
            \(annotation.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
            spec:
              metrics:
              - name: \(metric)
                provider:
                  prometheus: {address: "http://p", query: up}
            """
        }
        let decoded = ManifestDecoder().decode(
            yaml("a", "one", "one: {errors: e1, total: t1, maxErrorRate: 0.05}") + "\n---\n"
                + yaml("b", "two", "two: {errors: e2, total: t2, maxErrorRate: 0.1}"), file: "t.yaml")
        let run = try AnalysisTemplateResolver.makeRun(
            name: "r", references: [AnalysisTemplateRef(templateName: "a"), AnalysisTemplateRef(templateName: "b")],
            catalog: AnalysisTemplateCatalog(resources: decoded.resources))
        let annotation = try #require(run.metadata.annotations?[EarlyStop.annotation])
        let policies = try EarlyStop.policies(annotation, args: [:])
        #expect(policies.keys.sorted() == ["one", "two"])
        #expect(policies["two"]?.maxErrorRate == 0.1)
    }
}
