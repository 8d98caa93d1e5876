import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

@Suite struct LintTests {
    static let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent("examples")

    static func exampleFiles() throws -> [String] {
        try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".yaml") }.sorted()
    }

    func lint(_ files: [String: String]) -> LintReport {
        ManifestLinter.lint(files.sorted { $0.key < $1.key }.map { LintInput(file: $0.key, data: Data($0.value.utf8)) })
    }

    @Test func examplesLintCleanTogether() throws {
        let (inputs, unreadable) = LintFiles.read([Self.examples.path])
        #expect(unreadable == [])
        #expect(inputs.count == (try Self.exampleFiles()).count)
        let report = ManifestLinter.lint(inputs)
        #expect(report.diagnostics.map(\.description) == [])
        #expect(report.resourceCount >= 15)
    }

    @Test func aNotificationConfigMapThatDoesNotParseAndABadSubscriptionListAreErrors() {
        let report = lint([
            "notify.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: argo-rollouts-notification-configmap}
            data:
              template.x: |
                message: "{{.rollout.metadata.name"
            ---
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata:
              name: web
              annotations:
                notifications.argoproj.io/subscriptions: "- trigger: [a"
            spec:
              selector: {matchLabels: {app: web}}
              template:
                metadata: {labels: {app: web}}
                spec: {containers: [{name: web, image: web:1}]}
              strategy: {canary: {steps: [{setWeight: 50}]}}
            """
        ])
        let errors = report.diagnostics.filter(\.isError).map(\.description)
        #expect(errors.count == 2, "\(errors)")
        #expect(errors.contains { $0.contains("data.template.x") && $0.contains("template \"x\" line 1") }, "\(errors)")
        #expect(errors.contains { $0.contains("metadata.annotations") && $0.contains("subscriptions") }, "\(errors)")
    }

    @Test func argosPluginListIsReadAndAMetricPluginItDoesNotListIsWarnedAbout() {
        let template = """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata: {name: rates}
            spec:
              metrics:
              - name: listed
                provider: {plugin: {argoproj-labs/sample-prometheus: {query: q}}}
              - name: unlisted
                provider: {plugin: {acme/metrics: {query: q}}}
            """
        let report = lint([
            "config.yaml": """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: argo-rollouts-config}
            data:
              metricProviderPlugins: |
                - name: argoproj-labs/sample-prometheus
                  location: file://./plugin
              stepPlugins: |
                - name: step
                  location: file://./step
            """,
            "template.yaml": template,
        ])
        #expect(
            report.diagnostics.map(\.description) == [
                "config.yaml: ConfigMap/argo-rollouts-config: data.stepPlugins: entry 1: plugin step: name \"step\" "
                    + "must be NAMESPACE/NAME, as in argoproj-labs/sample-prometheus",
                "template.yaml: AnalysisTemplate/rates: spec.metrics[1].provider.plugin[\"acme/metrics\"]: warning: "
                    + "the ConfigMap argo-rollouts-config in these files does not list acme/metrics under "
                    + "metricProviderPlugins; every measurement would be an Error until it does",
            ])
        // Without the ConfigMap among the files, nothing is said of the plugins.
        #expect(lint(["template.yaml": template]).diagnostics.map(\.description) == [])
    }

    /// The Rollout `web` with `canary` (YAML, unindented) as its canary strategy.
    static func canary(_ canary: String) -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: web}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: web:1}]}
          strategy:
            canary:

        """ + canary.split(separator: "\n").map { "      " + $0 }.joined(separator: "\n")
    }

    @Test func aStepPluginIsValidAndOneTheListDoesNotNameIsWarnedAbout() {
        let rollout = Self.canary(
            """
            steps:
            - setWeight: 20
            - plugin: {name: acme/migrate, config: {database: orders}}
            - plugin: {name: acme/smoke}
            """)
        let config = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: argo-rollouts-config}
            data:
              stepPlugins: |
                - name: acme/migrate
                  location: file:///plugins/migrate
            """
        #expect(lint(["rollout.yaml": rollout]).diagnostics.isEmpty)
        #expect(
            lint(["config.yaml": config, "rollout.yaml": rollout]).diagnostics.map(\.description) == [
                "rollout.yaml: Rollout/web: spec.strategy.canary.steps[2].plugin.name: warning: the ConfigMap "
                    + "argo-rollouts-config in these files does not list acme/smoke under stepPlugins; the step would "
                    + "wait, retried every 30 s, until it does"
            ])
    }

    @Test func aTrafficRouterPluginBinaryTheListDoesNotNameIsWarnedAbout() {
        func rollout(_ plugin: String) -> String {
            Self.canary(
                """
                canaryService: web-canary
                stableService: web-stable
                trafficRouting: {plugins: {\(plugin): {route: web}}}
                steps: [{setWeight: 50}]
                """)
        }
        let config = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: argo-rollouts-config}
            data:
              trafficRouterPlugins: |
                - name: acme/router
                  location: https://example.com/router
            """
        #expect(lint(["config.yaml": config, "rollout.yaml": rollout("acme/router")]).diagnostics.isEmpty)
        #expect(
            lint(["config.yaml": config, "rollout.yaml": rollout("acme/other")]).diagnostics.map(\.description) == [
                "rollout.yaml: Rollout/web: spec.strategy.canary.trafficRouting.plugins[\"acme/other\"]: warning: "
                    + "the ConfigMap argo-rollouts-config in these files does not list acme/other under "
                    + "trafficRouterPlugins; on Kubernetes every reconcile would fail until it does (on one host "
                    + "Aviary's router makes the split)"
            ])
        #expect(lint(["rollout.yaml": rollout("acme/other")]).diagnostics.isEmpty)
    }

    @Test(arguments: try exampleFiles())
    func everyExampleDecodesAndValidatesAlone(_ name: String) throws {
        let data = try Data(contentsOf: Self.examples.appendingPathComponent(name))
        let decoded = ManifestDecoder().decode(data, file: name)
        #expect(decoded.diagnostics.map(\.description) == [])
        #expect(!decoded.resources.isEmpty)
    }

    @Test func seedCanaryHasItsThreeServicesAndTemplate() throws {
        let report = ManifestLinter.lint(LintFiles.read([Self.examples.path]).inputs)
        #expect(!report.hasErrors)
        let data = try Data(contentsOf: Self.examples.appendingPathComponent("canary.yaml"))
        let resources = ManifestDecoder().decode(data, file: "canary.yaml").resources
        #expect(
            resources.map(\.reference) == [
                "Rollout/sample-app", "Service/sample-app", "Service/sample-app-stable", "Service/sample-app-canary",
            ])
        guard case .rollout(let rollout) = resources.first, let canary = rollout.spec.strategy.canary else {
            Issue.record("expected a canary Rollout")
            return
        }
        #expect(rollout.spec.replicas == 4)
        #expect(canary.canaryMetadata?.labels == ["role": "canary"])
        #expect(canary.trafficRouting?.smi?.rootService == "sample-app")
        #expect(canary.stepsOrEmpty.map(\.setKeys) == [["setWeight"], ["analysis"], ["setWeight"], ["analysis"]])
        #expect(canary.stepsOrEmpty.compactMap(\.setWeight) == [10, 33])
    }

    static let rollout = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: web}
        spec:
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: web, image: web:v1, command: [web]}]}
          strategy:
            canary:
              steps:
              - setWeight: 10
              - analysis:
                  templates: [{templateName: rate}]
                  args: [{name: service-name, value: web}]
        """

    static func template(
        name: String = "rate", args: String = "[{name: service-name}]", metric: String = "rate"
    ) -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata: {name: \(name)}
        spec:
          args: \(args)
          metrics:
          - name: \(metric)
            successCondition: result[0] > 0
            provider:
              prometheus: {address: "http://127.0.0.1:9090", query: 'up{app="{{args.service-name}}"}'}
        """
    }

    static let providerCases: [(String, [String])] = [
        ("graphite: {address: http://graphite:8080, query: \"target=app.errors&from=-5min\"}", []),
        (
            "graphite: {query: \"target=a\"}",
            ["spec.metrics[0].provider.graphite.address: required; give Graphite's URL, http://graphite:8080"]
        ),
        (
            "graphite: {address: graphite:8080, query: \"\", step: 1m}",
            [
                "spec.metrics[0].provider.graphite.address: must be an http(s) URL, got graphite:8080",
                "spec.metrics[0].provider.graphite.query: required; give the render query, target=...&from=-5min",
                "spec.metrics[0].provider.graphite.step: warning: unknown field; Graphite takes address and query",
            ]
        ),
        ("datadog: {query: \"avg:errors\"}", []),
        ("datadog: {apiVersion: v2, queries: {a: x, b: y}, formula: a/b, interval: 10m, aggregator: avg}", []),
        (
            "datadog: {apiVersion: v2, queries: {a: x, b: y}, address: https://api.datadoghq.eu}",
            [
                "spec.metrics[0].provider.datadog.formula: required when several queries are given, e.g. formula: a / b",
                "spec.metrics[0].provider.datadog.address: warning: unknown field; Argo's Datadog metric takes interval, "
                    + "query, queries, formula, apiVersion, aggregator, secretRef, requestTimeout (the address goes in "
                    + "the Secret, key address)",
            ]
        ),
        ("newRelic: {query: \"SELECT count(*) FROM Transaction\", profile: team, timeout: 30}", []),
        (
            "newRelic: {query: \"\", timeout: -3}",
            ["spec.metrics[0].provider.newRelic.query: required; give the NRQL query, SELECT ... FROM ..."]
        ),
        ("influxdb: {profile: team, query: \"from(bucket: \\\"web\\\") |> range(start: -5m)\"}", []),
        (
            "influxdb: {query: q, bucket: web}",
            [
                "spec.metrics[0].provider.influxdb.bucket: warning: unknown field; Argo's InfluxDB metric takes profile, query"
            ]
        ),
        (
            "cloudWatch: {interval: 5m}",
            [
                "spec.metrics[0].provider.cloudWatch.metricDataQueries: required; give at least one query, e.g. {id: "
                    + "errors, metricStat: {metric: {namespace: app, metricName: errors}, period: 300, stat: Sum}}"
            ]
        ),
        ("cloudWatch: {metricDataQueries: [{id: rate, expression: \"errors / requests\"}]}", []),
        (
            "cloudWatch: {metricDataQueries: [{id: rate, expression: x}], region: us-east-1}",
            [
                "spec.metrics[0].provider.cloudWatch.region: warning: unknown field; Argo's CloudWatch metric takes "
                    + "interval, metricDataQueries"
            ]
        ),
        (
            "kayenta: {address: \"http://kayenta:8090\"}",
            ["spec.metrics[0].provider.kayenta.application: required; give the application the canary config is for"]
        ),
        (
            "kayenta: {address: \"http://k:8090\", application: a, canaryConfigName: c, lookback: true, thresholds: "
                + "{pass: 90}, scopes: [{name: d, controlScope: {scope: x}, experimentScope: {scope: y}}]}",
            [
                "spec.metrics[0].provider.kayenta.thresholds: warning: Argo's field is threshold: Argo ignores "
                    + "thresholds (as its Kayenta page spells it) and passes every score; Aviary reads it as threshold. "
                    + "Rename it to be judged alike by both"
            ]
        ),
        // Argo's metric plugins run from argo-rollouts-config, which lint does not read.
        ("plugin: {acme/metric: {query: q}}", []),
        (
            "plugin: {acme/metric: {query: q}, acme/other: {}}",
            [
                "spec.metrics[0].provider.plugin: multiple providers specified (acme/metric, acme/other): a metric "
                    + "names one plugin; split it into one metric per plugin"
            ]
        ),
        ("skywalking: {address: \"http://oap:12800\", query: \"query { x }\", interval: 5m}", []),
        ("wavefront: {address: example.wavefront.com, query: \"ts(requests.errors)\"}", []),
        (
            "wavefront: {address: example.wavefront.com}",
            [#"spec.metrics[0].provider.wavefront.query: required; give the WQL query, e.g. ts("requests.errors")"#]
        ),
        (
            "skywalking: {address: \"http://oap:12800\", query: q, interval: 300, step: MINUTE}",
            [
                "spec.metrics[0].provider.skywalking.step: warning: unknown field; Argo's SkyWalking metric takes "
                    + "address, query, interval"
            ]
        ),
        (
            "skywalking: {address: oap, query: q, interval: 5m}",
            [
                #"spec.metrics[0].provider.skywalking.address: "oap" is not an http or https URL; give e.g. http://oap:12800"#
            ]
        ),
        (
            "skywalking: {address: \"http://oap:12800\", query: q}",
            ["spec.metrics[0].provider.skywalking.interval: required; give the window to query, e.g. 5m"]
        ),
    ]

    /// Graphite, Datadog, New Relic and InfluxDB are run, so their fields are checked; a provider Aviary
    /// does not run is an error naming it.
    @Test(arguments: providerCases)
    func metricProviders(provider: String, problems: [String]) {
        let template = """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata: {name: rate}
            spec:
              metrics:
              - name: errors
                successCondition: "result[0] < 1"
                provider: {\(provider)}
            """
        #expect(lint(["t.yaml": template]).diagnostics.map(\.description) == problems.map { "t.yaml: AnalysisTemplate/rate: " + $0 })
    }

    @Test func rolloutWithItsTemplateIsClean() {
        #expect(lint(["r.yaml": Self.rollout, "t.yaml": Self.template()]).diagnostics == [])
    }

    /// Argo's lint never requires the templates: teams keep them in a file of their own.
    @Test func missingTemplateIsAWarningAtTheReference() {
        let report = lint(["r.yaml": Self.rollout])
        #expect(
            report.diagnostics.map(\.description) == [
                "r.yaml: Rollout/web: spec.strategy.canary.steps[1].analysis.templates[0].templateName: warning: "
                    + "AnalysisTemplate \"rate\" (namespace default) is not among the given manifests; add its file with "
                    + "another -f, or the rollout waits until it is applied"
            ])
        #expect(!report.hasErrors)
    }

    @Test func missingRequiredArgumentIsAnError() {
        let report = lint([
            "r.yaml": Self.rollout, "t.yaml": Self.template(args: "[{name: service-name}, {name: threshold}]"),
        ])
        #expect(
            report.diagnostics.map(\.description) == [
                "r.yaml: Rollout/web: spec.strategy.canary.steps[1].analysis.args: argument \"threshold\" is required by "
                    + "template \"rate\" and has no default; add {name: threshold, value: ...}"
            ])
    }

    @Test func argumentWithADefaultNeedNotBeSupplied() {
        let report = lint([
            "r.yaml": Self.rollout,
            "t.yaml": Self.template(args: "[{name: service-name}, {name: threshold, value: '1'}]"),
        ])
        #expect(report.diagnostics == [])
    }

    @Test func undeclaredArgumentInATemplateIsAnError() {
        let report = lint(["t.yaml": Self.template(args: "[]")])
        #expect(
            report.diagnostics.map(\.description) == [
                "t.yaml: AnalysisTemplate/rate: spec.metrics[0]: uses {{args.service-name}}, but spec.args declares no "
                    + "argument \"service-name\"; add {name: service-name} to spec.args"
            ])
    }

    @Test func duplicateMetricAcrossTemplatesOfOneAnalysis() {
        let rollout = Self.rollout.replacingOccurrences(
            of: "templates: [{templateName: rate}]", with: "templates: [{templateName: rate}, {templateName: rate2}]")
        let report = lint(["r.yaml": rollout, "t.yaml": Self.template(), "u.yaml": Self.template(name: "rate2")])
        #expect(report.diagnostics.map(\.path) == ["spec.strategy.canary.steps[1].analysis.templates[1].templateName"])
        #expect(
            report.diagnostics.first?.message.hasPrefix("metric \"rate\" is defined by both \"rate\" and \"rate2\"")
                == true)
    }

    @Test func includedTemplatesSupplyMetricsAndArguments() {
        let parent = """
            apiVersion: argoproj.io/v1alpha1
            kind: AnalysisTemplate
            metadata: {name: rate}
            spec:
              templates: [{templateName: base}]
            """
        let base = Self.template(name: "base", args: "[{name: service-name}, {name: extra}]")
        let report = lint(["r.yaml": Self.rollout, "p.yaml": parent, "b.yaml": base])
        #expect(
            report.diagnostics.map(\.message) == [
                "argument \"extra\" is required by template \"base\" and has no default; add {name: extra, value: ...}"
            ])
    }

    @Test func clusterScopeLooksForAClusterAnalysisTemplate() {
        let rollout = Self.rollout.replacingOccurrences(
            of: "[{templateName: rate}]", with: "[{templateName: rate, clusterScope: true}]")
        let report = lint(["r.yaml": rollout, "t.yaml": Self.template()])
        #expect(report.diagnostics.first?.message.hasPrefix("ClusterAnalysisTemplate \"rate\" is not among") == true)
        let cluster = Self.template().replacingOccurrences(
            of: "kind: AnalysisTemplate", with: "kind: ClusterAnalysisTemplate")
        #expect(lint(["r.yaml": rollout, "t.yaml": cluster]).diagnostics == [])
    }

    @Test func duplicateResourceNamesAreAnError() {
        let report = lint(["a.yaml": Self.template(), "b.yaml": Self.template()])
        #expect(
            report.diagnostics.map(\.description) == [
                "b.yaml: AnalysisTemplate/rate: metadata.name: AnalysisTemplate/rate is defined twice (first in a.yaml); "
                    + "names must be unique per kind and namespace"
            ])
    }

    @Test func servicesSharingAPortAreFine() {
        // On a cluster each Service has its own IP; on one host each gets its own loopback address
        // when its port is taken on 127.0.0.1.
        let web = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"
        let api = web.replacingOccurrences(of: "name: web", with: "name: api")
        #expect(lint(["a.yaml": web, "b.yaml": api]).diagnostics == [])
    }

    @Test func missingServiceIsAWarningOnlyWhenServicesAreGiven() {
        let rollout = Self.rollout.replacingOccurrences(
            of: "    canary:\n", with: "    canary:\n      canaryService: web-canary\n      stableService: web-stable\n"
        ).replacingOccurrences(
            of: "      steps:\n", with: "      trafficRouting: {smi: {rootService: web}}\n      steps:\n")
        #expect(lint(["r.yaml": rollout, "t.yaml": Self.template()]).diagnostics == [])
        let service = "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}]}\n"
        let report = lint(["r.yaml": rollout, "t.yaml": Self.template(), "s.yaml": service])
        #expect(!report.hasErrors)
        #expect(
            report.diagnostics.map(\.path) == [
                "spec.strategy.canary.canaryService", "spec.strategy.canary.stableService",
            ])
        #expect(report.diagnostics.allSatisfy { $0.severity == .warning })
    }

    @Test func serviceThatSelectsOtherPodsIsAWarning() {
        let rollout = Self.rollout.replacingOccurrences(
            of: "    canary:\n", with: "    canary:\n      canaryService: web-canary\n      stableService: web-stable\n"
        ).replacingOccurrences(
            of: "      steps:\n", with: "      trafficRouting: {smi: {rootService: web}}\n      steps:\n")
        func service(_ name: String, port: Int, selector: String = "{app: web}", targetPort: String = "8080") -> String
        {
            "apiVersion: v1\nkind: Service\nmetadata: {name: \(name)}\n"
                + "spec: {selector: \(selector), ports: [{port: \(port), targetPort: \(targetPort)}]}\n"
        }
        let report = lint([
            "r.yaml": rollout, "t.yaml": Self.template(), "a.yaml": service("web", port: 80),
            "b.yaml": service("web-canary", port: 81, selector: "{app: other}"),
            "c.yaml": service("web-stable", port: 82, targetPort: "http"),
        ])
        #expect(
            report.diagnostics.map(\.description) == [
                "r.yaml: Rollout/web: spec.strategy.canary.canaryService: warning: Service \"web-canary\" selects "
                    + "{app: other}, which the Rollout's pods do not carry; it would have no endpoints",
                "r.yaml: Rollout/web: spec.strategy.canary.stableService: warning: Service \"web-stable\" targets port "
                    + "\"http\", which no container of the Rollout declares",
            ])
    }

    @Test func experimentAnalysisNeedsItsTemplate() {
        let experiment = """
            apiVersion: argoproj.io/v1alpha1
            kind: Experiment
            metadata: {name: exp}
            spec:
              templates:
              - name: a
                selector: {matchLabels: {app: a}}
                template:
                  metadata: {labels: {app: a}}
                  spec: {containers: [{name: a, image: a:v1}]}
              analyses: [{name: check, templateName: missing}]
            """
        let report = lint(["e.yaml": experiment])
        #expect(report.diagnostics.map(\.path) == ["spec.analyses[0].templateName"])
    }

    @Test func conditionThatDoesNotParseIsAnErrorWithLineAndColumn() {
        let template = Self.template().replacingOccurrences(
            of: "successCondition: result[0] > 0", with: "successCondition: result[0] >= && true")
        let report = lint(["t.yaml": template])
        #expect(report.diagnostics.map(\.path) == ["spec.metrics[0].successCondition"])
        let message = report.diagnostics.first?.message ?? ""
        #expect(message.hasPrefix("1:14: "), "\(message)")
    }

    @Test(arguments: [
        "result[0] >= 0.95", "len(result) == 0 || asFloat(result[0].value[1]) >= 0.95", "result[0] >= {{args.min}}",
        "all(result, # < 1000)", "result.ok == true and result.count > 3",
    ])
    func conditionsThatParse(_ condition: String) {
        #expect(ConditionChecks.problem(in: condition) == nil)
    }

    @Test(arguments: [
        ("result[0] >=", "spec.metrics[0].failureCondition"), ("(result[0] > 1", "spec.metrics[0].failureCondition"),
        ("   ", "spec.metrics[0].failureCondition"),
    ])
    func failureConditionThatDoesNotParse(_ condition: String, _ path: String) {
        let template = Self.template().replacingOccurrences(
            of: "successCondition: result[0] > 0", with: "failureCondition: '\(condition)'")
        let report = lint(["t.yaml": template])
        #expect(report.diagnostics.map(\.path) == [path], "\(report.diagnostics)")
        #expect(report.hasErrors)
    }

    @Test func templatedConditionSaysHowItWasRead() throws {
        let message = try #require(ConditionChecks.problem(in: "result[0] >= {{args.min}} &&"))
        #expect(message.hasSuffix("(in \"result[0] >= 0 &&\", with each {{...}} read as 0)"), "\(message)")
    }

    @Test func summaryCountsFilesResourcesErrorsAndWarnings() {
        let report = lint(["r.yaml": Self.rollout + "\n---\napiVersion: v1\nkind: ConfigMap\nmetadata: {name: x}\nbogus: 1\n"
            + "---\napiVersion: apps/v1\nkind: StatefulSet\nmetadata: {name: d}\n"])
        #expect(report.summary == "linted 2 resources in 1 file: 0 errors, 2 warnings, 1 document skipped")
    }

    @Test func unreadableFileIsReported() {
        let (inputs, unreadable) = LintFiles.read(["/nonexistent/aviary.yaml"])
        #expect(inputs.isEmpty)
        #expect(unreadable.map(\.description) == ["/nonexistent/aviary.yaml: no such file or directory"])
    }

    @Test(arguments: [
        ("{{args.a}} and {{ args.b }} and {{args.a}}", ["a", "b"]), ("no tags", []),
        ("{{templates.x.podTemplateHash}}", []),
    ])
    func argumentReferencesAreFound(_ text: String, _ names: [String]) {
        #expect(CrossDocumentChecks.argumentReferences(in: text) == names)
    }
}
