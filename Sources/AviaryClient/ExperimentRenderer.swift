import AviaryAPI
import AviaryModel
import Foundation

/// Everything `get experiment` draws: an experiment and what it owns, as fetched at one moment.
public struct ExperimentSnapshot: Sendable {
    /// The experiment with its status.
    public var experiment: Experiment
    /// Its templates' ReplicaSets.
    public var replicaSets: [ReplicaSetView]
    /// Their pods.
    public var pods: [PodView]
    /// Its AnalysisRuns.
    public var analysisRuns: [AnalysisRun]

    /// Creates a snapshot.
    public init(experiment: Experiment, replicaSets: [ReplicaSetView], pods: [PodView], analysisRuns: [AnalysisRun]) {
        self.experiment = experiment
        self.replicaSets = replicaSets
        self.pods = pods
        self.analysisRuns = analysisRuns
    }
}

/// Draws `aviary get experiment` and `aviary list experiments` the way `kubectl argo rollouts`
/// does: a header (status, message, images tagged with their template) and the tree Σ experiment
/// → ⧉ ReplicaSet → □ pods, then α AnalysisRuns. Pure, like `RolloutRenderer`.
public enum ExperimentRenderer {
    /// The header and the tree; `colour` paints the statuses.
    public static func render(_ snapshot: ExperimentSnapshot, now: Date, colour: Bool) -> String {
        let experiment = snapshot.experiment
        let name = experiment.metadata.name ?? ""
        func line(_ label: String, _ value: String) -> String { (label + ":").padded(17) + value }
        let phase = experiment.status?.phase ?? .pending
        var lines = [
            line("Name", name), line("Namespace", experiment.metadata.namespaceOrDefault),
            line("Status", Style.paint(Style.analysisStatus(phase), colour: colour)),
        ]
        if let message = experiment.status?.message, !message.isEmpty { lines.append(line("Message", message)) }
        let prefix = name + "-"
        var images: [String] = []
        for replicaSet in snapshot.replicaSets.sorted(by: { $0.name < $1.name }) where replicaSet.replicas > 0 {
            let template = replicaSet.name.hasPrefix(prefix) ? String(replicaSet.name.dropFirst(prefix.count)) : ""
            images += replicaSet.images.map { "\($0) (Σ:\(template))" }
        }
        if let first = images.first {
            lines.append(line("Images", first))
            lines += images.dropFirst().map { String(repeating: " ", count: 17) + $0 }
        }
        if let duration = experiment.spec.duration { lines.append(line("Duration", duration.description)) }
        if let remaining = remaining(experiment, now: now) { lines.append(line("Remaining", remaining)) }
        var rows = [
            Row(
                name: "Σ " + name, kind: "Experiment", status: Style.analysisStatus(phase),
                age: Style.age(since: Style.date(experiment.metadata.creationTimestamp), now: now))
        ]
        var children: [[Row]] = []
        for replicaSet in snapshot.replicaSets.sorted(by: { $0.name < $1.name }) {
            var info = ""
            if let deadline = replicaSet.scaleDownDeadline {
                info = deadline > now ? "delay:\(Int(deadline.timeIntervalSince(now).rounded(.up)))s" : "delay:passed"
            }
            var group = [
                Row(
                    name: "⧉ " + replicaSet.name, kind: "ReplicaSet", status: Style.replicaSetStatus(replicaSet),
                    age: Style.age(since: replicaSet.createdAt, now: now), info: info)
            ]
            let owned = snapshot.pods.filter { $0.replicaSet == replicaSet.name }.sorted { $0.name < $1.name }
            for (index, pod) in owned.enumerated() {
                group.append(
                    Row(
                        name: (index == owned.count - 1 ? "└──" : "├──") + "□ " + pod.name, kind: "Pod",
                        status: Style.podStatus(pod), age: Style.age(since: pod.createdAt, now: now),
                        info: "ready:\(pod.ready ? 1 : 0)/1" + (pod.restarts > 0 ? ",restarts:\(pod.restarts)" : "")))
            }
            children.append(group)
        }
        for run in snapshot.analysisRuns.sorted(by: { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }) {
            children.append(RolloutRenderer.analysisRunRows(run, now: now))
        }
        for (childIndex, group) in children.enumerated() {
            let last = childIndex == children.count - 1
            for (rowIndex, row) in group.enumerated() {
                var row = row
                row.name = (rowIndex == 0 ? (last ? "└──" : "├──") : (last ? "   " : "│  ")) + row.name
                rows.append(row)
            }
        }
        let tree = Style.table(
            header: Row(name: "NAME", kind: "KIND", status: "STATUS", age: "AGE", info: "INFO"), rows: rows,
            colour: colour)
        return lines.joined(separator: "\n") + "\n\n" + tree
    }

