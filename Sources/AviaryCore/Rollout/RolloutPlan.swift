import AviaryMeta
import AviaryModel
import Foundation

/// One row of `aviary plan`: the world right after a step of the rollout completed.
public struct RolloutPlanRow: Sendable, Equatable, Encodable {
    /// The step's index in `steps`; `nil` for what is not a step (blue-green stages, the final promotion).
    public var step: Int?
    /// What happened, e.g. `setWeight: 33`, `pause: 1m`, `analysis`, `promote`.
    public var action: String
    /// The `setWeight` in force (the weight the replica counts follow).
    public var setWeight: Int
    /// The share of traffic (percent) the new version receives.
    public var canaryWeight: Int
    /// Pods of the new version.
    public var canaryReplicas: Int
    /// Pods of the previous stable version.
    public var stableReplicas: Int
    /// All pods of the rollout.
    public var totalPods: Int

    /// Makes a row.
    public init(
        step: Int?, action: String, setWeight: Int, canaryWeight: Int, canaryReplicas: Int, stableReplicas: Int,
        totalPods: Int
    ) {
        self.step = step
        self.action = action
        self.setWeight = setWeight
        self.canaryWeight = canaryWeight
        self.canaryReplicas = canaryReplicas
        self.stableReplicas = stableReplicas
        self.totalPods = totalPods
    }

    enum CodingKeys: String, CodingKey {
        case step, action, setWeight, canaryWeight, canaryReplicas, stableReplicas, totalPods
    }

    /// Encodes every key, `step` as `null` when absent, so each object has exactly the same keys.
    public func encode(to encoder: Encoder) throws {
        var container = encoder.container(keyedBy: CodingKeys.self)
        if let step {
            try container.encode(step, forKey: .step)
        } else {
            try container.encodeNil(forKey: .step)
        }
        try container.encode(action, forKey: .action)
        try container.encode(setWeight, forKey: .setWeight)
        try container.encode(canaryWeight, forKey: .canaryWeight)
        try container.encode(canaryReplicas, forKey: .canaryReplicas)
        try container.encode(stableReplicas, forKey: .stableReplicas)
        try container.encode(totalPods, forKey: .totalPods)
    }
}

/// What a rollout will do, step by step, before it runs: the reconciler stepped against a
/// simulated platform where pods are ready at once, analyses succeed, timed pauses elapse and a
/// person promotes every indefinite pause.
public enum RolloutPlan {
    /// The plan of updating `rollout` from its current template to a new one.
    ///
    /// The rollout is first deployed as it is (its template becomes stable), then its template
    /// changes (an annotation is added) and the update is stepped to the end.
    public static func make(for rollout: Rollout, start: Date = Date(timeIntervalSince1970: 0)) -> [RolloutPlanRow] {
        var initial = standingIn(rollout)
        initial.status = nil
        initial.spec.paused = nil
        var simulator = RolloutSimulator(rollout: initial, now: start)
        simulator.settle()
        let oldHash = simulator.rollout.status?.stableRS
        var updated = simulator.rollout
        var template = updated.spec.template ?? PodTemplateSpec(spec: PodSpec(containers: []))
        var metadata = template.metadata ?? ObjectMeta()
        metadata.annotations = (metadata.annotations ?? [:]).merging(["aviary.dev/plan": "next"]) { _, new in new }
        template.metadata = metadata
        updated.spec.template = template
        simulator.rollout = updated
        let newHash = PodTemplateHash.compute(template)

        let steps = rollout.spec.strategy.canary?.stepsOrEmpty ?? []
        let view = RolloutView(updated)
        var rows: [RolloutPlanRow] = []
        var markers = Markers(simulator.rollout.status)
        for _ in 0..<2_000 {
            let snapshot = simulator
            let before = snapshot.rollout.status
            let result = simulator.reconcile()
            let status = result.status
            let row = { (step: Int?, action: String) in
                rows.append(
                    makeRow(
                        step: step, action: action, simulator: simulator, view: view, oldHash: oldHash,
                        newHash: newHash))
            }
            if view.invalidSpecMessage != nil { break }
            if case .canary = view.strategy {
                let from = before?.currentStepIndex ?? 0
                let to = status.currentStepIndex ?? 0
                if before?.currentPodHash == newHash && to > from && !(status.isPromoteFull) {
                    // The world that completed the step: before this reconcile moved on to the next.
                    for index in from..<min(to, steps.count) {
                        rows.append(
                            makeRow(
                                step: index, action: StepView(steps[index]).summary, simulator: snapshot, view: view,
                                oldHash: oldHash, newHash: newHash))
                    }
                }
            } else {
                let now = Markers(status)
                if now.preDone && !markers.preDone { row(nil, "prePromotionAnalysis") }
                if now.paused && !markers.paused { row(nil, "pause") }
                if now.activeIsNew(newHash) && !markers.activeIsNew(newHash) { row(nil, "switch active") }
                if now.postDone && !markers.postDone { row(nil, "postPromotionAnalysis") }
                markers = now
            }
            if !result.actions.isEmpty || result.requeueAfter == .zero { continue }
            if !(status.pauseConditions ?? []).isEmpty && result.requeueAfter == nil {
                simulator.rollout = simulator.rollout.promoted()
                continue
            }
            if let wait = result.requeueAfter, status.stableRS != newHash || hasOldPods(simulator, newHash) {
                simulator.now = simulator.now.addingTimeInterval(seconds(wait))
                continue
            }
            break
        }
        if simulator.rollout.status?.stableRS == newHash {
            rows.append(
                makeRow(
                    step: nil, action: "promoted", simulator: simulator, view: view, oldHash: oldHash, newHash: newHash)
            )
        }
        return rows
    }

