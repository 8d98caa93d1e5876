import AviaryExpression
import AviaryModel
import Foundation

/// Decides what an Experiment needs, as Argo's experiment controller does: a ReplicaSet (and,
/// when asked, a Service) per template; AnalysisRuns once every template is available; the phase
/// from the templates' and the analyses' states; and, once it ends, the ReplicaSets scaled to 0
/// after `scaleDownDelaySeconds`. Pure: the world comes in as `ObservedExperiment`.
///
/// The phase: Pending until every template has its pods available (`availableAt`), then Running.
/// It ends Successful when `duration` has passed since `availableAt` (and the analyses required
/// for completion succeeded), when every required analysis succeeded, or when it is terminated;
/// Failed, Error or Inconclusive when an analysis ends so (that ends it at once) or a template
/// makes no progress for `progressDeadlineSeconds`. An ended experiment never changes phase.
///
/// One deliberate difference from Argo: an analysis's phase is still read while the experiment
/// terminates, so terminating one whose required analysis runs ends it (Argo's stays Running).
public enum ExperimentReconciler {
    /// One reconcile.
    public static func reconcile(experiment: Experiment, observed: ObservedExperiment, now: Date) -> ExperimentResult {
        var pass = Pass(experiment: experiment, observed: observed, now: now)
        pass.run()
        return ExperimentResult(actions: pass.actions, status: pass.status, requeueAfter: pass.requeueAfter)
    }

    /// The ReplicaSet name of a template.
    public static func replicaSetName(experiment: String, template: String) -> String { "\(experiment)-\(template)" }

    /// The pod-template hash of a template's ReplicaSet.
    public static func podTemplateHash(of template: TemplateSpec) -> String {
        var podTemplate = template.template
        podTemplate.metadata?.labels?.removeValue(forKey: "rollouts-pod-template-hash")
        return PodTemplateHash.compute(podTemplate)
    }

    /// The order Argo ranks template states in, best first.
    static let templateRank = ["Successful", "Running", "Progressing", "Error", "Failed"]
    /// The order Argo ranks analysis phases in, best first.
    static let analysisRank: [AnalysisPhase] = [.successful, .running, .pending, .inconclusive, .error, .failed]

    struct Pass {
        let experiment: Experiment
        let spec: ExperimentSpec
        let observed: ObservedExperiment
        let now: Date
        let old: ExperimentStatus
        var status: ExperimentStatus
        var actions: [ExperimentAction] = []
        var requeueAfter: Double?
        /// Whether the experiment is ending: nothing new is made, the pods go.
        let isTerminating: Bool
        /// Whether `duration` has passed since every template became available.
        let durationPassed: Bool

        init(experiment: Experiment, observed: ObservedExperiment, now: Date) {
            self.experiment = experiment
            spec = experiment.spec
            self.observed = observed
            self.now = now
            old = experiment.status ?? ExperimentStatus()
            status = old
            let analyses = old.analysisRuns ?? []
            isTerminating =
                spec.isTerminated || old.phase?.isCompleted == true
                || (old.templateStatuses ?? []).contains { ["Failed", "Error"].contains($0.status ?? "") }
                || analyses.contains { [.failed, .error, .inconclusive].contains($0.phase) }
                || Self.allRequiredSucceeded(spec: experiment.spec, analyses: analyses)
            if let available = old.availableAt.flatMap(RFC3339.parse), let duration = spec.duration,
                duration.seconds.isFinite
            {
                durationPassed = now.timeIntervalSince(available) > duration.seconds
            } else {
                durationPassed = false
            }
        }

        var name: String { experiment.metadata.name ?? "" }

        mutating func requeue(after seconds: Double) {
            let seconds = max(seconds, 0)
            requeueAfter = min(requeueAfter ?? seconds, seconds)
        }

        mutating func event(_ reason: String, _ message: String, warning: Bool = false) {
            actions.append(.recordEvent(RolloutEvent(type: warning ? .warning : .normal, reason: reason, message: message)))
        }

        mutating func run() {
            var templates: [TemplateStatus] = []
            for template in spec.templates { templates.append(reconcileTemplate(template)) }
            status.templateStatuses = templates
            var analyses: [ExperimentAnalysisRunStatus] = []
            for analysis in spec.analyses ?? [] { analyses.append(reconcileAnalysis(analysis)) }
            status.analysisRuns = analyses.isEmpty ? nil : analyses
            decidePhase()
            if !isTerminating, let available = status.availableAt.flatMap(RFC3339.parse), let duration = spec.duration,
                duration.seconds.isFinite, !durationPassed
            {
                requeue(after: available.addingTimeInterval(duration.seconds).timeIntervalSince(now) + 0.01)
            }
        }

        // MARK: Templates

