import AviaryModel
import Foundation

/// A simulated platform for one rollout: it carries out the reconciler's actions on an
/// `ObservedState` the way an executor would. `aviary plan` and the tests step rollouts with it.
public struct RolloutSimulator: Sendable {
    /// How the simulated pods behave.
    public enum Readiness: Sendable {
        /// Pods are ready and available as soon as they are asked for.
        case immediate
        /// Pods appear unready; `makeReady` makes them available.
        case manual
    }

    /// The rollout, with the status of the last reconcile.
    public var rollout: Rollout
    /// The simulated world.
    public var observed: ObservedState
    /// The simulated time.
    public var now: Date
    /// How pods become ready.
    public var readiness: Readiness
    /// The phase a newly created AnalysisRun gets (`.successful` for a plan; `.running` for tests
    /// that set results themselves).
    public var newRunPhase: AnalysisPhase
    /// What a step plugin's Run answers (`.successful` for a plan, as analyses succeed there); its
    /// Terminate and Abort answer Successful. Nil: no plugin answers, so a plugin step waits.
    public var stepPluginPhase: StepPluginPhase? = .successful

    /// Makes a simulator with an empty world.
    public init(
        rollout: Rollout, observed: ObservedState = ObservedState(), now: Date, readiness: Readiness = .immediate,
        newRunPhase: AnalysisPhase = .successful
    ) {
        self.rollout = rollout
        self.observed = observed
        self.now = now
        self.readiness = readiness
        self.newRunPhase = newRunPhase
    }

    /// Reconciles once, carries out the actions and stores the status.
    @discardableResult
    public mutating func reconcile() -> ReconcileResult {
        answerStepPlugins()
        let result = RolloutReconciler.reconcile(rollout: rollout, observed: observed, now: now)
        apply(result.actions)
        rollout.status = result.status
        return result
    }

    /// Makes the step plugin calls a controller would make before the reconcile, each answered
    /// with `stepPluginPhase`.
    private mutating func answerStepPlugins() {
        guard let phase = stepPluginPhase, let canary = rollout.spec.strategy.canary,
            canary.stepsOrEmpty.contains(where: { $0.plugin != nil })
                || !(rollout.status?.canary?.stepPluginStatuses ?? []).isEmpty
        else { return }
        var (statuses, calls) = StepPlugins.plan(rollout, now: now)
        for call in calls {
            let answer = call.operation == .run ? phase : .successful
            _ = StepPlugins.record(
                .result(phase: answer.rawValue, message: "", requeueAfter: 0, status: nil), of: call, in: &statuses,
                now: now)
        }
        guard statuses != (rollout.status?.canary?.stepPluginStatuses ?? []) else { return }
        var status = rollout.status ?? RolloutStatus()
        var canaryStatus = status.canary ?? CanaryStatus()
        canaryStatus.stepPluginStatuses = statuses.isEmpty ? nil : statuses
        status.canary = canaryStatus
        rollout.status = status
    }

    /// Reconciles until nothing changes without time passing (at most `limit` times) and returns
    /// every reconcile's result.
    @discardableResult
    public mutating func settle(limit: Int = 100) -> [ReconcileResult] {
        var results: [ReconcileResult] = []
        for _ in 0..<limit {
            let result = reconcile()
            results.append(result)
            if result.actions.isEmpty && result.requeueAfter != .zero { break }
        }
        return results
    }

