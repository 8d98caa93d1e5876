import AviaryAPI
import AviaryMeta
import AviaryModel
import Foundation

/// `aviary list rollouts`: Argo's columns NAME STRATEGY STATUS STEP SET-WEIGHT READY DESIRED
/// UP-TO-DATE AVAILABLE, one rollout a line.
public enum RolloutListRenderer {
    /// The table; `colour` paints the status column. `allNamespaces` (`-A`) puts a NAMESPACE column
    /// first, as kubectl does; `wide` (`-o wide`) adds IMAGES AGE MESSAGE at the end.
    public static func render(
        rollouts: [Rollout], colour: Bool, allNamespaces: Bool = false, wide: Bool = false, now: Date = Date()
    ) -> String {
        var header = [
            "NAME", "STRATEGY", "STATUS", "STEP", "SET-WEIGHT", "READY", "DESIRED", "UP-TO-DATE", "AVAILABLE",
        ]
        if allNamespaces { header.insert("NAMESPACE", at: 0) }
        if wide { header += ["IMAGES", "AGE", "MESSAGE"] }
        let sorted = rollouts.sorted {
            ($0.metadata.namespace ?? "default", $0.metadata.name ?? "")
                < ($1.metadata.namespace ?? "default", $1.metadata.name ?? "")
        }
        let rows = sorted.map { rollout in
            let facts = RolloutFacts(rollout: rollout, replicaSets: [])
            let status = rollout.status
            var row = [
                rollout.metadata.name ?? "", facts.strategy, String(facts.status.dropFirst(2)), facts.step ?? "-",
                facts.setWeight.map(String.init) ?? "-",
                "\(status?.readyReplicas ?? 0)/\(rollout.spec.replicasOrDefault)",
                String(rollout.spec.replicasOrDefault), String(status?.updatedReplicas ?? 0),
                String(status?.availableReplicas ?? 0),
            ]
            if allNamespaces { row.insert(rollout.metadata.namespace ?? "default", at: 0) }
            if wide {
                let images = (rollout.spec.template?.spec.containers ?? []).compactMap(\.image)
                row += [
                    images.isEmpty ? "-" : images.joined(separator: ","),
                    Style.age(since: Style.date(rollout.metadata.creationTimestamp), now: now),
                    status?.message.flatMap { $0.isEmpty ? nil : $0 } ?? "-",
                ]
            }
            return row
        }
        return columns(header: header, rows: rows, paintColumn: colour ? (allNamespaces ? 3 : 2) : nil)
    }

    /// Left-aligned columns two spaces apart; `paintColumn` is coloured by the status word.
    static func columns(header: [String], rows: [[String]], paintColumn: Int?) -> String {
        let widths = header.indices.map { column in ([header] + rows).map { $0[column].count }.max() ?? 0 }
        return ([header] + rows).enumerated().map { index, row in
            let cells = row.enumerated().map { column, cell in
                let padded = column == row.count - 1 ? cell : cell.padded(widths[column])
                guard index > 0, column == paintColumn else { return padded }
                return Style.paint(cell, icon: Style.icon(forStatus: cell), colour: true)
                    + String(repeating: " ", count: padded.count - cell.count)
            }
            return cells.joined(separator: "  ")
        }
        .joined(separator: "\n")
    }
}

/// `aviary get analysisrun` and `aviary list analysisruns`.
public enum AnalysisRunRenderer {
    /// Argo's summary of measurements: `✔ 3 ✖ 1 ? 0 ⚠ 0`, leaving out the zero counts.
    public static func counts(_ results: [MetricResult]) -> String {
        let successful = results.reduce(0) { $0 + ($1.successful ?? 0) }
        let failed = results.reduce(0) { $0 + ($1.failed ?? 0) }
        let inconclusive = results.reduce(0) { $0 + ($1.inconclusive ?? 0) }
        let error = results.reduce(0) { $0 + ($1.error ?? 0) }
        let parts = [("✔", successful), ("✖", failed), ("?", inconclusive), ("⚠", error)]
            .filter { $0.1 > 0 }.map { "\($0.0) \($0.1)" }
        return parts.joined(separator: ",")
    }

