import AviaryModel
import Foundation

/// Checks that need several documents: each analysis a Rollout or Experiment asks for names a
/// template among the inputs and supplies every argument that has no default; templates use only
/// arguments they declare; Services a Rollout names are present; names are unique.
///
/// For `apply` (`isAdmission`) the other documents are those applied with it plus the stored ones
/// they name: a template or Service that is neither is a warning (it may be applied next), and
/// each name looked up and not found is kept in `missing` so that the caller can fetch it and
/// check again.
struct CrossDocumentChecks {
    let resources: [LocatedResource]
    let isAdmission: Bool
    private var diagnostics: [Diagnostic] = []
    /// The templates and Services looked up and not found among `resources`.
    private(set) var missing: Set<ResourceReference> = []

    init(resources: [LocatedResource], isAdmission: Bool = false) {
        self.resources = resources
        self.isAdmission = isAdmission
    }

    /// What a document names where it is not among the inputs.
    private func absent(_ kind: ResourceKind, _ name: String, namespace: String?) -> String {
        let scope = namespace.map { " (namespace \($0))" } ?? ""
        return isAdmission
            ? "\(kind) \"\(name)\"\(scope) is neither in this apply nor stored; apply it, or the rollout waits for it"
            : "\(kind) \"\(name)\"\(scope) is not among the given manifests; add its file with another -f, "
                + "or the rollout waits until it is applied"
    }

    /// A template by scope and name (namespace for namespaced templates).
    private struct TemplateKey: Hashable {
        var isCluster: Bool
        var namespace: String
        var name: String
    }

    private var templates: [TemplateKey: AnalysisTemplateSpec] {
        var byKey: [TemplateKey: AnalysisTemplateSpec] = [:]
        for located in resources {
            switch located.resource {
            case .analysisTemplate(let template):
                byKey[
                    TemplateKey(
                        isCluster: false, namespace: template.metadata.namespaceOrDefault, name: located.resource.name)] =
                    template.spec
            case .clusterAnalysisTemplate(let template):
                byKey[TemplateKey(isCluster: true, namespace: "", name: located.resource.name)] = template.spec
            default:
                break
            }
        }
        return byKey
    }

    mutating func run() -> [Diagnostic] {
        let templates = self.templates
        uniqueNames()
        for located in resources {
            switch located.resource {
            case .rollout(let rollout):
                rolloutReferences(rollout, in: located, templates: templates)
            case .experiment(let experiment):
                for (index, analysis) in (experiment.spec.analyses ?? []).enumerated() {
                    let reference = RolloutAnalysisTemplate(
                        templateName: analysis.templateName, clusterScope: analysis.clusterScope)
                    analysisReferences(
                        [reference], supplied: (analysis.args ?? []).map(\.name),
                        path: "spec.analyses[\(index)]", namespace: experiment.metadata.namespaceOrDefault,
                        in: located, templates: templates, isSingleReference: true)
                }
            case .analysisTemplate(let template):
                declaredArguments(template.spec, in: located)
                conditions(
                    template.spec.metricsOrEmpty, annotations: template.metadata.annotations,
                    includes: !(template.spec.templates ?? []).isEmpty, in: located)
            case .clusterAnalysisTemplate(let template):
                declaredArguments(template.spec, in: located)
                conditions(
                    template.spec.metricsOrEmpty, annotations: template.metadata.annotations,
                    includes: !(template.spec.templates ?? []).isEmpty, in: located)
            case .analysisRun(let run):
                declaredArguments(AnalysisTemplateSpec(metrics: run.spec.metrics, args: run.spec.args), in: located)
                conditions(run.spec.metrics, annotations: run.metadata.annotations, includes: false, in: located)
            case .service, .configMap, .secret, .workload:
                break
            }
        }
        return diagnostics
    }

    private mutating func report(
        _ located: LocatedResource, _ path: String, _ message: String, severity: Diagnostic.Severity = .error
    ) {
        diagnostics.append(
            Diagnostic(
                severity: severity, file: located.file, resource: located.resource.reference, path: path,
                message: message))
    }

