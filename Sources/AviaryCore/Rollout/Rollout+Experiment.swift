import AviaryMeta
import AviaryModel
import Foundation

extension ReconcileContext {
    /// The `experiment` step, as Argo's rollout controller runs it: the step's Experiment is made
    /// once (`<rollout>-<hash>-<revision>-<step>`), the step waits for it, a Successful one ends the
    /// step, a Failed or Error one aborts the update, an Inconclusive one pauses it. Experiments
    /// not of the current step (after an abort, a full promotion, a skipped step) are terminated.
    mutating func reconcileCanaryExperiment(_ canary: CanaryView) {
        guard !status.abort, !isFullyPromoted, !status.promoteFull, case .experiment(let step)? = currentStep(canary)
        else {
            status.currentExperiment = nil
            terminateExperiments(except: nil)
            return
        }
        if status.pauseCondition("InconclusiveAnalysisRun") != nil
            || status.pauseCondition("InconclusiveExperiment") != nil
        {
            return
        }
        // The stable template is one of the sources: nothing to clone before there is one.
        guard let stableRS else { return }
        let name = status.currentExperiment ?? experimentName()
        status.currentExperiment = name
        terminateExperiments(except: name)
        guard let experiment = observed.experiment(named: name) else {
            actions.append(.createExperiment(makeExperiment(name, step: step, stable: stableRS)))
            event("ExperimentCreated", "Created Experiment '\(name)'")
            return
        }
        switch experiment.phase {
        case .failed?, .error?:
            event(
                "Experiment\(experiment.phase!.rawValue)",
                "Experiment '\(name)' Status New: \(experiment.phase!.rawValue) Previous: Running", warning: true)
            status.currentExperiment = nil
            beginAbort(message: abortMessage(run: nil))
        case .inconclusive?:
            if !status.controllerPause {
                status.pauseConditions.append(.init(reason: "InconclusiveExperiment", startTime: now))
                status.controllerPause = true
                event("RolloutPaused", "Rollout is paused (InconclusiveExperiment)")
            }
        default:
            break
        }
    }

    /// The step's experiment name: Argo's, with `-1`, `-2`… when a finished experiment (an earlier
    /// attempt, before a retry) holds it.
    func experimentName() -> String {
        let base = "\(view.name)-\(currentHash)-\(currentRevision)-\(stepIndex)"
        var candidate = base
        var collision = 0
        while let existing = observed.experiment(named: candidate),
            existing.phase?.isCompleted == true || existing.isTerminated
        {
            collision += 1
            candidate = "\(base)-\(collision)"
        }
        return candidate
    }

    /// The Experiment of a step: each template clones the stable or the canary pod template, with
    /// the step's metadata on the pods and in the selector; a template with a `weight` or a
    /// `service` gets a Service (the router sends its share there).
    func makeExperiment(_ name: String, step: RolloutExperimentStep, stable: ObservedReplicaSet) -> Experiment {
        let templates = step.templates.map { template -> TemplateSpec in
            var podTemplate = template.specRef == "stable" ? stable.template : view.template
            var metadata = podTemplate.metadata ?? ObjectMeta()
            var labels = metadata.labels ?? [:]
            labels.removeValue(forKey: "rollouts-pod-template-hash")
            labels.merge(template.metadata?.labels ?? [:]) { _, new in new }
            metadata.labels = labels
            if let annotations = template.metadata?.annotations {
                metadata.annotations = (metadata.annotations ?? [:]).merging(annotations) { _, new in new }
            }
            podTemplate.metadata = metadata
            var selector =
                template.selector ?? LabelSelector(matchLabels: view.selectorLabels.isEmpty ? nil : view.selectorLabels)
            if let extra = template.metadata?.labels {
                selector.matchLabels = (selector.matchLabels ?? [:]).merging(extra) { _, new in new }
            }
            var spec = TemplateSpec(
                name: template.name, replicas: template.replicasOrDefault, selector: selector, template: podTemplate)
            spec.minReadySeconds = view.minReadySeconds > 0 ? view.minReadySeconds : nil
            if template.weight != nil || template.service != nil {
                spec.service = TemplateService(name: template.service?.name)
            }
            return spec
        }
        var spec = ExperimentSpec(
            templates: templates, duration: step.duration,
            analyses: step.analyses?.map { analysis in
                var reference = ExperimentAnalysisTemplateRef(
                    name: analysis.name, templateName: analysis.templateName,
                    args: analysis.args.map { $0.map(experimentArgument) },
                    requiredForCompletion: analysis.requiredForCompletion)
                reference.clusterScope = analysis.clusterScope
                return reference
            })
        spec.progressDeadlineSeconds = view.progressDeadlineSeconds
        spec.dryRun = step.dryRun
        spec.analysisRunMetadata = step.analysisRunMetadata
        var metadata = ObjectMeta()
        metadata.name = name
        metadata.labels = ["rollouts-pod-template-hash": currentHash]
        metadata.annotations = ["rollout.argoproj.io/revision": String(currentRevision)]
        // The rollout's uid is the controller's to add: the pure plan does not know it.
        metadata.ownerReferences = [
            OwnerReference(
                apiVersion: argoAPIVersion, kind: "Rollout", name: view.name, uid: nil, controller: true,
                blockOwnerDeletion: true)
        ]
        return Experiment(metadata: metadata, spec: spec)
    }

    /// A step argument as the experiment's analysis takes it: literals (with `{{templates.…}}`
    /// left for the experiment) as they are, `podTemplateHashValue` as the hash, `fieldRef` for
    /// the executor, which reads the rollout.
    func experimentArgument(_ argument: AnalysisRunArgument) -> Argument {
        if let which = argument.valueFrom?.podTemplateHashValue {
            return Argument(
                name: argument.name, value: which == "Stable" ? (status.stableRS ?? currentHash) : currentHash)
        }
        if let field = argument.valueFrom?.fieldRef {
            return Argument(name: argument.name, valueFrom: ValueFrom(fieldRef: field))
        }
        return Argument(name: argument.name, value: argument.value)
    }

    /// Terminates every running experiment of the rollout but `keep`.
    mutating func terminateExperiments(except keep: String?) {
        for experiment in observed.experiments
        where experiment.name != keep && experiment.phase?.isCompleted != true && !experiment.isTerminated {
            actions.append(.terminateExperiment(name: experiment.name))
        }
    }

    /// The shares of the running experiment's templates that have a `weight` (Argo sends them only
    /// while the experiment is Running, each to its template's Service).
    func additionalWeights(_ canary: CanaryView) -> [WeightDestination] {
        guard !status.abort, !isFullyPromoted, !status.promoteFull, case .experiment(let step)? = currentStep(canary),
            let experiment = observed.experiment(named: status.currentExperiment), experiment.phase == .running
        else { return [] }
        return step.templates.compactMap { template in
            guard let weight = template.weight, weight > 0,
                let entry = experiment.templates.first(where: { $0.name == template.name }),
                let service = entry.serviceName
            else { return nil }
            return WeightDestination(weight: weight, serviceName: service, podTemplateHash: entry.podTemplateHash)
        }
    }

    /// Finished experiments beyond `successfulRunHistoryLimit`/`unsuccessfulRunHistoryLimit`, oldest
    /// first, as Argo keeps them; the current one is never deleted.
    mutating func cleanUpExperiments() {
        for experiment in beyondHistoryLimits(
            observed.experiments.filter { $0.name != status.currentExperiment }, phase: \.phase, createdAt: \.createdAt)
        {
            actions.append(.deleteExperiment(name: experiment.name))
        }
    }
}
