import AviaryJSON
import AviaryMeta
import AviaryModel
import Foundation

/// The AnalysisTemplates and ClusterAnalysisTemplates a run can be made from, by name.
public struct AnalysisTemplateCatalog: Sendable, Equatable {
    /// Namespaced templates by name.
    public var templates: [String: AnalysisTemplate]
    /// Cluster-wide templates by name.
    public var clusterTemplates: [String: ClusterAnalysisTemplate]

    /// A catalog of the given templates.
    public init(templates: [AnalysisTemplate] = [], clusterTemplates: [ClusterAnalysisTemplate] = []) {
        self.templates = Dictionary(templates.map { ($0.metadata.name ?? "", $0) }) { _, last in last }
        self.clusterTemplates = Dictionary(clusterTemplates.map { ($0.metadata.name ?? "", $0) }) { _, last in last }
    }

    /// The templates among decoded manifests.
    public init(resources: [AnyResource]) {
        var templates: [AnalysisTemplate] = []
        var clusterTemplates: [ClusterAnalysisTemplate] = []
        for resource in resources {
            switch resource {
            case .analysisTemplate(let template): templates.append(template)
            case .clusterAnalysisTemplate(let template): clusterTemplates.append(template)
            default: continue
            }
        }
        self.init(templates: templates, clusterTemplates: clusterTemplates)
    }
}

/// Why templates could not be made into a run.
public struct AnalysisTemplateError: Error, Sendable, Equatable, CustomStringConvertible {
    /// What went wrong and how to fix it.
    public var message: String
    /// A template that is not there (yet): the rollout waits for it, as Argo's controller does,
    /// rather than failing the analysis.
    public var isMissingTemplate = false
    /// The message.
    public var description: String { message }

    /// An error with `message`.
    public init(message: String, isMissingTemplate: Bool = false) {
        self.message = message
        self.isMissingTemplate = isMissingTemplate
    }
}

/// Where a Rollout's analysis arguments take their values from.
public struct RolloutArgumentContext: Sendable, Equatable {
    /// The Rollout, for `fieldRef` (`metadata.name`, `metadata.labels['app']`, `spec.replicas`).
    public var rollout: Rollout?
    /// The stable ReplicaSet's pod-template hash (`podTemplateHashValue: Stable`).
    public var stableHash: String?
    /// The newest ReplicaSet's pod-template hash (`podTemplateHashValue: Latest`).
    public var latestHash: String?

    /// A context with the given values.
    public init(rollout: Rollout? = nil, stableHash: String? = nil, latestHash: String? = nil) {
        self.rollout = rollout
        self.stableHash = stableHash
        self.latestHash = latestHash
    }
}