    // MARK: Names

    private mutating func uniqueNames() {
        var seen: [String: LocatedResource] = [:]
        for located in resources where !located.resource.name.isEmpty {
            let namespace: String
            if case .clusterAnalysisTemplate = located.resource {
                namespace = ""
            } else {
                namespace = located.resource.metadata.namespaceOrDefault
            }
            let key = "\(located.resource.kind)/\(namespace)/\(located.resource.name)"
            if let first = seen[key] {
                report(
                    located, "metadata.name",
                    "\(located.resource.reference) is defined twice (first in \(first.file)); names must be unique per kind and namespace"
                )
            } else {
                seen[key] = located
            }
        }
    }

    // MARK: Rollouts

    private mutating func rolloutReferences(
        _ rollout: Rollout, in located: LocatedResource, templates: [TemplateKey: AnalysisTemplateSpec]
    ) {
        let namespace = rollout.metadata.namespaceOrDefault
        var analyses: [(RolloutAnalysis, String)] = []
        if let canary = rollout.spec.strategy.canary {
            let path = "spec.strategy.canary"
            if let background = canary.analysis { analyses.append((background.analysis, "\(path).analysis")) }
            for (index, step) in canary.stepsOrEmpty.enumerated() {
                if let analysis = step.analysis { analyses.append((analysis, "\(path).steps[\(index)].analysis")) }
                for (analysisIndex, analysis) in (step.experiment?.analyses ?? []).enumerated() {
                    let reference = RolloutAnalysisTemplate(
                        templateName: analysis.templateName, clusterScope: analysis.clusterScope)
                    analysisReferences(
                        [reference], supplied: (analysis.args ?? []).map(\.name),
                        path: "\(path).steps[\(index)].experiment.analyses[\(analysisIndex)]", namespace: namespace,
                        in: located, templates: templates, isSingleReference: true)
                }
            }
            services(
                [
                    ("\(path).canaryService", canary.canaryService), ("\(path).stableService", canary.stableService),
                    ("\(path).trafficRouting.smi.rootService", canary.trafficRouting?.smi?.rootService),
                    ("\(path).pingPong.pingService", canary.pingPong?.pingService),
                    ("\(path).pingPong.pongService", canary.pingPong?.pongService),
                ], rollout: rollout, in: located)
        }
        if let blueGreen = rollout.spec.strategy.blueGreen {
            let path = "spec.strategy.blueGreen"
            if let pre = blueGreen.prePromotionAnalysis { analyses.append((pre, "\(path).prePromotionAnalysis")) }
            if let post = blueGreen.postPromotionAnalysis { analyses.append((post, "\(path).postPromotionAnalysis")) }
            services(
                [
                    ("\(path).activeService", blueGreen.activeService),
                    ("\(path).previewService", blueGreen.previewService),
                ],
                rollout: rollout, in: located)
        }
        for (analysis, path) in analyses {
            analysisReferences(
                analysis.templates ?? [], supplied: (analysis.args ?? []).map(\.name), path: path,
                namespace: namespace, in: located, templates: templates)
        }
    }

