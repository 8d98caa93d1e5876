import AviaryMeta
import AviaryModel
import Foundation
import Testing

@testable import AviaryDashboard

@Suite struct ThresholdTests {
    @Test(arguments: [
        ("result[0] >= 0.95", Threshold(kind: .success, comparison: ">=", value: 0.95)),
        ("result < 100", Threshold(kind: .success, comparison: "<", value: 100)),
        ("0.5 > asFloat(result[0])", Threshold(kind: .success, comparison: "<", value: 0.5)),
        ("result[0]<=-2", Threshold(kind: .success, comparison: "<=", value: -2)),
        ("result == 1", Threshold(kind: .success, comparison: "==", value: 1)),
    ])
    func aSimpleComparisonIsALine(condition: String, expected: Threshold) {
        #expect(Threshold.parse(condition, kind: .success) == expected)
    }

    @Test(arguments: [
        "len(result) == 0 || result[0] >= 0.95", "result[0] >= 0.9 && result[0] <= 1", "result[1] > 3",
        "result > args.limit", "result != 0", "isNaN(result)", "", "result >= NaN",
    ])
    func anythingElseHasNoLine(condition: String) {
        #expect(Threshold.parse(condition, kind: .failure) == nil)
    }

    @Test func theLabelUsesMathSymbols() {
        #expect(Threshold(kind: .failure, comparison: "<=", value: 0.25).label == "failure ≤ 0.25")
    }
}

@Suite struct MetricChartTests {
    @Test(
        arguments: [
            ("0.99", 0.99), ("[0.99]", 0.99), ("[0.5, 3]", 0.5), ("  7 ", 7), ("[\"12\"]", 12),
        ] as [(String, Double)])
    func aMeasurementsNumber(value: String, expected: Double) {
        #expect(MetricChart.number(value) == expected)
    }

    @Test(arguments: ["", "[]", "{\"a\": 1}", "NaN", "text", "[NaN]"])
    func notANumber(value: String) {
        #expect(MetricChart.number(value) == nil)
    }

    func measurement(_ value: String, _ phase: AnalysisPhase, at second: Int) -> AviaryModel.Measurement {
        var measurement = AviaryModel.Measurement(phase: phase, value: value)
        measurement.finishedAt = "2026-12-03T10:00:\(String(format: "%02d", second))Z"
        return measurement
    }

    @Test func theChartDrawsEveryPointAndEachThreshold() {
        let measurements = [
            measurement("[0.99]", .successful, at: 0), measurement("[0.97]", .successful, at: 10),
            measurement("[0.42]", .failed, at: 20),
        ]
        let svg = MetricChart.svg(
            metric: "success-rate", measurements: measurements,
            thresholds: [Threshold(kind: .success, comparison: ">=", value: 0.95)]
        ).text
        #expect(svg.components(separatedBy: "<circle").count - 1 == 3)
        #expect(svg.contains("class=\"point failed\""))
        #expect(svg.contains("class=\"threshold success\""))
        #expect(svg.contains("success ≥ 0.95"))
        #expect(svg.contains("10:00:00") && svg.contains("10:00:20"))
        // The line is higher on the page (smaller y) for a larger value.
        let ys = svg.components(separatedBy: "cy=\"").dropFirst().compactMap { Double($0.prefix { $0 != "\"" }) }
        #expect(ys.count == 3 && ys[0] < ys[2])
    }

    @Test func noNumberNoChart() {
        let svg = MetricChart.svg(
            metric: "m", measurements: [AviaryModel.Measurement(phase: .error, value: nil, message: "timeout")],
            thresholds: []
        ).text
        #expect(!svg.contains("<svg") && svg.contains("No numeric measurement of m"))
    }
}

@Suite struct DashboardActionTests {
    static func rollout(phase: RolloutPhase?, aborted: Bool = false, specPaused: Bool = false) -> Rollout {
        var rollout = Rollout(
            metadata: ObjectMeta(name: "web", namespace: "default"),
            spec: RolloutSpec(strategy: RolloutStrategy(canary: CanaryStrategy())))
        rollout.spec.paused = specPaused ? true : nil
        var status = RolloutStatus()
        status.phase = phase
        status.abort = aborted ? true : nil
        rollout.status = status
        return rollout
    }

    // Which buttons Argo would carry out, by the rollout's state: promote, full, abort, retry, pause, resume.
    @Test(
        arguments: [
            (RolloutPhase.paused, false, false, [true, true, true, false, true, false]),
            (.progressing, false, false, [false, true, true, false, true, false]),
            (.healthy, false, false, [false, false, false, false, true, false]),
            (.degraded, true, false, [false, true, false, true, true, false]),
            (.paused, false, true, [true, true, true, false, false, true]),
        ] as [(RolloutPhase, Bool, Bool, [Bool])])
    func theButtonsArgoAllows(phase: RolloutPhase, aborted: Bool, specPaused: Bool, allowed: [Bool]) {
        let rollout = Self.rollout(phase: phase, aborted: aborted, specPaused: specPaused)
        let actions: [DashboardAction] = [.promote, .promoteFull, .abort, .retry, .pause, .resume]
        #expect(actions.map { $0.refusal(on: rollout) == nil } == allowed)
        #expect(DashboardAction.restart.refusal(on: rollout) == nil)
    }

    @Test func aStalePromoteSaysWhy() throws {
        let refusal = try #require(DashboardAction.promote.refusal(on: Self.rollout(phase: .healthy)))
        #expect(refusal == "rollout \"web\" is not paused (it is Healthy), so there is no pause to promote past")
    }

