import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

/// The canary `experiment` step, as Argo's controller runs it: the step's Experiment is made once,
/// its templates with a `weight` take their share of traffic out of the stable side's while it
/// runs, and its end decides the step: Successful goes on, Failed or Error aborts, Inconclusive
/// pauses until a promote.
@Suite struct ExperimentStepTests {
    static func rollout(image: String = "web:1") -> Rollout {
        Fixtures.rollout(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: web}
            spec:
              replicas: 4
            \(Fixtures.template(image: image))
              strategy:
                canary:
                  canaryService: web-canary
                  stableService: web-stable
                  trafficRouting:
                    smi: {rootService: web}
                  steps:
                  - setWeight: 20
                  - experiment:
                      duration: 5m
                      templates:
                      - {name: baseline, specRef: stable, weight: 10, metadata: {labels: {side: baseline}}}
                      - {name: canary, specRef: canary, weight: 10, replicas: 2, metadata: {labels: {side: canary}}}
                      analyses:
                      - name: compare
                        templateName: success-rate
                        requiredForCompletion: true
                        args:
                        - {name: baseline-hash, value: "{{templates.baseline.podTemplateHash}}"}
                        - {name: stable-hash, valueFrom: {podTemplateHashValue: Stable}}
                  - setWeight: 50
            """)
    }

    /// Deployed, updated to `web:2` and settled at the experiment step.
    static func atExperiment() -> RolloutSimulator {
        var simulator = RolloutSimulator.deployed(rollout())
        simulator.newRunPhase = .running
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        simulator.settle()
        return simulator
    }

    var stableHash: String { Fixtures.hash(Self.rollout()) }
    var canaryHash: String { Fixtures.hash(Self.rollout(image: "web:2")) }

    @Test func theStepMakesItsExperimentFromTheStableAndCanaryTemplates() throws {
        let simulator = Self.atExperiment()
        #expect(simulator.status.currentStepIndex == 1)
        let name = "web-\(canaryHash)-2-1"
        #expect(simulator.status.canary?.currentExperiment == name)
        let experiment = try #require(simulator.observed.experiment(named: name))
        #expect(experiment.templates.map(\.name) == ["baseline", "canary"])
        // Running (the simulator's new experiments run): the templates take 10 each, out of stable.
        let weights = try #require(simulator.status.canary?.weights)
        #expect(weights.canary.weight == 20)
        #expect(weights.additional?.map(\.weight) == [10, 10])
        #expect(weights.additional?.map(\.serviceName) == ["\(name)-baseline", "\(name)-canary"])
        #expect(weights.stable.weight == 60)
        #expect(simulator.observed.additionalWeights.map(\.weight) == [10, 10])
    }

    @Test func theExperimentIsBuiltAsArgoBuildsIt() throws {
        var simulator = RolloutSimulator.deployed(Self.rollout())
        simulator.rollout = Fixtures.withImage(simulator.rollout, "web:2")
        var created: Experiment?
        for _ in 0..<20 {
            for action in simulator.reconcile().actions {
                if case .createExperiment(let experiment) = action { created = experiment }
            }
            if created != nil { break }
        }
        let experiment = try #require(created)
        #expect(experiment.metadata.labels?["rollouts-pod-template-hash"] == canaryHash)
        #expect(experiment.metadata.annotations?["rollout.argoproj.io/revision"] == "2")
        #expect(experiment.spec.duration?.seconds == 300)
        let baseline = experiment.spec.templates[0]
        #expect(baseline.template.spec.containers[0].image == "web:1", "specRef stable clones the stable template")
        #expect(experiment.spec.templates[1].template.spec.containers[0].image == "web:2")
        #expect(baseline.template.metadata?.labels == ["app": "web", "side": "baseline"])
        #expect(baseline.selector?.matchLabels == ["app": "web", "side": "baseline"])
        #expect(baseline.replicas == 1)
        #expect(experiment.spec.templates[1].replicas == 2)
        #expect(baseline.service != nil, "a template with a weight gets a Service")
        let args = experiment.spec.analyses?[0].args ?? []
        #expect(args.map(\.value) == ["{{templates.baseline.podTemplateHash}}", stableHash])
        #expect(experiment.spec.analyses?[0].requiredForCompletion == true)
    }

    @Test func aSuccessfulExperimentEndsTheStepAndItsShareGoesBackToStable() throws {
        var simulator = Self.atExperiment()
        let found = simulator.finishExperiment(named: "web-", .successful)
        #expect(found)
        simulator.settle()
        #expect(simulator.status.currentStepIndex == 3, "past the experiment and setWeight: 50: promoted")
        #expect(simulator.status.stableRS == canaryHash)
        #expect(simulator.status.canary?.currentExperiment == nil)
        #expect(simulator.status.canary?.weights?.additional == nil)
        #expect(simulator.status.canary?.weights?.stable.weight == 100)
        #expect(simulator.observed.additionalWeights.isEmpty)
    }

    @Test(arguments: [AnalysisPhase.failed, .error])
    func aFailedExperimentAbortsTheUpdateWithArgosMessage(phase: AnalysisPhase) throws {
        var simulator = Self.atExperiment()
        let found = simulator.finishExperiment(named: "web-", phase, message: "Metric \"rate\" assessed Failed")
        #expect(found)
        simulator.settle()
        #expect(simulator.status.isAborted)
        #expect(
            simulator.status.message
                == "RolloutAborted: Rollout aborted update to revision 2: Experiment analysis phase is error/failed: "
                + "Metric \"rate\" assessed Failed")
        #expect(simulator.observed.canaryWeight == 0)
        #expect(simulator.observed.additionalWeights.isEmpty)
    }

    @Test func anInconclusiveExperimentPausesUntilAPromote() throws {
        var simulator = Self.atExperiment()
        let found = simulator.finishExperiment(named: "web-", .inconclusive)
        #expect(found)
        simulator.settle()
        #expect(simulator.status.pauseConditions?.map(\.reason) == [.inconclusiveExperiment])
        #expect(simulator.status.currentStepIndex == 1)
        simulator.rollout = simulator.rollout.promoted()
        simulator.settle()
        #expect(simulator.status.pauseConditions == nil)
        #expect(simulator.status.currentStepIndex == 3)
    }

    @Test func anAbortTerminatesTheRunningExperiment() throws {
        var simulator = Self.atExperiment()
        simulator.rollout = simulator.rollout.aborted()
        let actions = simulator.step()
        #expect(actions.contains(.terminateExperiment(name: "web-\(canaryHash)-2-1")))
        simulator.settle()
        #expect(simulator.status.canary?.currentExperiment == nil)
        #expect(simulator.observed.additionalWeights.isEmpty)
    }

    @Test func aRetryAfterAFailedExperimentMakesANewOneBesideIt() throws {
        var simulator = Self.atExperiment()
        simulator.finishExperiment(named: "web-", .failed)
        simulator.settle()
        simulator.rollout = simulator.rollout.retried()
        simulator.settle()
        #expect(simulator.status.canary?.currentExperiment == "web-\(canaryHash)-2-1-1")
    }
}