    /// Services a Rollout names must be among the inputs when any Service is (a Rollout linted
    /// alone is not held to it); a missing one is a warning, since it may be applied separately.
    /// A Service that is present must select the Rollout's pods and point at a port they declare,
    /// or it would have no endpoints.
    private mutating func services(
        _ references: [(String, String?)], rollout: Rollout, in located: LocatedResource
    ) {
        let namespace = rollout.metadata.namespaceOrDefault
        var byName: [String: Service] = [:]
        for other in resources {
            if case .service(let service) = other.resource {
                byName["\(service.metadata.namespaceOrDefault)/\(other.resource.name)"] = service
            }
        }
        guard !byName.isEmpty || isAdmission else { return }
        let podLabels = rollout.spec.template?.metadata?.labels
        let portNames = Set(
            (rollout.spec.template?.spec.containers ?? []).flatMap { ($0.ports ?? []).compactMap(\.name) })
        for case (let path, let name?) in references where !name.isEmpty {
            guard let service = byName["\(namespace)/\(name)"] else {
                missing.insert(ResourceReference(kind: .service, namespace: namespace, name: name))
                report(located, path, absent(.service, name, namespace: nil), severity: .warning)
                continue
            }
            if let podLabels, let selector = service.spec.selector,
                !LabelSelector(matchLabels: selector).matches(podLabels)
            {
                let wanted = selector.sorted { $0.key < $1.key }.map { "\($0.key): \($0.value)" }.joined(
                    separator: ", ")
                report(
                    located, path,
                    "Service \"\(name)\" selects {\(wanted)}, which the Rollout's pods do not carry; it would have no endpoints",
                    severity: .warning)
            }
            for port in service.spec.ports ?? [] {
                if case .string(let target) = port.targetPortOrDefault, !portNames.contains(target) {
                    report(
                        located, path,
                        "Service \"\(name)\" targets port \"\(target)\", which no container of the Rollout declares",
                        severity: .warning)
                }
            }
        }
    }

    /// The templates an analysis names exist, merge without duplicate metrics, and get every
    /// argument that has no default.
    private mutating func analysisReferences(
        _ references: [RolloutAnalysisTemplate], supplied: [String], path: String, namespace: String,
        in located: LocatedResource, templates: [TemplateKey: AnalysisTemplateSpec], isSingleReference: Bool = false
    ) {
        var required: [(argument: String, template: String)] = []
        var declared: Set<String> = []
        var metricOwners: [String: String] = [:]
        for (index, reference) in references.enumerated() {
            guard let name = reference.templateName, !name.isEmpty else { continue }
            let referencePath = isSingleReference ? "\(path).templateName" : "\(path).templates[\(index)].templateName"
            let kind: ResourceKind = reference.isClusterScope ? .clusterAnalysisTemplate : .analysisTemplate
            var visited: Set<TemplateKey> = []
            var missing: [ResourceReference] = []
            let specs = expand(
                TemplateKey(
                    isCluster: reference.isClusterScope, namespace: reference.isClusterScope ? "" : namespace,
                    name: name),
                templates: templates, visited: &visited, missing: &missing)
            if specs.isEmpty {
                self.missing.insert(
                    ResourceReference(kind: kind, namespace: reference.isClusterScope ? "" : namespace, name: name))
                // A warning, as Argo's lint never requires the templates: a team keeps them in
                // their own file or applies them once; the rollout waits for one that is missing.
                report(
                    located, referencePath,
                    absent(kind, name, namespace: reference.isClusterScope ? nil : namespace), severity: .warning)
                continue
            }
            for include in missing {
                self.missing.insert(include)
                report(
                    located, referencePath,
                    "\(kind) \"\(name)\" includes \"\(include.name)\", which "
                        + (isAdmission ? "is neither in this apply nor stored" : "is not among the given manifests"),
                    severity: .warning)
            }
            for (templateName, spec) in specs {
                for metric in spec.metricsOrEmpty {
                    if let owner = metricOwners[metric.name], owner != templateName {
                        report(
                            located, referencePath,
                            "metric \"\(metric.name)\" is defined by both \"\(owner)\" and \"\(templateName)\"; metric names must be unique across the templates of one analysis"
                        )
                    }
                    metricOwners[metric.name] = templateName
                }
                for argument in spec.args ?? [] {
                    declared.insert(argument.name)
                    if argument.isRequired { required.append((argument.name, templateName)) }
                }
            }
        }
        let suppliedSet = Set(supplied)
        var reported: Set<String> = []
        for (argument, template) in required where !suppliedSet.contains(argument) && reported.insert(argument).inserted
        {
            report(
                located, "\(path).args",
                "argument \"\(argument)\" is required by template \"\(template)\" and has no default; add {name: \(argument), value: ...}"
            )
        }
        if !declared.isEmpty || !required.isEmpty {
            for name in supplied where !declared.contains(name) {
                report(
                    located, "\(path).args",
                    "argument \"\(name)\" is not declared by any of the templates; it is ignored", severity: .warning)
            }
        }
    }