        mutating func reconcileTemplate(_ template: TemplateSpec) -> TemplateStatus {
            var entry = old.templateStatuses?.first { $0.name == template.name } ?? TemplateStatus(name: template.name)
            let previous = entry
            let isCompleted = ["Successful", "Failed", "Error"].contains(entry.status ?? "")
            let desired = old.phase?.isCompleted == true || isTerminating || isCompleted ? 0 : template.replicasOrDefault
            let replicaSetName = ExperimentReconciler.replicaSetName(experiment: name, template: template.name)
            let replicaSet = observed.replicaSets[template.name]
            if let replicaSet {
                reconcileService(template, replicaSet: replicaSet, desired: desired, entry: &entry)
                if desired == 0 {
                    scaleDown(template.name, replicaSet: replicaSet)
                } else if replicaSet.scaleDownDeadline != nil {
                    // A retried experiment runs its templates again: the old deadline is void.
                    actions.append(.setScaleDownDeadline(template: template.name, deadline: nil))
                }
                if desired != 0, replicaSet.replicas != desired {
                    actions.append(.scaleReplicaSet(template: template.name, replicas: desired))
                    event(
                        "ScalingReplicaSet",
                        "Scaled \(desired > replicaSet.replicas ? "up" : "down") ReplicaSet \(replicaSetName) from "
                            + "\(replicaSet.replicas) to \(desired)")
                    entry.lastTransitionTime = RFC3339.format(now)
                }
            } else if desired > 0 {
                let hash = ExperimentReconciler.podTemplateHash(of: template)
                var podTemplate = template.template
                podTemplate.metadata?.labels?.removeValue(forKey: "rollouts-pod-template-hash")
                actions.append(
                    .createReplicaSet(
                        ExperimentReplicaSetRequest(
                            template: template.name, name: replicaSetName, podTemplateHash: hash,
                            podTemplate: podTemplate, minReadySeconds: template.minReadySeconds ?? 0,
                            replicas: desired)))
                event("ScalingReplicaSet", "Created ReplicaSet \(replicaSetName) with size \(desired)")
                entry.lastTransitionTime = RFC3339.format(now)
                entry.podTemplateHash = hash
            }
            let available = replicaSet?.availableReplicas ?? 0
            let counts = (replicaSet?.pods ?? 0, replicaSet?.readyReplicas ?? 0, available)
            if counts != (entry.replicas ?? 0, entry.readyReplicas ?? 0, entry.availableReplicas ?? 0)
                || entry.replicas == nil
            {
                entry.lastTransitionTime = RFC3339.format(now)
            }
            entry.replicas = counts.0
            entry.updatedReplicas = counts.0
            entry.readyReplicas = counts.1
            entry.availableReplicas = counts.2
            if replicaSet != nil { entry.podTemplateHash = replicaSet?.podTemplateHash }
            if !isCompleted {
                let since = entry.lastTransitionTime.flatMap(RFC3339.parse) ?? now
                let deadline = Double(spec.progressDeadlineSecondsOrDefault)
                if desired == available {
                    entry.status = durationPassed || isTerminating ? "Successful" : "Running"
                    entry.message = nil
                } else if now.timeIntervalSince(since) > deadline {
                    entry.status = "Failed"
                    entry.message =
                        "Template '\(template.name)' exceeded its progressDeadlineSeconds (\(spec.progressDeadlineSecondsOrDefault))"
                } else {
                    entry.status = isTerminating ? "Successful" : "Progressing"
                    if !isTerminating { requeue(after: since.addingTimeInterval(deadline).timeIntervalSince(now) + 0.01) }
                }
            }
            if entry.status != previous.status {
                let to = entry.status ?? ""
                let suffix = entry.message.map { ": \($0)" } ?? ""
                event(
                    "Template\(to)",
                    "Template '\(template.name)' transitioned from \(previous.status ?? "") -> \(to)\(suffix)",
                    warning: to == "Failed" || to == "Error")
                entry.lastTransitionTime = RFC3339.format(now)
            }
            return entry
        }

        /// Keeps a delayed ReplicaSet at its size until `scale-down-deadline`, then scales it to 0.
        mutating func scaleDown(_ template: String, replicaSet: ObservedTemplateReplicaSet) {
            let delay = Double(spec.scaleDownDelaySecondsOrDefault)
            if delay <= 0 {
                if replicaSet.scaleDownDeadline != nil {
                    actions.append(.setScaleDownDeadline(template: template, deadline: nil))
                }
            } else if let deadline = replicaSet.scaleDownDeadline {
                if deadline > now {
                    requeue(after: deadline.timeIntervalSince(now) + 0.01)
                    return
                }
            } else if replicaSet.replicas > 0 {
                actions.append(.setScaleDownDeadline(template: template, deadline: now.addingTimeInterval(delay)))
                requeue(after: delay + 0.01)
                return
            }
            if replicaSet.replicas != 0 {
                actions.append(.scaleReplicaSet(template: template, replicas: 0))
                event(
                    "ScalingReplicaSet",
                    "Scaled down ReplicaSet \(ExperimentReconciler.replicaSetName(experiment: name, template: template)) "
                        + "from \(replicaSet.replicas) to 0")
            }
        }