    /// Carries out `actions` on the simulated world.
    public mutating func apply(_ actions: [RolloutAction]) {
        for action in actions {
            switch action {
            case .createReplicaSet(let request):
                guard observed.replicaSet(hash: request.podTemplateHash) == nil else { continue }
                let ready = readiness == .immediate ? request.replicas : 0
                observed.replicaSets.append(
                    ObservedReplicaSet(
                        podTemplateHash: request.podTemplateHash, revision: request.revision,
                        template: request.template, replicas: request.replicas, readyReplicas: ready,
                        availableReplicas: ready, createdAt: now))
            case .scaleReplicaSet(let hash, let replicas):
                let isImmediate = readiness == .immediate
                updateReplicaSet(hash) {
                    $0.replicas = replicas
                    if isImmediate || replicas < $0.availableReplicas {
                        $0.readyReplicas = replicas
                        $0.availableReplicas = replicas
                    }
                }
            case .setScaleDownDeadline(let hash, let deadline):
                updateReplicaSet(hash) { $0.scaleDownDeadline = deadline }
            case .setRevision(let hash, let revision):
                updateReplicaSet(hash) { $0.revision = revision }
            case .deleteReplicaSet(let hash):
                observed.replicaSets.removeAll { $0.podTemplateHash == hash }
            case .restartPods:
                break
            case .setServiceSelector(let service, let hash):
                observed.serviceSelectors[service] = hash
            case .setCanaryWeight(let weight):
                observed.canaryWeight = weight
            case .setHeaderRoute(let route):
                observed.headerRoutes[route.name] = route
            case .removeHeaderRoute(let name):
                observed.headerRoutes[name] = nil
            case .setMirrorRoute(let route):
                observed.mirrorRoutes[route.name] = route
            case .removeMirrorRoute(let name):
                observed.mirrorRoutes[name] = nil
            case .createAnalysisRun(let request):
                guard observed.analysisRun(named: request.name) == nil else { continue }
                observed.analysisRuns.append(
                    ObservedAnalysisRun(name: request.name, kind: request.kind, phase: newRunPhase, createdAt: now))
            case .terminateAnalysisRun(let name):
                // A run terminated before it finished counts as Successful, as in Argo.
                setRunPhase(name, .successful, onlyIfRunning: true)
            case .deleteAnalysisRun(let name):
                observed.analysisRuns.removeAll { $0.name == name }
            case .createExperiment(let experiment):
                let name = experiment.metadata.name ?? ""
                guard observed.experiment(named: name) == nil else { continue }
                let templates = experiment.spec.templates.map { template in
                    var entry = TemplateStatus(name: template.name, status: "Running")
                    if template.service != nil {
                        entry.serviceName = template.service?.name ?? "\(name)-\(template.name)"
                    }
                    entry.podTemplateHash = ExperimentReconciler.podTemplateHash(of: template)
                    return entry
                }
                observed.experiments.append(
                    ObservedRolloutExperiment(name: name, phase: newRunPhase, templates: templates, createdAt: now))
            case .terminateExperiment(let name):
                guard let index = observed.experiments.firstIndex(where: { $0.name == name }) else { continue }
                observed.experiments[index].isTerminated = true
                if observed.experiments[index].phase?.isCompleted != true {
                    observed.experiments[index].phase = .successful
                }
            case .deleteExperiment(let name):
                observed.experiments.removeAll { $0.name == name }
            case .setAdditionalWeights(let weights):
                observed.additionalWeights = weights
            case .recordEvent:
                break
            }
        }
    }

    /// Makes every pod of every ReplicaSet ready and available.
    public mutating func makeReady() {
        for index in observed.replicaSets.indices {
            observed.replicaSets[index].readyReplicas = observed.replicaSets[index].replicas
            observed.replicaSets[index].availableReplicas = observed.replicaSets[index].replicas
        }
    }

    /// Sets the phase (and message) of the Experiment whose name starts with `prefix`, newest
    /// first; returns whether one was found.
    @discardableResult
    public mutating func finishExperiment(named prefix: String, _ phase: AnalysisPhase, message: String? = nil) -> Bool
    {
        guard let index = observed.experiments.lastIndex(where: { $0.name.hasPrefix(prefix) }) else { return false }
        observed.experiments[index].phase = phase
        observed.experiments[index].message = message
        return true
    }

    /// Sets the phase (and message) of the AnalysisRun whose name starts with `prefix`, newest
    /// first; returns whether one was found.
    @discardableResult
    public mutating func finishRun(named prefix: String, _ phase: AnalysisPhase, message: String? = nil) -> Bool {
        guard let index = observed.analysisRuns.lastIndex(where: { $0.name.hasPrefix(prefix) }) else { return false }
        observed.analysisRuns[index].phase = phase
        observed.analysisRuns[index].message = message
        return true
    }

    private mutating func setRunPhase(_ name: String, _ phase: AnalysisPhase, onlyIfRunning: Bool) {
        guard let index = observed.analysisRuns.firstIndex(where: { $0.name == name }) else { return }
        let current = observed.analysisRuns[index].phase
        if onlyIfRunning && current != .running && current != .pending { return }
        observed.analysisRuns[index].phase = phase
    }

    private mutating func updateReplicaSet(_ hash: String, _ change: (inout ObservedReplicaSet) -> Void) {
        guard let index = observed.replicaSets.firstIndex(where: { $0.podTemplateHash == hash }) else { return }
        change(&observed.replicaSets[index])
    }
}
