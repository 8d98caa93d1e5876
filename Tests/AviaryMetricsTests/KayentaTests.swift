import AviaryCore
import AviaryExpression
import AviaryJSON
import AviaryModel
import AviaryTestSupport
import Foundation
import Synchronization
import Testing

@testable import AviaryMetrics

/// Argo's Kayenta provider against a local server that answers as Kayenta's REST API does: the
/// canary config looked up by name, the analysis started with the scopes Argo sends, its execution
/// asked after until complete, the score judged against the thresholds.
@Suite(.serialized) struct KayentaProviderTests {
    /// 2026-12-05 23:30:00 UTC.
    static let now = Date(timeIntervalSince1970: 1_796_513_400)

    static func kayentaMetric(_ address: String, extra: String = "") -> Metric {
        metric(
            """
            - name: mann-whitney
              interval: 5m
              provider:
                kayenta:
                  address: \(address)
                  application: guestbook
                  canaryConfigName: my-test
                  metricsAccountName: prom
                  configurationAccountName: conf
                  storageAccountName: store
                  threshold: {pass: 90, marginal: 75}
                  scopes:
                  - name: default
                    controlScope: {scope: "app=guestbook and rollouts-pod-template-hash=abc", region: eu, step: 60}
                    experimentScope: {scope: "app=guestbook and rollouts-pod-template-hash=def", region: eu, step: 60}
            \(extra)
            """)
    }

