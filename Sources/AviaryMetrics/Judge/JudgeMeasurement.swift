import AviaryCore
import AviaryModel
import Foundation

/// The `aviary.dev/judge` metric plugin: two range queries per judged metric (canary and
/// baseline, over the same window ending now), then the canary judge on their points.
struct JudgeMeasurement {
    var spec: JudgeSpec
    var address: String
    var now: Date

    /// The queries of every metric side, run at once; the first that fails makes the measurement an Error.
    func measure() async -> ProviderOutcome {
        let range = PrometheusQuery.Range(
            start: now.addingTimeInterval(-spec.lookback), end: now, stepSeconds: spec.step)
        let queries = spec.metrics.flatMap { metric in
            [(metric.name, "canary", metric.canary), (metric.name, "baseline", metric.baseline)]
        }
        let results = await withTaskGroup(of: (Int, Result<[Double], QueryFailure>).self) { group in
            for (index, (_, _, text)) in queries.enumerated() {
                let query = PrometheusQuery(
                    address: address, query: text, range: range, headers: spec.headers.map { ($0.name, $0.value) },
                    timeout: .seconds(spec.timeoutSeconds), insecure: spec.insecure)
                group.addTask {
                    do {
                        let (result, _) = try await PrometheusClient.run(query)
                        return (index, .success(result.values ?? []))
                    } catch {
                        return (index, .failure(QueryFailure(description: "\(error)")))
                    }
                }
            }
            var results = [Result<[Double], QueryFailure>?](repeating: nil, count: queries.count)
            for await (index, result) in group { results[index] = result }
            return results
        }
        var samples: [String: (canary: [Double], baseline: [Double])] = [:]
        for (index, (name, side, _)) in queries.enumerated() {
            switch results[index]! {
            case .failure(let error):
                return .error("\(judgePluginName) metric \(name), \(side) query: \(error.description)")
            case .success(let values):
                if side == "canary" {
                    samples[name, default: ([], [])].canary = values
                } else {
                    samples[name, default: ([], [])].baseline = values
                }
            }
        }
        let report = CanaryJudge.judge(spec, samples: samples)
        return .phase(report.phase, display: report.json, message: report.summary)
    }
}

/// Why one of the judge's queries failed, as the Prometheus client said it.
struct QueryFailure: Error {
    var description: String
}
