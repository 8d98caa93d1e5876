import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

/// `interval`, `initialDelay`, `count` and the limits may be `{{args.x}}`: resolved when the run
/// is made, as Argo does, and checked then.
@Suite struct TemplatedMetricFieldTests {
    static func run(interval: String) throws -> AnalysisRun {
        let yaml = """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisRun
            metadata: {name: r}
            spec:
              args:
              - {name: interval, value: "\(interval)"}
              - {name: count, value: "3"}
              metrics:
              - name: rate
                interval: "{{args.interval}}"
                initialDelay: "{{args.interval}}"
                count: "{{args.count}}"
                failureLimit: "{{args.count}}"
                successCondition: result > 0
                provider:
                  web: {url: "http://127.0.0.1:1/"}
            """
        let resources = try ManifestDecoder().resources(from: yaml)
        guard case .analysisRun(let run) = resources.first else { throw CancellationError() }
        return run
    }

    @Test func theRunResolvesTemplatedDurationsAndCounts() throws {
        let context = try RunContext.make(try Self.run(interval: "45s"), secrets: nil).get()
        let metric = try #require(context.metrics.first)
        #expect(metric.interval?.seconds == 45)
        #expect(metric.initialDelay?.seconds == 45)
        #expect(metric.countValue == 3)
        #expect(metric.failureLimitOrDefault == 3)
    }

    @Test func aValueThatIsNotADurationFailsTheRunNamingTheMetric() throws {
        guard case .failure(let error) = RunContext.make(try Self.run(interval: "soon"), secrets: nil) else {
            Issue.record("an interval of \"soon\" must not resolve")
            return
        }
        #expect(error.message.contains(#"metric "rate""#), "\(error.message)")
        #expect(error.message.contains(#"invalid duration "soon""#), "\(error.message)")
    }
}