    /// A Kayenta whose analysis completes at the third look with `score`.
    static func kayenta(
        score: String, configs: String = #"[{"id":"x","name":"other"},{"id":"cfg-1","name":"my-test"}]"#
    )
        throws -> LoopbackServer
    {
        let looks = Mutex(0)
        return try LoopbackServer { request in
            switch (request.method, request.path) {
            case ("GET", "/canaryConfig?application=guestbook&configurationAccountName=store"):
                return .respond(status: 200, body: configs)
            case (
                "POST",
                "/canary/cfg-1?application=guestbook&metricsAccountName=prom&configurationAccountName=conf"
                    + "&storageAccountName=store"
            ):
                return .respond(status: 200, body: #"{"canaryExecutionId":"exec-9"}"#)
            case ("GET", "/canary/exec-9"):
                let look = looks.withLock {
                    $0 += 1
                    return $0
                }
                return look < 3
                    ? .respond(status: 200, body: #"{"complete":false}"#)
                    : .respond(
                        status: 200, body: #"{"complete":true,"result":{"judgeResult":{"score":{"score":\#(score)}}}}"#)
            default:
                return .respond(status: 404, body: "{}")
            }
        }
    }

    static func providers() -> MetricProviders {
        var providers = MetricProviders(now: { now })
        providers.environment = [:]
        providers.kayentaPollInterval = .milliseconds(50)
        return providers
    }

    @Test func theScoreAgainstTheThresholdsIsThePhase() async throws {
        let server = try Self.kayenta(score: "92.7")
        defer { server.stop() }
        let outcome = await Self.providers().measure(request(Self.kayentaMetric(server.url)))
        #expect(outcome == .phase(.successful, display: "92", metadata: ["canaryExecutionId": "exec-9"]))
        // The analysis was asked after until complete.
        #expect(server.requests.filter { $0.path == "/canary/exec-9" }.count == 3)
        // The scopes as Argo sends them: no start, so the metric's interval ago; no end, so now.
        let started = try #require(server.requests.first { $0.method == "POST" })
        let body = try JSONDecoder().decode(JSONValue.self, from: Data(started.body.utf8))
        let side: (String) -> JSONValue = { scope in
            .object([
                "scope": .string("app=guestbook and rollouts-pod-template-hash=\(scope)"), "location": "eu", "step": 60,
                "start": "2026-12-05T23:25:00Z", "end": "2026-12-05T23:30:00Z",
            ])
        }
        #expect(
            body
                == .object([
                    "scopes": ["default": ["controlScope": side("abc"), "experimentScope": side("def")]],
                    "thresholds": ["pass": 90, "marginal": 75],
                ]))
    }

    @Test(arguments: [
        ("80", AnalysisPhase.inconclusive), ("75", .inconclusive), ("74.9", .failed), ("90", .successful),
    ])
    func marginalScoresAreInconclusiveAndLowerOnesFail(score: String, phase: AnalysisPhase) async throws {
        let server = try Self.kayenta(score: score)
        defer { server.stop() }
        let outcome = await Self.providers().measure(request(Self.kayentaMetric(server.url)))
        guard case .phase(let got, _, _, _) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(got == phase)
    }

    @Test func lookbackStartsTheWindowWhenTheRunStarted() async throws {
        let server = try Self.kayenta(score: "99")
        defer { server.stop() }
        var measurement = request(
            Self.kayentaMetric(server.url, extra: "      lookback: true").replacingInterval(nil))
        measurement.runStartedAt = Self.now.addingTimeInterval(-3600)
        _ = await Self.providers().measure(measurement)
        let started = try #require(server.requests.first { $0.method == "POST" })
        let body = try JSONDecoder().decode(JSONValue.self, from: Data(started.body.utf8))
        #expect(body[path: "scopes", "default", "controlScope", "start"] == "2026-12-05T22:30:00Z")
    }

    @Test(arguments: [
        (#"[{"id":"x","name":"other"}]"#, "Canary config not found"),
        ("not json", "could not read Kayenta's canary configs: not json"),
    ])
    func whatKayentaLacksIsAnError(configs: String, message: String) async throws {
        let server = try Self.kayenta(score: "1", configs: configs)
        defer { server.stop() }
        #expect(await Self.providers().measure(request(Self.kayentaMetric(server.url))) == .error(message))
    }

    @Test(arguments: [
        (500, "{}", "Invalid Response: HTTP 500"),
        (200, #"{"canaryExecutionId":""}"#, "Invalid canaryExecutionId"),
        (200, #"{"complete":true}"#, "Missing Score"),
        (200, #"{"state":"running"}"#, "Missing Complete Status"),
    ])
    func refusalsAreArgosErrors(status: Int, body: String, message: String) async throws {
        // One server answers every call with the same thing: the first call that cannot use it fails.
        let server = try LoopbackServer { request in
            if request.path.hasPrefix("/canaryConfig"), status == 200 {
                return .respond(status: 200, body: #"[{"id":"cfg-1","name":"my-test"}]"#)
            }
            if request.method == "POST", !body.contains("canaryExecutionId") {
                return .respond(status: 200, body: #"{"canaryExecutionId":"exec-9"}"#)
            }
            return .respond(status: status, body: body)
        }
        defer { server.stop() }
        #expect(await Self.providers().measure(request(Self.kayentaMetric(server.url))) == .error(message))
    }

    @Test func anUnreachableKayentaIsAnErrorNamingTheURL() async {
        let port = freeLoopbackPort()
        let outcome = await Self.providers().measure(request(Self.kayentaMetric("http://127.0.0.1:\(port)")))
        guard case .error(let message) = outcome else {
            Issue.record("\(outcome)")
            return
        }
        #expect(message.hasPrefix("Get \"http://127.0.0.1:\(port)/canaryConfig?application=guestbook"), "\(message)")
    }
}

/// Argo's fields read with the rules Argo finds only at the first measurement.
@Suite struct KayentaSpecTests {
    static func spec(_ yaml: String, interval: String? = "5m") throws(ProviderSpecError) -> KayentaSpec {
        let metric = metric(
            "- name: m\n" + (interval.map { "  interval: \($0)\n" } ?? "") + "  provider:\n    kayenta:\n"
                + yaml.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n"))
        return try KayentaSpec(provider: metric.provider.kayenta, metricInterval: metric.interval)
    }

    static let base = """
        address: http://kayenta:8090
        application: guestbook
        canaryConfigName: my-test
        """
    static let scope = """
        scopes:
        - name: default
          controlScope: {scope: a, step: 60}
          experimentScope: {scope: b, step: 60}
        """

    @Test(
        arguments: [
            (
                "address: kayenta:8090\napplication: a\ncanaryConfigName: c", "5m",
                "address: \"kayenta:8090\" is not an http"
            ),
            (base, "5m", "scopes: required; give at least one scope"),
            (
                base + "\nthreshold: {pass: 50, marginal: 75}\n" + scope, "5m",
                "threshold.marginal: 75 is above pass (50)"
            ),
            (
                base + "\n" + scope, nil,
                "scopes[0].controlScope.start: not set, so the window starts the metric's interval ago, and the metric "
                    + "has none"
            ),
            (
                base
                    + "\nscopes:\n- name: d\n  controlScope: {scope: a, start: '2026-12-05T00:00:00Z'}\n  experimentScope: {scope: b}",
                "5m", "scopes[0]: controlScope.start and experimentScope.start must both be set or be empty"
            ),
            (
                base + "\nscopes:\n- name: d\n  controlScope: {scope: a}\n  experimentScope: {scope: b, end: x}", "5m",
                "scopes[0]: controlScope.end and experimentScope.end must both be set or be empty"
            ),
        ] as [(String, String?, String)])
    func badFieldsAreNamedWithTheirFix(yaml: String, interval: String?, message: String) {
        #expect {
            _ = try Self.spec(yaml, interval: interval)
        } throws: { "\($0)".hasPrefix("provider.kayenta.") && "\($0)".contains(message) }
    }

    @Test func thresholdsAsArgosPageSpellsItIsReadAsThreshold() throws {
        let spec = try Self.spec(Self.base + "\nthresholds: {pass: 90, marginal: 75}\n" + Self.scope)
        #expect(spec.pass == 90 && spec.marginal == 75)
        #expect(spec.phase(score: 80) == .inconclusive)
    }

    @Test func aScopeWithItsOwnWindowOrLookbackNeedsNoInterval() throws {
        let windowed = try Self.spec(
            Self.base + "\nscopes:\n- name: d\n  controlScope: {scope: a, start: s, end: e}\n"
                + "  experimentScope: {scope: b, start: s, end: e}", interval: nil)
        #expect(
            windowed.request(now: Date(), runStartedAt: nil, intervalSeconds: 0)[
                path: "scopes", "d", "controlScope", "start"] == "s")
        #expect(throws: Never.self) { _ = try Self.spec(Self.base + "\nlookback: true\n" + Self.scope, interval: nil) }
    }
}

extension Metric {
    fileprivate func replacingInterval(_ interval: ArgoDuration?) -> Metric {
        var copy = self
        copy.interval = interval
        return copy
    }
}
