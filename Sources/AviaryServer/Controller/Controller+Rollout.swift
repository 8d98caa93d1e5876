import AviaryCore
import AviaryLocal
import AviaryModel
import AviaryStore
import Foundation

extension Controller {
    /// Reads the rollout and what the platform has for it, asks the reconciler what to do,
    /// carries the actions out, and writes the status once.
    func reconcileRollout(_ key: ResourceKey) async throws -> Double? {
        guard let resource = try store.resource(key) else {
            try await removeRollout(key)
            return nil
        }
        let rollout = try JSONDecoder().decode(Rollout.self, from: resource.objectJSON())
        let observed = await observe(rollout, key: key)
        let time = now()
        let result = RolloutReconciler.reconcile(rollout: rollout, observed: observed, now: time)
        var events: [StoredEvent] = []
        for action in result.actions {
            if let event = try await execute(action, rollout: rollout, key: key, time: time) { events.append(event) }
        }
        try await applyRoleLabels(rollout, status: result.status, key: key)
        var status = result.status
        status.observedGeneration = String(resource.generation)
        let statusData = try JSONEncoder().encode(status)
        let written = try store.updateStatus(
            key, status: statusData, events: events, expectedResourceVersion: resource.resourceVersion)
        if written == nil {
            // Someone (promote, apply) wrote the rollout meanwhile: look again at once.
            return 0
        }
        for event in events { await metrics.countEvent(type: event.type, reason: event.reason) }
        await metrics.setRollout(
            namespace: key.namespace, name: key.name,
            facts: DaemonMetrics.RolloutFacts(
                strategy: rollout.spec.strategy.canary != nil ? "canary" : "blueGreen",
                trafficRouter: rollout.spec.strategy.canary?.trafficRouting?.smi != nil ? "SMI" : "",
                phase: status.phase?.rawValue ?? "", desiredReplicas: rollout.spec.replicasOrDefault,
                availableReplicas: status.availableReplicas ?? 0))
        // The actions changed the world (as a watch event would tell on Kubernetes): look again
        // soon, whatever the reconciler's own timer says.
        let changedWorld = result.actions.contains { if case .recordEvent = $0 { false } else { true } }
        let requested = result.requeueAfter.map {
            Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18
        }
        return changedWorld ? min(requested ?? 0.05, 0.05) : requested
    }

    /// The rollout's world as the local platform has it.
    func observe(_ rollout: Rollout, key: ResourceKey) async -> ObservedState {
        var replicaSets: [ObservedReplicaSet] = []
        for replicaSet in await platform.replicaSets(ofRollout: key.name, namespace: key.namespace) {
            guard let template = try? JSONDecoder().decode(PodTemplateSpec.self, from: replicaSet.template) else {
                continue
            }
            let counts = await platform.counts(of: replicaSet.name)
            replicaSets.append(
                ObservedReplicaSet(
                    podTemplateHash: replicaSet.podTemplateHash, revision: replicaSet.revision, template: template,
                    replicas: replicaSet.replicas, readyReplicas: counts.ready, availableReplicas: counts.available,
                    scaleDownDeadline: replicaSet.scaleDownDeadline, createdAt: replicaSet.createdAt))
        }
        var observed = ObservedState(replicaSets: replicaSets, analysisRuns: (try? observeAnalysisRuns(of: key)) ?? [])
        let canary = rollout.spec.strategy.canary
        if let root = canary?.trafficRouting?.smi?.rootService,
            let split = await platform.split(rootService: root)
        {
            observed.canaryWeight = split.canaryWeight
            for route in split.headerRoutes { observed.headerRoutes[route.name] = RouteConversion.model(route) }
            for route in split.mirrorRoutes { observed.mirrorRoutes[route.name] = RouteConversion.model(route) }
        }
        let managed = [
            canary?.canaryService, canary?.stableService, rollout.spec.strategy.blueGreen?.activeService,
            rollout.spec.strategy.blueGreen?.previewService,
        ].compactMap { $0 }
        for name in managed {
            if let hash = await platform.service(name)?.selector[podTemplateHashLabel] {
                observed.serviceSelectors[name] = hash
            }
        }
        return observed
    }

