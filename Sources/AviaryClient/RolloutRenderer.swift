import AviaryAPI
import AviaryModel
import Foundation

/// Everything `get rollout` draws: a rollout and what it owns, as fetched at one moment.
public struct RolloutSnapshot: Sendable {
    /// The rollout with its status.
    public var rollout: Rollout
    /// Its ReplicaSets.
    public var replicaSets: [ReplicaSetView]
    /// Their pods.
    public var pods: [PodView]
    /// Its AnalysisRuns.
    public var analysisRuns: [AnalysisRun]
    /// The Experiments of its `experiment` steps.
    public var experiments: [Experiment]
    /// Its notifications, newest first.
    public var notifications: [NotificationList.Notification]

    /// Creates a snapshot.
    public init(
        rollout: Rollout, replicaSets: [ReplicaSetView], pods: [PodView], analysisRuns: [AnalysisRun],
        experiments: [Experiment] = [], notifications: [NotificationList.Notification] = []
    ) {
        self.notifications = notifications
        self.rollout = rollout
        self.replicaSets = replicaSets
        self.pods = pods
        self.analysisRuns = analysisRuns
        self.experiments = experiments
    }
}

/// Draws `aviary get rollout` the way `kubectl argo rollouts get rollout` does: a header and a
/// tree of revisions, ReplicaSets, pods and AnalysisRuns. Pure: the same input gives the same text,
/// so `aviary demo` reuses it for its live view and the tests compare it with golden files.
public enum RolloutRenderer {
    /// The header and the tree. `colour` adds ANSI colours to statuses (for a terminal); `wide`
    /// (`-o wide`) adds the columns REVISION HASH IMAGE ADDRESS PID NODE STARTED to the tree.
    public static func render(
        rollout: Rollout, replicaSets: [ReplicaSetView], pods: [PodView], analysisRuns: [AnalysisRun],
        experiments: [Experiment] = [], now: Date, colour: Bool, wide: Bool = false
    ) -> String {
        let facts = RolloutFacts(rollout: rollout, replicaSets: replicaSets)
        return header(facts, rollout: rollout, colour: colour) + "\n\n"
            + tree(
                facts, rollout: rollout, replicaSets: replicaSets, pods: pods, runs: analysisRuns,
                experiments: experiments, now: now, colour: colour, wide: wide)
    }

    /// `render` of a snapshot.
    public static func render(_ snapshot: RolloutSnapshot, now: Date, colour: Bool, wide: Bool = false) -> String {
        render(
            rollout: snapshot.rollout, replicaSets: snapshot.replicaSets, pods: snapshot.pods,
            analysisRuns: snapshot.analysisRuns, experiments: snapshot.experiments, now: now, colour: colour,
            wide: wide) + notificationLines(snapshot.notifications, now: now, colour: colour)
    }

    /// How many notifications `get rollout` lists.
    static let notificationsShown = 5

    /// The last notifications, newest first, after the tree (nothing when there are none):
    /// `✔ on-rollout-completed → slack:releases  delivered 12s ago`.
    static func notificationLines(_ notifications: [NotificationList.Notification], now: Date, colour: Bool) -> String {
        guard !notifications.isEmpty else { return "" }
        var lines = ["", "Notifications:"]
        for notification in notifications.prefix(notificationsShown) {
            let target = notification.recipient.isEmpty ? notification.service : "\(notification.service):\(notification.recipient)"
            let created = Style.age(since: Style.date(notification.createdAt), now: now)
            let outcome: String
            switch notification.state {
            case "delivered":
                outcome = Style.paint("✔", colour: colour) + " delivered " + created + " ago"
            case "failed":
                outcome = Style.paint("✖", colour: colour) + " failed: " + (notification.lastError ?? "")
            default:
                let next = Style.date(notification.nextAttemptAt ?? "").map {
                    " (next try in \(max(0, Int($0.timeIntervalSince(now).rounded(.up))))s)"
                } ?? ""
                outcome = "◌ pending"
                    + (notification.attempts > 0
                        ? ", \(notification.attempts) attempts: \(notification.lastError ?? "")\(next)" : "")
            }
            lines.append("  \(notification.trigger) → \(target)  \(outcome)")
        }
        if notifications.count > notificationsShown {
            lines.append("  … \(notifications.count - notificationsShown) more: aviary notifications list ROLLOUT")
        }
        return lines.joined(separator: "\n")
    }

