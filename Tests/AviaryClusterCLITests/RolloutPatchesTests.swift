import ArgumentParser
import AviaryClient
import AviaryJSON
import AviaryKubernetes
import Foundation
import Testing

@testable import aviary

/// A Rollout as read and the writes `kubectl argo rollouts promote` makes for it.
struct PromoteCase: Sendable, CustomTestStringConvertible {
    var testDescription: String
    var rollout: String
    var full = false
    var status: String?
    var spec: String?
}

/// The plugin's promote rules as a table, and the CLI's cluster-mode flags.
@Suite struct RolloutPatchesTests {
    static let canary = #""strategy":{"canary":{"steps":[{"setWeight":10},{"pause":{}},{"setWeight":50},{"pause":{}}]}}"#

    static let cases: [PromoteCase] = [
        PromoteCase(
            testDescription: "paused at a pause step: clear the pause conditions",
            rollout: #"{"spec":{\#(canary)},"status":{"currentStepIndex":1,"pauseConditions":[{"reason":"CanaryPauseStep"}]}}"#,
            status: #"{"status":{"pauseConditions":null}}"#),
        PromoteCase(
            testDescription: "spec.paused too: unpause the spec besides",
            rollout:
                #"{"spec":{"paused":true,\#(canary)},"status":{"currentStepIndex":1,"pauseConditions":[{"reason":"CanaryPauseStep"}]}}"#,
            status: #"{"status":{"pauseConditions":null}}"#, spec: #"{"spec":{"paused":false}}"#),
        PromoteCase(
            testDescription: "no pause condition on a canary: skip the current step",
            rollout: #"{"spec":{\#(canary)},"status":{"currentStepIndex":2}}"#,
            status: #"{"status":{"currentStepIndex":3,"pauseConditions":null}}"#),
        PromoteCase(
            testDescription: "no currentStepIndex counts as step 0",
            rollout: #"{"spec":{\#(canary)},"status":{}}"#,
            status: #"{"status":{"currentStepIndex":1,"pauseConditions":null}}"#),
        PromoteCase(
            testDescription: "past the last step: the index stays at the number of steps",
            rollout: #"{"spec":{\#(canary)},"status":{"currentStepIndex":4}}"#,
            status: #"{"status":{"currentStepIndex":4,"pauseConditions":null}}"#),
        PromoteCase(
            testDescription: "inconclusive analysis paused it: clear controllerPause and move on",
            rollout:
                #"{"spec":{\#(canary)},"status":{"currentStepIndex":2,"controllerPause":true,"pauseConditions":[{"reason":"InconclusiveAnalysisRun"}],"canary":{"currentStepAnalysisRunStatus":{"status":"Inconclusive"}}}}"#,
            status: #"{"status":{"controllerPause":false,"currentStepIndex":3,"pauseConditions":null}}"#),
        PromoteCase(
            testDescription: "inconclusive but no controllerPause: only the pause conditions",
            rollout:
                #"{"spec":{\#(canary)},"status":{"currentStepIndex":2,"pauseConditions":[{"reason":"InconclusiveAnalysisRun"}],"canary":{"currentStepAnalysisRunStatus":{"status":"Inconclusive"}}}}"#,
            status: #"{"status":{"pauseConditions":null}}"#),
        PromoteCase(
            testDescription: "a canary without steps and no pause: nothing",
            rollout: #"{"spec":{"strategy":{"canary":{}}},"status":{}}"#),
        PromoteCase(
            testDescription: "blue-green paused: the pause conditions",
            rollout: #"{"spec":{"strategy":{"blueGreen":{}}},"status":{"pauseConditions":[{"reason":"BlueGreenPause"}]}}"#,
            status: #"{"status":{"pauseConditions":null}}"#),
        PromoteCase(
            testDescription: "blue-green not paused: nothing",
            rollout: #"{"spec":{"strategy":{"blueGreen":{}}},"status":{}}"#),
        PromoteCase(
            testDescription: "--full with a canary in flight: promoteFull",
            rollout: #"{"spec":{\#(canary)},"status":{"currentPodHash":"a","stableRS":"b","currentStepIndex":1}}"#,
            full: true, status: #"{"status":{"promoteFull":true}}"#),
        PromoteCase(
            testDescription: "--full when the current pods are stable: nothing",
            rollout: #"{"spec":{\#(canary)},"status":{"currentPodHash":"a","stableRS":"a"}}"#, full: true),
    ]

    @Test(arguments: cases)
    func promote(_ example: PromoteCase) throws {
        let rollout = try JSONValue(parsing: Data(example.rollout.utf8))
        let writes = RolloutPatches.promote(rollout, full: example.full)
        #expect(writes.status.map { $0.serializedString() } == example.status)
        #expect(writes.spec.map { $0.serializedString() } == example.spec)
    }

    @Test func theOtherVerbsPatches() throws {
        func text(_ value: JSONValue?) -> String? { value.map { $0.serializedString() } }
        #expect(try text(RolloutPatches.abort.status) == #"{"status":{"abort":true}}"# && RolloutPatches.abort.spec == nil)
        #expect(try text(RolloutPatches.retry.status) == #"{"status":{"abort":false}}"# && RolloutPatches.retry.spec == nil)
        #expect(try text(RolloutPatches.pause.spec) == #"{"spec":{"paused":true}}"# && RolloutPatches.pause.status == nil)
        let restart = RolloutPatches.restart(at: Date(timeIntervalSince1970: 1_796_193_600))
        #expect(try text(restart.spec) == #"{"spec":{"restartAt":"2026-12-02T06:40:00Z"}}"# && restart.status == nil)
    }

    @Test func clusterFlagsChooseTheClusterAndOnlyThem() throws {
        let daemon = try #require(try Aviary.parseAsRoot(["abort", "web", "-n", "shop"]) as? Abort)
        #expect(!daemon.cluster.isClusterMode && daemon.options.namespace == "shop")
        let defaulted = try #require(try Aviary.parseAsRoot(["abort", "web"]) as? Abort)
        #expect(defaulted.options.namespace == "default" && defaulted.options.namespaceOption == nil)
        for flags in [["--kubeconfig", "/k"], ["--context", "prod"], ["--kubernetes"]] {
            for verb in [
                ["get", "rollout", "web"], ["list", "rollouts"], ["status", "web"], ["promote", "web", "--full"],
                ["abort", "web"], ["retry", "rollout", "web"], ["pause", "web"], ["restart", "web"], ["undo", "web"],
                ["set", "image", "web", "app=x:1"],
            ] {
                let cluster = try #require(clusterOptions(try Aviary.parseAsRoot(verb + flags)), "\(verb)")
                #expect(cluster.isClusterMode, "\(verb + flags)")
            }
        }
        #expect(throws: (any Error).self) { try Aviary.parseAsRoot(["pause", "web", "--kubernetes", "--token", "t"]) }
    }

    /// The cluster options of a verb that has them.
    func clusterOptions(_ command: any ParsableCommand) -> ClusterOptions? {
        switch command {
        case let verb as GetRollout: verb.cluster
        case let verb as ListRollouts: verb.cluster
        case let verb as aviary.Status: verb.cluster
        case let verb as Promote: verb.cluster
        case let verb as Abort: verb.cluster
        case let verb as RetryRollout: verb.cluster
        case let verb as Pause: verb.cluster
        case let verb as Restart: verb.cluster
        case let verb as Undo: verb.cluster
        case let verb as SetImage: verb.cluster
        default: nil
        }
    }
}
