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

@Suite struct OperationTests {
    @Test func manualPauseHoldsAndPromoteOnlyResumes() {
        var simulator = RolloutSimulator.deployed(Fixtures.basicCanary(), readiness: .manual)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.rollout = simulator.rollout.paused()
        _ = simulator.step()
        #expect(simulator.step() == [])
        #expect(simulator.status.phase == .paused)
        #expect(simulator.status.message == "manually paused")
        simulator.rollout = simulator.rollout.promoted()
        #expect(simulator.rollout.spec.paused == nil)
        #expect(simulator.status.currentStepIndex == 0)
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: Fixtures.hash(simulator.rollout), replicas: 1)])
    }

    @Test func lostReplicaSetIsMadeAgainWithoutLosingProgress() {
        var simulator = RolloutSimulator.deployed(Fixtures.basicCanary())
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        #expect(simulator.status.currentStepIndex == 1)
        let new = Fixtures.hash(simulator.rollout)
        simulator.observed.replicaSets.removeAll { $0.podTemplateHash == new }
        let actions = simulator.step()
        #expect(actions.count == 1)
        if case .createReplicaSet(let request)? = actions.first {
            #expect(request.podTemplateHash == new)
        } else {
            Issue.record("expected the ReplicaSet to be created, got \(actions)")
        }
        #expect(simulator.status.currentStepIndex == 1)
    }
}

@Suite struct ExamplePlanTests {
    /// Every Rollout in examples/ plans to a promotion.
    @Test func examplesPlanToPromotion() throws {
        let examples = URL(fileURLWithPath: #filePath).deletingLastPathComponent().appendingPathComponent(
            "../../../examples"
        ).standardizedFileURL
        let files = try FileManager.default.contentsOfDirectory(atPath: examples.path).filter { $0.hasSuffix(".yaml") }
        var planned = 0
        for file in files.sorted() {
            let text = try String(contentsOf: examples.appendingPathComponent(file), encoding: .utf8)
            for case .rollout(let rollout) in ManifestDecoder().decode(text, file: file).resources {
                let rows = RolloutPlan.make(for: rollout)
                #expect(rows.last?.action == "promoted", "\(file)")
                #expect(rows.last?.canaryReplicas == rollout.spec.replicasOrDefault, "\(file)")
                planned += 1
            }
        }
        #expect(planned > 0)
    }
}

@Suite struct BadStatusTests {
    /// A hand-edited status with nonsense in it is reconciled, not trusted into a crash.
    @Test func nonsenseStatusIsSurvived() {
        var rollout = Fixtures.routedCanary()
        var status = RolloutStatus()
        status.currentStepIndex = -3
        status.currentPodHash = Fixtures.hash(rollout)
        status.currentStepHash = PodTemplateHash.compute(rollout.spec.strategy.canary!.stepsOrEmpty)
        status.stableRS = "gone"
        status.abortedAt = "yesterday"
        status.pauseConditions = [PauseCondition(reason: .canaryPauseStep, startTime: "not a time")]
        status.conditions = [RolloutCondition(type: .progressing, status: .true, lastUpdateTime: "2026-99-99")]
        rollout.status = status
        var simulator = RolloutSimulator(rollout: rollout, now: Fixtures.start)
        let results = simulator.settle()
        #expect(!results.isEmpty)
        #expect(simulator.status.currentPodHash == Fixtures.hash(rollout))
    }
}

@Suite struct AnalysisHistoryTests {
    @Test func finishedRunsBeyondTheLimitsAreDeleted() {
        var rollout = Fixtures.basicCanary()
        rollout.spec.analysis = AnalysisRunStrategy(successfulRunHistoryLimit: 1, unsuccessfulRunHistoryLimit: 1)
        let old = (0..<3).map {
            ObservedAnalysisRun(
                name: "web-old-\($0)", kind: .step, phase: .successful,
                createdAt: Fixtures.start.addingTimeInterval(Double($0)))
        }
        let failed = (0..<2).map {
            ObservedAnalysisRun(
                name: "web-failed-\($0)", kind: .step, phase: .failed,
                createdAt: Fixtures.start.addingTimeInterval(Double($0)))
        }
        var simulator = RolloutSimulator(
            rollout: rollout, observed: ObservedState(analysisRuns: old + failed), now: Fixtures.start)
        simulator.settle()
        #expect(simulator.observed.analysisRuns.map(\.name) == ["web-old-2", "web-failed-1"])
    }
}