    static func header(_ facts: RolloutFacts, rollout: Rollout, colour: Bool) -> String {
        func line(_ label: String, _ value: String) -> String {
            (label + ":").padded(17) + value
        }
        let status = rollout.status
        var lines = [
            line("Name", rollout.metadata.name ?? ""),
            line("Namespace", rollout.metadata.namespace ?? "default"),
            line("Status", Style.paint(facts.status, colour: colour)),
        ]
        if let message = status?.message, !message.isEmpty { lines.append(line("Message", message)) }
        lines.append(line("Strategy", facts.strategy))
        if let step = facts.step { lines.append(line("  Step", step)) }
        if let setWeight = facts.setWeight { lines.append(line("  SetWeight", String(setWeight))) }
        if let actualWeight = facts.actualWeight { lines.append(line("  ActualWeight", String(actualWeight))) }
        for (index, image) in facts.images.enumerated() {
            let text = image.roles.isEmpty ? image.image : "\(image.image) (\(image.roles.joined(separator: ", ")))"
            lines.append(index == 0 ? line("Images", text) : String(repeating: " ", count: 17) + text)
        }
        if facts.images.isEmpty { lines.append(line("Images", "-")) }
        lines.append("Replicas:")
        lines.append(line("  Desired", String(rollout.spec.replicasOrDefault)))
        lines.append(line("  Current", String(status?.replicas ?? 0)))
        lines.append(line("  Updated", String(status?.updatedReplicas ?? 0)))
        lines.append(line("  Ready", String(status?.readyReplicas ?? 0)))
        lines.append(line("  Available", String(status?.availableReplicas ?? 0)))
        return lines.joined(separator: "\n")
    }

    static func tree(
        _ facts: RolloutFacts, rollout: Rollout, replicaSets: [ReplicaSetView], pods: [PodView], runs: [AnalysisRun],
        experiments: [Experiment] = [], now: Date, colour: Bool, wide: Bool = false
    ) -> String {
        let current = replicaSets.first { $0.podTemplateHash == rollout.status?.currentPodHash }
        var rows: [Row] = [
            Row(
                name: "⟳ " + (rollout.metadata.name ?? ""), kind: "Rollout", status: facts.status,
                age: Style.age(since: Style.date(rollout.metadata.creationTimestamp), now: now), info: "",
                wide: WideCells(
                    revision: current.map { String($0.revision) } ?? "", hash: rollout.status?.currentPodHash ?? "",
                    image: (rollout.spec.template?.spec.containers ?? []).compactMap(\.image).joined(separator: ","),
                    started: Style.timestamp(Style.date(rollout.metadata.creationTimestamp))))
        ]
        let revisions = Set(replicaSets.map(\.revision)).sorted(by: >)
        for (revisionIndex, revision) in revisions.enumerated() {
            let lastRevision = revisionIndex == revisions.count - 1
            rows.append(Row(name: (lastRevision ? "└──" : "├──") + "# revision:\(revision)"))
            let revisionIndent = lastRevision ? "   " : "│  "
            var children: [[Row]] = []
            for replicaSet in replicaSets.filter({ $0.revision == revision }).sorted(by: { $0.name < $1.name }) {
                var info = facts.roles(of: replicaSet.podTemplateHash)
                if let deadline = replicaSet.scaleDownDeadline, deadline > now {
                    info.append("delay:\(Int(deadline.timeIntervalSince(now).rounded(.up)))s")
                }
                var group = [
                    Row(
                        name: "⧉ " + replicaSet.name, kind: "ReplicaSet", status: Style.replicaSetStatus(replicaSet),
                        age: Style.age(since: replicaSet.createdAt, now: now), info: info.joined(separator: ","),
                        wide: WideCells(
                            revision: String(replicaSet.revision), hash: replicaSet.podTemplateHash,
                            image: replicaSet.images.joined(separator: ","),
                            started: Style.timestamp(replicaSet.createdAt)))
                ]
                let owned = pods.filter { $0.replicaSet == replicaSet.name }.sorted { $0.name < $1.name }
                for (podIndex, pod) in owned.enumerated() {
                    let branch = podIndex == owned.count - 1 ? "└──" : "├──"
                    group.append(
                        Row(
                            name: branch + "□ " + pod.name, kind: "Pod", status: Style.podStatus(pod),
                            age: Style.age(since: pod.createdAt, now: now),
                            info: "ready:\(pod.ready ? 1 : 0)/1,restarts:\(pod.restarts)"
                                + (pod.ready ? "" : pod.lastTermination.map { ",last: \($0)" } ?? ""),
                            wide: WideCells(
                                image: pod.image, address: pod.address, pid: pod.pid.map(String.init) ?? "",
                                node: pod.node,
                                started: Style.timestamp(pod.createdAt))))
                }
                children.append(group)
                let ownRuns = runs.filter {
                    $0.metadata.labels?["rollouts-pod-template-hash"] == replicaSet.podTemplateHash
                }
                .sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
                for run in ownRuns { children.append(analysisRunRows(run, now: now)) }
                // The experiments of this revision's steps, as Argo draws them after its runs.
                let ownExperiments = experiments.filter {
                    $0.metadata.labels?["rollouts-pod-template-hash"] == replicaSet.podTemplateHash
                }
                .sorted { ($0.metadata.name ?? "") < ($1.metadata.name ?? "") }
                for experiment in ownExperiments {
                    let templates = experiment.spec.templates.map(\.name).joined(separator: ",")
                    children.append([
                        Row(
                            name: "Σ " + (experiment.metadata.name ?? ""), kind: "Experiment",
                            status: Style.analysisStatus(experiment.status?.phase ?? .pending),
                            age: Style.age(since: Style.date(experiment.metadata.creationTimestamp), now: now),
                            info: "templates:" + templates)
                    ])
                }
            }
            for (childIndex, group) in children.enumerated() {
                let lastChild = childIndex == children.count - 1
                for (rowIndex, row) in group.enumerated() {
                    var row = row
                    let lead = rowIndex == 0 ? (lastChild ? "└──" : "├──") : (lastChild ? "   " : "│  ")
                    row.name = revisionIndent + lead + row.name
                    rows.append(row)
                }
            }
        }
        return Style.table(
            header: Row(name: "NAME", kind: "KIND", status: "STATUS", age: "AGE", info: "INFO", wide: .header),
            rows: rows, colour: colour, wide: wide)
    }

