import AviaryModel
import AviaryRoutes
import Foundation
import Testing

@testable import AviaryCore

/// Whole canary rollouts stepped with a fake clock; each reconcile's actions are stated exactly
/// (events are checked apart). Pods become ready only when a test says so.
@Suite struct CanaryScenarioTests {
    let v1 = Fixtures.hash(Fixtures.routedCanary(image: "web:1"))
    let v2 = Fixtures.hash(Fixtures.routedCanary(image: "web:2"))

    /// A routed canary updated to web:2 and stepped to the analysis step (run created, running).
    func atAnalysisStep() -> RolloutSimulator {
        var simulator = RolloutSimulator.deployed(Fixtures.routedCanary(), readiness: .manual)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        simulator.makeReady()
        simulator.settle()
        return simulator
    }

    @Test func initialDeployIsStableAtOnce() {
        var simulator = RolloutSimulator(rollout: Fixtures.routedCanary(), now: Fixtures.start, newRunPhase: .running)
        #expect(
            simulator.step() == [
                .createReplicaSet(
                    ReplicaSetRequest(
                        name: "web-\(v1)", podTemplateHash: v1, revision: 1,
                        template: Fixtures.routedCanary().spec.template!, replicas: 0))
            ])
        #expect(simulator.status.stableRS == v1)
        #expect(simulator.status.currentStepIndex == 6)
        #expect(
            simulator.step() == [
                .scaleReplicaSet(podTemplateHash: v1, replicas: 10),
                .setServiceSelector(service: "web-stable", podTemplateHash: v1),
                .setServiceSelector(service: "web-canary", podTemplateHash: v1),
            ])
        #expect(simulator.step() == [])
        #expect(simulator.status.phase == .healthy)
        #expect(simulator.status.message == "")
    }

    @Test func happyPath() {
        var simulator = RolloutSimulator.deployed(Fixtures.routedCanary(), readiness: .manual)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        #expect(
            simulator.step() == [
                .createReplicaSet(
                    ReplicaSetRequest(
                        name: "web-\(v2)", podTemplateHash: v2, revision: 2, template: simulator.rollout.spec.template!,
                        replicas: 0))
            ])
        #expect(simulator.status.currentStepIndex == 0)
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: v2, replicas: 2)])
        #expect(simulator.step() == [])
        #expect(simulator.status.phase == .progressing)
        #expect(simulator.status.message == "more replicas need to be updated")
        simulator.makeReady()
        #expect(
            simulator.step() == [.setServiceSelector(service: "web-canary", podTemplateHash: v2), .setCanaryWeight(20)])
        let route = SetHeaderRoute(
            name: "beta", match: [HeaderRoutingMatch(headerName: "x-beta", headerValue: StringMatch(exact: "1"))])
        #expect(simulator.step() == [.setHeaderRoute(route)])
        #expect(simulator.status.currentStepIndex == 1)
        #expect(simulator.step() == [])
        #expect(simulator.status.currentStepIndex == 2)
        let runName = "web-\(v2)-2-2"
        #expect(
            simulator.step() == [
                .createAnalysisRun(
                    AnalysisRunRequest(
                        name: runName, kind: .step, templates: [RolloutAnalysisTemplate(templateName: "success-rate")],
                        args: [AnalysisRunArgument(name: "hash", value: v2)],
                        labels: [
                            "rollout-type": "Step", "step-index": "2", "rollouts-pod-template-hash": v2,
                            "rollout": "web",
                        ], dryRun: nil, measurementRetention: nil))
            ])
        #expect(simulator.step() == [])
        #expect(simulator.status.canary?.currentStepAnalysisRunStatus?.status == .running)
        simulator.finishRun(named: runName, .successful)
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: v2, replicas: 5)])
        #expect(simulator.status.currentStepIndex == 3)
        #expect(simulator.step() == [])
        simulator.makeReady()
        #expect(simulator.step() == [.setCanaryWeight(50)])
        #expect(simulator.step() == [])
        #expect(simulator.status.currentStepIndex == 4)
        let paused = simulator.reconcile()
        #expect(RolloutSimulator.events(paused.actions) == ["RolloutPaused: Rollout is paused (CanaryPauseStep)"])
        #expect(simulator.status.phase == .paused)
        #expect(simulator.status.message == "CanaryPauseStep")
        #expect(simulator.reconcile().requeueAfter == .seconds(60))
        simulator.advance(seconds: 60)
        #expect(simulator.step() == [])
        #expect(simulator.status.currentStepIndex == 5)
        #expect(simulator.step() == [])
        #expect(simulator.reconcile().requeueAfter == nil)
        #expect(simulator.status.message == "CanaryPauseStep")
        simulator.rollout = simulator.rollout.promoted()
        #expect(
            simulator.step() == [.scaleReplicaSet(podTemplateHash: v2, replicas: 10), .removeHeaderRoute(name: "beta")])
        #expect(simulator.status.currentStepIndex == 6)
        #expect(simulator.step() == [])
        simulator.makeReady()
        #expect(simulator.step() == [.setCanaryWeight(100)])
        let promotion = simulator.reconcile()
        #expect(
            promotion.actions.filter { if case .recordEvent = $0 { false } else { true } } == [
                .setScaleDownDeadline(podTemplateHash: v1, deadline: simulator.now.addingTimeInterval(30)),
                .setServiceSelector(service: "web-stable", podTemplateHash: v2),
                .setCanaryWeight(0),
            ])
        #expect(simulator.status.stableRS == v2)
        #expect(simulator.status.phase == .healthy)
        #expect(simulator.step() == [])
        simulator.advance(seconds: 30)
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: v1, replicas: 0)])
        #expect(simulator.step() == [])
        #expect(simulator.status.phase == .healthy)
        #expect(simulator.status.canary?.weights?.canary.weight == 0)
        #expect(simulator.status.conditions?.first { $0.type == .completed }?.status == .true)
        #expect(simulator.status.duration?.completionStatus == .promoted)
        #expect(simulator.status.duration?.rolloutStartedAt == "2026-08-17T10:00:00Z")
    }

    @Test func failedStepAnalysisAborts() {
        var simulator = atAnalysisStep()
        let runName = "web-\(v2)-2-2"
        simulator.finishRun(
            named: runName, .failed,
            message: "Metric \"success-rate\" assessed Failed due to failed (1) > failureLimit (0)")
        let abort = simulator.reconcile()
        #expect(
            abort.actions.filter { if case .recordEvent = $0 { false } else { true } } == [
                .setServiceSelector(service: "web-canary", podTemplateHash: v1), .setCanaryWeight(0),
                .removeHeaderRoute(name: "beta"),
            ])
        #expect(
            RolloutSimulator.events(abort.actions).contains(
                "RolloutAborted: Rollout aborted update to revision 2: Metric \"success-rate\" assessed Failed due to failed (1) > failureLimit (0)"
            ))
        #expect(simulator.status.abort == true)
        #expect(simulator.status.duration?.completionStatus == .aborted)
        #expect(simulator.status.currentStepIndex == 0)
        #expect(simulator.status.phase == .degraded)
        #expect(
            simulator.status.message
                == "RolloutAborted: Rollout aborted update to revision 2: Metric \"success-rate\" assessed Failed due to failed (1) > failureLimit (0)"
        )
        // The canary keeps its pods for abortScaleDownDelaySeconds after its traffic is gone.
        #expect(
            simulator.step() == [
                .setScaleDownDeadline(podTemplateHash: v2, deadline: simulator.now.addingTimeInterval(30))
            ])
        #expect(simulator.step() == [])
        simulator.advance(seconds: 29)
        #expect(simulator.step() == [])
        simulator.advance(seconds: 1)
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: v2, replicas: 0)])
        #expect(simulator.step() == [])
        #expect(simulator.status.phase == .degraded)
    }

    /// Aviary's `retry` (`retried()`), or Argo's plugin's `{"status":{"abort":false}}` alone, whose
    /// clean-up the reconciler does (event `RolloutRetry`): the same actions either way.
    @Test(arguments: [false, true])
    func retryAfterAbortStartsAgainWithFreshRuns(asArgosPluginWritesIt: Bool) {
        var simulator = atAnalysisStep()
        simulator.finishRun(named: "web-\(v2)-2-2", .failed)
        simulator.settle()
        simulator.advance(seconds: 30)
        simulator.settle()
        #expect(simulator.observed.replicaSet(hash: v2)?.replicas == 0)
        #expect(simulator.status.abortedAt != nil)

        if asArgosPluginWritesIt {
            simulator.rollout.status?.abort = false
        } else {
            simulator.rollout = simulator.rollout.retried()
        }
        let retry = simulator.reconcile()
        #expect(RolloutSimulator.events(retry.actions).contains("RolloutRetry: Rollout retried") == asArgosPluginWritesIt)
        #expect(
            retry.actions.filter { if case .recordEvent = $0 { false } else { true } } == [
                .setScaleDownDeadline(podTemplateHash: v2, deadline: nil),
                .scaleReplicaSet(podTemplateHash: v2, replicas: 2),
            ])
        #expect(simulator.status.abort != true)
        #expect(simulator.status.abortedAt == nil)
        #expect(simulator.status.phase == .progressing)
        simulator.makeReady()
        #expect(
            simulator.step() == [.setServiceSelector(service: "web-canary", podTemplateHash: v2), .setCanaryWeight(20)])
        simulator.settle()
        // The failed run keeps its name; the new one gets the next free name.
        #expect(simulator.status.canary?.currentStepAnalysisRunStatus?.name == "web-\(v2)-2-2.1")
        simulator.finishRun(named: "web-\(v2)-2-2.1", .successful)
        simulator.settle()
        #expect(simulator.status.currentStepIndex == 3)
    }

    @Test func inconclusivePausesThenPromoteGoesOn() {
        var simulator = atAnalysisStep()
        simulator.finishRun(named: "web-\(v2)-2-2", .inconclusive)
        let pause = simulator.reconcile()
        #expect(
            RolloutSimulator.events(pause.actions) == ["RolloutPaused: Rollout is paused (InconclusiveAnalysisRun)"])
        #expect(simulator.status.phase == .paused)
        #expect(simulator.status.message == "InconclusiveAnalysisRun")
        #expect(simulator.step() == [])
        #expect(simulator.status.currentStepIndex == 2)
        simulator.rollout = simulator.rollout.promoted()
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: v2, replicas: 5)])
        #expect(simulator.status.currentStepIndex == 3)
        #expect(simulator.status.pauseConditions == nil)
    }

    @Test func promoteFullMidWaySkipsTheRest() {
        var simulator = atAnalysisStep()
        simulator.rollout = simulator.rollout.promoted(full: true)
        #expect(
            simulator.step() == [
                .terminateAnalysisRun(name: "web-\(v2)-2-2"),
                .scaleReplicaSet(podTemplateHash: v2, replicas: 10),
                .removeHeaderRoute(name: "beta"),
            ])
        simulator.makeReady()
        #expect(simulator.step() == [.setCanaryWeight(100)])
        let promotion = simulator.reconcile()
        #expect(
            promotion.actions.filter { if case .recordEvent = $0 { false } else { true } } == [
                .setScaleDownDeadline(podTemplateHash: v1, deadline: simulator.now.addingTimeInterval(30)),
                .setServiceSelector(service: "web-stable", podTemplateHash: v2), .setCanaryWeight(0),
            ])
        #expect(
            RolloutSimulator.events(promotion.actions).first
                == "RolloutCompleted: Rollout completed update to revision 2 (\(v2)): Full promotion requested")
        #expect(simulator.status.promoteFull == nil)
        #expect(simulator.status.duration?.completionStatus == .fastPromoted)
        #expect(simulator.status.currentStepIndex == 6)
    }

    @Test func undoToStableMidWaySkipsSteps() throws {
        var simulator = atAnalysisStep()
        simulator.rollout = try simulator.rollout.undone(toRevision: 1, replicaSets: simulator.observed.replicaSets)
        let undo = simulator.reconcile()
        #expect(
            undo.actions.filter { if case .recordEvent = $0 { false } else { true } } == [
                .terminateAnalysisRun(name: "web-\(v2)-2-2"), .setRevision(podTemplateHash: v1, revision: 3),
            ])
        #expect(RolloutSimulator.events(undo.actions).first == "SkipSteps: Rollback to stable ReplicaSets")
        #expect(simulator.status.duration?.completionStatus == .rolledBack)
        #expect(simulator.status.currentStepIndex == 6)
        // Traffic goes back to stable at once; the web:2 pods drain for scaleDownDelaySeconds.
        #expect(
            simulator.step() == [
                .setScaleDownDeadline(podTemplateHash: v2, deadline: simulator.now.addingTimeInterval(30)),
                .setServiceSelector(service: "web-canary", podTemplateHash: v1), .setCanaryWeight(0),
                .removeHeaderRoute(name: "beta"),
            ])
        #expect(simulator.step() == [])
        #expect(simulator.status.phase == .healthy)
        simulator.advance(seconds: 30)
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: v2, replicas: 0)])
    }

    @Test func undoToAnOlderRevisionIsANormalUpdate() throws {
        var simulator = RolloutSimulator.deployed(Fixtures.routedCanary())
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        while simulator.status.stableRS != v2 {
            let result = simulator.reconcile()
            if !(simulator.status.pauseConditions ?? []).isEmpty { simulator.rollout = simulator.rollout.promoted() }
            if let wait = result.requeueAfter, result.actions.isEmpty {
                simulator.advance(seconds: Double(wait.components.seconds))
            }
            simulator.finishRun(named: "web-", .successful)
        }
        simulator.advance(seconds: 30)
        simulator.settle()
        #expect(simulator.observed.replicaSet(hash: v1)?.replicas == 0)
        simulator.rollout = try simulator.rollout.undone(toRevision: nil, replicaSets: simulator.observed.replicaSets)
        #expect(Fixtures.hash(simulator.rollout) == v1)
        let undo = simulator.reconcile()
        #expect(undo.actions.contains(.setRevision(podTemplateHash: v1, revision: 3)))
        #expect(simulator.status.currentStepIndex == 0)
        // The revision comes back from the history: its old scale-down mark goes.
        #expect(
            simulator.step() == [
                .setScaleDownDeadline(podTemplateHash: v1, deadline: nil),
                .scaleReplicaSet(podTemplateHash: v1, replicas: 2),
            ])
        #expect(throws: RolloutOperationError.self) {
            try simulator.rollout.undone(toRevision: 7, replicaSets: simulator.observed.replicaSets)
        }
    }

    @Test func newImageMidCanaryStartsOver() {
        var simulator = atAnalysisStep()
        simulator.finishRun(named: "web-\(v2)-2-2", .successful)
        simulator.settle()
        simulator.makeReady()
        simulator.settle()
        #expect(simulator.observed.canaryWeight == 50)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:3")
        let v3 = Fixtures.hash(simulator.rollout)
        #expect(
            simulator.step() == [
                .createReplicaSet(
                    ReplicaSetRequest(
                        name: "web-\(v3)", podTemplateHash: v3, revision: 3, template: simulator.rollout.spec.template!,
                        replicas: 0))
            ])
        #expect(simulator.status.currentStepIndex == 0)
        #expect(simulator.status.pauseConditions == nil)
        // The half-way web:2 loses its traffic and pods; web:3 starts at the first step.
        #expect(
            simulator.step() == [
                .scaleReplicaSet(podTemplateHash: v3, replicas: 2), .setCanaryWeight(0),
                .removeHeaderRoute(name: "beta"),
            ])
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: v2, replicas: 0)])
        simulator.makeReady()
        #expect(
            simulator.step() == [.setServiceSelector(service: "web-canary", podTemplateHash: v3), .setCanaryWeight(20)])
    }

    @Test func basicCanaryMovesPodsWithinBudgets() {
        var simulator = RolloutSimulator.deployed(Fixtures.basicCanary(), readiness: .manual)
        let old = Fixtures.hash(Fixtures.basicCanary())
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        let new = Fixtures.hash(simulator.rollout)
        _ = simulator.step()
        // 4 replicas at 25% with maxSurge 1, maxUnavailable 0: one canary first, then one stable goes.
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: new, replicas: 1)])
        #expect(simulator.step() == [])
        simulator.makeReady()
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: old, replicas: 3)])
        #expect(simulator.step() == [])
        #expect(simulator.status.currentStepIndex == 1)
        #expect(simulator.step() == [])
        #expect(simulator.status.phase == .paused)
        simulator.rollout = simulator.rollout.aborted()
        let abort = simulator.reconcile()
        #expect(
            abort.actions.filter { if case .recordEvent = $0 { false } else { true } } == [
                .scaleReplicaSet(podTemplateHash: old, replicas: 4)
            ])
        #expect(simulator.status.phase == .degraded)
        #expect(simulator.status.message == "RolloutAborted: Rollout aborted update to revision 2")
        simulator.makeReady()
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: new, replicas: 0)])
        #expect(simulator.step() == [])
    }

    @Test func progressDeadlineWithoutAbortDegrades() {
        var rollout = Fixtures.routedCanary()
        rollout.spec.progressDeadlineSeconds = 60
        var simulator = RolloutSimulator.deployed(rollout, readiness: .manual)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        #expect(simulator.reconcile().requeueAfter == .seconds(60))
        simulator.advance(seconds: 59)
        #expect(simulator.step() == [])
        #expect(simulator.status.phase == .progressing)
        simulator.advance(seconds: 1)
        let timeout = simulator.reconcile()
        #expect(
            RolloutSimulator.events(timeout.actions) == [
                "ProgressDeadlineExceeded: ReplicaSet \"web-\(v2)\" has timed out progressing."
            ])
        #expect(simulator.status.phase == .degraded)
        #expect(
            simulator.status.message == "ProgressDeadlineExceeded: ReplicaSet \"web-\(v2)\" has timed out progressing.")
        #expect(simulator.status.abort == nil)
        #expect(simulator.step() == [])
        // Progress clears it.
        simulator.makeReady()
        _ = simulator.step()
        #expect(simulator.status.phase == .progressing)
    }

    @Test func progressDeadlineWithAbortRollsBack() {
        var rollout = Fixtures.routedCanary()
        rollout.spec.progressDeadlineSeconds = 60
        rollout.spec.progressDeadlineAbort = true
        var simulator = RolloutSimulator.deployed(rollout, readiness: .manual)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        simulator.advance(seconds: 60)
        let timeout = simulator.reconcile()
        #expect(timeout.requeueAfter == .zero)
        #expect(simulator.status.abort == true)
        #expect(simulator.status.phase == .degraded)
        #expect(simulator.status.message == "RolloutAborted: Rollout aborted update to revision 2")
        #expect(
            simulator.step() == [
                .setScaleDownDeadline(podTemplateHash: v2, deadline: simulator.now.addingTimeInterval(30))
            ])
        simulator.advance(seconds: 30)
        #expect(simulator.step() == [.scaleReplicaSet(podTemplateHash: v2, replicas: 0)])
    }

    @Test func restartEvictsOldPodsOnce() {
        var simulator = RolloutSimulator.deployed(Fixtures.routedCanary())
        simulator.rollout = simulator.rollout.restarted(at: simulator.now)
        #expect(simulator.step() == [.restartPods(podTemplateHash: v1, before: simulator.now, maxUnavailable: 2)])
        #expect(simulator.step() == [])
    }

    /// Argo holds a setWeight step while the router says the weight is not in place
    /// (`weights.verified: false`) where its router checks (ALB against AWS, the Contour plugin, a
    /// plugin binary's VerifyWeight), and goes on once it is; other routers' steps do not wait.
    @Test(arguments: [
        ("alb: {ingress: web, servicePort: 80}", true), (#"plugins: {argoproj-labs/contour: {httpProxies: [web]}}"#, true),
        (#"plugins: {acme/router: {route: web}}"#, true), ("smi: {rootService: web}", false),
    ])
    func aSetWeightStepWaitsForTheRoutersWord(routing: String, waits: Bool) {
        let rollout = Fixtures.rollout(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web}
            spec:
              replicas: 4
            \(Fixtures.template(image: "web:1"))
              strategy:
                canary:
                  canaryService: web-canary
                  stableService: web-stable
                  trafficRouting:
                    \(routing)
                  steps:
                  - setWeight: 20
                  - pause: {}
            """)
        var simulator = RolloutSimulator.deployed(rollout)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        for _ in 0..<20 {
            if simulator.rollout.status?.canary?.weights != nil {
                simulator.rollout.status?.canary?.weights?.verified = false
            }
            _ = simulator.reconcile()
        }
        #expect(simulator.status.canary?.weights?.canary.weight == 20)
        #expect(simulator.status.currentStepIndex == (waits ? 0 : 1))
        // Once the router says the weight is in place (or cannot say), the step completes.
        simulator.rollout.status?.canary?.weights?.verified = true
        simulator.settle()
        #expect(simulator.status.currentStepIndex == 1)
        #expect(simulator.status.phase == .paused)
    }
}
