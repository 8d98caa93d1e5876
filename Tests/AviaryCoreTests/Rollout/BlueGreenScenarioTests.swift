import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

@Suite struct BlueGreenScenarioTests {
    let v1 = Fixtures.hash(Fixtures.blueGreen(image: "web:1"))
    let v2 = Fixtures.hash(Fixtures.blueGreen(image: "web:2"))

    func updated(autoPromotion: Bool = false) -> RolloutSimulator {
        var simulator = RolloutSimulator.deployed(Fixtures.blueGreen(autoPromotion: autoPromotion), readiness: .manual)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        return simulator
    }

    @Test func initialDeployPointsBothServices() {
        let simulator = RolloutSimulator.deployed(Fixtures.blueGreen())
        #expect(simulator.observed.serviceSelectors == ["web-active": v1, "web-preview": v1])
        #expect(simulator.status.phase == .healthy)
    }

    @Test func preAndPostPromotionAnalysisWithManualPromotion() {
        var simulator = updated()
        #expect(
            simulator.step() == [
                .createReplicaSet(
                    ReplicaSetRequest(
                        name: "web-\(v2)", podTemplateHash: v2, revision: 2, template: simulator.rollout.spec.template!,
                        replicas: 0))
            ])
        #expect(
            simulator.step() == [
                .setServiceSelector(service: "web-preview", podTemplateHash: v2),
                .scaleReplicaSet(podTemplateHash: v2, replicas: 1),
            ])
        #expect(simulator.step() == [])
        // Argo's order: the preview holds fewer pods than `replicas` until promotion.
        #expect(simulator.status.message == "more replicas need to be updated")
        simulator.makeReady()
        #expect(
            simulator.step() == [
                .createAnalysisRun(
                    AnalysisRunRequest(
                        name: "web-\(v2)-2-pre", kind: .prePromotion, templates: [.init(templateName: "smoke")],
                        args: [],
                        labels: ["rollout-type": "PrePromotion", "rollouts-pod-template-hash": v2, "rollout": "web"],
                        dryRun: nil, measurementRetention: nil))
            ])
        #expect(simulator.step() == [])
        simulator.finishRun(named: "web-\(v2)-2-pre", .successful)
        let pause = simulator.reconcile()
        #expect(RolloutSimulator.events(pause.actions) == ["RolloutPaused: Rollout is paused (BlueGreenPause)"])
        #expect(simulator.status.phase == .paused)
        #expect(simulator.status.message == "BlueGreenPause")
        #expect(simulator.step() == [])
        #expect(simulator.observed.serviceSelectors["web-active"] == v1)

        simulator.rollout = simulator.rollout.promoted()
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: v2, replicas: 3)])
        #expect(simulator.step() == [])
        simulator.makeReady()
        #expect(
            simulator.step() == [
                .setServiceSelector(service: "web-active", podTemplateHash: v2),
                .createAnalysisRun(
                    AnalysisRunRequest(
                        name: "web-\(v2)-2-post", kind: .postPromotion,
                        templates: [.init(templateName: "success-rate")],
                        args: [],
                        labels: ["rollout-type": "PostPromotion", "rollouts-pod-template-hash": v2, "rollout": "web"],
                        dryRun: nil, measurementRetention: nil)),
            ])
        #expect(simulator.status.message == "waiting for post-promotion verification to complete")
        #expect(simulator.step() == [])
        simulator.finishRun(named: "web-\(v2)-2-post", .successful)
        _ = simulator.step()
        #expect(simulator.status.stableRS == v2)
        #expect(
            simulator.step() == [
                .setScaleDownDeadline(podTemplateHash: v1, deadline: simulator.now.addingTimeInterval(30))
            ])
        simulator.advance(seconds: 30)
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: v1, replicas: 0)])
        #expect(simulator.step() == [])
        #expect(simulator.status.phase == .healthy)
    }

    @Test func failedPostPromotionAnalysisSwitchesBack() {
        var simulator = updated(autoPromotion: true)
        simulator.makeReady()
        simulator.settle()
        simulator.makeReady()
        simulator.settle()
        simulator.finishRun(named: "web-\(v2)-2-pre", .successful)
        simulator.settle()
        simulator.makeReady()
        simulator.settle()
        #expect(simulator.observed.serviceSelectors["web-active"] == v2)
        simulator.finishRun(named: "web-\(v2)-2-post", .failed, message: "Metric \"x\" assessed Failed")
        _ = simulator.step()
        #expect(simulator.status.abort == true)
        #expect(
            simulator.step() == [
                .setServiceSelector(service: "web-active", podTemplateHash: v1),
                .setServiceSelector(service: "web-preview", podTemplateHash: v1),
                .setScaleDownDeadline(podTemplateHash: v2, deadline: simulator.now.addingTimeInterval(30)),
            ])
        #expect(
            simulator.status.message
                == "RolloutAborted: Rollout aborted update to revision 2: Metric \"x\" assessed Failed")
    }

    @Test func fastRollbackSwitchesBackToScaledOldVersion() throws {
        var simulator = updated(autoPromotion: true)
        for _ in 0..<6 {
            simulator.makeReady()
            simulator.finishRun(named: "web-\(v2)", .successful)
            simulator.settle()
        }
        #expect(simulator.status.stableRS == v2)
        #expect(simulator.observed.replicaSet(hash: v1)?.scaleDownDeadline != nil)
        simulator.rollout = try simulator.rollout.undone(toRevision: 1, replicaSets: simulator.observed.replicaSets)
        _ = simulator.step()
        #expect(
            simulator.step() == [
                .setScaleDownDeadline(podTemplateHash: v1, deadline: nil),
                .setServiceSelector(service: "web-active", podTemplateHash: v1),
                .setServiceSelector(service: "web-preview", podTemplateHash: v1),
            ])
        #expect(simulator.status.stableRS == v1)
        #expect(simulator.status.duration?.completionStatus == .fastRolledBack)
    }

    @Test func autoPromotionSecondsResumesByItself() {
        var rollout = Fixtures.blueGreen(autoPromotion: true)
        rollout.spec.strategy.blueGreen?.autoPromotionSeconds = 120
        rollout.spec.strategy.blueGreen?.prePromotionAnalysis = nil
        rollout.spec.strategy.blueGreen?.postPromotionAnalysis = nil
        var simulator = RolloutSimulator.deployed(rollout)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        #expect(simulator.status.message == "BlueGreenPause")
        #expect(simulator.reconcile().requeueAfter == .seconds(120))
        simulator.advance(seconds: 119)
        #expect(simulator.step() == [])
        simulator.advance(seconds: 1)
        let resume = simulator.reconcile()
        #expect(
            RolloutSimulator.events(resume.actions) == ["RolloutResumed: Rollout is resumed after autoPromotionSeconds"]
        )
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: v2, replicas: 3)])
        #expect(
            simulator.step() == [
                .setServiceSelector(service: "web-active", podTemplateHash: v2)
            ])
        #expect(simulator.status.stableRS == v2)
    }

    /// `restartAt` replaces `maxUnavailable` pods at a time (25% of the replicas when absent, as
    /// Argo resolves it for blue-green too; at least 1).
    @Test(arguments: [(nil, 3, 1), (nil, 8, 2), (IntOrString.int(3), 8, 3), (.string("50%"), 8, 4), (.int(0), 8, 1)])
    func restartReplacesMaxUnavailablePodsAtATime(maxUnavailable: IntOrString?, replicas: Int, budget: Int) {
        var rollout = Fixtures.blueGreen()
        rollout.spec.replicas = replicas
        rollout.spec.strategy.blueGreen?.maxUnavailable = maxUnavailable
        var simulator = RolloutSimulator.deployed(rollout)
        let stable = Fixtures.hash(rollout)
        simulator.rollout = simulator.rollout.restarted(at: simulator.now)
        #expect(
            simulator.step() == [.restartPods(podTemplateHash: stable, before: simulator.now, maxUnavailable: budget)])
    }
}