    /// An AnalysisRun's row and, while it runs, a row per metric with its latest value.
    static func analysisRunRows(_ run: AnalysisRun, now: Date) -> [Row] {
        let results = run.status?.metricResults ?? []
        let phase = run.status?.phase ?? .pending
        var rows = [
            Row(
                name: "α " + (run.metadata.name ?? ""), kind: "AnalysisRun", status: Style.analysisStatus(phase),
                age: Style.age(since: Style.date(run.metadata.creationTimestamp ?? run.status?.startedAt), now: now),
                info: AnalysisRunRenderer.counts(results),
                wide: WideCells(
                    hash: run.metadata.labels?["rollouts-pod-template-hash"] ?? "",
                    started: Style.timestamp(Style.date(run.status?.startedAt ?? run.metadata.creationTimestamp))))
        ]
        if phase == .running || phase == .pending {
            for (index, result) in results.enumerated() {
                let branch = index == results.count - 1 ? "└──" : "├──"
                let latest = result.measurements?.last
                rows.append(
                    Row(
                        name: branch + "◇ " + result.name, kind: "Metric",
                        status: Style.analysisStatus(latest?.phase ?? result.phase),
                        age: Style.age(since: Style.date(latest?.finishedAt ?? latest?.startedAt), now: now),
                        info: latest.map { "latest:\(JudgeReportRenderer.value($0.value))" } ?? "no measurement yet",
                        wide: WideCells(started: Style.timestamp(Style.date(latest?.startedAt)))))
            }
        }
        return rows
    }
}