    /// One AnalysisRun: header, then a line per metric with its counts and latest measurement.
    public static func render(_ run: AnalysisRun, now: Date, colour: Bool) -> String {
        func line(_ label: String, _ value: String) -> String { (label + ":").padded(17) + value }
        let phase = run.status?.phase ?? .pending
        var lines = [
            line("Name", run.metadata.name ?? ""),
            line("Namespace", run.metadata.namespace ?? "default"),
            line("Status", Style.paint(Style.analysisStatus(phase), colour: colour)),
        ]
        if let message = run.status?.message, !message.isEmpty { lines.append(line("Message", message)) }
        if let rollout = run.metadata.labels?["rollout"] { lines.append(line("Rollout", rollout)) }
        lines.append(
            line(
                "Started",
                Style.age(since: Style.date(run.status?.startedAt), now: now).replacingOccurrences(
                    of: "-", with: "not yet") + (run.status?.startedAt == nil ? "" : " ago")))
        let results = run.status?.metricResults ?? []
        let summary = counts(results)
        lines.append(line("Measurements", summary.isEmpty ? "none yet" : summary))
        lines.append("")
        var rows: [Row] = []
        for metric in run.spec.metrics {
            let result = results.first { $0.name == metric.name }
            let latest = result?.measurements?.last
            rows.append(
                Row(
                    name: metric.name, kind: counts(result.map { [$0] } ?? []),
                    status: Style.analysisStatus(result?.phase ?? .pending),
                    age: Style.age(since: Style.date(latest?.finishedAt ?? latest?.startedAt), now: now),
                    info: latest.map {
                        "latest:\(JudgeReportRenderer.value($0.value))" + ($0.message.map { " (\($0))" } ?? "")
                    } ?? ""))
        }
        lines.append(
            Style.table(
                header: Row(name: "METRIC", kind: "COUNTS", status: "STATUS", age: "AGE", info: "LATEST"), rows: rows,
                colour: colour))
        let looked = results.compactMap { result in
            result.metadata?[MetricResult.EarlyStopKey.summary].map { summary in
                let looks = result.metadata?[MetricResult.EarlyStopKey.looks] ?? "0"
                let verdict = result.metadata?[MetricResult.EarlyStopKey.stopped] == nil ? "" : "stopped: "
                return "\(result.name): early stop, \(looks) looks: \(verdict)\(summary)"
            }
        }
        if !looked.isEmpty { lines += [""] + looked }
        for metric in run.spec.metrics {
            let measurements = results.first { $0.name == metric.name }?.measurements ?? []
            guard !measurements.isEmpty else { continue }
            lines.append("")
            lines.append("\(metric.name): measurements kept, oldest first")
            let measured = measurements.map { measurement in
                Row(
                    name: "", kind: JudgeReportRenderer.value(measurement.value),
                    status: Style.analysisStatus(measurement.phase),
                    age: Style.age(since: Style.date(measurement.finishedAt ?? measurement.startedAt), now: now),
                    info: measurement.message ?? "")
            }
            lines.append(
                Style.table(
                    header: Row(name: "", kind: "VALUE", status: "PHASE", age: "AGE", info: "MESSAGE"), rows: measured,
                    colour: colour))
            if let report = JudgeReportRenderer.report(measurements.last?.value) {
                lines.append("")
                lines.append("\(metric.name): the judge's latest report")
                lines.append(JudgeReportRenderer.table(report))
            }
        }
        return lines.joined(separator: "\n")
    }

    /// The table NAME ROLLOUT STATUS AGE MEASUREMENTS; `allNamespaces` (`-A`) puts NAMESPACE first.
    public static func renderList(
        _ runs: [AnalysisRun], now: Date, colour: Bool, allNamespaces: Bool = false
    )
        -> String
    {
        let header = (allNamespaces ? ["NAMESPACE"] : []) + ["NAME", "ROLLOUT", "STATUS", "AGE", "MEASUREMENTS"]
        let sorted = runs.sorted {
            ($0.metadata.namespace ?? "default", $0.metadata.name ?? "")
                < ($1.metadata.namespace ?? "default", $1.metadata.name ?? "")
        }
        let rows = sorted.map { run in
            (allNamespaces ? [run.metadata.namespace ?? "default"] : []) + [
                run.metadata.name ?? "", run.metadata.labels?["rollout"] ?? "-",
                (run.status?.phase ?? .pending).rawValue,
                Style.age(since: Style.date(run.metadata.creationTimestamp ?? run.status?.startedAt), now: now),
                counts(run.status?.metricResults ?? []),
            ]
        }
        return RolloutListRenderer.columns(
            header: header, rows: rows, paintColumn: colour ? (allNamespaces ? 3 : 2) : nil)
    }
}

