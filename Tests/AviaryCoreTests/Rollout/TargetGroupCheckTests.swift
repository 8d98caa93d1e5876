import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

/// Argo's target-group registration check (`--aws-verify-target-group`): a blue-green rollout
/// marks the new version stable, and an ALB canary scales the old version down, only once the
/// pods are registered in the AWS target groups bound to the Service; when the check runs.
@Suite struct TargetGroupCheckTests {
    static func blueGreen() -> Rollout {
        Fixtures.rollout(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web}
            spec:
              replicas: 2
            \(Fixtures.template(image: "web:1"))
              strategy:
                blueGreen: {activeService: web-active, previewService: web-preview}
            """)
    }

    static func albCanary() -> Rollout {
        Fixtures.rollout(
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
                    alb: {ingress: web, servicePort: 80}
                  steps:
                  - setWeight: 50
            """)
    }

    @Test func blueGreenMarksTheNewVersionStableOnceItsPodsAreRegistered() {
        var simulator = RolloutSimulator.deployed(Self.blueGreen())
        let v1 = Fixtures.hash(Self.blueGreen())
        simulator.observed.checksTargets = true
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        let v2 = Fixtures.hash(simulator.rollout)
        simulator.settle()
        // Cut over, but not yet stable: the check has not said yes.
        #expect(simulator.status.blueGreen?.activeSelector == v2)
        #expect(simulator.observed.serviceSelectors["web-active"] == v2)
        #expect(simulator.status.stableRS == v1)
        // Until the controller has checked, the rollout asks to be looked at again soon.
        #expect(simulator.reconcile().requeueAfter == .seconds(5))
        #expect(
            TargetGroupCheck.service(rollout: simulator.rollout, currentHash: v2, observed: simulator.observed)
                == "web-active")
        simulator.observed.targetsVerified = false
        simulator.settle()
        #expect(simulator.status.stableRS == v1)
        simulator.observed.targetsVerified = true
        simulator.settle()
        #expect(simulator.status.stableRS == v2)
        #expect(simulator.status.phase == .healthy)
        // Once stable, nothing is checked.
        #expect(
            TargetGroupCheck.service(rollout: simulator.rollout, currentHash: v2, observed: simulator.observed) == nil)
    }

    @Test func withoutTheCheckBlueGreenGoesOnAsBefore() {
        var simulator = RolloutSimulator.deployed(Self.blueGreen())
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        #expect(simulator.status.stableRS == Fixtures.hash(simulator.rollout))
    }

    @Test func anALBCanaryScalesTheOldVersionDownOnceTheStablePodsAreRegistered() {
        var simulator = RolloutSimulator.deployed(Self.albCanary())
        let v1 = Fixtures.hash(Self.albCanary())
        simulator.observed.checksTargets = true
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        let v2 = Fixtures.hash(simulator.rollout)
        simulator.settle()
        #expect(simulator.status.stableRS == v2)
        // Promoted, but the old pods stay without a scale-down deadline until the check says yes.
        let old = { simulator.observed.replicaSet(hash: v1) }
        #expect(old()?.replicas == 2)
        #expect(old()?.scaleDownDeadline == nil)
        #expect(
            TargetGroupCheck.service(rollout: simulator.rollout, currentHash: v2, observed: simulator.observed)
                == "web-stable")
        simulator.observed.targetsVerified = true
        simulator.settle()
        #expect(old()?.scaleDownDeadline != nil)
        simulator.observed.targetsVerified = nil
        simulator.advance(seconds: 31)
        simulator.settle()
        #expect(old()?.replicas == 0)
    }

    @Test func theCheckAppliesToBlueGreenAndALBCanariesOnly() {
        #expect(TargetGroupCheck.applies(to: Self.blueGreen()))
        #expect(TargetGroupCheck.applies(to: Self.albCanary()))
        #expect(!TargetGroupCheck.applies(to: Fixtures.routedCanary()))
        #expect(!TargetGroupCheck.applies(to: Fixtures.basicCanary()))
    }
}
