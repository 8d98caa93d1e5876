import AviaryExpression
import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

@Suite("Measurement phase from conditions")
struct MeasurementAssessmentTests {
    struct Case: Sendable, CustomStringConvertible {
        var success: String?
        var failure: String?
        var result: ExprValue
        var phase: AnalysisPhase
        var message: String? = nil
        var description: String { "\(success ?? "-") / \(failure ?? "-") with \(result) -> \(phase.rawValue)" }
    }

    static let cases: [Case] = [
        Case(success: nil, failure: nil, result: [0.1], phase: .successful),
        Case(success: "result[0] >= 0.95", failure: nil, result: [0.97], phase: .successful),
        Case(success: "result[0] >= 0.95", failure: nil, result: [0.8], phase: .failed),
        // NaN compares false: the seed's condition fails on a 0/0 ratio.
        Case(success: "result[0] >= 0.95", failure: nil, result: [.float(.nan)], phase: .failed),
        Case(success: "result[0] >= 0.95", failure: nil, result: [.float(.infinity)], phase: .successful),
        Case(
            success: "isNaN(result[0]) || result[0] >= 0.95", failure: nil, result: [.float(.nan)], phase: .successful),
        Case(
            success: "result[0] >= 0.95", failure: nil, result: [], phase: .error,
            message:
                "could not evaluate successCondition \"result[0] >= 0.95\": metric result is nil or empty: no data returned from the metric provider"
        ),
        Case(success: "len(result) == 0 || result[0] >= 0.95", failure: nil, result: [], phase: .successful),
        Case(success: nil, failure: "result[0] < 0.9", result: [0.8], phase: .failed),
        Case(success: nil, failure: "result[0] < 0.9", result: [0.95], phase: .successful),
        Case(success: "result[0] >= 0.95", failure: "result[0] < 0.9", result: [0.97], phase: .successful),
        Case(success: "result[0] >= 0.95", failure: "result[0] < 0.9", result: [0.8], phase: .failed),
        Case(success: "result[0] >= 0.95", failure: "result[0] < 0.9", result: [0.92], phase: .inconclusive),
        // A failure condition that holds wins over a success condition that holds.
        Case(success: "result[0] >= 0", failure: "result[0] < 1", result: [0.5], phase: .failed),
        Case(success: "result == true", failure: nil, result: true, phase: .successful),
        Case(success: "result.data.ok", failure: nil, result: ["data": ["ok": true]], phase: .successful),
        Case(success: "result[0]", failure: nil, result: [0.5], phase: .error),
        Case(success: "result[0] >=", failure: nil, result: [0.5], phase: .error),
    ]

    @Test func nowComesFromTheCaller() {
        let metric = Metric(name: "m", provider: MetricProvider(), successCondition: "now() < result")
        let moment = Date(timeIntervalSince1970: 1_000)
        let later = ExprValue.time(Date(timeIntervalSince1970: 2_000))
        #expect(MeasurementAssessment.phase(of: later, metric: metric, now: moment).phase == .successful)
        #expect(
            MeasurementAssessment.phase(of: later, metric: metric, now: Date(timeIntervalSince1970: 3_000)).phase
                == .failed)
    }

    @Test(arguments: cases)
    func phase(_ testCase: Case) {
        let metric = Metric(
            name: "m", provider: MetricProvider(), successCondition: testCase.success,
            failureCondition: testCase.failure)
        let (phase, message) = MeasurementAssessment.phase(of: testCase.result, metric: metric)
        #expect(phase == testCase.phase)
        if let expected = testCase.message { #expect(message == expected) }
        if phase == .error { #expect(message?.contains("could not evaluate successCondition") == true) }
    }
}
