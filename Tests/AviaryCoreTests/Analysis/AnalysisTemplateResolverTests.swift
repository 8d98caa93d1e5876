import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

private func catalog(_ yaml: String) -> AnalysisTemplateCatalog {
    var decoder = ManifestDecoder()
    decoder.validates = false
    return AnalysisTemplateCatalog(resources: decoder.decode(yaml, file: "templates.yaml").resources)
}

private let templates = catalog(
    """
    apiVersion: argoproj.io/v1alpha1
    kind: AnalysisTemplate
    metadata:
      name: success-rate
    spec:
      args:
      - name: service
      - name: threshold
        value: "0.95"
      metrics:
      - name: success-rate
        successCondition: result[0] >= {{args.threshold}}
        provider:
          prometheus:
            address: http://127.0.0.1:9090
            query: up{service="{{args.service}}"}
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: AnalysisTemplate
    metadata:
      name: latency
    spec:
      args:
      - name: service
      metrics:
      - name: latency
        provider:
          prometheus:
            address: http://127.0.0.1:9090
            query: up
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: AnalysisTemplate
    metadata:
      name: both
    spec:
      templates:
      - templateName: success-rate
      - templateName: latency
      - templateName: cluster-wide
        clusterScope: true
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: ClusterAnalysisTemplate
    metadata:
      name: cluster-wide
    spec:
      dryRun:
      - metricName: cluster-check
      metrics:
      - name: cluster-check
        provider:
          web:
            url: http://127.0.0.1:1/
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: AnalysisTemplate
    metadata:
      name: conflicting
    spec:
      args:
      - name: threshold
        value: "0.99"
      metrics:
      - name: other
        provider:
          prometheus:
            query: up
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: AnalysisTemplate
    metadata:
      name: loop-a
    spec:
      templates:
      - templateName: loop-b
    ---
    apiVersion: argoproj.io/v1alpha1
    kind: AnalysisTemplate
    metadata:
      name: loop-b
    spec:
      templates:
      - templateName: loop-a
    """)