    @Test(arguments: [
        ("promote", [String: String](), DashboardAction.promote), ("promote-full", [:], .promoteFull),
        ("undo", ["revision": "3"], .undo(toRevision: 3)),
        ("set-image", ["container": "web", "image": "app:v2"], .setImage(container: "web", image: "app:v2")),
    ])
    func formsParse(segment: String, fields: [String: String], expected: DashboardAction) throws {
        let parsed = try DashboardAction.parse(segment: segment, fields: fields).get()
        #expect(parsed == expected)
    }

    @Test(
        arguments: [
            ("undo", ["revision": "x"], "undo needs the field revision"),
            ("set-image", ["container": "web", "image": "a b"], "set image needs the fields container"),
            ("explode", [:], "no action \"explode\""),
        ] as [(String, [String: String], String)])
    func badFormsAreRefusedWithTheField(segment: String, fields: [String: String], message: String) {
        guard case .failure(let refusal) = DashboardAction.parse(segment: segment, fields: fields) else {
            Issue.record("\(segment) parsed")
            return
        }
        #expect(refusal.message.hasPrefix(message))
    }
}

@Suite struct SessionTests {
    @Test func csrfTokensBelongToTheirSessionAndKey() {
        let sessions = DashboardSessions()
        let one = DashboardSessions.newID()
        let two = DashboardSessions.newID()
        #expect(DashboardSessions.isWellFormed(one) && one != two)
        let token = sessions.csrfToken(for: one)
        #expect(sessions.isValidCSRF(token, session: one))
        #expect(!sessions.isValidCSRF(token, session: two))
        #expect(!sessions.isValidCSRF(nil, session: one) && !sessions.isValidCSRF("", session: one))
        // Another daemon (another key) does not take it.
        #expect(!DashboardSessions().isValidCSRF(token, session: one))
    }

    @Test func signInLastsItsLifetimeAndSignOutEndsIt() {
        let sessions = DashboardSessions(lifetime: 60)
        let start = Date(timeIntervalSince1970: 1_000_000)
        let id = sessions.signIn(now: start)
        #expect(sessions.isSignedIn(id, now: start.addingTimeInterval(59)))
        #expect(!sessions.isSignedIn(id, now: start.addingTimeInterval(61)))
        let again = sessions.signIn(now: start)
        sessions.signOut(again)
        #expect(!sessions.isSignedIn(again, now: start) && !sessions.isSignedIn(nil))
    }

    @Test func tenWrongTokensAMinuteHoldSignInBackUntilTheMinutePasses() {
        let sessions = DashboardSessions()
        let start = Date(timeIntervalSince1970: 2_000_000)
        for second in 0..<9 { sessions.wrongToken(now: start.addingTimeInterval(Double(second))) }
        #expect(sessions.signInWait(now: start.addingTimeInterval(9)) == nil, "nine are answered")
        sessions.wrongToken(now: start.addingTimeInterval(9))
        #expect(sessions.signInWait(now: start.addingTimeInterval(10)) == 50, "the tenth holds it back")
        #expect(sessions.signInWait(now: start.addingTimeInterval(59.5)) == 1)
        #expect(sessions.signInWait(now: start.addingTimeInterval(60)) == nil, "the first has aged out")
    }

    @Test(arguments: [
        ("aviary_session=\(String(repeating: "a", count: 43))", true),
        ("other=1; aviary_session=\(String(repeating: "B", count: 43))", true),
        ("aviary_session=short", false), ("aviary_session=\(String(repeating: "<", count: 43))", false), ("", false),
    ])
    func theCookieIsReadOnlyWhenWellFormed(header: String, found: Bool) {
        #expect((DashboardSessions.session(fromCookieHeader: header) != nil) == found)
    }

    @Test func theCookieIsHttpOnlyAndStrict() {
        let cookie = DashboardSessions.setCookie("x")
        #expect(cookie.contains("HttpOnly") && cookie.contains("SameSite=Strict") && cookie.contains("Path=/"))
    }
}

@Suite struct RunArgumentTests {
    @Test(arguments: [
        ("result >= {{args.minimum}}", "result >= 0.95"), ("result < {{ args.minimum }}", "result < 0.95"),
        ("result > {{args.other}}", "result > {{args.other}}"), ("result > 1", "result > 1"),
    ])
    func aConditionGetsTheRunsLiteralArguments(condition: String, expected: String) {
        let args = [Argument(name: "minimum", value: "0.95"), Argument(name: "other")]
        #expect(RolloutPage.resolved(condition, args: args) == expected)
    }

    @Test func twoLinesAtOneHeightKeepTheirLabelsApart() {
        let svg = MetricChart.svg(
            metric: "m", measurements: [AviaryModel.Measurement(phase: .successful, value: "2")],
            thresholds: [
                Threshold(kind: .success, comparison: ">=", value: 1),
                Threshold(kind: .failure, comparison: "<", value: 1),
            ]
        ).text
        let labelYs = svg.components(separatedBy: "class=\"threshold-label").dropFirst().compactMap { part -> Double? in
            guard let range = part.range(of: "y=\"") else { return nil }
            return Double(part[range.upperBound...].prefix { $0 != "\"" })
        }
        #expect(labelYs.count == 2 && abs(labelYs[0] - labelYs[1]) >= 13)
    }
}