/// What the header and the tree derive from a rollout: status word, step, weights, image roles.
/// The dashboard draws the same facts.
public struct RolloutFacts: Sendable {
    /// The status with its icon (`✔ Healthy`).
    public var status: String
    /// Canary, BlueGreen or `-`.
    public var strategy: String
    /// `k/n` of a canary with steps.
    public var step: String?
    /// The canary weight the current step sets.
    public var setWeight: Int?
    /// The canary weight in effect.
    public var actualWeight: Int?
    /// Each image with its roles (stable, canary, active, preview).
    public var images: [(image: String, roles: [String])]
    /// The pod-template hash of the stable ReplicaSet.
    public var stableHash: String?
    /// The pod-template hash of the canary ReplicaSet (nil when it is the stable one).
    public var canaryHash: String?
    /// The pod-template hash behind a blue-green rollout's active Service.
    public var activeHash: String?
    /// The pod-template hash behind its preview Service (nil when it is the active one).
    public var previewHash: String?

    /// The facts of a rollout and its ReplicaSets.
    public init(rollout: Rollout, replicaSets: [ReplicaSetView]) {
        let status = rollout.status
        images = []
        self.status = Style.rolloutStatus(rollout)
        stableHash = status?.stableRS
        let canary = rollout.spec.strategy.canary
        if let canary {
            strategy = "Canary"
            let steps = canary.stepsOrEmpty
            if status?.currentPodHash != stableHash { canaryHash = status?.currentPodHash }
            if !steps.isEmpty {
                let index = min(max(status?.currentStepIndex ?? 0, 0), steps.count)
                step = "\(index)/\(steps.count)"
                if status?.isAborted == true {
                    setWeight = 0
                } else if index >= steps.count {
                    setWeight = 100
                } else {
                    // Argo's rule: the last setWeight at or before the current step.
                    setWeight = steps[...index].last { $0.setWeight != nil }?.setWeight ?? 0
                }
            } else {
                setWeight = 100
            }
            if canaryHash == nil {
                actualWeight = status?.isAborted == true ? 0 : 100
            } else if let weights = status?.canary?.weights {
                actualWeight = weights.canary.weight
            } else {
                let total = replicaSets.reduce(0) { $0 + $1.availableReplicas }
                let hash = canaryHash
                let current = replicaSets.filter { $0.podTemplateHash == hash }.reduce(0) {
                    $0 + $1.availableReplicas
                }
                actualWeight = total == 0 ? 0 : current * 100 / total
            }
        } else {
            strategy = rollout.spec.strategy.blueGreen != nil ? "BlueGreen" : "-"
            activeHash = status?.blueGreen?.activeSelector
            let preview = status?.blueGreen?.previewSelector
            if preview != activeHash { previewHash = preview }
        }
        for replicaSet in replicaSets.sorted(by: { $0.revision < $1.revision }) {
            let roles = roles(of: replicaSet.podTemplateHash)
            guard !roles.isEmpty else { continue }
            for image in replicaSet.images {
                if let index = images.firstIndex(where: { $0.image == image }) {
                    images[index].roles += roles.filter { !images[index].roles.contains($0) }
                } else {
                    images.append((image, roles))
                }
            }
        }
        if images.isEmpty {
            images = (rollout.spec.template?.spec.containers ?? []).compactMap { $0.image }.map { ($0, []) }
        }
    }

    /// stable, canary, active, preview: what a ReplicaSet is to the rollout.
    public func roles(of hash: String) -> [String] {
        var roles: [String] = []
        if hash == stableHash { roles.append("stable") }
        if hash == canaryHash { roles.append("canary") }
        if hash == activeHash { roles.append("active") }
        if hash == previewHash { roles.append("preview") }
        return roles
    }
}

/// A row of the tree or of a list.
struct Row {
    var name: String
    var kind: String = ""
    var status: String = ""
    var age: String = ""
    var info: String = ""
    var wide = WideCells()
}

/// The cells `-o wide` adds to a tree row, empty where they do not apply.
struct WideCells {
    var revision = ""
    var hash = ""
    var image = ""
    var address = ""
    var pid = ""
    var node = ""
    var started = ""

    static let header = WideCells(
        revision: "REVISION", hash: "HASH", image: "IMAGE", address: "ADDRESS", pid: "PID", node: "NODE",
        started: "STARTED")

    var cells: [String] { [revision, hash, image, address, pid, node, started] }
}

/// Icons, colours, ages and column layout shared by the renderers (and the dashboard's words).
public enum Style {
    static let reset = "\u{1B}[0m"

