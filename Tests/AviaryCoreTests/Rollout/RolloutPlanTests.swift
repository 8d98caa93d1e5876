import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

@Suite struct RolloutPlanTests {
    @Test func basicCanaryPlan() {
        #expect(
            RolloutPlan.make(for: Fixtures.basicCanary()) == [
                RolloutPlanRow(
                    step: 0, action: "setWeight: 25", setWeight: 25, canaryWeight: 25, canaryReplicas: 1,
                    stableReplicas: 3, totalPods: 4),
                RolloutPlanRow(
                    step: 1, action: "pause", setWeight: 25, canaryWeight: 25, canaryReplicas: 1, stableReplicas: 3,
                    totalPods: 4),
                RolloutPlanRow(
                    step: 2, action: "setWeight: 50", setWeight: 50, canaryWeight: 50, canaryReplicas: 2,
                    stableReplicas: 2, totalPods: 4),
                RolloutPlanRow(
                    step: nil, action: "promoted", setWeight: 100, canaryWeight: 100, canaryReplicas: 4,
                    stableReplicas: 0, totalPods: 4),
            ])
    }

    @Test func routedCanaryKeepsStableFullUntilPromotion() {
        let rows = RolloutPlan.make(for: Fixtures.routedCanary())
        #expect(
            rows.map(\.action) == [
                "setWeight: 20", "setHeaderRoute: beta", "analysis", "setWeight: 50", "pause: 1m", "pause", "promoted",
            ])
        #expect(rows.map(\.step) == [0, 1, 2, 3, 4, 5, nil])
        #expect(rows.map(\.canaryReplicas) == [2, 2, 2, 5, 5, 5, 10])
        #expect(rows.map(\.stableReplicas) == [10, 10, 10, 10, 10, 10, 0])
        #expect(rows.map(\.canaryWeight) == [20, 20, 20, 50, 50, 50, 100])
    }

    @Test func blueGreenPlan() {
        let rows = RolloutPlan.make(for: Fixtures.blueGreen())
        #expect(
            rows.map(\.action) == [
                "prePromotionAnalysis", "pause", "switch active", "postPromotionAnalysis", "promoted",
            ])
        #expect(rows.map(\.canaryReplicas) == [1, 1, 3, 3, 3])
        #expect(rows.map(\.canaryWeight) == [0, 0, 100, 100, 100])
    }

    @Test func jsonHasExactlyTheColumns() throws {
        let json = try RolloutPlan.json(RolloutPlan.make(for: Fixtures.basicCanary()))
        let objects = try #require(try JSONSerialization.jsonObject(with: Data(json.utf8)) as? [[String: Any]])
        #expect(objects.count == 4)
        for object in objects {
            #expect(
                Set(object.keys)
                    == ["step", "action", "setWeight", "canaryWeight", "canaryReplicas", "stableReplicas", "totalPods"])
        }
        #expect(objects.last?["step"] is NSNull)
    }

    @Test func tableAlignsColumns() {
        let table = RolloutPlan.table([
            RolloutPlanRow(
                step: 0, action: "setWeight: 5", setWeight: 5, canaryWeight: 5, canaryReplicas: 1, stableReplicas: 10,
                totalPods: 11)
        ])
        #expect(
            table == """
                STEP  ACTION        SETWEIGHT  CANARYWEIGHT  CANARY  STABLE  TOTAL
                0     setWeight: 5  5          5             1       10      11

                """)
    }
}

@Suite struct RolloutDetailTests {
    @Test func backgroundAnalysisStartsAtStartingStepAndFailureAborts() {
        let rollout = Fixtures.routedCanary(
            extra: """
                      analysis:
                        templates: [{templateName: error-rate}]
                        startingStep: 3
                """)
        var simulator = RolloutSimulator.deployed(rollout)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        let v2 = Fixtures.hash(simulator.rollout)
        simulator.settle()
        #expect(simulator.status.currentStepIndex == 2)
        #expect(!simulator.observed.analysisRuns.contains { $0.kind == .background })
        simulator.finishRun(named: "web-\(v2)-2-2", .successful)
        simulator.settle()
        #expect(simulator.status.currentStepIndex == 4)
        let background = simulator.observed.analysisRuns.filter { $0.kind == .background }
        #expect(background.map(\.name) == ["web-\(v2)-2"])
        simulator.finishRun(named: "web-\(v2)-2", .error, message: "metric \"errors\" errored")
        let abort = simulator.reconcile()
        #expect(simulator.status.abort == true)
        #expect(abort.actions.contains(.setCanaryWeight(0)))
        #expect(
            simulator.status.message
                == "RolloutAborted: Rollout aborted update to revision 2: metric \"errors\" errored")
    }

    @Test func revisionHistoryLimitDeletesOldestScaledDownReplicaSets() {
        var rollout = Fixtures.basicCanary()
        rollout.spec.revisionHistoryLimit = 1
        rollout.spec.strategy.canary?.steps = nil
        var simulator = RolloutSimulator.deployed(rollout)
        var hashes = [Fixtures.hash(rollout)]
        for version in 2...4 {
            simulator.rollout = Fixtures.withImage(simulator.rollout, "web:\(version)")
            hashes.append(Fixtures.hash(simulator.rollout))
            simulator.settle()
        }
        // Current (web:4) plus one scaled-down revision (web:3) are kept.
        #expect(Set(simulator.observed.replicaSets.map(\.podTemplateHash)) == [hashes[2], hashes[3]])
        #expect(simulator.status.phase == .healthy)
    }

    @Test func mirrorRouteFollowsSteps() {
        let rollout = Fixtures.rollout(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web}
            spec:
              replicas: 2
            \(Fixtures.template(image: "web:1"))
              strategy:
                canary:
                  canaryService: web-canary
                  stableService: web-stable
                  trafficRouting:
                    smi: {rootService: web}
                    managedRoutes: [{name: mirror}]
                  steps:
                  - setMirrorRoute:
                      name: mirror
                      percentage: 50
                      match: [{method: {exact: GET}}]
                  - pause: {}
                  - setMirrorRoute: {name: mirror}
                  - pause: {}
            """)
        var simulator = RolloutSimulator.deployed(rollout)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        #expect(simulator.observed.mirrorRoutes["mirror"]?.percentage == 50)
        simulator.rollout = simulator.rollout.promoted()
        simulator.settle()
        #expect(simulator.observed.mirrorRoutes.isEmpty)
        #expect(simulator.status.currentStepIndex == 3)
    }
}