/// Turns templates and arguments into an AnalysisRun, as Argo Rollouts does when a Rollout
/// step, background analysis or `kubectl argo rollouts create analysisrun --from` asks for one.
public enum AnalysisTemplateResolver {
    /// Builds the run `name` from `references` (nested `templates` included, each template once),
    /// merging metrics (a duplicate name is an error), arguments (conflicting defaults are an
    /// error), `dryRun` and `measurementRetention`, then applying `args` over the defaults.
    /// An argument left without a value is an error naming it.
    public static func makeRun(
        name: String, namespace: String? = nil, references: [AnalysisTemplateRef], args: [Argument] = [],
        catalog: AnalysisTemplateCatalog, labels: [String: String]? = nil, dryRun: [DryRun] = [],
        measurementRetention: [MeasurementRetention] = []
    ) throws(AnalysisTemplateError) -> AnalysisRun {
        var specs: [(String, AnalysisTemplateSpec, String?)] = []
        var seen: Set<String> = []
        for reference in references {
            try collect(reference, catalog: catalog, into: &specs, seen: &seen, path: [])
        }
        var metrics: [Metric] = []
        var metricNames: Set<String> = []
        var templateArgs: [Argument] = []
        var mergedDryRun: [DryRun] = []
        var mergedRetention: [MeasurementRetention] = []
        var earlyStop: [String: JSONValue] = [:]
        for (key, spec, annotation) in specs {
            if let annotation {
                // Merged as values, so that the run's one annotation holds every template's policies.
                do {
                    for (metric, policy) in try ManifestDecoder.value(ofYAML: annotation).objectValue ?? [:] {
                        earlyStop[metric] = policy
                    }
                } catch {
                    throw AnalysisTemplateError(
                        message: "\(key): annotation \(EarlyStop.annotation) is not YAML: "
                            + (error.diagnostics.first?.message ?? ""))
                }
            }
            for metric in spec.metricsOrEmpty {
                guard metricNames.insert(metric.name).inserted else {
                    throw AnalysisTemplateError(message: "two metrics have the same name '\(metric.name)'")
                }
                metrics.append(metric)
            }
            for arg in spec.args ?? [] {
                if let index = templateArgs.firstIndex(where: { $0.name == arg.name }) {
                    let previous = templateArgs[index]
                    if let old = previous.value, let new = arg.value, old != new {
                        throw AnalysisTemplateError(
                            message:
                                "Argument `\(arg.name)` specified multiple times with different values: '\(old)', '\(new)'"
                        )
                    }
                    if previous.value == nil { templateArgs[index] = arg }
                } else {
                    templateArgs.append(arg)
                }
            }
            for rule in spec.dryRun ?? [] where !mergedDryRun.contains(rule) { mergedDryRun.append(rule) }
            for rule in spec.measurementRetention ?? [] where !mergedRetention.contains(rule) {
                mergedRetention.append(rule)
            }
        }
        for rule in dryRun where !mergedDryRun.contains(rule) { mergedDryRun.append(rule) }
        for rule in measurementRetention where !mergedRetention.contains(rule) { mergedRetention.append(rule) }

        var resolvedArgs = templateArgs
        for supplied in args {
            guard let index = resolvedArgs.firstIndex(where: { $0.name == supplied.name }) else { continue }
            if let value = supplied.value {
                resolvedArgs[index].value = value
                resolvedArgs[index].valueFrom = nil
            } else if let source = supplied.valueFrom {
                resolvedArgs[index].valueFrom = source
                resolvedArgs[index].value = nil
            }
        }
        if let missing = resolvedArgs.first(where: \.isRequired) {
            throw AnalysisTemplateError(
                message:
                    "args.\(missing.name) was not resolved: supply it (e.g. --arg \(missing.name)=VALUE) or give it a value in the template"
            )
        }
        var metadata = ObjectMeta()
        metadata.name = name
        metadata.namespace = namespace
        metadata.labels = labels
        if !earlyStop.isEmpty {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            let text = (try? encoder.encode(JSONValue.object(earlyStop))).map { String(decoding: $0, as: UTF8.self) }
            metadata.annotations = [EarlyStop.annotation: text ?? "{}"]
        }
        var spec = AnalysisRunSpec(metrics: metrics, args: resolvedArgs.isEmpty ? nil : resolvedArgs)
        spec.dryRun = mergedDryRun.isEmpty ? nil : mergedDryRun
        spec.measurementRetention = mergedRetention.isEmpty ? nil : mergedRetention
        return AnalysisRun(metadata: metadata, spec: spec)
    }

    private static func collect(
        _ reference: AnalysisTemplateRef, catalog: AnalysisTemplateCatalog,
        into specs: inout [(String, AnalysisTemplateSpec, String?)],
        seen: inout Set<String>, path: [String]
    ) throws(AnalysisTemplateError) {
        guard let name = reference.templateName, !name.isEmpty else {
            throw AnalysisTemplateError(message: "a template reference has no templateName")
        }
        let key = (reference.clusterScope == true ? "ClusterAnalysisTemplate/" : "AnalysisTemplate/") + name
        if path.contains(key) {
            throw AnalysisTemplateError(
                message: "templates include each other in a cycle: \((path + [key]).joined(separator: " -> "))")
        }
        guard seen.insert(key).inserted else { return }
        let spec: AnalysisTemplateSpec
        let earlyStop: String?
        if reference.clusterScope == true {
            guard let template = catalog.clusterTemplates[name] else {
                throw AnalysisTemplateError(
                    message:
                        "ClusterAnalysisTemplate \"\(name)\" not found: apply it, or drop clusterScope to use an AnalysisTemplate",
                    isMissingTemplate: true)
            }
            spec = template.spec
            earlyStop = template.metadata.annotations?[EarlyStop.annotation]
        } else {
            guard let template = catalog.templates[name] else {
                throw AnalysisTemplateError(
                    message:
                        "AnalysisTemplate \"\(name)\" not found: apply it, or set clusterScope: true for a ClusterAnalysisTemplate",
                    isMissingTemplate: true)
            }
            spec = template.spec
            earlyStop = template.metadata.annotations?[EarlyStop.annotation]
        }
        for nested in spec.templates ?? [] {
            try collect(nested, catalog: catalog, into: &specs, seen: &seen, path: path + [key])
        }
        specs.append((key, spec, earlyStop))
    }