    /// Argo's icons: ✔ Healthy, ◌ Progressing, ॥ Paused, ✖ Degraded, ⚠ Error.
    public static func rolloutStatus(_ rollout: Rollout) -> String {
        switch rollout.status?.phase {
        case .healthy: "✔ Healthy"
        case .progressing: "◌ Progressing"
        case .paused: "॥ Paused"
        case .degraded: "✖ Degraded"
        case nil: "◷ Waiting"
        }
    }

    public static func analysisStatus(_ phase: AnalysisPhase) -> String {
        switch phase {
        case .successful: "✔ Successful"
        case .running: "◌ Running"
        case .pending: "◷ Pending"
        case .failed: "✖ Failed"
        case .error: "⚠ Error"
        case .inconclusive: "⚠ Inconclusive"
        }
    }

    public static func replicaSetStatus(_ replicaSet: ReplicaSetView) -> String {
        if replicaSet.replicas == 0 { return "• ScaledDown" }
        return replicaSet.availableReplicas >= replicaSet.replicas ? "✔ Healthy" : "◌ Progressing"
    }

    public static func podStatus(_ pod: PodView) -> String {
        if pod.ready { return "✔ Running" }
        if pod.pid != nil { return "◌ Running" }
        // A pod on a cluster that waits to start again (CrashLoopBackOff) is still in phase Running.
        if pod.lastTermination != nil { return "✖ Error" }
        if pod.isRunning { return "◌ Running" }
        return "◌ Pending"
    }

    /// The status text coloured by its icon (on a terminal); `icon` defaults to the text's first character.
    static func paint(_ text: String, icon: Character? = nil, colour: Bool) -> String {
        guard colour, let icon = icon ?? text.first else { return text }
        let code: String
        switch icon {
        case "✔": code = "32"
        case "◌", "⚠": code = "33"
        case "॥": code = "36"
        case "✖": code = "31"
        case "•", "◷": code = "90"
        default: return text
        }
        return "\u{1B}[\(code)m\(text)\(reset)"
    }

    /// kubectl's short ages: 45s, 3m20s, 17m, 5h, 3d.
    public static func age(since date: Date?, now: Date) -> String {
        guard let date else { return "-" }
        let seconds = max(0, Int(now.timeIntervalSince(date)))
        switch seconds {
        case ..<120: return "\(seconds)s"
        case ..<600: return "\(seconds / 60)m\(seconds % 60 == 0 ? "" : "\(seconds % 60)s")"
        case ..<(3 * 3600): return "\(seconds / 60)m"
        case ..<(48 * 3600): return "\(seconds / 3600)h"
        default: return "\(seconds / 86400)d"
        }
    }

    /// An RFC 3339 time, with or without fractional seconds.
    public static func date(_ text: String?) -> Date? {
        text.flatMap(RFC3339.parse)
    }

    /// Columns NAME KIND STATUS AGE (with `wide`, REVISION HASH IMAGE ADDRESS PID NODE STARTED)
    /// INFO, padded to their widest cell, statuses painted.
    static func table(header: Row, rows: [Row], colour: Bool, wide: Bool = false) -> String {
        let all = [header] + rows
        let cells = all.map { row in
            [row.name, row.kind, row.status, row.age] + (wide ? row.wide.cells : []) + [row.info]
        }
        let widths = cells[0].indices.map { column in cells.map { $0[column].count }.max() ?? 0 }
        return cells.enumerated().map { index, row in
            let line = row.enumerated().map { column, cell in
                let padded = column == row.count - 1 ? cell : cell.padded(widths[column])
                guard column == 2, index > 0 else { return padded }
                return paint(cell, colour: colour) + padded.dropFirst(cell.count)
            }
            .joined(separator: "  ")
            return String(line.reversed().drop { $0 == " " }.reversed())
        }
        .joined(separator: "\n")
    }

    /// An RFC 3339 time in UTC to the second, or "" for none.
    static func timestamp(_ date: Date?) -> String {
        date.map { RFC3339.format($0) } ?? ""
    }
}

extension String {
    /// The string with spaces appended up to `width` characters (never cut).
    func padded(_ width: Int) -> String {
        count >= width ? self : self + String(repeating: " ", count: width - count)
    }
}