        /// A template's Service exists while its pods run: made when the template asks for one and
        /// has a container port, deleted once its pods are gone.
        mutating func reconcileService(
            _ template: TemplateSpec, replicaSet: ObservedTemplateReplicaSet, desired: Int, entry: inout TemplateStatus
        ) {
            let serviceName =
                template.service?.name ?? ExperimentReconciler.replicaSetName(experiment: name, template: template.name)
            let exists = observed.services.contains(serviceName)
            if template.service != nil, desired != 0,
                let port = template.template.spec.containers.lazy.compactMap({ $0.ports?.first }).first
            {
                if !exists {
                    var selector = template.template.metadata?.labels ?? [:]
                    selector["rollouts-pod-template-hash"] = replicaSet.podTemplateHash
                    actions.append(
                        .applyService(
                            ExperimentServiceRequest(
                                template: template.name, name: serviceName, port: port.containerPort,
                                selector: selector, portName: port.name)))
                }
                entry.serviceName = serviceName
            } else if exists, template.service == nil || (desired == 0 && replicaSet.availableReplicas == 0) {
                actions.append(.deleteService(name: serviceName))
                entry.serviceName = nil
            }
        }

        // MARK: Analyses

        mutating func reconcileAnalysis(_ analysis: ExperimentAnalysisTemplateRef) -> ExperimentAnalysisRunStatus {
            let previous = old.analysisRuns?.first { $0.name == analysis.name }
            var entry = previous ?? ExperimentAnalysisRunStatus(name: analysis.name, phase: .pending)
            defer {
                if let previous, previous.phase != entry.phase {
                    event(
                        "AnalysisRun\(entry.phase.rawValue)",
                        "AnalysisRun '\(analysis.name)' transitioned from \(previous.phase.rawValue) -> "
                            + "\(entry.phase.rawValue)\(entry.message.map { ": \($0)" } ?? "")",
                        warning: [.failed, .error, .inconclusive].contains(entry.phase))
                }
            }
            if entry.phase.isCompleted, previous != nil { return entry }
            if let runName = entry.analysisRun {
                if let run = observed.analysisRuns[runName] {
                    entry.phase = run.phase
                    entry.message = run.message
                } else if !isTerminating {
                    entry.phase = .error
                    entry.message = "AnalysisRun \(runName) not found"
                }
                if isTerminating, !entry.phase.isCompleted {
                    actions.append(.terminateAnalysisRun(name: runName))
                }
                return entry
            }
            let kind = analysis.clusterScope == true ? "ClusterAnalysisTemplate" : "AnalysisTemplate"
            if let missing = observed.missingTemplates[analysis.name] {
                entry.phase = .error
                entry.message = "\(kind) verification failed for analysis '\(analysis.name)': \(missing)"
                return entry
            }
            // Terminated before its run started: nothing to wait for (else the experiment would
            // stay Running for good, waiting on a run that is never made).
            if isTerminating {
                entry.phase = .successful
                entry.message = "not run: the experiment ended before every template was available"
                return entry
            }
            // Runs start once every template is available (the pass after `availableAt` is set).
            guard old.availableAt != nil else { return entry }
            do {
                let request = try runRequest(analysis)
                actions.append(.createAnalysisRun(request))
                entry.analysisRun = request.name
                entry.phase = .pending
                entry.message = nil
            } catch {
                entry.phase = .error
                entry.message = "Failed to create AnalysisRun for analysis '\(analysis.name)': \(error)"
            }
            return entry
        }

        /// The run of an analysis: named `<experiment>-<analysis>`, or with `.1`, `.2`… when a
        /// run of that name exists already (a retried experiment starts new runs).
        func runRequest(_ analysis: ExperimentAnalysisTemplateRef) throws -> ExperimentAnalysisRunRequest {
            let base = "\(name)-\(analysis.name)"
            var runName = base
            var suffix = 0
            while observed.analysisRuns[runName] != nil {
                suffix += 1
                runName = "\(base).\(suffix)"
            }
            let variables = templateVariables()
            let args = try (analysis.args ?? []).map { argument in
                var argument = argument
                argument.value = try argument.value.map { try Template.substitute($0, variables: variables) }
                return argument
            }
            var labels = spec.analysisRunMetadata?.labels ?? [:]
            labels["experiment"] = name
            return ExperimentAnalysisRunRequest(
                name: runName, analysis: analysis.name,
                template: AnalysisTemplateRef(templateName: analysis.templateName, clusterScope: analysis.clusterScope),
                args: args, labels: labels, annotations: spec.analysisRunMetadata?.annotations ?? [:],
                dryRun: spec.dryRun ?? [], measurementRetention: spec.measurementRetention ?? [])
        }

