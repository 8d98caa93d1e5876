import AviaryCore
import AviaryModel
import Foundation

/// Why `aviary analysis run` cannot start: the message names the file, the field and the fix.
public struct AdHocAnalysisError: Error, Sendable, Equatable, CustomStringConvertible {
    /// The message.
    public var description: String

    /// An error with `description` as its message.
    public init(description: String) { self.description = description }
}

/// `aviary analysis run`: an AnalysisRun made from a template file and run on the spot, without
/// a daemon, so that a template can be tried against production Prometheus before a release uses it.
public enum AdHocAnalysis {
    /// Parses `name=value` (the value may contain `=`).
    public static func parseArgument(_ text: String) throws(AdHocAnalysisError) -> Argument {
        guard let equals = text.firstIndex(of: "="), equals != text.startIndex else {
            throw AdHocAnalysisError(description: "--arg \"\(text)\" must be name=value, e.g. --arg service=checkout")
        }
        return Argument(name: String(text[..<equals]), value: String(text[text.index(after: equals)...]))
    }

    /// The data of the ConfigMap `argo-rollouts-config` in `text` (the contents of `file`), which
    /// lists Argo's metric plugins; nil when the file has none.
    public static func argoConfiguration(text: String, file: String) -> [String: String]? {
        for resource in ManifestDecoder().decode(text, file: file).resources {
            if case .configMap(let map) = resource, map.metadata.name == ArgoPluginConfiguration.configMapName {
                return map.values
            }
        }
        return nil
    }

    /// The run described by `text` (the contents of `file`): the AnalysisRun in it, or a run of
    /// its template named `templateName` (default: the first AnalysisTemplate or
    /// ClusterAnalysisTemplate), with the other templates of the file available as nested `templates`.
    public static func makeRun(
        text: String, file: String, templateName: String? = nil, args: [Argument],
        defaultPrometheusAddress: String? = nil
    ) throws(AdHocAnalysisError) -> AnalysisRun {
        let decoded = ManifestDecoder().decode(text, file: file)
        // `--prometheus-address` stands in for a metric's missing `provider.prometheus.address`.
        let errors = decoded.diagnostics.filter { diagnostic in
            diagnostic.isError
                && !(defaultPrometheusAddress != nil && diagnostic.path.hasSuffix(".prometheus.address"))
        }
        if !errors.isEmpty {
            throw AdHocAnalysisError(description: errors.map(\.description).joined(separator: "\n"))
        }
        let catalog = AnalysisTemplateCatalog(resources: decoded.resources)
        var candidates: [AnalysisTemplateRef] = []
        for resource in decoded.resources {
            switch resource {
            case .analysisTemplate(let template):
                candidates.append(AnalysisTemplateRef(templateName: template.metadata.name))
            case .clusterAnalysisTemplate(let template):
                candidates.append(AnalysisTemplateRef(templateName: template.metadata.name, clusterScope: true))
            case .analysisRun(var run) where templateName == nil:
                var runArgs = run.spec.args ?? []
                for arg in args {
                    if let index = runArgs.firstIndex(where: { $0.name == arg.name }) {
                        runArgs[index] = arg
                    }
                }
                run.spec.args = runArgs.isEmpty ? nil : runArgs
                run.status = nil
                return run
            default:
                continue
            }
        }
        let reference: AnalysisTemplateRef
        if let templateName {
            guard let match = candidates.first(where: { $0.templateName == templateName }) else {
                let names = candidates.compactMap(\.templateName).joined(separator: ", ")
                throw AdHocAnalysisError(
                    description:
                        "\(file): no template named \"\(templateName)\" (the file has: \(names.isEmpty ? "none" : names))"
                )
            }
            reference = match
        } else {
            guard let first = candidates.first else {
                throw AdHocAnalysisError(
                    description: "\(file): no AnalysisTemplate, ClusterAnalysisTemplate or AnalysisRun in the file")
            }
            reference = first
        }
        do {
            return try AnalysisTemplateResolver.makeRun(
                name: "\(reference.templateName ?? "analysis")-adhoc", references: [reference], args: args,
                catalog: catalog)
        } catch {
            throw AdHocAnalysisError(description: "\(file): \(error.message)")
        }
    }

    /// Process exit status for a finished run: 0 Successful, 1 Failed, 2 Error, 3 Inconclusive.
    public static func exitCode(for phase: AnalysisPhase?) -> Int32 {
        switch phase {
        case .successful: 0
        case .failed: 1
        case .inconclusive: 3
        default: 2
        }
    }

    /// One line per landed measurement: `12:00:05  success-rate  [0.97]  Successful`, with the
    /// measurement's message (an error, a job's output) after it.
    public static func line(metric: String, measurement: AviaryModel.Measurement) -> String {
        let time = measurement.finishedAt.flatMap(clockTime) ?? "--:--:--"
        var line = "\(time)  \(metric)  \(measurement.value ?? "-")  \(measurement.phase.rawValue)"
        if let message = measurement.message, !message.isEmpty { line += "  \(message)" }
        return line
    }

    /// The closing summary: the run's phase and message, then one line per metric with its counts.
    public static func summary(_ run: AnalysisRun) -> String {
        let status = run.status
        var lines = ["Phase: \(status?.phase?.rawValue ?? "Unknown")"]
        if let message = status?.message, !message.isEmpty { lines.append("Message: \(message)") }
        for result in status?.metricResults ?? [] {
            var line =
                "  \(result.name): \(result.phase.rawValue)  measurements \(result.count ?? 0)"
                + " (successful \(result.successful ?? 0), failed \(result.failed ?? 0),"
                + " inconclusive \(result.inconclusive ?? 0), error \(result.error ?? 0))"
            if result.dryRun == true { line += "  [dry run]" }
            lines.append(line)
        }
        return lines.joined(separator: "\n")
    }

    /// `HH:MM:SS` of an RFC 3339 time (UTC), the part a person watching a run needs.
    static func clockTime(_ text: String) -> String? {
        guard let t = text.firstIndex(of: "T") else { return nil }
        let time = text[text.index(after: t)...].prefix(8)
        return time.count == 8 ? String(time) : nil
    }
}
