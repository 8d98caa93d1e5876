import AviaryAPI
import AviaryStore
import Foundation
import Testing

@testable import AviaryServer

/// `apply` refuses what `aviary lint` refuses, with the stored templates standing in for the
/// files lint would be given, and reports what lint only warns about.
@Suite struct ApplyAdmissionTests {
    private static func template(
        _ name: String, condition: String = "result[0] >= 0.95", conditionField: String = "successCondition",
        args: String = "[{name: service}]"
    ) -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata: {name: \(name)}
        spec:
          args: \(args)
          metrics:
            - name: rate
              interval: 10s
              \(conditionField): "\(condition)"
              provider: {prometheus: {address: "http://127.0.0.1:9090", query: "up{job='{{args.service}}'}"}}
        """
    }

    private static func rollout(template: String, args: String = "[{name: service, value: web}]") -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: web}
        spec:
          replicas: 1
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec: {containers: [{name: app, image: "sample:v1"}]}
          strategy:
            canary:
              steps:
                - setWeight: 50
                - analysis: {templates: [{templateName: \(template)}], args: \(args)}
        """
    }

    enum Expected {
        /// Stored, with these warnings (each the start of a line after `FILE: `).
        case applied(warnings: [String])
        /// Refused (422, nothing stored), each problem the start of a line after `FILE: `.
        case refused([String])
    }

    static let rows: [(stored: [String], apply: [String], strict: Bool, expected: Expected)] = [
        ([], [template("rate"), rollout(template: "rate")], false, .applied(warnings: [])),
        // A condition that does not parse refuses the apply, as it fails lint.
        (
            [], [template("rate", condition: "result[0] => 0.95")], false,
            .refused(["AnalysisTemplate/rate: spec.metrics[0].successCondition: 1:11: unexpected '='"])
        ),
        // A misspelt field is a warning, and an error with --strict.
        (
            [], [template("rate", conditionField: "successCondtion")], false,
            .applied(warnings: ["AnalysisTemplate/rate: spec.metrics[0].successCondtion: warning: unknown field"])
        ),
        (
            [], [template("rate", conditionField: "successCondtion")], true,
            .refused(["AnalysisTemplate/rate: spec.metrics[0].successCondtion: warning: unknown field"])
        ),
        // A template applied before counts; one that is neither applied nor stored is a warning.
        ([template("rate")], [rollout(template: "rate")], false, .applied(warnings: [])),
        (
            [], [rollout(template: "rate")], false,
            .applied(warnings: [
                "Rollout/web: spec.strategy.canary.steps[1].analysis.templates[0].templateName: warning: "
                    + "AnalysisTemplate \"rate\" (namespace default) is neither in this apply nor stored"
            ])
        ),
        // A stored template's required argument that the rollout does not supply refuses it.
        (
            [template("rate")], [rollout(template: "rate", args: "[]")], false,
            .refused([
                "Rollout/web: spec.strategy.canary.steps[1].analysis.args: argument \"service\" is required by template \"rate\""
            ])
        ),
        // antiAffinity is kept and said, not refused, even with --strict: on one host it spreads nothing.
        (
            [template("rate")],
            [
                rollout(template: "rate").replacingOccurrences(
                    of: "    canary:\n", with: "    canary:\n      antiAffinity: {requiredDuringSchedulingIgnoredDuringExecution: {}}\n")
            ], true,
            .applied(warnings: [
                "Rollout/web: spec.strategy.canary.antiAffinity: info: every pod runs on this one host, so "
                    + "anti-affinity has nothing to spread here"
            ])
        ),
        // Argo's plugin list that Argo could not read is refused; a good one is applied.
        (
            [],
            [
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argo-rollouts-config}\n"
                    + "data: {metricProviderPlugins: \"- name: acme/rate\"}"
            ], false,
            .refused(["ConfigMap/argo-rollouts-config: data.metricProviderPlugins: entry 1 (acme/rate): location is missing"])
        ),
        (
            [],
            [
                "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: argo-rollouts-config}\n"
                    + "data: {metricProviderPlugins: \"- {name: acme/rate, location: 'file:///opt/rate'}\"}"
            ], false, .applied(warnings: [])
        ),
        // {{args.x}} that the template does not declare.
        (
            [], [template("rate", args: "[]")], false,
            .refused(["AnalysisTemplate/rate: spec.metrics[0]: uses {{args.service}}, but spec.args declares no argument"])
        ),
    ]

    @Test(arguments: rows.indices)
    func applies(row: Int) throws {
        let (stored, apply, strict, expected) = Self.rows[row]
        let directory = FileManager.default.temporaryDirectory.appendingPathComponent("admission-\(UUID().uuidString)")
        defer { try? FileManager.default.removeItem(at: directory) }
        let store = try AviaryStore(stateDirectory: directory.path)
        let api = ResourceAPI(store: store, changed: { _ in })
        if !stored.isEmpty { _ = try api.apply(Data(stored.joined(separator: "\n---\n").utf8), file: "stored.yaml") }
        let before = try store.versions(kind: .rollout).count + store.versions(kind: .analysisTemplate).count
        let body = Data(apply.joined(separator: "\n---\n").utf8)
        switch expected {
        case .applied(let warnings):
            let result = try api.applyChecked(body, file: "app.yaml", strict: strict)
            #expect(result.applied.count == apply.count)
            #expect(result.warnings.count == warnings.count, "\(result.warnings)")
            for (line, start) in zip(result.warnings, warnings) {
                #expect(line.hasPrefix("app.yaml: " + start), "\(line)")
            }
        case .refused(let problems):
            do {
                _ = try api.applyChecked(body, file: "app.yaml", strict: strict)
                Issue.record("row \(row) was applied")
            } catch {
                #expect(error.status == 422)
                #expect(error.message.hasPrefix("app.yaml: "), "the message names the file: \(error.message)")
                for start in problems {
                    #expect(error.diagnostics.contains { $0.hasPrefix("app.yaml: " + start) }, "\(error.diagnostics)")
                }
                let after = try store.versions(kind: .rollout).count + store.versions(kind: .analysisTemplate).count
                #expect(after == before, "a refused apply stores nothing")
            }
        }
    }
}