extension Style {
    /// The icon for a bare status word (list columns show the word alone, coloured).
    static func icon(forStatus word: String) -> Character {
        switch word {
        case "Healthy", "Successful": "✔"
        case "Progressing", "Running": "◌"
        case "Paused": "॥"
        case "Degraded", "Failed": "✖"
        case "Error", "Inconclusive": "⚠"
        default: "◷"
        }
    }
}

/// `aviary list services`: NAME LISTENER ENDPOINTS SELECTOR.
public enum ServiceListRenderer {
    /// The table; `allNamespaces` puts a NAMESPACE column first.
    public static func render(_ services: [ServiceEndpointsView], allNamespaces: Bool = false) -> String {
        var header = ["NAME", "LISTENER", "ENDPOINTS", "SELECTOR"]
        if allNamespaces { header.insert("NAMESPACE", at: 0) }
        let rows = services.map { service in
            var row = [
                service.name, service.listener,
                service.endpoints.isEmpty ? "<none>" : service.endpoints.joined(separator: ","),
                service.selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }.joined(separator: ","),
            ]
            if allNamespaces { row.insert(service.namespace, at: 0) }
            return row
        }
        return RolloutListRenderer.columns(header: header, rows: rows, paintColumn: nil)
    }

    /// `aviary get service NAME`: one Service, a field per line.
    public static func renderOne(_ service: ServiceEndpointsView) -> String {
        let selector = service.selector.sorted { $0.key < $1.key }.map { "\($0.key)=\($0.value)" }
        let fields = [
            ("Name", service.name), ("Namespace", service.namespace), ("Listener", service.listener),
            ("Selector", selector.isEmpty ? "<none>" : selector.joined(separator: ",")),
            ("Endpoints", service.endpoints.isEmpty ? "<none>" : service.endpoints.joined(separator: ",")),
        ]
        return fields.map { "\($0.0 + ":")\(String(repeating: " ", count: 11 - $0.0.count))\($0.1)" }
            .joined(separator: "\n")
    }
}

/// `aviary list configmaps|secrets`: NAME (TYPE) DATA AGE, as kubectl prints them.
public enum ConfigurationListRenderer {
    /// One row's facts: a ConfigMap has no type.
    public struct Row: Sendable {
        /// Namespace and name.
        public var metadata: ObjectMeta
        /// A Secret's type (`Opaque` when unset); nil for a ConfigMap.
        public var type: String?
        /// How many keys.
        public var keys: Int

        /// A row.
        public init(metadata: ObjectMeta, type: String?, keys: Int) {
            self.metadata = metadata
            self.type = type
            self.keys = keys
        }
    }

    /// The rows of ConfigMaps.
    public static func rows(_ configMaps: [ConfigMap]) -> [Row] {
        configMaps.map { Row(metadata: $0.metadata, type: nil, keys: $0.values.count) }
    }

    /// The rows of Secrets.
    public static func rows(_ secrets: [Secret]) -> [Row] {
        secrets.map { Row(metadata: $0.metadata, type: $0.type ?? "Opaque", keys: $0.values.count) }
    }

    /// The table; a TYPE column when the rows are Secrets, NAMESPACE first with `allNamespaces`.
    public static func render(_ rows: [Row], now: Date, allNamespaces: Bool = false) -> String {
        let typed = rows.contains { $0.type != nil }
        var header = ["NAME"] + (typed ? ["TYPE"] : []) + ["DATA", "AGE"]
        if allNamespaces { header.insert("NAMESPACE", at: 0) }
        let table = rows.map { row in
            var cells = [row.metadata.name ?? ""] + (row.type.map { [$0] } ?? []) + [String(row.keys)]
            cells.append(Style.age(since: Style.date(row.metadata.creationTimestamp), now: now))
            if allNamespaces { cells.insert(row.metadata.namespaceOrDefault, at: 0) }
            return cells
        }
        return RolloutListRenderer.columns(header: header, rows: table, paintColumn: nil)
    }
}
