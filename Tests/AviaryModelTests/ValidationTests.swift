import Testing

@testable import AviaryModel

/// Builds small manifests that each break one rule.
enum Manifests {
    /// Indents every line of `text` by `spaces`.
    static func indent(_ text: String, _ spaces: Int) -> String {
        let pad = String(repeating: " ", count: spaces)
        return text.split(separator: "\n", omittingEmptySubsequences: false).map { pad + $0 }.joined(separator: "\n")
    }

    /// A canary Rollout whose container also has `lines` (`env:` or `envFrom:` in flow style).
    static func withEnvironment(_ lines: String...) -> String {
        let added = lines.map { "        \($0)\n" }.joined()
        return basicCanary(steps: "- setWeight: 10").replacingOccurrences(
            of: "command: [aviary-sample-app]\n", with: "command: [aviary-sample-app]\n" + added)
    }

    static let podTemplate = """
        template:
          metadata:
            labels: {app: demo}
          spec:
            containers:
            - name: demo
              image: sample-app:v1
              command: [aviary-sample-app]
              ports: [{name: http, containerPort: 8080}]
              readinessProbe:
                httpGet: {path: /healthz, port: http}
        """

    /// A Rollout with the given `strategy:` body and extra spec lines.
    static func rollout(strategy: String, spec: String = "", template: String = podTemplate) -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: demo
        spec:
          replicas: 4
          selector:
            matchLabels: {app: demo}
        \(indent(template, 2))
        \(indent(spec, 2))
          strategy:
        \(indent(strategy, 4))
        """
    }

    /// A canary Rollout with SMI traffic routing and the given steps.
    static func routedCanary(steps: String, extra: String = "") -> String {
        rollout(
            strategy: """
                canary:
                  canaryService: demo-canary
                  stableService: demo-stable
                  trafficRouting:
                    smi: {rootService: demo}
                    managedRoutes: [{name: header}, {name: mirror}]
                \(indent(extra, 2))
                  steps:
                \(indent(steps, 2))
                """)
    }

    /// A basic canary Rollout (no traffic routing) with the given steps.
    static func basicCanary(steps: String) -> String {
        rollout(
            strategy: """
                canary:
                  steps:
                \(indent(steps, 2))
                """)
    }

    /// An AnalysisTemplate with the given metric fields under one metric.
    static func template(metric: String, extraSpec: String = "") -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata:
          name: rate
        spec:
        \(indent(extraSpec, 2))
          metrics:
          - name: rate
        \(indent(metric, 4))
        """
    }

    static let prometheus = """
        provider:
          prometheus: {address: "http://127.0.0.1:9090", query: up}
        """
}

@Suite struct ValidationTests {
    struct Case: CustomTestStringConvertible, Sendable {
        var name: String
        var manifest: String
        var path: String
        var message: String
        var testDescription: String { name }
    }

