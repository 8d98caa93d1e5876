import AviaryModel
import Foundation
import Testing

@testable import AviaryCore

/// The experiment lifecycle, pass by pass, against a small world that carries the actions out:
/// Argo's rules for templates, analyses, the phase, termination and the scale-down delay.
@Suite struct ExperimentReconcilerTests {
    /// An experiment as people write it.
    static func experiment(_ yaml: String) -> Experiment {
        let decoded = ManifestDecoder().decode(yaml, file: "experiment.yaml")
        guard case .experiment(let experiment)? = decoded.resources.first else {
            fatalError("fixture does not decode: \(decoded.diagnostics)")
        }
        return experiment
    }

    static func twoTemplates(_ extra: String = "", analyses: String = "", templateExtra: String = "") -> Experiment {
        experiment(
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Experiment
            metadata: {name: ab}
            spec:
            \(extra)
              templates:
              - name: baseline
                selector: {matchLabels: {app: web, side: baseline}}
                template:
                  metadata: {labels: {app: web, side: baseline}}
                  spec: {containers: [{name: web, image: "web:1", ports: [{containerPort: 8080}]}]}
            \(templateExtra)
              - name: canary
                replicas: 2
                selector: {matchLabels: {app: web, side: canary}}
                template:
                  metadata: {labels: {app: web, side: canary}}
                  spec: {containers: [{name: web, image: "web:2"}]}
            \(analyses)
            """)
    }

    /// The platform and store as the executor would leave them, with a clock.
    struct World {
        var experiment: Experiment
        var observed = ObservedExperiment()
        var now = Date(timeIntervalSince1970: 1_786_960_800)
        var lastActions: [ExperimentAction] = []
        var lastRequeue: Double?

        /// The Services the last reconcile asked for.
        var appliedServices: [ExperimentServiceRequest] {
            lastActions.compactMap { action in if case .applyService(let request) = action { request } else { nil } }
        }

        /// One reconcile; its actions are carried out and its status kept.
        mutating func pass() {
            let result = ExperimentReconciler.reconcile(experiment: experiment, observed: observed, now: now)
            experiment.status = result.status
            lastActions = result.actions
            lastRequeue = result.requeueAfter
            for action in result.actions {
                switch action {
                case .createReplicaSet(let request):
                    observed.replicaSets[request.template] = ObservedTemplateReplicaSet(
                        podTemplateHash: request.podTemplateHash, replicas: request.replicas, pods: 0,
                        readyReplicas: 0, availableReplicas: 0)
                case .scaleReplicaSet(let template, let replicas):
                    observed.replicaSets[template]?.replicas = replicas
                case .setScaleDownDeadline(let template, let deadline):
                    observed.replicaSets[template]?.scaleDownDeadline = deadline
                case .applyService(let request): observed.services.insert(request.name)
                case .deleteService(let name): observed.services.remove(name)
                case .createAnalysisRun(let request):
                    observed.analysisRuns[request.name] = ObservedAnalysisRun(
                        name: request.name, kind: .step, phase: .pending)
                case .terminateAnalysisRun(let name):
                    if observed.analysisRuns[name]?.phase.isCompleted == false {
                        observed.analysisRuns[name]?.phase = .successful
                    }
                case .recordEvent: break
                }
            }
        }

        /// Every template's pods become as many as asked for, ready and available.
        mutating func podsReady() {
            for (name, replicaSet) in observed.replicaSets {
                observed.replicaSets[name]?.pods = replicaSet.replicas
                observed.replicaSets[name]?.readyReplicas = replicaSet.replicas
                observed.replicaSets[name]?.availableReplicas = replicaSet.replicas
            }
        }

        mutating func advance(_ seconds: Double) { now = now.addingTimeInterval(seconds) }

        var phase: AnalysisPhase? { experiment.status?.phase }
        func template(_ name: String) -> TemplateStatus? {
            experiment.status?.templateStatuses?.first { $0.name == name }
        }
        var events: [String] {
            lastActions.compactMap { if case .recordEvent(let event) = $0 { event.message } else { nil } }
        }
    }

    @Test func theFirstPassCreatesOneReplicaSetPerTemplateAndIsPending() throws {
        var world = World(experiment: Self.twoTemplates("  duration: 30s"))
        world.pass()
        #expect(world.phase == .pending)
        let creates = world.lastActions.compactMap { action -> ExperimentReplicaSetRequest? in
            if case .createReplicaSet(let request) = action { request } else { nil }
        }
        #expect(creates.map(\.name) == ["ab-baseline", "ab-canary"])
        #expect(creates.map(\.replicas) == [1, 2], "replicas default to 1")
        #expect(creates[0].podTemplateHash != creates[1].podTemplateHash)
        #expect(world.template("baseline")?.status == "Progressing")
        #expect(world.events.contains("Experiment transitioned from  -> Pending"))
        // Pods not ready yet: still pending, and the progress deadline is the next timer.
        world.advance(5)
        world.pass()
        #expect(world.phase == .pending)
        #expect(world.lastActions.allSatisfy { if case .recordEvent = $0 { true } else { false } })
        #expect(world.experiment.status?.availableAt == nil)
    }

    @Test func durationCountsFromAvailableAtThenTheReplicaSetsGoAfterTheScaleDownDelay() throws {
        var world = World(experiment: Self.twoTemplates("  duration: 30s\n  scaleDownDelaySeconds: 10"))
        world.pass()
        world.pass()
        world.advance(4)
        world.podsReady()
        world.pass()
        #expect(world.phase == .running)
        let availableAt = try #require(world.experiment.status?.availableAt)
        #expect(RFC3339.parse(availableAt) == world.now)
        #expect(world.template("canary")?.status == "Running")
        #expect(world.template("canary")?.availableReplicas == 2)
        let requeue = try #require(world.lastRequeue)
        #expect(abs(requeue - 30) < 0.1, "the next look is when the duration ends")

        world.advance(29)
        world.pass()
        #expect(world.phase == .running)
        world.advance(2)
        world.pass()
        #expect(world.phase == .successful)
        #expect(world.template("baseline")?.status == "Successful")
        #expect(world.events.contains("Experiment transitioned from Running -> Successful"))

        // Ended: each ReplicaSet is marked for scale-down in 10 s and keeps its pods until then.
        world.pass()
        #expect(world.observed.replicaSets["canary"]?.scaleDownDeadline == world.now.addingTimeInterval(10))
        #expect(world.observed.replicaSets["canary"]?.replicas == 2)
        world.advance(5)
        world.pass()
        #expect(world.observed.replicaSets["canary"]?.replicas == 2)
        world.advance(6)
        world.pass()
        #expect(world.observed.replicaSets["canary"]?.replicas == 0)
        #expect(world.observed.replicaSets["baseline"]?.replicas == 0)
        #expect(world.phase == .successful, "an ended experiment keeps its phase")
    }

    @Test func aZeroScaleDownDelayScalesDownAtOnce() {
        var world = World(experiment: Self.twoTemplates("  duration: 10s\n  scaleDownDelaySeconds: 0"))
        world.pass()
        world.podsReady()
        world.pass()
        world.advance(11)
        world.pass()
        #expect(world.phase == .successful)
        world.pass()
        #expect(world.observed.replicaSets["canary"]?.replicas == 0)
    }

    static let analyses = """
          analyses:
          - name: compare
            templateName: success-rate
            requiredForCompletion: true
            args:
            - {name: baseline-hash, value: "{{templates.baseline.podTemplateHash}}"}
            - {name: canary-rs, value: "{{ templates.canary.replicaset.name }}"}
          - name: extra
            templateName: latency
        """

    @Test func analysesStartOnceTheTemplatesAreAvailableAndARequiredOneEndsTheExperiment() throws {
        var world = World(experiment: Self.twoTemplates(analyses: Self.analyses))
        world.pass()
        world.podsReady()
        world.pass()
        #expect(world.phase == .running)
        #expect(world.observed.analysisRuns.isEmpty, "runs start on the pass after availableAt")
        world.pass()
        let runs = world.lastActions.compactMap { action -> ExperimentAnalysisRunRequest? in
            if case .createAnalysisRun(let request) = action { request } else { nil }
        }
        #expect(runs.map(\.name) == ["ab-compare", "ab-extra"])
        let hash = try #require(world.observed.replicaSets["baseline"]?.podTemplateHash)
        #expect(runs[0].args.map(\.value) == [hash, "ab-canary"])
        #expect(runs[0].labels["experiment"] == "ab")
        #expect(world.experiment.status?.analysisRuns?.map(\.phase) == [.pending, .pending])

        world.observed.analysisRuns["ab-compare"]?.phase = .running
        world.observed.analysisRuns["ab-extra"]?.phase = .running
        world.pass()
        #expect(world.phase == .running)
        world.observed.analysisRuns["ab-compare"]?.phase = .successful
        world.pass()
        // The required run succeeded: the experiment ends, stopping the run nothing waits for.
        world.pass()
        #expect(world.lastActions.contains(.terminateAnalysisRun(name: "ab-extra")))
        world.pass()
        #expect(world.phase == .successful)
        #expect(world.experiment.status?.message == "Required AnalysisRuns completed")
        world.pass()
        #expect(world.observed.replicaSets["canary"]?.scaleDownDeadline != nil)
    }

    @Test(arguments: [AnalysisPhase.failed, .error, .inconclusive])
    func anAnalysisThatEndsBadlyEndsTheExperimentAtOnce(phase: AnalysisPhase) {
        var world = World(experiment: Self.twoTemplates("  duration: 1h", analyses: Self.analyses))
        world.pass()
        world.podsReady()
        world.pass()
        world.pass()
        world.observed.analysisRuns["ab-extra"]?.phase = phase
        world.observed.analysisRuns["ab-extra"]?.message = "Metric \"p99\" assessed \(phase.rawValue)"
        world.pass()
        #expect(world.phase == phase)
        #expect(world.experiment.status?.message == "Metric \"p99\" assessed \(phase.rawValue)")
        world.pass()
        #expect(world.lastActions.contains(.terminateAnalysisRun(name: "ab-compare")))
    }

    @Test func terminateEndsItSuccessfulAndStopsItsRuns() {
        var world = World(experiment: Self.twoTemplates(analyses: Self.analyses))
        world.pass()
        world.podsReady()
        world.pass()
        world.pass()
        world.experiment.spec.terminate = true
        world.pass()
        #expect(world.lastActions.contains(.terminateAnalysisRun(name: "ab-compare")))
        #expect(world.template("canary")?.status == "Successful")
        world.pass()
        #expect(world.phase == .successful)
    }

    @Test func terminatedBeforeItsRunsStartedItEndsInsteadOfWaitingForThem() {
        var world = World(experiment: Self.twoTemplates(analyses: Self.analyses))
        world.pass()
        world.experiment.spec.terminate = true
        world.pass()
        world.pass()
        #expect(world.phase == .successful)
        #expect(world.observed.analysisRuns.isEmpty, "no run is started once it ends")
    }

    @Test func aTemplateWithoutProgressForTheDeadlineFailsTheExperiment() {
        var world = World(experiment: Self.twoTemplates("  progressDeadlineSeconds: 60"))
        world.pass()
        world.advance(30)
        world.pass()
        #expect(world.phase == .pending)
        world.advance(31)
        world.pass()
        #expect(world.template("baseline")?.status == "Failed")
        #expect(world.template("baseline")?.message == "Template 'baseline' exceeded its progressDeadlineSeconds (60)")
        #expect(world.phase == .failed)
        #expect(world.experiment.status?.message == "Template 'baseline' exceeded its progressDeadlineSeconds (60)")
    }

    @Test func aMissingTemplateIsAnError() {
        var world = World(experiment: Self.twoTemplates(analyses: Self.analyses))
        world.observed.missingTemplates["extra"] = "AnalysisTemplate \"latency\" not found"
        world.pass()
        world.pass()
        #expect(world.phase == .error)
        #expect(
            world.experiment.status?.message
                == "AnalysisTemplate verification failed for analysis 'extra': AnalysisTemplate \"latency\" not found")
    }

    @Test func aTemplateServiceSelectsItsPodsWhileTheyRunAndGoesWithThem() throws {
        var world = World(
            experiment: Self.twoTemplates(
                "  duration: 10s\n  scaleDownDelaySeconds: 0", templateExtra: "    service: {name: ab-base}"))
        world.pass()
        world.pass()
        let service = try #require(world.appliedServices.first)
        #expect(service.name == "ab-base")
        #expect(service.port == 8080)
        #expect(service.selector["side"] == "baseline")
        #expect(service.selector["rollouts-pod-template-hash"] == world.observed.replicaSets["baseline"]?.podTemplateHash)
        #expect(world.template("baseline")?.serviceName == "ab-base")
        #expect(world.template("canary")?.serviceName == nil, "the canary template asks for no Service")
        world.podsReady()
        world.pass()
        world.advance(11)
        world.pass()
        world.pass()
        #expect(world.observed.services == ["ab-base"], "kept until the pods are gone")
        world.podsReady()
        world.pass()
        #expect(world.observed.services.isEmpty)
        #expect(world.template("baseline")?.serviceName == nil)
    }

    /// The port's name goes with the request, so a gRPC template's Service is spoken to over HTTP/2.
    @Test func aTemplateServiceCarriesItsPortsName() throws {
        var experiment = Self.twoTemplates("  duration: 10s", templateExtra: "    service: {}")
        experiment.spec.templates[0].template.spec.containers[0].ports?[0].name = "grpc"
        var world = World(experiment: experiment)
        world.pass()
        world.pass()
        let service = try #require(world.appliedServices.first)
        #expect(service.portName == "grpc")
        #expect(service.port == 8080)
    }

    @Test func aRetriedExperimentStartsNewRunsBesideTheFinishedOnes() {
        var world = World(experiment: Self.twoTemplates(analyses: Self.analyses))
        world.observed.analysisRuns["ab-compare"] = ObservedAnalysisRun(name: "ab-compare", kind: .step, phase: .failed)
        world.pass()
        world.podsReady()
        world.pass()
        world.pass()
        #expect(world.experiment.status?.analysisRuns?.map(\.analysisRun) == ["ab-compare.1", "ab-extra"])
    }

    @Test func anUnknownTagInAnArgumentIsAnErrorNamingIt() {
        var world = World(
            experiment: Self.twoTemplates(
                analyses: """
                      analyses:
                      - name: compare
                        templateName: success-rate
                        args: [{name: h, value: "{{templates.nope.podTemplateHash}}"}]
                    """))
        world.pass()
        world.podsReady()
        world.pass()
        world.pass()
        #expect(world.phase == .error)
        #expect(world.experiment.status?.message?.contains("{{templates.nope.podTemplateHash}}") == true)
    }
}
