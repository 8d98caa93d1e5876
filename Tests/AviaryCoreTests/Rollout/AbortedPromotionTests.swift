import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

/// `promote` on an aborted canary: a plain promote is refused with what to do instead; `--full`
/// clears the abort and makes the new version stable, as Argo's controller does for `promoteFull`.
extension CanaryScenarioTests {
    func aborted() -> RolloutSimulator {
        var simulator = atAnalysisStep()
        simulator.finishRun(named: "web-\(v2)-2-2", .failed)
        simulator.settle()
        return simulator
    }

    @Test func plainPromoteOfAnAbortedRolloutIsRefusedWithTheWayOut() throws {
        let simulator = aborted()
        #expect(simulator.status.abort == true)
        let refusal = try #require(simulator.rollout.promotionRefusal(full: false))
        #expect(refusal.contains("is aborted"))
        #expect(refusal.contains("aviary retry web"))
        #expect(simulator.rollout.promotionRefusal(full: true) == nil)
        #expect(atAnalysisStep().rollout.promotionRefusal(full: false) == nil)
    }

    @Test func fullPromoteOfAnAbortedRolloutMakesTheNewVersionStable() {
        var simulator = aborted()
        simulator.rollout = simulator.rollout.promoted(full: true)
        #expect(simulator.status.abort == nil)
        simulator.settle()
        simulator.makeReady()
        simulator.settle()
        #expect(simulator.status.stableRS == v2)
        #expect(simulator.status.abort == nil)
        #expect(simulator.status.duration?.completionStatus == .fastPromoted)
        #expect(simulator.status.phase == .healthy)
    }
}