        /// What an experiment's analysis arguments may name: `templates.<t>.podTemplateHash`,
        /// `templates.<t>.replicaset.name`, `experiment.availableAt`, `experiment.finishedAt`.
        func templateVariables() -> [String: String] {
            var variables: [String: String] = [:]
            for template in spec.templates {
                let hash =
                    observed.replicaSets[template.name]?.podTemplateHash
                    ?? ExperimentReconciler.podTemplateHash(of: template)
                variables["templates.\(template.name).podTemplateHash"] = hash
                variables["templates.\(template.name).replicaset.name"] =
                    ExperimentReconciler.replicaSetName(experiment: name, template: template.name)
            }
            if let availableAt = old.availableAt {
                variables["experiment.availableAt"] = availableAt
                if let start = RFC3339.parse(availableAt), let duration = spec.duration, duration.seconds.isFinite {
                    variables["experiment.finishedAt"] = RFC3339.format(start.addingTimeInterval(duration.seconds))
                }
            }
            return variables
        }

        // MARK: Phase

        static func allRequiredSucceeded(spec: ExperimentSpec, analyses: [ExperimentAnalysisRunStatus]) -> Bool {
            let required = (spec.analyses ?? []).filter { $0.requiredForCompletion == true }.map(\.name)
            return !required.isEmpty
                && required.allSatisfy { name in analyses.contains { $0.name == name && $0.phase == .successful } }
        }

        /// The worst template state as a phase, with its message.
        func assessTemplates() -> (AnalysisPhase, String?) {
            var worst = "Successful"
            var message: String?
            for entry in status.templateStatuses ?? [] {
                let state = entry.status ?? "Progressing"
                if rank(state) > rank(worst) {
                    worst = state
                    message = entry.message
                }
            }
            switch worst {
            case "Progressing": return (.pending, message)
            case "Running": return (.running, message)
            case "Failed": return (.failed, message)
            case "Error": return (.error, message)
            default: return (.successful, message)
            }
        }

        func rank(_ state: String) -> Int { ExperimentReconciler.templateRank.firstIndex(of: state) ?? 2 }

        /// The worst analysis phase, with its message.
        func assessAnalyses() -> (AnalysisPhase, String?) {
            var worst = AnalysisPhase.successful
            var message: String?
            let order = ExperimentReconciler.analysisRank
            for entry in status.analysisRuns ?? [] {
                if (order.firstIndex(of: entry.phase) ?? 0) > (order.firstIndex(of: worst) ?? 0) {
                    worst = entry.phase
                    message = entry.message
                }
            }
            if worst == .successful, Self.allRequiredSucceeded(spec: spec, analyses: status.analysisRuns ?? []) {
                return (.successful, "Required AnalysisRuns completed")
            }
            return (worst == .pending ? .running : worst, message)
        }

        mutating func decidePhase() {
            let before = old.phase
            guard let before else {
                status.phase = .pending
                event("ExperimentPending", "Experiment transitioned from  -> Pending")
                return
            }
            guard !before.isCompleted else { return }
            let (templates, templateMessage) = assessTemplates()
            let (analyses, analysisMessage) = assessAnalyses()
            if templates == .running, status.availableAt == nil { status.availableAt = RFC3339.format(now) }
            let phase: AnalysisPhase
            let message: String?
            if templates.isCompleted {
                let requiresAnalysis = (spec.analyses ?? []).contains { $0.requiredForCompletion == true }
                if templates == .successful, analyses.isCompleted || requiresAnalysis {
                    (phase, message) = (analyses, analysisMessage)
                } else {
                    (phase, message) = (templates, templateMessage)
                }
            } else if analyses.isCompleted, analyses != .successful {
                (phase, message) = (analyses, analysisMessage)
            } else if Self.allRequiredSucceeded(spec: spec, analyses: status.analysisRuns ?? []) {
                (phase, message) = (analyses, analysisMessage)
            } else {
                (phase, message) = (templates, templateMessage)
            }
            status.phase = phase
            status.message = message
            if phase != before {
                event(
                    "Experiment\(phase.rawValue)", "Experiment transitioned from \(before.rawValue) -> \(phase.rawValue)",
                    warning: [.failed, .error, .inconclusive].contains(phase))
                // An ending experiment scales its templates down: look again at once.
                if phase.isCompleted { requeue(after: 0) }
            }
        }
    }
}