    static let cases: [Case] = [
        Case(
            name: "no strategy", manifest: Manifests.rollout(strategy: "{}"), path: "spec.strategy",
            message: "must set exactly one of canary and blueGreen, found neither"),
        Case(
            name: "two strategies",
            manifest: Manifests.rollout(strategy: "canary: {}\nblueGreen: {activeService: a}"),
            path: "spec.strategy", message: "must set exactly one of canary and blueGreen, found both"),
        Case(
            name: "two keys in a step", manifest: Manifests.basicCanary(steps: "- {setWeight: 10, pause: {}}"),
            path: "spec.strategy.canary.steps[0]",
            message: "must set only one of setWeight, pause, experiment and analysis, found setWeight, pause"),
        Case(
            name: "empty step", manifest: Manifests.basicCanary(steps: "- setWeight: 10\n- {}"),
            path: "spec.strategy.canary.steps[1]", message: "must set one of setWeight, pause"),
        Case(
            name: "setWeight above 100", manifest: Manifests.basicCanary(steps: "- setWeight: 10\n- setWeight: 150"),
            path: "spec.strategy.canary.steps[1].setWeight", message: "must be between 0 and 100, got 150"),
        Case(
            name: "setWeight below 0", manifest: Manifests.basicCanary(steps: "- setWeight: -5"),
            path: "spec.strategy.canary.steps[0].setWeight", message: "must be between 0 and 100, got -5"),
        Case(
            name: "setWeight above maxTrafficWeight",
            manifest: Manifests.rollout(
                strategy: """
                    canary:
                      canaryService: c
                      stableService: s
                      trafficRouting: {maxTrafficWeight: 10, smi: {rootService: r}}
                      steps: [{setWeight: 20}]
                    """),
            path: "spec.strategy.canary.steps[0].setWeight", message: "must be between 0 and 10, got 20"),
        Case(
            name: "pause of zero", manifest: Manifests.basicCanary(steps: "- pause: {duration: 0s}"),
            path: "spec.strategy.canary.steps[0].pause.duration", message: "must be greater than 0, got 0s"),
        Case(
            name: "negative bare pause", manifest: Manifests.basicCanary(steps: "- pause: {duration: -10}"),
            path: "spec.strategy.canary.steps[0].pause.duration", message: "must be greater than 0, got -10"),
        Case(
            name: "pause that does not parse",
            manifest: Manifests.basicCanary(steps: "- pause: {duration: 10 minutes}"),
            path: "spec.strategy.canary.steps[0].pause.duration", message: "invalid duration \"10 minutes\""),
        Case(
            name: "selector does not match labels",
            manifest: Manifests.basicCanary(steps: "- setWeight: 10").replacingOccurrences(
                of: "matchLabels: {app: demo}", with: "matchLabels: {app: other}"),
            path: "spec.selector", message: "does not match the template's labels"),
        Case(
            name: "missing selector",
            manifest: Manifests.basicCanary(steps: "- setWeight: 10").replacingOccurrences(
                of: "  selector:\n    matchLabels: {app: demo}\n", with: ""),
            path: "spec.selector", message: "required"),
        Case(
            name: "activeService equals previewService",
            manifest: Manifests.rollout(strategy: "blueGreen: {activeService: web, previewService: web}"),
            path: "spec.strategy.blueGreen.previewService", message: "must differ from activeService"),
        Case(
            name: "canaryService equals stableService",
            manifest: Manifests.rollout(strategy: "canary: {canaryService: web, stableService: web}"),
            path: "spec.strategy.canary.stableService", message: "must differ from canaryService"),
        Case(
            name: "pingPong with a router other than ALB or Istio",
            manifest: Manifests.rollout(
                strategy: "canary: {canaryService: c, stableService: s, pingPong: {pingService: a, pongService: b}, "
                    + "trafficRouting: {smi: {rootService: r}}}"),
            path: "spec.strategy.canary.trafficRouting", message: "pingPong works with the alb and istio traffic routers only"),
        Case(
            name: "pingPong without a pong Service",
            manifest: Manifests.rollout(
                strategy: "canary: {pingPong: {pingService: a}, trafficRouting: {istio: {virtualService: {name: v}}}}"),
            path: "spec.strategy.canary.pingPong.pongService", message: "required: pingPong needs both"),
        Case(
            name: "pingPong with one Service twice",
            manifest: Manifests.rollout(
                strategy: "canary: {pingPong: {pingService: a, pongService: a}, trafficRouting: {istio: {virtualService: {name: v}}}}"),
            path: "spec.strategy.canary.pingPong.pongService", message: "must differ from pingService"),
        Case(
            name: "traffic routing without canaryService",
            manifest: Manifests.rollout(
                strategy: "canary: {stableService: s, trafficRouting: {smi: {rootService: r}}}"),
            path: "spec.strategy.canary.canaryService", message: "required with trafficRouting"),
        Case(
            name: "traffic routing without stableService",
            manifest: Manifests.rollout(
                strategy: "canary: {canaryService: c, trafficRouting: {smi: {rootService: r}}}"),
            path: "spec.strategy.canary.stableService", message: "required with trafficRouting"),
        Case(
            name: "setCanaryScale without traffic routing",
            manifest: Manifests.basicCanary(steps: "- setCanaryScale: {replicas: 1}"),
            path: "spec.strategy.canary.steps[0].setCanaryScale",
            message: "requires spec.strategy.canary.trafficRouting"),
        Case(
            name: "setHeaderRoute without traffic routing",
            manifest: Manifests.basicCanary(
                steps: "- setHeaderRoute: {name: header, match: [{headerName: x, headerValue: {exact: y}}]}"),
            path: "spec.strategy.canary.steps[0].setHeaderRoute",
            message: "requires spec.strategy.canary.trafficRouting"),
        Case(
            name: "setMirrorRoute without traffic routing",
            manifest: Manifests.basicCanary(steps: "- setMirrorRoute: {name: mirror, match: [{method: {exact: GET}}]}"),
            path: "spec.strategy.canary.steps[0].setMirrorRoute",
            message: "requires spec.strategy.canary.trafficRouting"),
        Case(
            name: "header route not in managedRoutes",
            manifest: Manifests.routedCanary(
                steps: "- setHeaderRoute: {name: other, match: [{headerName: x, headerValue: {exact: y}}]}"),
            path: "spec.strategy.canary.steps[0].setHeaderRoute.name",
            message: "\"other\" is not listed in spec.strategy.canary.trafficRouting.managedRoutes"),
        Case(
            name: "mirror route not in managedRoutes",
            manifest: Manifests.routedCanary(steps: "- setMirrorRoute: {name: other, match: [{path: {prefix: /}}]}"),
            path: "spec.strategy.canary.steps[0].setMirrorRoute.name",
            message: "\"other\" is not listed in spec.strategy.canary.trafficRouting.managedRoutes"),
        Case(
            name: "header match with two kinds",
            manifest: Manifests.routedCanary(
                steps: "- setHeaderRoute: {name: header, match: [{headerName: x, headerValue: {exact: y, prefix: z}}]}"),
            path: "spec.strategy.canary.steps[0].setHeaderRoute.match[0].headerValue",
            message: "must set exactly one of exact, prefix and regex, found 2"),
        Case(
            name: "bad header regex",
            manifest: Manifests.routedCanary(
                steps: "- setHeaderRoute: {name: header, match: [{headerName: x, headerValue: {regex: \"[a-\"}}]}"),
            path: "spec.strategy.canary.steps[0].setHeaderRoute.match[0].headerValue.regex",
            message: "is not a valid regular expression"),
        Case(
            name: "setCanaryScale with two members",
            manifest: Manifests.routedCanary(steps: "- setCanaryScale: {replicas: 1, weight: 10}"),
            path: "spec.strategy.canary.steps[0].setCanaryScale",
            message: "must set exactly one of replicas, weight and matchTrafficWeight, found 2"),
        Case(
            name: "maxSurge and maxUnavailable both 0",
            manifest: Manifests.rollout(strategy: "canary: {maxSurge: 0, maxUnavailable: \"0%\"}"),
            path: "spec.strategy.canary.maxUnavailable", message: "cannot be 0 when maxSurge is also 0"),
        Case(
            name: "maxSurge not a percentage",
            manifest: Manifests.rollout(strategy: "canary: {maxSurge: lots}"),
            path: "spec.strategy.canary.maxSurge", message: "must be an integer or a percentage such as \"25%\""),
        Case(
            name: "step analysis without templates",
            manifest: Manifests.basicCanary(steps: "- analysis: {args: [{name: a, value: b}]}"),
            path: "spec.strategy.canary.steps[0].analysis.templates", message: "must name at least one template"),
        Case(
            name: "background analysis starting past the steps",
            manifest: Manifests.rollout(
                strategy:
                    "canary: {analysis: {templates: [{templateName: t}], startingStep: 3}, steps: [{setWeight: 10}]}"),
            path: "spec.strategy.canary.analysis.startingStep", message: "must be between 0 and 0"),
        Case(
            name: "scaleDownDelaySeconds without traffic routing",
            manifest: Manifests.rollout(strategy: "canary: {scaleDownDelaySeconds: 10}"),
            path: "spec.strategy.canary.scaleDownDelaySeconds", message: "can only be used with trafficRouting"),
        Case(
            name: "container without image",
            manifest: Manifests.basicCanary(steps: "- setWeight: 10").replacingOccurrences(
                of: "image: sample-app:v1", with: "imagePullPolicy: Always"),
            path: "spec.template.spec.containers[0].image", message: "required"),
        Case(
            name: "probe on an undeclared port",
            manifest: Manifests.basicCanary(steps: "- setWeight: 10").replacingOccurrences(
                of: "port: http}", with: "port: web}"),
            path: "spec.template.spec.containers[0].readinessProbe.httpGet.port",
            message: "names no port of this container (\"web\")"),
        Case(
            name: "progress deadline not above minReadySeconds",
            manifest: Manifests.rollout(
                strategy: "canary: {}", spec: "minReadySeconds: 30\nprogressDeadlineSeconds: 30"),
            path: "spec.progressDeadlineSeconds", message: "must be greater than minReadySeconds (30), got 30"),
        Case(
            name: "invalid name",
            manifest: Manifests.rollout(strategy: "canary: {}").replacingOccurrences(
                of: "name: demo\nspec:", with: "name: Demo_App\nspec:"),
            path: "metadata.name", message: "\"Demo_App\" is not a valid name"),
        Case(
            name: "metric without provider", manifest: Manifests.template(metric: "successCondition: result > 1"),
            path: "spec.metrics[0].provider", message: "required; set exactly one provider (prometheus, web, job"),
        Case(
            name: "metric with two providers",
            manifest: Manifests.template(
                metric: """
                    provider:
                      prometheus: {address: "http://127.0.0.1:9090", query: up}
                      web: {url: "http://127.0.0.1:1/"}
                    """),
            path: "spec.metrics[0].provider", message: "must set exactly one provider, found 2: prometheus, web"),
        Case(
            name: "count above 1 without interval",
            manifest: Manifests.template(metric: "count: 3\n" + Manifests.prometheus),
            path: "spec.metrics[0].interval", message: "required when count is greater than 1 (count is 3)"),
        Case(
            name: "failureLimit above count",
            manifest: Manifests.template(metric: "count: 2\ninterval: 10s\nfailureLimit: 5\n" + Manifests.prometheus),
            path: "spec.metrics[0].failureLimit", message: "must not exceed count (2), got 5"),
        Case(
            name: "failureLimit below -1",
            manifest: Manifests.template(metric: "failureLimit: -2\n" + Manifests.prometheus),
            path: "spec.metrics[0].failureLimit", message: "must be 0 or more (or -1 for no limit), got -2"),
        Case(
            name: "failureLimit -1 without consecutiveSuccessLimit",
            manifest: Manifests.template(metric: "failureLimit: -1\n" + Manifests.prometheus),
            path: "spec.metrics[0].failureLimit", message: "-1 (no limit) needs consecutiveSuccessLimit of 1 or more"),
        Case(
            name: "consecutiveSuccessLimit above count",
            manifest: Manifests.template(
                metric: "count: 2\ninterval: 5s\nconsecutiveSuccessLimit: 3\n" + Manifests.prometheus),
            path: "spec.metrics[0].consecutiveSuccessLimit", message: "must not exceed count (2), got 3"),
        Case(
            name: "negative consecutiveSuccessLimit",
            manifest: Manifests.template(metric: "consecutiveSuccessLimit: -1\n" + Manifests.prometheus),
            path: "spec.metrics[0].consecutiveSuccessLimit", message: "must be 0 or more (0 turns it off), got -1"),
        Case(
            name: "negative consecutiveErrorLimit",
            manifest: Manifests.template(metric: "consecutiveErrorLimit: -1\n" + Manifests.prometheus),
            path: "spec.metrics[0].consecutiveErrorLimit", message: "must be 0 or more, got -1"),
        Case(
            name: "duplicate metric names",
            manifest: """
                apiVersion: argoproj.io/v1alpha1
                kind: AnalysisTemplate
                metadata: {name: rate}
                spec:
                  metrics:
                  - {name: rate, provider: {prometheus: {address: "http://127.0.0.1:9090", query: up}}}
                  - {name: rate, provider: {prometheus: {address: "http://127.0.0.1:9090", query: up}}}
                """,
            path: "spec.metrics[1].name", message: "duplicate metric name \"rate\""),
        Case(
            name: "count that is not a number",
            manifest: Manifests.template(metric: "count: many\n" + Manifests.prometheus),
            path: "spec.metrics[0].count", message: "must be an integer"),
        Case(
            name: "duplicate template args",
            manifest: Manifests.template(metric: Manifests.prometheus, extraSpec: "args: [{name: a}, {name: a}]"),
            path: "spec.args[1].name", message: "duplicate argument \"a\""),
        Case(
            name: "template without metrics",
            manifest: "apiVersion: argoproj.io/v1alpha1\nkind: AnalysisTemplate\nmetadata: {name: t}\nspec: {}",
            path: "spec.metrics", message: "must list at least one metric"),
        Case(
            name: "service without ports",
            manifest: "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {selector: {app: web}}",
            path: "spec.ports", message: "must list at least one port"),
        Case(
            name: "experiment selector mismatch",
            manifest: """
                apiVersion: argoproj.io/v1alpha1
                kind: Experiment
                metadata: {name: exp}
                spec:
                  templates:
                  - name: a
                    selector: {matchLabels: {app: x}}
                    template:
                      metadata: {labels: {app: y}}
                      spec: {containers: [{name: a, image: sample-app:v1}]}
                """,
            path: "spec.templates[0].selector", message: "does not match the template's labels"),
        Case(
            name: "web provider with an unknown method",
            manifest: Manifests.template(metric: "provider:\n  web: {url: \"http://127.0.0.1:1/\", method: DELETE}"),
            path: "spec.metrics[0].provider.web.method", message: "must be GET, POST or PUT, got \"DELETE\""),
        Case(
            name: "web body with GET",
            manifest: Manifests.template(metric: "provider:\n  web: {url: \"http://127.0.0.1:1/\", body: x}"),
            path: "spec.metrics[0].provider.web.method", message: "must be POST or PUT when a body is given"),
        Case(
            name: "job that restarts always",
            manifest: Manifests.template(
                metric: """
                    provider:
                      job:
                        spec:
                          template:
                            spec:
                              restartPolicy: Always
                              containers: [{name: j, image: j:v1, command: ["true"]}]
                    """),
            path: "spec.metrics[0].provider.job.spec.template.spec.restartPolicy",
            message: "must be Never or OnFailure for a job, got Always"),
        Case(
            name: "measurementRetention limit of 0",
            manifest: Manifests.template(
                metric: Manifests.prometheus, extraSpec: "measurementRetention: [{metricName: rate, limit: 0}]"),
            path: "spec.measurementRetention[0].limit", message: "must be 1 or more, got 0"),
        Case(
            name: "analysis run argument without a value",
            manifest: """
                apiVersion: argoproj.io/v1alpha1
                kind: AnalysisRun
                metadata: {name: run}
                spec:
                  args: [{name: service-name}]
                  metrics: [{name: m, provider: {prometheus: {address: "http://127.0.0.1:9090", query: up}}}]
                """,
            path: "spec.args[0]", message: "must set value or valueFrom"),
        Case(
            name: "experiment step with an unknown specRef",
            manifest: Manifests.basicCanary(steps: "- experiment: {templates: [{name: a, specRef: preview}]}"),
            path: "spec.strategy.canary.steps[0].experiment.templates[0].specRef",
            message: "must be stable or canary, got \"preview\""),
        Case(
            name: "replicaProgressThreshold of an unknown type",
            manifest: Manifests.rollout(strategy: "canary: {replicaProgressThreshold: {type: Ratio, value: 1}}"),
            path: "spec.strategy.canary.replicaProgressThreshold.type", message: "must be Percent or Pods"),
        Case(
            name: "dynamicStableScale without traffic routing",
            manifest: Manifests.rollout(strategy: "canary: {dynamicStableScale: true}"),
            path: "spec.strategy.canary.dynamicStableScale", message: "can only be used with trafficRouting"),
        Case(
            name: "podTemplateHashValue that is neither Stable nor Latest",
            manifest: Manifests.basicCanary(
                steps:
                    "- analysis: {templates: [{templateName: t}], args: [{name: h, valueFrom: {podTemplateHashValue: Canary}}]}"
            ),
            path: "spec.strategy.canary.steps[0].analysis.args[0].valueFrom.podTemplateHashValue",
            message: "must be Stable or Latest, got \"Canary\""),
        Case(
            name: "duplicate container names",
            manifest: Manifests.basicCanary(steps: "- setWeight: 10").replacingOccurrences(
                of: "containers:\n", with: "containers:\n      - {name: demo, image: other:v1}\n"),
            path: "spec.template.spec.containers[1].name", message: "duplicate container name \"demo\""),
        Case(
            name: "service port out of range",
            manifest: "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 70000}]}",
            path: "spec.ports[0].port", message: "must be between 1 and 65535, got 70000"),
        Case(
            name: "service name with capitals",
            manifest: "apiVersion: v1\nkind: Service\nmetadata: {name: Web}\nspec: {ports: [{port: 80}]}",
            path: "metadata.name", message: "\"Web\" is not a valid Service name"),
        Case(
            name: "invalid namespace",
            manifest:
                "apiVersion: v1\nkind: Service\nmetadata: {name: web, namespace: My_NS}\nspec: {ports: [{port: 80}]}",
            path: "metadata.namespace", message: "\"My_NS\" is not a valid namespace"),
        Case(
            name: "two unnamed service ports",
            manifest: "apiVersion: v1\nkind: Service\nmetadata: {name: web}\nspec: {ports: [{port: 80}, {port: 81}]}",
            path: "spec.ports[0].name", message: "required when a Service has more than one port"),
        Case(
            name: "blue-green without activeService",
            manifest: Manifests.rollout(strategy: "blueGreen: {previewService: p}"),
            path: "spec.strategy.blueGreen.activeService", message: "required; name the Service that receives"),
        Case(
            name: "mirror route percentage above 100",
            manifest: Manifests.routedCanary(
                steps: "- setMirrorRoute: {name: mirror, percentage: 120, match: [{method: {exact: GET}}]}"),
            path: "spec.strategy.canary.steps[0].setMirrorRoute.percentage",
            message: "must be between 0 and 100, got 120"),
        Case(
            name: "mirror match with no condition",
            manifest: Manifests.routedCanary(steps: "- setMirrorRoute: {name: mirror, match: [{}]}"),
            path: "spec.strategy.canary.steps[0].setMirrorRoute.match[0]",
            message: "must set at least one of method, path and headers"),
        Case(
            name: "traffic routing without a router",
            manifest: Manifests.rollout(
                strategy: "canary: {canaryService: c, stableService: s, trafficRouting: {maxTrafficWeight: 100}}"),
            path: "spec.strategy.canary.trafficRouting", message: "must configure a traffic router"),
        Case(
            name: "secret data that is not base64",
            manifest: "apiVersion: v1\nkind: Secret\nmetadata: {name: s}\ndata: {TOKEN: not base64!}",
            path: "data.TOKEN", message: "must be base64; put a plain value under stringData"),
        Case(
            name: "config map key with a slash",
            manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {a/b: x}",
            path: "data.a/b", message: "invalid key"),
        Case(
            name: "config map key in data and binaryData",
            manifest: "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: c}\ndata: {k: x}\nbinaryData: {k: eA==}",
            path: "binaryData.k", message: "duplicate key"),
        Case(
            name: "env valueFrom with two sources",
            manifest: Manifests.withEnvironment(
                "env: [{name: A, valueFrom: {configMapKeyRef: {name: c, key: k}, secretKeyRef: {name: s, key: k}}}]"),
            path: "spec.template.spec.containers[0].env[0].valueFrom", message: "must set exactly one of"),
        Case(
            name: "env with value and valueFrom",
            manifest: Manifests.withEnvironment(
                "env: [{name: A, value: x, valueFrom: {fieldRef: {fieldPath: metadata.name}}}]"),
            path: "spec.template.spec.containers[0].env[0]", message: "must set only one of value and valueFrom"),
        Case(
            name: "env fieldRef to a field pods do not offer",
            manifest: Manifests.withEnvironment("env: [{name: A, valueFrom: {fieldRef: {fieldPath: spec.replicas}}}]"),
            path: "spec.template.spec.containers[0].env[0].valueFrom.fieldRef.fieldPath",
            message: "\"spec.replicas\" is not a field Kubernetes offers"),
        Case(
            name: "envFrom with neither reference",
            manifest: Manifests.withEnvironment("envFrom: [{prefix: X_}]"),
            path: "spec.template.spec.containers[0].envFrom[0]", message: "must set exactly one of configMapRef"),
        Case(
            name: "configMapKeyRef without a name",
            manifest: Manifests.withEnvironment("env: [{name: A, valueFrom: {configMapKeyRef: {key: k}}}]"),
            path: "spec.template.spec.containers[0].env[0].valueFrom.configMapKeyRef.name", message: "required"),
    ]

