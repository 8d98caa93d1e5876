import AviaryExpression
import AviaryModel
import AviaryTestSupport
import Foundation
import Synchronization
import Testing

@testable import AviaryCore
@testable import AviaryMetrics

/// The AnalysisTemplate in `yaml`, decoded as a user's file would be.
func template(_ yaml: String) -> AnalysisTemplate {
    let decoded = ManifestDecoder().decode(yaml, file: "template.yaml")
    guard case .analysisTemplate(let template)? = decoded.resources.first else {
        fatalError("not an AnalysisTemplate: \(decoded.diagnostics)")
    }
    return template
}

/// One metric of a template named `t`.
func metric(_ metricYAML: String) -> Metric {
    let indented = metricYAML.split(separator: "\n").map { "    " + $0 }.joined(separator: "\n")
    return template(
        "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata:\n  name: t\nspec:\n  metrics:\n\(indented)"
    ).spec.metricsOrEmpty[0]
}

func request(_ metric: Metric) -> MeasurementRequest {
    MeasurementRequest(runName: "r", metricName: metric.name, metric: metric, startedAt: Date())
}

/// Providers whose only Secrets are `secrets` (keyed `namespace/name`), with no `DD_*` variables,
/// and the clock `now`.
func providers(secrets: [String: [String: String]], now: Date = Date()) -> MetricProviders {
    var providers = MetricProviders(now: { now })
    providers.environment = [:]
    providers.secret = { namespace, name in secrets["\(namespace)/\(name)"] }
    return providers
}