    /// How long a running experiment with a duration has left, as `list experiments` shows it.
    static func remaining(_ experiment: Experiment, now: Date) -> String? {
        guard experiment.status?.phase?.isCompleted != true, let duration = experiment.spec.duration,
            duration.seconds.isFinite, let available = Style.date(experiment.status?.availableAt)
        else { return nil }
        let left = available.addingTimeInterval(duration.seconds).timeIntervalSince(now)
        return left > 0 ? Style.age(since: now.addingTimeInterval(-left.rounded(.up)), now: now) : nil
    }

    /// The table NAME STATUS DURATION REMAINING AGE; `allNamespaces` (`-A`) puts NAMESPACE first.
    public static func renderList(_ experiments: [Experiment], now: Date, colour: Bool, allNamespaces: Bool = false)
        -> String
    {
        let header = (allNamespaces ? ["NAMESPACE"] : []) + ["NAME", "STATUS", "DURATION", "REMAINING", "AGE"]
        let sorted = experiments.sorted {
            ($0.metadata.namespaceOrDefault, $0.metadata.name ?? "") < ($1.metadata.namespaceOrDefault, $1.metadata.name ?? "")
        }
        let rows = sorted.map { experiment in
            (allNamespaces ? [experiment.metadata.namespaceOrDefault] : []) + [
                experiment.metadata.name ?? "", (experiment.status?.phase ?? .pending).rawValue,
                experiment.spec.duration?.description ?? "-", remaining(experiment, now: now) ?? "-",
                Style.age(since: Style.date(experiment.metadata.creationTimestamp), now: now),
            ]
        }
        return RolloutListRenderer.columns(header: header, rows: rows, paintColumn: colour ? (allNamespaces ? 2 : 1) : nil)
    }
}

extension APIClient {
    /// One experiment with its status.
    public func experiment(_ name: String, namespace: String) async throws(Failure) -> Experiment {
        let data = try await send(.GET, Self.resourcePath(.experiment, name: name, namespace: namespace))
        return try Self.decode(Experiment.self, data, what: "experiment \"\(name)\"")
    }

    /// Every experiment of a namespace (of all namespaces when nil).
    public func experiments(namespace: String?) async throws(Failure) -> [Experiment] {
        try await items(Experiment.self, kind: .experiment, namespace: namespace)
    }

    /// Everything `get experiment` draws, read now.
    public func snapshot(ofExperiment name: String, namespace: String) async throws(Failure) -> ExperimentSnapshot {
        let experiment = try await experiment(name, namespace: namespace)
        let data = try await send(.GET, "/api/v1/replicasets?experiment=\(name)&namespace=\(namespace)")
        let replicaSets = try Self.decode(ReplicaSetList.self, data, what: "replicasets").replicaSets
        let names = Set(replicaSets.map(\.name))
        let pods = try await pods().filter { $0.namespace == namespace && names.contains($0.replicaSet) }
        let runs = try await items(AnalysisRun.self, kind: .analysisRun, namespace: namespace)
            .filter { $0.metadata.labels?["experiment"] == name }
        return ExperimentSnapshot(experiment: experiment, replicaSets: replicaSets, pods: pods, analysisRuns: runs)
    }

    /// The watch of an experiment and what it owns (`get experiment --watch`).
    public static func watchPath(experiment: String, namespace: String) -> String {
        "/api/v1/watch/experiments/\(experiment)?namespace=\(namespace)&owned=true"
    }

    /// Posts `terminate` or `retry` on an experiment or AnalysisRun (`plural`: experiments, analysisruns).
    public func operate(_ operation: String, plural: String, name: String, namespace: String) async throws(Failure) {
        _ = try await send(.POST, "/api/v1/\(plural)/\(name)/\(operation)?namespace=\(namespace)")
    }
}