@Suite("Template resolution")
struct AnalysisTemplateResolverTests {
    @Test func nestedTemplatesMergeOnce() throws {
        let run = try AnalysisTemplateResolver.makeRun(
            name: "r",
            references: [AnalysisTemplateRef(templateName: "both"), AnalysisTemplateRef(templateName: "latency")],
            args: [Argument(name: "service", value: "checkout"), Argument(name: "unused", value: "x")],
            catalog: templates, labels: ["rollout-type": "Step"])
        #expect(run.spec.metrics.map(\.name) == ["success-rate", "latency", "cluster-check"])
        #expect(
            run.spec.args == [Argument(name: "service", value: "checkout"), Argument(name: "threshold", value: "0.95")])
        #expect(run.spec.dryRun == [DryRun(metricName: "cluster-check")])
        #expect(run.metadata.labels == ["rollout-type": "Step"])
        let step = AnalysisRunEngine.reconcile(run, now: Date(timeIntervalSince1970: 0))
        let successRate = step.measurements.first { $0.metricName == "success-rate" }
        #expect(successRate?.metric.successCondition == "result[0] >= 0.95")
        #expect(successRate?.metric.provider.prometheus?.query == "up{service=\"checkout\"}")
    }

    @Test func suppliedArgumentsOverrideDefaults() throws {
        let run = try AnalysisTemplateResolver.makeRun(
            name: "r", references: [AnalysisTemplateRef(templateName: "success-rate")],
            args: [Argument(name: "service", value: "a"), Argument(name: "threshold", value: "0.5")], catalog: templates
        )
        #expect(run.spec.args?.last == Argument(name: "threshold", value: "0.5"))
    }

    @Test(arguments: [
        (
            ["success-rate"], [] as [String],
            "args.service was not resolved: supply it (e.g. --arg service=VALUE) or give it a value in the template"
        ),
        (
            ["success-rate", "success-rate-copy"], ["service"],
            "AnalysisTemplate \"success-rate-copy\" not found: apply it, or set clusterScope: true for a ClusterAnalysisTemplate"
        ),
        (
            ["success-rate", "conflicting"], ["service"],
            "Argument `threshold` specified multiple times with different values: '0.95', '0.99'"
        ),
        (
            ["loop-a"], [],
            "templates include each other in a cycle: AnalysisTemplate/loop-a -> AnalysisTemplate/loop-b -> AnalysisTemplate/loop-a"
        ),
    ])
    func errors(names: [String], args: [String], message: String) {
        #expect(throws: AnalysisTemplateError(message: message, isMissingTemplate: message.contains("not found"))) {
            try AnalysisTemplateResolver.makeRun(
                name: "r", references: names.map { AnalysisTemplateRef(templateName: $0) },
                args: args.map { Argument(name: $0, value: "v") }, catalog: templates)
        }
    }

    @Test func duplicateMetricNamesAreAnError() {
        var copy = templates
        var duplicate = copy.templates["latency"]!
        duplicate.metadata.name = "latency-2"
        copy.templates["latency-2"] = duplicate
        #expect(throws: AnalysisTemplateError(message: "two metrics have the same name 'latency'")) {
            try AnalysisTemplateResolver.makeRun(
                name: "r",
                references: [
                    AnalysisTemplateRef(templateName: "latency"), AnalysisTemplateRef(templateName: "latency-2"),
                ],
                args: [Argument(name: "service", value: "v")], catalog: copy)
        }
    }

    @Test func rolloutArgumentsComeFromHashesAndFields() throws {
        var decoder = ManifestDecoder()
        decoder.validates = false
        let resources = decoder.decode(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata:
              name: checkout
              labels:
                app: shop
            spec:
              replicas: 4
              selector:
                matchLabels:
                  app: shop
              template:
                metadata:
                  labels:
                    app: shop
                spec:
                  containers:
                  - name: app
                    image: shop:2
              strategy:
                canary:
                  steps:
                  - setWeight: 10
            """, file: "rollout.yaml"
        ).resources
        guard case .rollout(let rollout)? = resources.first else {
            Issue.record("no rollout decoded")
            return
        }
        let args = try AnalysisTemplateResolver.resolveRolloutArguments(
            [
                AnalysisRunArgument(name: "literal", value: "v"),
                AnalysisRunArgument(name: "stable", valueFrom: ArgumentValueFrom(podTemplateHashValue: "Stable")),
                AnalysisRunArgument(name: "latest", valueFrom: ArgumentValueFrom(podTemplateHashValue: "Latest")),
                AnalysisRunArgument(
                    name: "name", valueFrom: ArgumentValueFrom(fieldRef: FieldRef(fieldPath: "metadata.name"))),
                AnalysisRunArgument(
                    name: "app", valueFrom: ArgumentValueFrom(fieldRef: FieldRef(fieldPath: "metadata.labels['app']"))),
                AnalysisRunArgument(
                    name: "replicas", valueFrom: ArgumentValueFrom(fieldRef: FieldRef(fieldPath: "spec.replicas"))),
                AnalysisRunArgument(
                    name: "image",
                    valueFrom: ArgumentValueFrom(
                        fieldRef: FieldRef(fieldPath: "spec.template.spec.containers[0].image"))),
            ], context: RolloutArgumentContext(rollout: rollout, stableHash: "abc123", latestHash: "def456"))
        #expect(args.map(\.value) == ["v", "abc123", "def456", "checkout", "shop", "4", "shop:2"])
        #expect(
            throws: AnalysisTemplateError(
                message: "args.x: fieldPath \"metadata.labels['nope']\" selects nothing in the Rollout")
        ) {
            try AnalysisTemplateResolver.resolveRolloutArguments(
                [
                    AnalysisRunArgument(
                        name: "x",
                        valueFrom: ArgumentValueFrom(fieldRef: FieldRef(fieldPath: "metadata.labels['nope']")))
                ],
                context: RolloutArgumentContext(rollout: rollout))
        }
    }
}
