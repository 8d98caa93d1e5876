// Evaluations per second of typical Argo Rollouts conditions, parsed once and evaluated many
// times over a Prometheus-shaped result (an array of floats). Built and run by bench/expr/run.
import AviaryExpression
import Foundation

let conditions = [
    "result[0] >= 0.95",
    "len(result) > 0 && all(result, {# < 1000})",
]
let environment: [String: ExprValue] = ["result": .array([0.97, 0.99, 0.98, 12.5, 0.5].map { .float($0) })]
let seconds = Double(CommandLine.arguments.dropFirst().first ?? "") ?? 2.0

for source in conditions {
    let expression = try Expression(source)
    var evaluations = 0
    var passed = 0
    let clock = ContinuousClock()
    let start = clock.now
    let deadline = start.advanced(by: .seconds(seconds))
    while clock.now < deadline {
        for _ in 0..<1000 where try expression.evaluateCondition(environment) {
            passed += 1
        }
        evaluations += 1000
    }
    let elapsed = start.duration(to: clock.now)
    let perSecond =
        Double(evaluations) / (Double(elapsed.components.seconds) + Double(elapsed.components.attoseconds) * 1e-18)
    precondition(passed == evaluations, "\(source) should hold for the fixture")
    print("\(source): \(Int(perSecond)) evaluations/s")
}
