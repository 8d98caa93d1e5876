import AviaryCore
import AviaryModel
import AviaryPlatform
import AviaryStore
import Foundation

extension Controller {
    /// Reads the experiment and what the platform and the store hold for it, asks the
    /// experiment reconciler what to do, carries the actions out, and writes the status once.
    func reconcileExperiment(_ key: ResourceKey) async throws -> Double? {
        guard let resource = try store.resource(key) else {
            try await removeExperiment(key)
            return nil
        }
        let experiment = try JSONDecoder().decode(Experiment.self, from: resource.objectJSON())
        let observed = try await observe(experiment, key: key)
        let time = now()
        let result = ExperimentReconciler.reconcile(experiment: experiment, observed: observed, now: time)
        var events: [StoredEvent] = []
        var blocked: (any BlockedAction)?
        var changedServices = false
        for action in result.actions {
            do {
                switch action {
                case .applyService, .deleteService: changedServices = true
                default: break
                }
                if let event = try await execute(action, experiment: experiment, key: key, time: time) {
                    events.append(event)
                }
            } catch let failure as any BlockedAction {
                blocked = failure
                break
            }
        }
        if changedServices { await platform.publishRoutes() }
        var status = result.status
        if let blocked { status.message = "\(blocked.reason): \(blocked)" }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        let statusData = try encoder.encode(status)
        if resource.status != statusData || !events.isEmpty {
            guard
                try await store.updateStatus(
                    key, status: statusData, events: events, expectedResourceVersion: resource.resourceVersion) != nil
            else { return 0 }
            for event in events { await metrics.countEvent(type: event.type, reason: event.reason) }
            // The rollout of an experiment step waits on this status.
            if let owner = experiment.metadata.owningRollout {
                enqueue(ResourceKey(kind: .rollout, namespace: key.namespace, name: owner))
            }
        }
        if blocked != nil { return Self.blockedRetrySeconds }
        let changedWorld = result.actions.contains { if case .recordEvent = $0 { false } else { true } }
        // Waiting on pods: the platform's change handler enqueues experiments too, and a slow
        // look keeps an experiment moving should a change be missed.
        let waiting = status.phase?.isCompleted == false ? 5.0 : nil
        let requested = [result.requeueAfter, waiting, changedWorld ? 0.05 : nil].compactMap { $0 }.min()
        return requested
    }

    /// The experiment's ReplicaSets and template Services on the platform, and the AnalysisRuns
    /// of its namespace that may be its own.
    func observe(_ experiment: Experiment, key: ResourceKey) async throws -> ObservedExperiment {
        var observed = ObservedExperiment()
        let prefix = "\(key.name)-"
        for replicaSet in await platform.replicaSets(ofExperiment: key.name, namespace: key.namespace)
        where replicaSet.name.hasPrefix(prefix) {
            let counts = await platform.counts(of: replicaSet.key)
            observed.replicaSets[String(replicaSet.name.dropFirst(prefix.count))] = ObservedTemplateReplicaSet(
                podTemplateHash: replicaSet.podTemplateHash, replicas: replicaSet.replicas, pods: counts.replicas,
                readyReplicas: counts.ready, availableReplicas: counts.available,
                scaleDownDeadline: replicaSet.scaleDownDeadline)
        }
        for template in experiment.spec.templates {
            let name = template.service?.name ?? "\(prefix)\(template.name)"
            if await platform.service(NamespacedName(namespace: key.namespace, name: name)) != nil {
                observed.services.insert(name)
            }
        }
        for run in try store.resources(kind: .analysisRun, namespace: key.namespace)
        where run.key.name.hasPrefix(prefix) {
            let status = RolloutOperations.object(run.status)
            observed.analysisRuns[run.key.name] = ObservedAnalysisRun(
                name: run.key.name, kind: .step,
                phase: AnalysisPhase(rawValue: status["phase"] as? String ?? "") ?? .pending,
                message: status["message"] as? String)
        }
        // Only looked up while a run may still be made.
        if experiment.status?.phase?.isCompleted != true {
            for analysis in experiment.spec.analyses ?? [] {
                let cluster = analysis.clusterScope == true
                let templateKey = ResourceKey(
                    kind: cluster ? .clusterAnalysisTemplate : .analysisTemplate,
                    namespace: cluster ? "" : key.namespace, name: analysis.templateName)
                if try store.resource(templateKey) == nil {
                    observed.missingTemplates[analysis.name] =
                        "\(templateKey.kind) \"\(analysis.templateName)\" not found: apply it"
                        + (cluster ? "" : ", or set clusterScope: true for a ClusterAnalysisTemplate")
                }
            }
        }
        return observed
    }

