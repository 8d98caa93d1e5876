import AviaryJSON
import AviaryKubernetes
import AviaryKubernetesPlatform
import Foundation
import Testing

import struct AviaryModel.BlueGreenStatus
import struct AviaryModel.CanaryStatus
import struct AviaryModel.PauseCondition
import struct AviaryModel.RolloutAnalysisRunStatus
import struct AviaryModel.RolloutCondition
import struct AviaryModel.RolloutDuration
import struct AviaryModel.RolloutStatus
import struct AviaryModel.TrafficWeights
import struct AviaryModel.WeightDestination

/// The statuses the controller writes, field for field in Argo's shape: each validates against the
/// status schema of Argo's published Rollout CRD (what a real API server checks and prunes by).
@Suite struct StatusShapeTests {
    static func canaryPaused() -> RolloutStatus {
        var status = RolloutStatus()
        status.phase = .paused
        status.message = "CanaryPauseStep"
        status.currentPodHash = "6b7f8c9d4"
        status.stableRS = "5c6d7e8f9"
        status.currentStepIndex = 1
        status.currentStepHash = "7d8e9f"
        status.pauseConditions = [PauseCondition(reason: .canaryPauseStep, startTime: "2026-12-02T06:30:00Z")]
        status.controllerPause = true
        status.observedGeneration = "2"
        status.replicas = 5
        status.readyReplicas = 5
        status.availableReplicas = 5
        status.updatedReplicas = 1
        status.HPAReplicas = 5
        status.selector = "app=sample-app"
        var canary = CanaryStatus()
        var weights = TrafficWeights(
            canary: WeightDestination(weight: 10, serviceName: "sample-app-canary", podTemplateHash: "6b7f8c9d4"),
            stable: WeightDestination(weight: 90, serviceName: "sample-app-stable", podTemplateHash: "5c6d7e8f9"))
        weights.verified = true
        canary.weights = weights
        canary.currentStepAnalysisRunStatus = RolloutAnalysisRunStatus(
            name: "sample-app-6b7f8c9d4-2-1", status: .running, message: "")
        status.canary = canary
        status.conditions = [
            RolloutCondition(
                type: .paused, status: .true, reason: "CanaryPauseStep", message: "Rollout is paused",
                lastUpdateTime: "2026-12-02T06:30:00Z", lastTransitionTime: "2026-12-02T06:30:00Z"),
            RolloutCondition(
                type: .progressing, status: .true, reason: "RolloutPaused", message: "Rollout is paused",
                lastUpdateTime: "2026-12-02T06:30:00Z", lastTransitionTime: "2026-12-02T06:29:00Z"),
        ]
        var duration = RolloutDuration()
        duration.rolloutStartedAt = "2026-12-02T06:29:00Z"
        status.duration = duration
        return status
    }

    static func aborted() -> RolloutStatus {
        var status = canaryPaused()
        status.abort = true
        status.abortedAt = "2026-12-02T06:31:00Z"
        status.phase = .degraded
        status.message = "RolloutAborted: Rollout aborted update to revision 2"
        status.pauseConditions = nil
        status.controllerPause = nil
        status.currentStepIndex = 0
        status.canary?.weights?.canary.weight = 0
        status.canary?.weights?.stable.weight = 100
        status.conditions = [
            RolloutCondition(
                type: .progressing, status: .false, reason: "RolloutAborted",
                message: "Rollout aborted update to revision 2", lastUpdateTime: "2026-12-02T06:31:00Z",
                lastTransitionTime: "2026-12-02T06:31:00Z")
        ]
        return status
    }

    static func promotedFull() -> RolloutStatus {
        var status = canaryPaused()
        status.promoteFull = true
        status.pauseConditions = nil
        status.controllerPause = nil
        status.phase = .progressing
        return status
    }

    static func blueGreen() -> RolloutStatus {
        var status = RolloutStatus()
        status.phase = .paused
        status.currentPodHash = "abc"
        status.stableRS = "def"
        var blueGreen = BlueGreenStatus()
        blueGreen.activeSelector = "def"
        blueGreen.previewSelector = "abc"
        blueGreen.scaleUpPreviewCheckPoint = true
        blueGreen.prePromotionAnalysisRunStatus = RolloutAnalysisRunStatus(name: "pre", status: .successful)
        status.blueGreen = blueGreen
        status.pauseConditions = [PauseCondition(reason: .blueGreenPause, startTime: "2026-12-02T06:30:00Z")]
        status.observedGeneration = "1"
        return status
    }

    @Test(arguments: [
        ("canary paused at a step", canaryPaused()), ("aborted", aborted()), ("promote --full", promotedFull()),
        ("blue-green paused", blueGreen()),
    ])
    func statusValidatesAgainstArgosCRD(name: String, status: RolloutStatus) throws {
        let schema = try StructuralSchema.argo("rollout-crd.yaml", field: "status")
        let json = try JSONValue(parsing: JSONEncoder().encode(status))
        #expect(schema.problems(of: json) == [], "\(name)")
    }

    @Test func theSchemaCheckFindsWrongNamesAndTypes() throws {
        let schema = try StructuralSchema.argo("rollout-crd.yaml", field: "status")
        let wrong: JSONValue = [
            "observedGeneration": 3, "currentStepIndex": "1", "canaryWeight": 10,
            "pauseConditions": [["reason": "CanaryPauseStep"]],
        ]
        #expect(
            schema.problems(of: wrong) == [
                "status.canaryWeight: unknown field (a real API server prunes it)",
                "status.currentStepIndex: must be of type integer, is string(\"1\")",
                "status.observedGeneration: must be of type string, is integer(3)",
                "status.pauseConditions[0].startTime: is required",
            ])
    }

    @Test(arguments: [
        // (old, new, patch)
        ("{}", "{}", nil),
        (#"{"a":1}"#, #"{"a":1}"#, nil),
        (#"{"a":1,"b":{"c":2,"d":3}}"#, #"{"b":{"c":2,"d":4},"e":5}"#, #"{"a":null,"b":{"d":4},"e":5}"#),
        (#"{"pauseConditions":[{"reason":"CanaryPauseStep"}],"controllerPause":true}"#, #"{"controllerPause":true}"#,
            #"{"pauseConditions":null}"#),
        (#"{"l":[1,2]}"#, #"{"l":[1,3]}"#, #"{"l":[1,3]}"#),
        (#"{"o":{"x":1}}"#, #"{}"#, #"{"o":null}"#),
    ] as [(String, String, String?)])
    func mergePatchDiff(old: String, new: String, patch: String?) throws {
        let oldValue = try JSONValue(parsing: Data(old.utf8))
        let newValue = try JSONValue(parsing: Data(new.utf8))
        let expected = try patch.map { try JSONValue(parsing: Data($0.utf8)) }
        let diff = MergePatch.diff(from: oldValue, to: newValue)
        #expect(diff == expected)
        // What the server computes from the patch is the new document.
        #expect(MergePatch.apply(diff ?? [:], to: oldValue) == newValue)
    }
}