    private struct Markers {
        var preDone: Bool
        var postDone: Bool
        var paused: Bool
        var active: String?

        init(_ status: RolloutStatus?) {
            preDone = status?.blueGreen?.prePromotionAnalysisRunStatus?.status == .successful
            postDone = status?.blueGreen?.postPromotionAnalysisRunStatus?.status == .successful
            paused = !(status?.pauseConditions ?? []).isEmpty
            active = status?.blueGreen?.activeSelector
        }

        func activeIsNew(_ hash: String) -> Bool { active == hash }
    }

    private static func hasOldPods(_ simulator: RolloutSimulator, _ newHash: String) -> Bool {
        simulator.observed.replicaSets.contains { $0.podTemplateHash != newHash && $0.replicas > 0 }
    }

    private static func seconds(_ duration: Duration) -> Double {
        Double(duration.components.seconds) + Double(duration.components.attoseconds) / 1e18
    }

    private static func makeRow(
        step: Int?, action: String, simulator: RolloutSimulator, view: RolloutView, oldHash: String?, newHash: String
    ) -> RolloutPlanRow {
        let observed = simulator.observed
        let status = simulator.rollout.status
        let canaryPods = observed.replicaSet(hash: newHash)?.availableReplicas ?? 0
        let stablePods = observed.replicaSet(hash: oldHash)?.availableReplicas ?? 0
        let total = observed.replicaSets.reduce(0) { $0 + $1.availableReplicas }
        var setWeight = 100
        var canaryWeight: Int
        switch view.strategy {
        case .canary(let canary):
            let index = status?.currentStepIndex ?? 0
            if status?.stableRS != newHash && !(status?.isPromoteFull ?? false) && index < canary.steps.count {
                setWeight = 0
                for step in canary.steps[...index].reversed() {
                    if case .setWeight(let weight) = step {
                        setWeight = weight
                        break
                    }
                }
            }
            if status?.stableRS == newHash {
                canaryWeight = 100
            } else if let routing = canary.routing {
                canaryWeight = observed.canaryWeight * 100 / max(1, routing.maxWeight)
            } else {
                canaryWeight = total == 0 ? 0 : Int((Double(canaryPods * 100) / Double(total)).rounded())
            }
            setWeight = setWeight * 100 / canary.maxWeight
        case .blueGreen:
            canaryWeight = status?.blueGreen?.activeSelector == newHash ? 100 : 0
            setWeight = canaryWeight
        }
        return RolloutPlanRow(
            step: step, action: action, setWeight: setWeight, canaryWeight: canaryWeight, canaryReplicas: canaryPods,
            stableReplicas: stablePods, totalPods: total)
    }
}

extension RolloutPlan {
    /// Why the rollout cannot be planned (the reconciler's InvalidSpec message), if it cannot.
    public static func invalidSpecMessage(_ rollout: Rollout) -> String? {
        RolloutView.invalidSpecMessage(standingIn(rollout))
    }

    /// The rollout with an empty pod template standing in for the one its `workloadRef` names:
    /// the plan's replica and traffic maths do not depend on what the pods run.
    static func standingIn(_ rollout: Rollout) -> Rollout {
        guard rollout.spec.template == nil, rollout.spec.workloadRef != nil else { return rollout }
        var planned = rollout
        planned.spec.template = PodTemplateSpec(spec: PodSpec(containers: []))
        return planned
    }

    /// The rows as an aligned text table with a header, `-` for a missing step.
    public static func table(_ rows: [RolloutPlanRow]) -> String {
        let header = ["STEP", "ACTION", "SETWEIGHT", "CANARYWEIGHT", "CANARY", "STABLE", "TOTAL"]
        let cells =
            [header]
            + rows.map {
                [
                    $0.step.map(String.init) ?? "-", $0.action, String($0.setWeight), String($0.canaryWeight),
                    String($0.canaryReplicas), String($0.stableReplicas), String($0.totalPods),
                ]
            }
        let widths = header.indices.map { column in cells.map { $0[column].count }.max() ?? 0 }
        return cells.map { line in
            line.enumerated().map { column, cell in
                column == line.count - 1 ? cell : cell.padding(toLength: widths[column], withPad: " ", startingAt: 0)
            }.joined(separator: "  ")
        }.joined(separator: "\n") + "\n"
    }

    /// The rows as a JSON array of objects with exactly the keys step, action, setWeight,
    /// canaryWeight, canaryReplicas, stableReplicas and totalPods.
    public static func json(_ rows: [RolloutPlanRow]) throws -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = [.prettyPrinted, .sortedKeys]
        return String(decoding: try encoder.encode(rows), as: UTF8.self)
    }
}