    /// Carries out one experiment action; returns the event to store with the status, if the
    /// action is one.
    func execute(
        _ action: ExperimentAction, experiment: Experiment, key: ResourceKey, time: Date
    ) async throws -> StoredEvent? {
        func replicaSetKey(_ template: String) -> NamespacedName {
            NamespacedName(
                namespace: key.namespace,
                name: ExperimentReconciler.replicaSetName(experiment: key.name, template: template))
        }
        switch action {
        case .createReplicaSet(let request):
            try await platform.apply(
                ReplicaSet(
                    namespace: key.namespace, experiment: key.name, template: request.template,
                    podTemplateHash: request.podTemplateHash, labels: request.podTemplate.metadata?.labels ?? [:],
                    template: try JSONEncoder().encode(request.podTemplate), minReadySeconds: request.minReadySeconds,
                    replicas: request.replicas, createdAt: time))
        case .scaleReplicaSet(let template, let replicas):
            try await platform.scale(replicaSet: replicaSetKey(template), to: replicas)
        case .setScaleDownDeadline(let template, let deadline):
            try await platform.update(replicaSet: replicaSetKey(template)) { $0.scaleDownDeadline = deadline }
        case .applyService(let request):
            var service = PlatformService(
                name: request.name, namespace: key.namespace, address: serviceAddress,
                port: request.port + servicePortOffset, selector: request.selector)
            service.experiment = key.name
            service.experimentTemplate = request.template
            // A template whose port is named `grpc` or `h2c...` is spoken to over HTTP/2, as a Service's port would be.
            if PlatformService.speaksHTTP2(appProtocol: nil, portName: request.portName) { service.http2 = true }
            try await platform.apply(service)
        case .deleteService(let name):
            try await platform.deleteService(NamespacedName(namespace: key.namespace, name: name))
        case .createAnalysisRun(let request):
            return try await analysis.create(request, experiment: key, time: time)
        case .terminateAnalysisRun(let name):
            try await analysis.terminate(name: name, namespace: key.namespace)
        case .recordEvent(let event):
            return StoredEvent(
                key: key, type: event.type.rawValue, reason: event.reason, message: event.message,
                time: AviaryStore.timestamp(time))
        }
        return nil
    }

    /// Stops everything a deleted experiment had: its ReplicaSets (and so their pods), the
    /// Services of its templates, and its AnalysisRuns (Argo's are owned by the experiment).
    func removeExperiment(_ key: ResourceKey) async throws {
        for replicaSet in await platform.replicaSets(ofExperiment: key.name, namespace: key.namespace) {
            try await platform.deleteReplicaSet(replicaSet.key)
            // Its template's Service selects exactly its pods' labels and was never applied by a user.
            for service in await platform.services()
            where service.namespace == key.namespace && service.selector == replicaSet.labels {
                let stored = try store.resource(ResourceKey(kind: .service, namespace: key.namespace, name: service.name))
                if stored == nil { try await platform.deleteService(service.key) }
            }
        }
        for run in try store.resources(kind: .analysisRun, namespace: key.namespace) {
            let labels = RolloutOperations.object(run.metadata)["labels"] as? [String: String] ?? [:]
            if labels["experiment"] == key.name {
                try await analysis.delete(name: run.key.name, namespace: key.namespace)
            }
        }
        await platform.publishRoutes()
    }

    /// The experiments a rollout's `experiment` steps made, with their phases.
    func observeExperiments(of key: ResourceKey) throws -> [ObservedRolloutExperiment] {
        try store.resources(kind: .experiment, namespace: key.namespace).compactMap { resource in
            guard let experiment = try? JSONDecoder().decode(Experiment.self, from: resource.objectJSON()),
                experiment.metadata.owningRollout == key.name
            else { return nil }
            return ObservedRolloutExperiment(
                name: resource.key.name, phase: experiment.status?.phase, message: experiment.status?.message,
                isTerminated: experiment.spec.isTerminated, templates: experiment.status?.templateStatuses ?? [],
                createdAt: experiment.metadata.creationTimestamp.flatMap(RFC3339.parse))
        }
    }

    /// Creates, terminates or deletes the Experiment of a rollout's `experiment` step.
    func executeExperimentStep(_ action: RolloutAction, rollout: Rollout, key: ResourceKey) async throws {
        switch action {
        case .createExperiment(var experiment):
            let name = experiment.metadata.name ?? ""
            let experimentKey = ResourceKey(kind: .experiment, namespace: key.namespace, name: name)
            guard try store.resource(experimentKey) == nil else { return }
            experiment.metadata.namespace = key.namespace
            // `fieldRef` arguments are read from the rollout, as Argo does when it makes the experiment.
            for analysisIndex in experiment.spec.analyses?.indices ?? [].indices {
                for argumentIndex in experiment.spec.analyses?[analysisIndex].args?.indices ?? [].indices {
                    guard let argument = experiment.spec.analyses?[analysisIndex].args?[argumentIndex],
                        let path = argument.valueFrom?.fieldRef?.fieldPath
                    else { continue }
                    let value = try AnalysisTemplateResolver.fieldValue(path, of: rollout, arg: argument.name)
                    experiment.spec.analyses?[analysisIndex].args?[argumentIndex] = Argument(
                        name: argument.name, value: value)
                }
            }
            if let uid = rollout.metadata.uid, experiment.metadata.ownerReferences?.isEmpty == false {
                experiment.metadata.ownerReferences?[0].uid = uid
            }
            _ = try await store.apply(try JSONEncoder().encode(experiment))
            enqueue(experimentKey)
        case .terminateExperiment(let name):
            let experimentKey = ResourceKey(kind: .experiment, namespace: key.namespace, name: name)
            try await store.setTerminate(experimentKey)
            enqueue(experimentKey)
        case .deleteExperiment(let name):
            let experimentKey = ResourceKey(kind: .experiment, namespace: key.namespace, name: name)
            _ = try await store.delete(experimentKey)
            enqueue(experimentKey)
        default:
            break
        }
    }
}