    /// Carries out one action; returns the event to store with the status, if the action is one.
    func execute(_ action: RolloutAction, rollout: Rollout, key: ResourceKey, time: Date) async throws -> StoredEvent? {
        func replicaSetName(_ hash: String) -> String { "\(key.name)-\(hash)" }
        switch action {
        case .createReplicaSet(let request):
            let templateData = try JSONEncoder().encode(request.template)
            let replicaSet = LocalReplicaSet(
                namespace: key.namespace, rollout: key.name, podTemplateHash: request.podTemplateHash,
                labels: request.template.metadata?.labels ?? [:],
                launch: PodLaunchConversion.launch(
                    from: request.template, minReadySeconds: rollout.spec.minReadySecondsOrDefault),
                replicas: request.replicas, revision: request.revision, template: templateData, createdAt: time)
            try await platform.apply(replicaSet)
            try store.recordRevision(
                StoredRevision(
                    rollout: key, revision: request.revision, podTemplateHash: request.podTemplateHash,
                    template: templateData, createdAt: AviaryStore.timestamp(time)))
        case .scaleReplicaSet(let hash, let replicas):
            try await platform.scale(replicaSet: replicaSetName(hash), to: replicas)
        case .setScaleDownDeadline(let hash, let deadline):
            try await platform.update(replicaSet: replicaSetName(hash)) { $0.scaleDownDeadline = deadline }
        case .setRevision(let hash, let revision):
            try await platform.update(replicaSet: replicaSetName(hash)) { $0.revision = revision }
        case .deleteReplicaSet(let hash):
            try await platform.deleteReplicaSet(replicaSetName(hash))
        case .restartPods(let hash, let before, let maxUnavailable):
            try await platform.restartPods(
                replicaSet: replicaSetName(hash), before: before, maxUnavailable: maxUnavailable)
        case .setServiceSelector(let serviceName, let hash):
            if var service = await platform.service(serviceName) {
                service.selector[podTemplateHashLabel] = hash
                try await platform.apply(service)
            }
        case .setCanaryWeight(let weight):
            try await updateSplit(rollout) { $0.canaryWeight = weight }
        case .setHeaderRoute(let route):
            try await updateSplit(rollout) { split in
                split.headerRoutes.removeAll { $0.name == route.name }
                split.headerRoutes.append(RouteConversion.local(route))
            }
        case .removeHeaderRoute(let name):
            try await updateSplit(rollout) { $0.headerRoutes.removeAll { $0.name == name } }
        case .setMirrorRoute(let route):
            try await updateSplit(rollout) { split in
                split.mirrorRoutes.removeAll { $0.name == route.name }
                split.mirrorRoutes.append(RouteConversion.local(route))
            }
        case .removeMirrorRoute(let name):
            try await updateSplit(rollout) { $0.mirrorRoutes.removeAll { $0.name == name } }
        case .createAnalysisRun, .terminateAnalysisRun, .deleteAnalysisRun:
            return try await executeAnalysis(action, rollout: rollout, key: key, time: time)
        case .recordEvent(let event):
            return StoredEvent(
                key: key, type: event.type.rawValue, reason: event.reason, message: event.message,
                time: AviaryStore.timestamp(time))
        }
        return nil
    }

    /// Changes the split of the rollout's SMI root service (creating it at weight 0).
    func updateSplit(_ rollout: Rollout, _ change: (inout TrafficSplit) -> Void) async throws {
        guard let canary = rollout.spec.strategy.canary, let root = canary.trafficRouting?.smi?.rootService,
            let canaryService = canary.canaryService, let stableService = canary.stableService
        else { return }
        var split =
            await platform.split(rootService: root)
            ?? TrafficSplit(
                rootService: root, canaryService: canaryService, stableService: stableService, canaryWeight: 0)
        change(&split)
        try await platform.apply(split)
        // The status must not claim a weight or route the data plane does not have yet.
        guard await platform.publishRoutes() else { throw RoutesNotDelivered(rootService: root) }
    }

    /// Gives the stable ReplicaSet's pods the `stableMetadata` labels and the canary's the
    /// `canaryMetadata` labels (Argo's ephemeral metadata), so `role="canary"` queries work.
    func applyRoleLabels(_ rollout: Rollout, status: RolloutStatus, key: ResourceKey) async throws {
        guard let canary = rollout.spec.strategy.canary else { return }
        let stableLabels = canary.stableMetadata?.labels ?? [:]
        let canaryLabels = canary.canaryMetadata?.labels ?? [:]
        for replicaSet in await platform.replicaSets(ofRollout: key.name, namespace: key.namespace) {
            let labels: [String: String]
            if replicaSet.podTemplateHash == status.stableRS {
                labels = stableLabels
            } else if replicaSet.podTemplateHash == status.currentPodHash {
                labels = canaryLabels
            } else {
                labels = [:]
            }
            try await platform.setRoleLabels(replicaSet: replicaSet.name, labels)
        }
    }

    /// Stops everything a deleted rollout had: its ReplicaSets (and so its pods) and its split.
    func removeRollout(_ key: ResourceKey) async throws {
        for replicaSet in await platform.replicaSets(ofRollout: key.name, namespace: key.namespace) {
            try await platform.deleteReplicaSet(replicaSet.name)
        }
        for split in await platform.splits() where split.rollout == key.name {
            try await platform.deleteSplit(rootService: split.rootService)
        }
        await metrics.setRollout(namespace: key.namespace, name: key.name, facts: nil)
    }
}

/// The router did not take a new routing table; the reconcile is retried with backoff.
struct RoutesNotDelivered: Error, CustomStringConvertible {
    /// The SMI root service whose split changed.
    var rootService: String

    var description: String {
        "the router did not accept the new routes of service \(rootService); retrying (is `aviary router` running?)"
    }
}