    @Test(arguments: cases)
    func ruleReportsItsFieldPath(_ testCase: Case) {
        let decoded = ManifestDecoder().decode(testCase.manifest, file: "case.yaml")
        let errors = decoded.diagnostics.filter(\.isError)
        #expect(
            errors.contains { $0.path == testCase.path && $0.message.contains(testCase.message) },
            "expected \(testCase.path): \(testCase.message) in:\n\(errors.map(\.description).joined(separator: "\n"))")
    }

    @Test func validManifestsHaveNoIssues() throws {
        for manifest in Fixtures.all {
            #expect(ManifestDecoder().decode(manifest, file: "ok.yaml").diagnostics == [])
        }
        let routed = Manifests.routedCanary(
            steps: """
                - setWeight: 10
                - setHeaderRoute: {name: header, match: [{headerName: x-canary, headerValue: {exact: "yes"}}]}
                - setMirrorRoute: {name: mirror, percentage: 50, match: [{method: {exact: GET}}]}
                - setCanaryScale: {weight: 25}
                - pause: {duration: 1h30m}
                """)
        #expect(ManifestDecoder().decode(routed, file: "ok.yaml").diagnostics == [])
    }

    @Test func routeChangeBesideAnotherKeyIsOnlyAWarning() throws {
        let manifest = Manifests.routedCanary(
            steps:
                "- setCanaryScale: {replicas: 1}\n  setHeaderRoute: {name: header, match: [{headerName: x, headerValue: {exact: y}}]}"
        )
        let decoded = ManifestDecoder().decode(manifest, file: "r.yaml")
        #expect(!decoded.hasErrors)
        #expect(decoded.diagnostics.map(\.path) == ["spec.strategy.canary.steps[0]"])
        #expect(decoded.diagnostics.first?.severity == .warning)
    }

    @Test func servicesAreOptionalWhereArgoDoesWithoutThem() throws {
        let istioSubsets = Manifests.rollout(
            strategy: """
                canary:
                  trafficRouting:
                    istio:
                      virtualService: {name: vs}
                      destinationRule: {name: dr, canarySubsetName: canary, stableSubsetName: stable}
                  steps: [{setWeight: 10}]
                """)
        #expect(ManifestDecoder().decode(istioSubsets, file: "r.yaml").diagnostics == [])
        let pingPong = Manifests.rollout(
            strategy: """
                canary:
                  pingPong: {pingService: web-ping, pongService: web-pong}
                  trafficRouting:
                    istio: {virtualService: {name: web}}
                  steps: [{setWeight: 10}]
                """)
        // Ping-pong names the Services the router splits: canaryService and stableService are not needed.
        #expect(ManifestDecoder().decode(pingPong, file: "r.yaml").diagnostics == [])
        // Argo's ALB ping-pong beside Istio's canary and stable Services: taken, both driven.
        let albBesideIstio = Manifests.rollout(
            strategy: """
                canary:
                  canaryService: web-canary
                  stableService: web-stable
                  pingPong: {pingService: web-ping, pongService: web-pong}
                  trafficRouting:
                    alb: {ingress: web, rootService: web-root, servicePort: 80}
                    istio: {virtualService: {name: web}}
                  steps: [{setWeight: 10}]
                """)
        #expect(ManifestDecoder().decode(albBesideIstio, file: "r.yaml").diagnostics == [])
        let workloadRef = Manifests.rollout(
            strategy: "canary: {}", template: "workloadRef: {apiVersion: apps/v1, kind: Deployment, name: web}"
        )
        .replacingOccurrences(of: "  selector:\n    matchLabels: {app: demo}\n", with: "")
        // Argo needs no selector with workloadRef either: it comes from the Deployment.
        #expect(ManifestDecoder().decode(workloadRef, file: "r.yaml").diagnostics == [])
    }

    /// A workloadRef names a Deployment or a PodTemplate, by name, with a scaleDown Argo knows.
    @Test(
        arguments: [
            ("{kind: Deployment, name: web, scaleDown: progressively}", nil),
            ("{apiVersion: v1, kind: PodTemplate, name: web}", nil),
            (
                "{apiVersion: apps/v1, kind: Deployment}",
                "spec.workloadRef.name: required; give the name of the Deployment in the Rollout's namespace"
            ),
            (
                "{apiVersion: v1, kind: Deployment, name: web}",
                "spec.workloadRef.apiVersion: must be apps/v1 for a Deployment, got v1"
            ),
            (
                "{kind: StatefulSet, name: web}",
                "spec.workloadRef.kind: must be Deployment (apiVersion apps/v1), ReplicaSet (apps/v1) or PodTemplate (v1), "
                    + "got StatefulSet"
            ),
            ("{apiVersion: apps/v1, kind: ReplicaSet, name: web}", nil),
            (
                "{kind: ReplicaSet, name: web, scaleDown: onsuccess}",
                "spec.workloadRef.scaleDown: warning: only a Deployment is scaled down (as in Argo); scale the ReplicaSet "
                    + "yourself once the Rollout is Healthy"
            ),
            (
                "{kind: Deployment, name: web, scaleDown: always}",
                "spec.workloadRef.scaleDown: must be never, onsuccess or progressively, got always"
            ),
        ] as [(String, String?)])
    func workloadRefFields(reference: String, problem: String?) {
        let yaml = Manifests.rollout(strategy: "canary: {}", template: "workloadRef: \(reference)")
        let diagnostics = ManifestDecoder().decode(yaml, file: "r.yaml").diagnostics.map(\.description)
        #expect(diagnostics == (problem.map { ["r.yaml: Rollout/demo: \($0)"] } ?? []))
    }

    /// What Argo refuses is an error naming the field, in lint, plan and apply alike, never a
    /// rollout that silently stalls.
    @Test(arguments: [
        (
            "- plugin: {name: \"\", config: {a: 1}}", "spec.strategy.canary.steps[0].plugin.name",
            "required: the step plugin's name, as stepPlugins of argo-rollouts-config lists it (NAMESPACE/NAME)"
        ),
        (
            "- experiment: {templates: [{name: a, specRef: stable, weight: 10}]}",
            "spec.strategy.canary.steps[0].experiment.templates[0].weight",
            "Experiment template weight cannot be set unless TrafficRouting is enabled; add trafficRouting or remove the weight"
        ),
    ])
    func stepsAviaryDoesNotRunAreErrors(_ step: String, _ path: String, _ message: String) {
        let diagnostics = ManifestDecoder().decode(Manifests.basicCanary(steps: step), file: "r.yaml").diagnostics
        #expect(diagnostics.map { "\($0.path): \($0.message)" } == ["\(path): \(message)"])
    }

    @Test func smiRootServiceDefaultsToTheStableService() throws {
        let manifest = Manifests.rollout(
            strategy: "canary: {canaryService: c, stableService: s, trafficRouting: {smi: {}}}")
        guard case .rollout(let rollout) = try ManifestDecoder().resources(from: manifest).first else {
            Issue.record("expected a Rollout")
            return
        }
        #expect(rollout.spec.strategy.canary?.smiRootServiceOrDefault == "s")
    }

    @Test func messageNamesFileResourcePathAndProblem() throws {
        let decoded = ManifestDecoder().decode(
            Manifests.basicCanary(steps: "- setWeight: 10\n- setWeight: 150"), file: "rollout.yaml")
        #expect(
            decoded.diagnostics.map(\.description) == [
                "rollout.yaml: Rollout/demo: spec.strategy.canary.steps[1].setWeight: must be between 0 and 100, got 150"
            ])
    }

    @Test func unknownFieldIsAWarningWithItsPath() throws {
        let manifest = Manifests.basicCanary(steps: "- setWeight: 10\n  weight: 5").replacingOccurrences(
            of: "replicas: 4", with: "replicas: 4\n  replica: 3")
        let decoded = ManifestDecoder().decode(manifest, file: "r.yaml")
        #expect(!decoded.hasErrors)
        #expect(
            decoded.diagnostics.map(\.description) == [
                "r.yaml: Rollout/demo: spec.replica: warning: unknown field \"replica\", ignored; check its spelling",
                "r.yaml: Rollout/demo: spec.strategy.canary.steps[0].weight: warning: unknown field \"weight\", ignored; check its spelling",
            ])
    }

    @Test func configurationManifestsAndEnvironmentSourcesDecodeWithoutIssues() throws {
        let manifests = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: web-config}
            data: {GREETING: hi, app.properties: "a=1"}
            binaryData: {logo.png: iVBORw0=}
            immutable: true
            ---
            apiVersion: v1
            kind: Secret
            metadata: {name: web-secret}
            type: kubernetes.io/basic-auth
            data: {username: YWRtaW4=}
            stringData: {password: hunter2}
            """
        let decoded = ManifestDecoder().decode(manifests, file: "config.yaml")
        #expect(decoded.diagnostics == [])
        guard decoded.resources.count == 2, case .configMap(let configMap) = decoded.resources[0],
            case .secret(let secret) = decoded.resources[1]
        else {
            Issue.record("expected a ConfigMap and a Secret, got \(decoded.resources.map(\.kind))")
            return
        }
        #expect(configMap.values["GREETING"] == "hi")
        #expect(configMap.values.count == 3)
        #expect(secret.values == ["username": "admin", "password": "hunter2"])

        let rollout = Manifests.withEnvironment(
            "envFrom: [{prefix: CFG_, configMapRef: {name: web-config}}, {secretRef: {name: web-secret, optional: true}}]",
            "env: [{name: ME, valueFrom: {fieldRef: {fieldPath: \"metadata.labels['app']\"}}}, "
                + "{name: PW, valueFrom: {secretKeyRef: {name: web-secret, key: password}}}]")
        #expect(ManifestDecoder().decode(rollout, file: "r.yaml").diagnostics == [])
    }

    @Test func aTypoInAnEnvironmentSourceIsAWarning() throws {
        let manifest = Manifests.withEnvironment("envFrom: [{configMapRef: {nmae: web-config}}]")
        let descriptions = ManifestDecoder().decode(manifest, file: "r.yaml").diagnostics.map(\.description)
        #expect(
            descriptions.contains(
                "r.yaml: Rollout/demo: spec.template.spec.containers[0].envFrom[0].configMapRef.nmae: warning: unknown field \"nmae\", ignored; check its spelling"
            ), "\(descriptions)")
    }
}