    /// Turns a Rollout's analysis arguments into run arguments: literals as they are,
    /// `podTemplateHashValue` from the ReplicaSet hashes, `fieldRef` from the Rollout.
    public static func resolveRolloutArguments(
        _ args: [AnalysisRunArgument], context: RolloutArgumentContext
    ) throws(AnalysisTemplateError) -> [Argument] {
        var resolved: [Argument] = []
        for arg in args {
            if let value = arg.value {
                resolved.append(Argument(name: arg.name, value: value))
            } else if let which = arg.valueFrom?.podTemplateHashValue {
                let hash: String?
                switch which {
                case "Stable": hash = context.stableHash
                case "Latest": hash = context.latestHash
                default:
                    throw AnalysisTemplateError(
                        message: "args.\(arg.name): podTemplateHashValue \"\(which)\" must be Stable or Latest")
                }
                guard let hash else {
                    throw AnalysisTemplateError(message: "args.\(arg.name): there is no \(which) ReplicaSet yet")
                }
                resolved.append(Argument(name: arg.name, value: hash))
            } else if let field = arg.valueFrom?.fieldRef {
                guard let rollout = context.rollout else {
                    throw AnalysisTemplateError(message: "args.\(arg.name): fieldRef needs the Rollout")
                }
                resolved.append(
                    Argument(name: arg.name, value: try fieldValue(field.fieldPath, of: rollout, arg: arg.name)))
            } else {
                resolved.append(Argument(name: arg.name))
            }
        }
        return resolved
    }

    /// The value at `path` (`metadata.name`, `metadata.labels['app']`, `spec.template.spec.containers[0].image`).
    public static func fieldValue(
        _ path: String, of rollout: Rollout, arg: String
    ) throws(AnalysisTemplateError) -> String {
        let encoder = JSONEncoder()
        guard let data = try? encoder.encode(rollout), let root = try? JSONDecoder().decode(JSONValue.self, from: data)
        else { throw AnalysisTemplateError(message: "args.\(arg): the Rollout cannot be read") }
        var current = root
        var rest = Substring(path)
        while !rest.isEmpty {
            if rest.hasPrefix(".") { rest = rest.dropFirst() }
            if rest.hasPrefix("[") {
                guard let close = rest.firstIndex(of: "]") else {
                    throw AnalysisTemplateError(message: "args.\(arg): fieldPath \"\(path)\" has an unclosed '['")
                }
                var inside = rest[rest.index(after: rest.startIndex)..<close]
                rest = rest[rest.index(after: close)...]
                if let index = Int(inside), case .array(let list) = current, list.indices.contains(index) {
                    current = list[index]
                    continue
                }
                if inside.hasPrefix("'") || inside.hasPrefix("\"") { inside = inside.dropFirst().dropLast() }
                guard case .object(let object) = current, let value = object[String(inside)] else {
                    throw AnalysisTemplateError(
                        message: "args.\(arg): fieldPath \"\(path)\" selects nothing in the Rollout")
                }
                current = value
            } else {
                let name = rest.prefix { $0 != "." && $0 != "[" }
                rest = rest.dropFirst(name.count)
                guard case .object(let object) = current, let value = object[String(name)] else {
                    throw AnalysisTemplateError(
                        message: "args.\(arg): fieldPath \"\(path)\" selects nothing in the Rollout")
                }
                current = value
            }
        }
        switch current {
        case .string(let text): return text
        case .integer(let number): return String(number)
        case .double(let number): return "\(number)"
        case .bool(let flag): return flag ? "true" : "false"
        default:
            throw AnalysisTemplateError(message: "args.\(arg): fieldPath \"\(path)\" must end at a single value")
        }
    }
}
