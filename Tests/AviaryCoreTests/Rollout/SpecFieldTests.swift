import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

/// Fields of Argo's spec that each have one rule: `analysisRunMetadata`, `rollbackWindow` and
/// `scaleDownDelayRevisionLimit`.
@Suite struct SpecFieldTests {
    static func canary(extra: String = "", canaryExtra: String = "", steps: String) -> Rollout {
        Fixtures.rollout(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web}
            spec:
              replicas: 2
            \(extra)
            \(Fixtures.template(image: "web:1"))
              strategy:
                canary:
                  canaryService: web-canary
                  stableService: web-stable
                  trafficRouting: {smi: {rootService: web}}
            \(canaryExtra)
                  steps:
            \(steps)
            """)
    }

    /// Moves the simulator to `image` and settles, promoting every pause.
    static func release(_ simulator: inout RolloutSimulator, _ image: String) -> [RolloutAction] {
        simulator.rollout = Fixtures.withImage(simulator.rollout, image)
        var actions: [RolloutAction] = []
        for _ in 0..<50 {
            let results = simulator.settle()
            actions += results.flatMap(\.actions)
            if simulator.status.stableRS == Fixtures.hash(simulator.rollout) { break }
            if simulator.status.pauseConditions != nil { simulator.rollout = simulator.rollout.promoted() }
            simulator.advance(seconds: 60)
        }
        return actions
    }

    @Test func analysisRunMetadataLabelsAndAnnotatesTheRunsButKeepsTheControllersLabels() throws {
        let rollout = Self.canary(
            steps: [
                "      - setWeight: 50",
                "      - analysis:",
                "          templates: [{templateName: rate}]",
                "          analysisRunMetadata:",
                "            labels: {team: payments, rollout: not-this}",
                "            annotations: {runbook: \"https://example.com/rate\"}",
            ].joined(separator: "\n"))
        var simulator = RolloutSimulator.deployed(rollout)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        let requests = simulator.settle().flatMap(\.actions).compactMap { action -> AnalysisRunRequest? in
            if case .createAnalysisRun(let request) = action { request } else { nil }
        }
        let request = try #require(requests.first)
        #expect(request.labels["team"] == "payments")
        #expect(request.labels["rollout"] == "web", "the label the controller finds its runs by wins")
        #expect(request.labels["rollout-type"] == "Step")
        #expect(request.annotations == ["runbook": "https://example.com/rate"])
    }

    static let stepsWithPause = "      - setWeight: 50\n      - pause: {}"

    @Test(arguments: [(3, true), (1, false), (nil, false)] as [(Int?, Bool)])
    func anUndoWithinTheRollbackWindowSkipsTheSteps(window: Int?, skips: Bool) throws {
        let extra = window.map { "  rollbackWindow: {revisions: \($0)}" } ?? ""
        var simulator = RolloutSimulator.deployed(Self.canary(extra: extra, steps: Self.stepsWithPause))
        for image in ["web:2", "web:3"] {
            simulator.advance(seconds: 10)
            _ = Self.release(&simulator, image)
        }
        // Back to web:2, whose ReplicaSet is older than web:3's (stable).
        simulator.advance(seconds: 10)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        let actions = simulator.settle().flatMap(\.actions)
        let events = RolloutSimulator.events(actions)
        if skips {
            #expect(simulator.status.stableRS == Fixtures.hash(simulator.rollout), "promoted without a pause")
            #expect(simulator.status.duration?.completionStatus == .fastRolledBack)
            #expect(events.contains("RollbackWithinWindow: Rollback within window: skipping steps and analysis"))
        } else {
            #expect(simulator.status.pauseConditions?.map(\.reason) == [.canaryPauseStep], "the steps run again")
        }
    }

    @Test(arguments: [(1, 1), (nil, 2)] as [(Int?, Int)])
    func onlyTheNewestOldReplicaSetsWaitOutTheScaleDownDelay(limit: Int?, waiting: Int) throws {
        let canaryExtra =
            "      scaleDownDelaySeconds: 600\n"
            + (limit.map { "      scaleDownDelayRevisionLimit: \($0)" } ?? "")
        var simulator = RolloutSimulator.deployed(
            Self.canary(canaryExtra: canaryExtra, steps: "      - setWeight: 50"))
        for image in ["web:2", "web:3"] {
            simulator.advance(seconds: 5)
            _ = Self.release(&simulator, image)
        }
        let current = Fixtures.hash(simulator.rollout)
        let old = simulator.observed.replicaSets.filter { $0.podTemplateHash != current && $0.replicas > 0 }
        #expect(old.count == waiting, "old ReplicaSets still up: \(old.map(\.revision))")
        #expect(old.allSatisfy { $0.scaleDownDeadline != nil })
    }
}