    /// A template and the templates it includes, depth first, each once.
    private func expand(
        _ key: TemplateKey, templates: [TemplateKey: AnalysisTemplateSpec], visited: inout Set<TemplateKey>,
        missing: inout [ResourceReference]
    ) -> [(String, AnalysisTemplateSpec)] {
        guard visited.insert(key).inserted else { return [] }
        guard let spec = templates[key] else { return [] }
        var result = [(key.name, spec)]
        for include in spec.templates ?? [] {
            guard let name = include.templateName, !name.isEmpty else { continue }
            let isCluster = include.clusterScope ?? false
            let includeKey = TemplateKey(isCluster: isCluster, namespace: isCluster ? "" : key.namespace, name: name)
            if templates[includeKey] == nil {
                missing.append(
                    ResourceReference(
                        kind: isCluster ? .clusterAnalysisTemplate : .analysisTemplate,
                        namespace: includeKey.namespace,
                        name: name))
                continue
            }
            result += expand(includeKey, templates: templates, visited: &visited, missing: &missing)
        }
        return result
    }

    // MARK: Templates

    /// The metrics' conditions and providers, and the early-stop policies of the annotation
    /// (a policy may name a metric of an included template).
    private mutating func conditions(
        _ metrics: [Metric], annotations: [String: String]?, includes: Bool, in located: LocatedResource
    ) {
        for issue in ConditionChecks.check(metrics) + ProviderChecks.check(metrics) {
            report(located, issue.path, issue.message, severity: issue.severity)
        }
        if let text = annotations?[EarlyStop.annotation] {
            let path = "metadata.annotations[\"\(EarlyStop.annotation)\"]"
            do {
                let policies = try EarlyStop.policies(text)
                for name in policies.keys.sorted() where !includes && !metrics.contains(where: { $0.name == name }) {
                    report(
                        located, "\(path).\(name)",
                        "names no metric of this template; use one of "
                            + metrics.map(\.name).joined(separator: ", "), severity: .error)
                }
            } catch {
                report(located, path + (error.path.isEmpty ? "" : "." + error.path), error.message, severity: .error)
            }
        }
    }

    /// Every `{{args.name}}` in a metric names a declared argument.
    private mutating func declaredArguments(_ spec: AnalysisTemplateSpec, in located: LocatedResource) {
        let declared = Set((spec.args ?? []).map(\.name))
        let hasIncludes = !(spec.templates ?? []).isEmpty
        let encoder = JSONEncoder()
        for (index, metric) in spec.metricsOrEmpty.enumerated() {
            guard let data = try? encoder.encode(metric), let text = String(data: data, encoding: .utf8) else {
                continue
            }
            for name in Self.argumentReferences(in: text) where !declared.contains(name) && !hasIncludes {
                report(
                    located, "spec.metrics[\(index)]",
                    "uses {{args.\(name)}}, but spec.args declares no argument \"\(name)\"; add {name: \(name)} to spec.args"
                )
            }
        }
    }

    /// The argument names of `{{args.name}}` tags (whitespace inside the braces is allowed).
    static func argumentReferences(in text: String) -> [String] {
        var names: [String] = []
        var rest = Substring(text)
        while let open = rest.range(of: "{{") {
            rest = rest[open.upperBound...]
            guard let close = rest.range(of: "}}") else { break }
            let tag = rest[..<close.lowerBound].trimmingCharacters(in: .whitespaces)
            if tag.hasPrefix("args.") {
                let name = String(tag.dropFirst("args.".count))
                if !names.contains(name) { names.append(name) }
            }
            rest = rest[close.upperBound...]
        }
        return names
    }
}
