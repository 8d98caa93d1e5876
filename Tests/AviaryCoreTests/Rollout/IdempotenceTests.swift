import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

/// Reconciling the world the previous actions produced, with no time passing, repeats nothing:
/// every action of a reconcile is absent from the next one, and a settled rollout yields no
/// actions and the same status.
@Suite struct IdempotenceTests {
    @Test(arguments: ["routed", "basic", "blueGreen"])
    func noActionIsRepeated(_ kind: String) {
        let rollout: Rollout
        switch kind {
        case "routed": rollout = Fixtures.routedCanary()
        case "basic": rollout = Fixtures.basicCanary()
        default: rollout = Fixtures.blueGreen()
        }
        var simulator = RolloutSimulator.deployed(rollout, readiness: .manual)
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        var previous: [RolloutAction] = []
        for round in 0..<300 {
            let sameInput = RolloutReconciler.reconcile(
                rollout: simulator.rollout, observed: simulator.observed, now: simulator.now)
            let result = simulator.reconcile()
            #expect(result == sameInput, "reconcile is deterministic")
            let actions = result.actions.filter { if case .recordEvent = $0 { false } else { true } }
            for action in actions {
                #expect(!previous.contains(action), "round \(round) repeats \(action)")
            }
            previous = actions
            if actions.isEmpty && result.requeueAfter != .zero {
                let status = simulator.rollout.status
                let again = RolloutReconciler.reconcile(
                    rollout: simulator.rollout, observed: simulator.observed, now: simulator.now)
                #expect(again.actions.isEmpty)
                #expect(again.status == status)
                // Let the world move: pods get ready, runs pass, a person promotes, time passes.
                simulator.makeReady()
                simulator.finishRun(named: "web-", .successful)
                if !(simulator.status.pauseConditions ?? []).isEmpty && result.requeueAfter == nil {
                    simulator.rollout = simulator.rollout.promoted()
                }
                if let wait = result.requeueAfter { simulator.advance(seconds: Double(wait.components.seconds) + 1) }
                if simulator.status.phase == .healthy
                    && simulator.observed.replicaSets.filter({ $0.replicas > 0 }).count == 1
                {
                    return
                }
            }
        }
        Issue.record("\(kind) did not finish")
    }
}