@Suite("Web provider against a real server", .serialized)
struct WebProviderTests {
    @Test func jsonPathSelectsTheValue() async throws {
        let server = try LoopbackServer { request in
            request.path == "/status"
                ? .respond(status: 200, body: #"{"data":{"ok":true},"items":[{"value":0.97}]}"#)
                : .respond(status: 404, body: "")
        }
        defer { server.stop() }
        let providers = MetricProviders()
        let ok = metric(
            "- name: ok\n  provider:\n    web:\n      url: \(server.url)/status\n      jsonPath: '{$.data.ok}'")
        #expect(await providers.measure(request(ok)) == .value(.bool(true), display: "true"))
        let item = metric(
            "- name: v\n  provider:\n    web:\n      url: \(server.url)/status\n      jsonPath: '{$.items[0].value}'")
        #expect(await providers.measure(request(item)) == .value(.float(0.97), display: "0.97"))
    }

    @Test func postsBodyAndHeaders() async throws {
        let seen = SeenRequests()
        let server = try LoopbackServer { request in
            seen.add(request)
            return .respond(status: 200, body: #"{"echo":1}"#)
        }
        defer { server.stop() }
        let posted = metric(
            """
            - name: p
              provider:
                web:
                  method: POST
                  url: \(server.url)/check
                  headers:
                  - key: X-Token
                    value: abc
                  jsonBody:
                    service: checkout
                  jsonPath: '{$.echo}'
            """)
        #expect(await MetricProviders().measure(request(posted)) == .value(.int(1), display: "1"))
        let first = try #require(seen.all.first)
        #expect(first.method == "POST")
        #expect(first.headers["x-token"] == "abc")
        #expect(first.headers["content-type"] == "application/json")
        #expect(first.body == #"{"service":"checkout"}"#)
    }

    @Test func non2xxIsAnError() async throws {
        let server = try LoopbackServer { _ in .respond(status: 503, body: "down") }
        defer { server.stop() }
        let m = metric("- name: m\n  provider:\n    web:\n      url: \(server.url)/")
        #expect(await MetricProviders().measure(request(m)) == .error("received non 2xx response code: 503"))
    }

    @Test func nonJSONBodyIsAString() async throws {
        let server = try LoopbackServer { _ in .respond(status: 200, body: "healthy", contentType: "text/plain") }
        defer { server.stop() }
        let m = metric(
            "- name: m\n  successCondition: result == 'healthy'\n  provider:\n    web:\n      url: \(server.url)/")
        let outcome = await MetricProviders().measure(request(m))
        #expect(outcome == .value(.string("healthy"), display: "healthy"))
        guard case .value(let value, _, _) = outcome else { return }
        #expect(MeasurementAssessment.phase(of: value, metric: m).phase == .successful)
    }

    @Test func timeoutIsAnError() async throws {
        let server = try LoopbackServer { _ in .hang }
        defer { server.stop() }
        let m = metric("- name: m\n  provider:\n    web:\n      url: \(server.url)/\n      timeoutSeconds: 1")
        let outcome = await MetricProviders().measure(request(m))
        guard case .error(let message) = outcome else {
            Issue.record("expected an error, got \(outcome)")
            return
        }
        #expect(message.contains("timeout"))
        #expect(message.contains(server.url))
    }

    @Test func connectionRefusedIsAnError() async throws {
        let server = try LoopbackServer { _ in .hang }
        let url = server.url
        server.stop()
        let m = metric("- name: m\n  provider:\n    web:\n      url: \(url)/")
        guard case .error(let message) = await MetricProviders().measure(request(m)) else {
            Issue.record("expected an error")
            return
        }
        #expect(message.contains("connection refused"))
    }
}

final class SeenRequests: Sendable {
    private let requests = Mutex<[LoopbackServer.Request]>([])
    func add(_ request: LoopbackServer.Request) { requests.withLock { $0.append(request) } }
    var all: [LoopbackServer.Request] { requests.withLock { $0 } }
}

@Suite("Job provider runs real processes", .serialized)
struct JobProviderTests {
    func job(_ command: String, deadline: Int? = nil) -> Metric {
        metric(
            """
            - name: job
              provider:
                job:
                  spec:
                    \(deadline.map { "activeDeadlineSeconds: \($0)" } ?? "backoffLimit: 0")
                    template:
                      spec:
                        containers:
                        - name: check
                          command: \(command)
                          env:
                          - name: GREETING
                            value: hello
            """)
    }

    @Test func exitZeroIsSuccessful() async {
        let outcome = await MetricProviders().measure(request(job(#"["sh", "-c", "echo $GREETING; exit 0"]"#)))
        #expect(outcome == .phase(.successful, message: "exit code 0: hello"))
    }

    @Test func nonZeroExitFailsWithTheOutputTail() async {
        let outcome = await MetricProviders().measure(request(job(#"["sh", "-c", "echo broken >&2; exit 3"]"#)))
        #expect(outcome == .phase(.failed, message: "exit code 3: broken"))
    }

    @Test func argumentsAreNotInterpretedByAShell() async {
        let outcome = await MetricProviders().measure(request(job(#"["echo", "$GREETING;", "exit", "1"]"#)))
        #expect(outcome == .phase(.successful, message: "exit code 0: $GREETING; exit 1"))
    }

    @Test func commandSubstitutionIsPassedLiterally() async {
        let marker = NSTemporaryDirectory() + "aviary-no-shell-\(UInt32.random(in: 0...UInt32.max))"
        let outcome = await MetricProviders().measure(
            request(job("[\"echo\", \"$(touch \(marker))\", \"`touch \(marker)`\", \"; touch \(marker)\"]")))
        #expect(
            outcome
                == .phase(.successful, message: "exit code 0: $(touch \(marker)) `touch \(marker)` ; touch \(marker)"))
        #expect(!FileManager.default.fileExists(atPath: marker))
    }

    @Test func timeoutStopsTheJob() async {
        let outcome = await MetricProviders().measure(request(job(#"["sleep", "600"]"#, deadline: 1)))
        #expect(outcome == .phase(.failed, message: "timed out and was stopped"))
    }

    @Test func missingCommandIsAnError() async {
        let outcome = await MetricProviders().measure(request(job(#"["no-such-command-aviary"]"#)))
        #expect(outcome == .error("job command \"no-such-command-aviary\" was not found in PATH"))
    }
}

@Suite("Runner bounds every measurement", .serialized)
struct AnalysisRunnerTests {
    @Test func hungProviderDelaysNeitherOtherMetricsNorOtherRuns() async throws {
        let hung = try LoopbackServer { _ in .hang }
        let fast = try LoopbackServer { _ in .respond(status: 200, body: #"{"ok":true}"#) }
        defer {
            hung.stop()
            fast.stop()
        }
        let runSpec = template(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata:
              name: t
            spec:
              metrics:
              - name: stuck
                consecutiveErrorLimit: 0
                provider:
                  web:
                    url: \(hung.url)/
                    timeoutSeconds: 5
              - name: quick
                count: 3
                interval: 1s
                successCondition: result == true
                provider:
                  web:
                    url: \(fast.url)/
                    jsonPath: '{$.ok}'
            """)
        let otherSpec = template(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata:
              name: other
            spec:
              metrics:
              - name: quick
                successCondition: result == true
                provider:
                  web:
                    url: \(fast.url)/
                    jsonPath: '{$.ok}'
            """)
        let catalog = AnalysisTemplateCatalog(templates: [runSpec, otherSpec])
        let first = try AnalysisTemplateResolver.makeRun(
            name: "first", references: [AnalysisTemplateRef(templateName: "t")], catalog: catalog)
        let second = try AnalysisTemplateResolver.makeRun(
            name: "second", references: [AnalysisTemplateRef(templateName: "other")], catalog: catalog)
        let runner = AnalysisRunner(provider: MetricProviders())
        async let firstDone = runner.run(first)
        async let secondDone = runner.run(second)
        let (one, two) = await (firstDone, secondDone)

        let stuck = try #require(one.status?.metricResults?.first { $0.name == "stuck" })
        let quick = try #require(one.status?.metricResults?.first { $0.name == "quick" })
        #expect(one.status?.phase == .error)
        #expect(stuck.measurements?.last?.phase == .error)
        #expect(quick.count == 3)
        #expect(quick.phase == .successful)
        #expect(two.status?.phase == .successful)
        // Ordering, not timing: everything else finished while the stuck request was pending.
        let stuckEnd = try #require(stuck.measurements?.last?.finishedAt.flatMap(RFC3339.parse))
        let quickEnd = try #require(quick.measurements?.last?.finishedAt.flatMap(RFC3339.parse))
        let otherEnd = try #require(two.status?.completedAt.flatMap(RFC3339.parse))
        #expect(quickEnd < stuckEnd)
        #expect(otherEnd < stuckEnd)
    }
}

@Suite("Prometheus requests against a real server", .serialized)
struct PrometheusRequestTests {
    static let answer = #"{"status":"success","data":{"resultType":"vector","result":[{"metric":{},"value":[1,"1"]}]}}"#

    @Test func headersAndBasicAuthAreSent() async throws {
        let seen = SeenRequests()
        let server = try LoopbackServer { request in
            seen.add(request)
            return .respond(status: 200, body: Self.answer)
        }
        defer { server.stop() }
        let m = metric(
            """
            - name: m
              provider:
                prometheus:
                  address: \(server.url)/prefix/
                  query: up{job="a b"}
                  headers:
                  - key: X-Scope-OrgID
                    value: team-a
                  authentication:
                    basicAuth:
                      username: user
                      password: pass
            """)
        #expect(await MetricProviders().measure(request(m)) == .value([1.0], display: "[1]"))
        let sent = try #require(seen.all.first)
        #expect(sent.method == "GET")
        #expect(sent.path.hasPrefix("/prefix/api/v1/query?query=up%7Bjob%3D%22a%20b%22%7D"))
        #expect(sent.headers["x-scope-orgid"] == "team-a")
        #expect(sent.headers["authorization"] == "Basic dXNlcjpwYXNz")
    }

    @Test func oauth2ClientCredentialsTokenIsUsed() async throws {
        let seen = SeenRequests()
        let server = try LoopbackServer { request in
            seen.add(request)
            if request.path == "/token" {
                return .respond(status: 200, body: #"{"access_token":"tok-1","token_type":"bearer"}"#)
            }
            return .respond(status: 200, body: Self.answer)
        }
        defer { server.stop() }
        let m = metric(
            """
            - name: m
              provider:
                prometheus:
                  address: \(server.url)
                  query: up
                  authentication:
                    oauth2:
                      tokenUrl: \(server.url)/token
                      clientId: id
                      clientSecret: secret
                      scopes: [read]
            """)
        #expect(await MetricProviders().measure(request(m)) == .value([1.0], display: "[1]"))
        let token = try #require(seen.all.first { $0.path == "/token" })
        #expect(token.body == "grant_type=client_credentials&client_id=id&client_secret=secret&scope=read")
        let query = try #require(seen.all.first { $0.path.hasPrefix("/api/v1/query") })
        #expect(query.headers["authorization"] == "Bearer tok-1")
    }

    /// A web metric with `authentication.oauth2`, as Argo's: the token endpoint is asked with the
    /// client credentials (the secret from an argument), then the metric's URL with the bearer token;
    /// a token endpoint that refuses is the measurement's error, naming it.
    @Test(arguments: [true, false])
    func webMetricOAuth2ClientCredentialsTokenIsUsed(tokenGranted: Bool) async throws {
        let seen = SeenRequests()
        let server = try LoopbackServer { request in
            seen.add(request)
            if request.path == "/oauth/token" {
                return tokenGranted
                    ? .respond(status: 200, body: #"{"access_token":"web-tok","token_type":"bearer","expires_in":60}"#)
                    : .respond(status: 401, body: #"{"error":"invalid_client"}"#)
            }
            let authorized = request.headers["authorization"] == "Bearer web-tok"
            return .respond(status: authorized ? 200 : 401, body: #"{"data":{"ok":true}}"#)
        }
        defer { server.stop() }
        let m = metric(
            """
            - name: m
              provider:
                web:
                  url: \(server.url)/health
                  jsonPath: "{$.data.ok}"
                  authentication:
                    oauth2:
                      tokenUrl: \(server.url)/oauth/token
                      clientId: aviary
                      clientSecret: "s3cret"
                      scopes: [metrics.read, health]
            """)
        let outcome = await MetricProviders().measure(request(m))
        let token = try #require(seen.all.first { $0.path == "/oauth/token" })
        #expect(
            token.body
                == "grant_type=client_credentials&client_id=aviary&client_secret=s3cret&scope=metrics.read%20health")
        if tokenGranted {
            #expect(outcome == .value(.bool(true), display: "true"))
            #expect(seen.all.first { $0.path == "/health" }?.headers["authorization"] == "Bearer web-tok")
        } else {
            #expect(
                outcome
                    == .error(
                        "oauth2 token request to \(server.url)/oauth/token answered HTTP 401 without access_token"))
            #expect(!seen.all.contains { $0.path == "/health" }, "no request without a token")
        }
    }

    @Test func missingAddressSaysWhereToSetIt() async {
        let m = metric("- name: m\n  provider:\n    prometheus:\n      query: up")
        #expect(
            await MetricProviders().measure(request(m))
                == .error(
                    "prometheus address is not configured: set provider.prometheus.address (or --prometheus-address)"))
    }
}

@Suite("Job process groups", .serialized)
struct JobProcessGroupTests {
    /// Waits up to 30 s for no live process to run exactly `arguments`; true when none is left.
    func noneLeft(running arguments: [String]) async -> Bool {
        for _ in 0..<600 {
            if livePIDs(runningExactly: arguments).isEmpty { return true }
            try? await Task.sleep(for: .milliseconds(50))
        }
        return livePIDs(runningExactly: arguments).isEmpty
    }

    @Test func backgroundChildrenDieWithTheJob() async throws {
        let background = ["sleep", uniqueSleepDuration()]
        let outcome = try await JobRunner.run(
            JobCommand(
                arguments: ["sh", "-c", "\(background.joined(separator: " ")) & echo started $!; exit 0"],
                timeout: .seconds(60)))
        #expect(outcome.succeeded)
        #expect(outcome.outputTail.hasPrefix("started "), "\(outcome.outputTail)")
        // The child outlived its parent shell; the job's end must have ended it too.
        #expect(await noneLeft(running: background), "the background `\(background.joined(separator: " "))` survived")
    }

    @Test func timeoutEndsTheWholeGroup() async throws {
        let first = ["sleep", uniqueSleepDuration()]
        let second = ["sleep", uniqueSleepDuration()]
        let outcome = try await JobRunner.run(
            JobCommand(
                arguments: ["sh", "-c", "\(first.joined(separator: " ")) & \(second.joined(separator: " ")); exit 0"],
                timeout: .seconds(1)))
        #expect(outcome.timedOut)
        #expect(outcome.exitCode == nil, "the shell was ended by a signal, not left to exit")
        #expect(await noneLeft(running: first), "the background sleep survived the timeout")
        #expect(await noneLeft(running: second), "the foreground sleep survived the timeout")
    }
}
