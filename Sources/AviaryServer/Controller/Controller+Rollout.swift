import AviaryCore
import AviaryModel
import AviaryPlatform
import AviaryStore
import Foundation

extension Controller {
    /// Reads the rollout and what the platform has for it, asks the reconciler what to do,
    /// carries the actions out, and writes the status once.
    func reconcileRollout(_ key: ResourceKey, snapshot: StoreSnapshot? = nil) async throws -> Double? {
        unchangedSince.removeValue(forKey: key)
        // The row, unless the pass left it unread because `decodedRollouts` has its version.
        let resource: StoredResource?
        let stored: DecodedRollout
        if let version = snapshot?.cachedVersions[key], let cached = decodedRollouts[key],
            cached.resourceVersion == version
        {
            resource = nil
            stored = cached
        } else {
            // A key missing from the snapshot did not exist when it was read.
            guard let read = try snapshot.map({ $0.resources[key] }) ?? store.resource(key) else {
                try await removeRollout(key)
                return nil
            }
            resource = read
            stored = try decodedRollout(read)
        }
        // A workloadRef's template (from the object it names) stands in for the missing one.
        let decoded = try resolvingWorkload(stored, key: key)
        var rollout = decoded.rollout
        // Argo's step plugins are called first; the reconcile reads what they answered.
        var events: [StoredEvent] = []
        var stepPluginRetry: Double?
        if let canary = rollout.spec.strategy.canary,
            canary.stepsOrEmpty.contains(where: { $0.plugin != nil })
                || !(rollout.status?.canary?.stepPluginStatuses ?? []).isEmpty
        {
            let outcome = await callStepPlugins(of: rollout, key: key, time: now())
            rollout = outcome.rollout
            events += outcome.events
            stepPluginRetry = outcome.retry
        }
        // Read before the runs: a change after this point makes the next resync look again.
        let analysisStamp =
            try snapshot?.analysisStamps[key.namespace] ?? store.stamp(kind: .analysisRun, namespace: key.namespace)
        var (observed, platformView) = await observe(
            rollout, key: key, currentTemplate: decoded.spec.template, analysisRunsExist: analysisStamp.count > 0)
        // Argo's target-group registration check (`--aws-verify-target-group`), when it applies now.
        var targetEvents: [VerificationEvent] = []
        if platform.checksTargets, TargetGroupCheck.applies(to: rollout) {
            observed.checksTargets = true
            if let service = TargetGroupCheck.service(
                rollout: rollout, currentHash: decoded.spec.template.hash, observed: observed)
            {
                let check = await platform.verifyTargets(service: NamespacedName(namespace: key.namespace, name: service))
                // Nothing bound to the Service: nothing to wait for.
                observed.targetsVerified = check.verified ?? true
                targetEvents = check.events
            }
        }
        let platformStamp = platformView.changeStamp
        let time = now()
        let result = RolloutReconciler.reconcile(rollout: rollout, spec: decoded.spec, observed: observed, now: time)
        func storedEvents(_ checked: [VerificationEvent]) -> [StoredEvent] {
            checked.map {
                StoredEvent(
                    key: key, type: $0.warning ? "Warning" : "Normal", reason: $0.reason, message: $0.message,
                    time: AviaryStore.timestamp(time))
            }
        }
        events += storedEvents(targetEvents)
        var blocked: (any BlockedAction)?
        // A check that says not yet is asked again soon (Argo's verify retry), as nothing else
        // changes when AWS registers the pods or sets the weights.
        var unverified = observed.targetsVerified == false
        for action in result.actions {
            do {
                if let event = try await execute(action, rollout: rollout, status: result.status, key: key, time: time)
                {
                    events.append(event)
                }
            } catch let failure as any BlockedAction {
                // The rest waits for what is missing; the rollout says why (Argo's message).
                blocked = failure
                break
            }
        }
        // The actions may have created or deleted ReplicaSets: then look at them again.
        let replicaSets =
            result.actions.contains { if case .recordEvent = $0 { false } else { true } }
            ? await platform.replicaSets(ofRollout: key.name, namespace: key.namespace)
            : platformView.replicaSets.map(\.replicaSet)
        try await applyRoleLabels(rollout, status: result.status, replicaSets: replicaSets)
        try await removeAntiAffinityOnceStable(rollout, status: result.status, replicaSets: replicaSets)
        if let event = try await scaleDownWorkload(
            rollout, status: result.status, replicaSets: replicaSets, key: key, time: time)
        {
            events.append(event)
        }
        var status = result.status
        status.observedGeneration = String(decoded.generation)
        status.workloadObservedGeneration = decoded.workloadGeneration.map(String.init)
        // Where the router can say, whether it serves the weights (Argo's weights.verified): asked
        // after a change and while it says no, otherwise carried over, so a rollout at rest (or
        // one whose router cannot say) asks nothing.
        if let root = rollout.spec.strategy.canary?.trafficRootService, status.canary?.weights != nil, blocked == nil {
            let previous = rollout.status?.canary?.weights?.verified
            let changedRouting = result.actions.contains {
                switch $0 {
                case .setCanaryWeight, .setHeaderRoute, .removeHeaderRoute, .setMirrorRoute, .removeMirrorRoute: true
                default: false
                }
            }
            let verification =
                changedRouting || previous == false
                ? await platform.verifyWeights(rootService: NamespacedName(namespace: key.namespace, name: root))
                : nil
            let verified = verification.map(\.verified) ?? previous
            status.canary?.weights?.verified = verified
            if verified == false { unverified = true }
            // The ALB check's load balancers and target groups (the last Ingress's in `alb`, as
            // Argo writes it), and its events.
            if let loadBalancers = verification?.loadBalancers {
                status.albs = loadBalancers
                status.alb = loadBalancers.last
            }
            events += storedEvents(verification?.events ?? [])
        }
        if let blocked {
            let message = "\(blocked.reason): \(blocked)"
            if rollout.status?.message != message {
                events.append(
                    StoredEvent(
                        key: key, type: "Warning", reason: blocked.reason, message: blocked.description,
                        time: AviaryStore.timestamp(time)))
            }
            status.message = message
        }
        // The stored status decoded equal to this one: it is unchanged and needs no encoding.
        // Otherwise sorted keys make the same status the same bytes, so the stored bytes tell.
        // Without the row (a reconcile from the decoded copy), a status that decodes differently
        // is taken as changed; the store compares the bytes again before it writes.
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        var statusData: Data?
        // Against the stored status: the step plugins' calls may have changed the one reconciled.
        if decoded.rollout.status == nil || decoded.rollout.status != status {
            statusData = try encoder.encode(status)
        }
        let statusChanged = statusData.map { data in resource.map { $0.status != data } ?? true } ?? false
        if statusChanged || !events.isEmpty {
            // Rendered from the rollout as this reconcile read it, as Argo's controller does.
            let update = StatusUpdate(
                key: key, status: try statusData ?? encoder.encode(status), events: events,
                expectedResourceVersion: decoded.resourceVersion,
                notifications: notifications(for: events, rollout: rollout, key: key, time: time))
            if snapshot != nil {
                // Part of a chunk: written with the chunk's other statuses in one transaction.
                pendingStatusWrites.append(update)
            } else {
                guard try await store.updateStatuses([update]).first ?? nil != nil else {
                    // Someone (promote, apply) wrote the rollout meanwhile: look again at once.
                    return 0
                }
                for event in events { await metrics.countEvent(type: event.type, reason: event.reason) }
            }
        }
        let facts = DaemonMetrics.RolloutFacts(
            strategy: rollout.spec.strategy.canary != nil ? "canary" : "blueGreen",
            trafficRouter: rollout.spec.strategy.canary?.trafficRouting?.provider?.name ?? "",
            phase: status.phase?.rawValue ?? "", desiredReplicas: rollout.spec.replicasOrDefault,
            availableReplicas: status.availableReplicas ?? 0)
        if reportedFacts[key] != facts {
            await metrics.setRollout(namespace: key.namespace, name: key.name, facts: facts)
            reportedFacts[key] = facts
        }
        // The actions changed the world (as a watch event would tell on Kubernetes): look again
        // soon, whatever the reconciler's own timer says.
        let changedWorld = result.actions.contains { if case .recordEvent = $0 { false } else { true } }
        let requested = result.requeueAfter.map {
            Double($0.components.seconds) + Double($0.components.attoseconds) / 1e18
        }
        // Nothing to do, nothing written, no timer, not waiting on pods: the same inputs would
        // give the same nothing, so a resync may skip this rollout until one of them changes.
        if let platformStamp, result.actions.isEmpty, !statusChanged, requested == nil,
            status.phase != .progressing
        {
            unchangedSince[key] = ReconcileInputs(
                resourceVersion: decoded.resourceVersion, platformStamp: platformStamp, analysisStamp: analysisStamp)
        }
        if blocked != nil || unverified { return Self.blockedRetrySeconds }
        let next = changedWorld ? min(requested ?? 0.05, 0.05) : requested
        return stepPluginRetry.map { min($0, next ?? $0) } ?? next
    }

    /// How soon a rollout blocked on something missing looks again.
    static let blockedRetrySeconds = 5.0

    /// The stored rollout decoded with its prepared spec, from the cache when its resource version
    /// was decoded before. A new version with the same spec and generation (a status write, a
    /// label) keeps the prepared spec, and the rollout takes the cached copy of its spec.
    func decodedRollout(_ resource: StoredResource) throws -> DecodedRollout {
        let cached = decodedRollouts[resource.key]
        if let cached, cached.resourceVersion == resource.resourceVersion { return cached }
        var rollout = try JSONDecoder().decode(Rollout.self, from: resource.objectJSON())
        rollout.status = rollout.status.map { statusTexts.intern($0) }
        let spec: PreparedSpec
        if let cached, cached.rollout.spec == rollout.spec,
            cached.rollout.metadata.generation == rollout.metadata.generation
        {
            // The kept prepared spec holds the template and steps of the first decoding; the
            // rollout shares them too (its own decoded copy is freed), else every status write
            // would leave each rollout holding two decoded specs (several MB per 1,000 rollouts).
            rollout.spec = cached.rollout.spec
            spec = cached.spec
        } else {
            spec = PreparedSpec(rollout)
        }
        // One entry per rollout: the previous version is never read again.
        let decoded = DecodedRollout(
            resourceVersion: resource.resourceVersion, generation: resource.generation, rollout: rollout, spec: spec)
        decodedRollouts[resource.key] = decoded
        return decoded
    }

    /// The rollout's world as the platform has it (read in one call), and the platform's answer.
    /// A ReplicaSet of `currentTemplate`'s hash runs that template, so only older ones' templates
    /// are decoded (and kept): a rollout at rest holds no second copy of its template.
    func observe(
        _ rollout: Rollout, key: ResourceKey, currentTemplate: (spec: PodTemplateSpec, hash: String)? = nil,
        analysisRunsExist: Bool = true
    ) async -> (ObservedState, RolloutObservation) {
        let canary = rollout.spec.strategy.canary
        let managed = [
            canary?.canaryService, canary?.stableService, canary?.pingPong?.pingService, canary?.pingPong?.pongService,
            rollout.spec.strategy.blueGreen?.activeService, rollout.spec.strategy.blueGreen?.previewService,
        ].compactMap { $0 }
        let platformView = await platform.observe(
            rollout: key.name, namespace: key.namespace, rootService: canary?.trafficRootService,
            services: managed)
        var replicaSets: [ObservedReplicaSet] = []
        // Rebuilt from the ReplicaSets there are now, so deleted ones leave the cache.
        var templates: [String: DecodedTemplate] = [:]
        let cachedTemplates = decodedTemplates[key] ?? [:]
        for (replicaSet, counts) in platformView.replicaSets {
            let entry: DecodedTemplate
            if let currentTemplate, replicaSet.podTemplateHash == currentTemplate.hash {
                replicaSets.append(
                    ObservedReplicaSet(
                        podTemplateHash: replicaSet.podTemplateHash, revision: replicaSet.revision,
                        template: currentTemplate.spec, replicas: replicaSet.replicas, readyReplicas: counts.ready,
                        availableReplicas: counts.available, scaleDownDeadline: replicaSet.scaleDownDeadline,
                        createdAt: replicaSet.createdAt))
                continue
            } else if let cached = cachedTemplates[replicaSet.name], cached.data == replicaSet.template {
                entry = cached
            } else if let decoded = try? JSONDecoder().decode(PodTemplateSpec.self, from: replicaSet.template) {
                entry = DecodedTemplate(data: replicaSet.template, template: decoded)
            } else {
                continue
            }
            templates[replicaSet.name] = entry
            replicaSets.append(
                ObservedReplicaSet(
                    podTemplateHash: replicaSet.podTemplateHash, revision: replicaSet.revision,
                    template: entry.template,
                    replicas: replicaSet.replicas, readyReplicas: counts.ready, availableReplicas: counts.available,
                    scaleDownDeadline: replicaSet.scaleDownDeadline, createdAt: replicaSet.createdAt))
        }
        decodedTemplates[key] = templates.isEmpty ? nil : templates
        var observed = ObservedState(
            replicaSets: replicaSets, analysisRuns: analysisRunsExist ? (try? observeAnalysisRuns(of: key)) ?? [] : [])
        if let split = platformView.split {
            observed.canaryWeight = split.canaryWeight
            for route in split.headerRoutes { observed.headerRoutes[route.name] = route }
            for route in split.mirrorRoutes { observed.mirrorRoutes[route.name] = route }
        }
        observed.serviceSelectors = platformView.serviceSelectors
        observed.additionalWeights = (platformView.split?.additionalBackends ?? []).map {
            WeightDestination(weight: $0.weight, serviceName: $0.service, podTemplateHash: $0.podTemplateHash)
        }
        // Only a rollout with an experiment step (or one whose status still names an experiment,
        // after the step was edited away) has experiments: the others read nothing more.
        let hasExperiments =
            canary?.stepsOrEmpty.contains { $0.experiment != nil } == true
            || rollout.status?.canary?.currentExperiment != nil
        if hasExperiments {
            observed.experiments = (try? observeExperiments(of: key)) ?? []
        }
        return (observed, platformView)
    }

    /// Carries out one action; returns the event to store with the status, if the action is one.
    func execute(
        _ action: RolloutAction, rollout: Rollout, status: RolloutStatus, key: ResourceKey, time: Date
    ) async throws -> StoredEvent? {
        func replicaSetName(_ hash: String) -> NamespacedName {
            NamespacedName(namespace: key.namespace, name: "\(key.name)-\(hash)")
        }
        switch action {
        case .createReplicaSet(let request):
            let templateData = try JSONEncoder().encode(request.template)
            let replicaSet = ReplicaSet(
                namespace: key.namespace, rollout: key.name, podTemplateHash: request.podTemplateHash,
                labels: request.template.metadata?.labels ?? [:], template: templateData,
                minReadySeconds: rollout.spec.minReadySecondsOrDefault, replicas: request.replicas,
                revision: request.revision, createdAt: time)
            // The revision is recorded first: when its write fails, no ReplicaSet exists yet and the
            // retry creates both; the other way round, the retry would find the ReplicaSet, emit no
            // create, and `undo` could never go back to it. Recording twice replaces the row.
            try await store.recordRevision(
                StoredRevision(
                    rollout: key, revision: request.revision, podTemplateHash: request.podTemplateHash,
                    template: templateData, createdAt: AviaryStore.timestamp(time)))
            try await platform.apply(replicaSet)
        case .scaleReplicaSet(let hash, let replicas):
            try await platform.scale(replicaSet: replicaSetName(hash), to: replicas)
        case .setScaleDownDeadline(let hash, let deadline):
            try await platform.update(replicaSet: replicaSetName(hash)) { $0.scaleDownDeadline = deadline }
        case .setRevision(let hash, let revision):
            try await platform.update(replicaSet: replicaSetName(hash)) { $0.revision = revision }
        case .deleteReplicaSet(let hash):
            try await platform.deleteReplicaSet(replicaSetName(hash))
            try await store.deleteRevisions(of: key, podTemplateHash: hash)
        case .restartPods(let hash, let before, let maxUnavailable):
            try await platform.restartPods(
                replicaSet: replicaSetName(hash), before: before, maxUnavailable: maxUnavailable)
        case .setServiceSelector(let serviceName, let hash):
            if var service = await platform.service(NamespacedName(namespace: key.namespace, name: serviceName)) {
                service.selector[podTemplateHashLabel] = hash
                try await platform.apply(service)
                // An analysis that starts next asks this Service; it must reach the pods just named.
                guard await platform.publishRoutes() else { throw RoutesNotDelivered(service: serviceName) }
            }
        case .setCanaryWeight(let weight):
            try await updateSplit(rollout, key, status: status) { $0.canaryWeight = weight }
        case .setHeaderRoute(let route):
            try await updateSplit(rollout, key, status: status) { split in
                split.headerRoutes.removeAll { $0.name == route.name }
                split.headerRoutes.append(route)
            }
        case .removeHeaderRoute(let name):
            try await updateSplit(rollout, key, status: status) { $0.headerRoutes.removeAll { $0.name == name } }
        case .setMirrorRoute(let route):
            try await updateSplit(rollout, key, status: status) { split in
                split.mirrorRoutes.removeAll { $0.name == route.name }
                split.mirrorRoutes.append(route)
            }
        case .removeMirrorRoute(let name):
            try await updateSplit(rollout, key, status: status) { $0.mirrorRoutes.removeAll { $0.name == name } }
        case .createAnalysisRun, .terminateAnalysisRun, .deleteAnalysisRun:
            return try await executeAnalysis(action, rollout: rollout, key: key, time: time)
        case .createExperiment, .terminateExperiment, .deleteExperiment:
            try await executeExperimentStep(action, rollout: rollout, key: key)
        case .setAdditionalWeights(let weights):
            try await updateSplit(rollout, key, status: status) { split in
                split.additionalBackends =
                    weights.isEmpty
                    ? nil
                    : weights.map {
                        AdditionalBackend(
                            service: $0.serviceName ?? "", weight: $0.weight, podTemplateHash: $0.podTemplateHash)
                    }
            }
        case .recordEvent(let event):
            return StoredEvent(
                key: key, type: event.type.rawValue, reason: event.reason, message: event.message,
                time: AviaryStore.timestamp(time))
        }
        return nil
    }

    /// Changes the split of the rollout's root service (creating it at weight 0), through the
    /// router the rollout names.
    func updateSplit(
        _ rollout: Rollout, _ key: ResourceKey, status: RolloutStatus, _ change: (inout TrafficSplit) -> Void
    ) async throws {
        guard let canary = rollout.spec.strategy.canary, let routing = canary.trafficRouting,
            let provider = routing.provider, let root = canary.trafficRootService
        else { return }
        // With ping-pong the two Services swap roles at each promotion: the new status says which is which.
        let services = canary.splitServices(stablePingPong: status.canary?.stablePingPong)
        var split =
            await platform.split(rootService: NamespacedName(namespace: key.namespace, name: root))
            ?? TrafficSplit(
                namespace: key.namespace, rootService: root, canaryService: services.canary ?? "",
                stableService: services.stable ?? "", canaryWeight: 0, rollout: key.name)
        split.canaryService = services.canary ?? ""
        split.stableService = services.stable ?? ""
        split.name = routing.smi?.trafficSplitName
        if case .smi = provider { split.provider = nil } else { split.provider = provider }
        split.maxWeight = routing.maxTrafficWeight
        split.managedRoutes = routing.managedRoutes.map { $0.map(\.name) }
        split.stableHash = status.stableRS
        split.canaryHash = status.currentPodHash
        // Every router named is driven on a cluster. ALB's action is on its rootService and, with
        // ping-pong, splits the ping and pong Services; the others split canaryService and
        // stableService (Argo's ALB with Istio).
        let pingPong = canary.pingPong?.sides(stablePingPong: status.canary?.stablePingPong)
        let splitsPingPong = canary.splitsPingPong
        let others = routing.additionalProviders.map { other -> AdditionalRouter in
            var router = AdditionalRouter(provider: other)
            if case .alb(let alb) = other {
                router.rootService = (alb.rootService ?? "").isEmpty ? nil : alb.rootService
                if let pingPong { (router.canaryService, router.stableService) = (pingPong.canary, pingPong.stable) }
            } else if splitsPingPong {
                (router.canaryService, router.stableService) = (canary.canaryService, canary.stableService)
            }
            return router
        }
        split.additionalRouters = others.isEmpty ? nil : others
        for case .consul(let consul) in [provider] + others.map(\.provider) {
            split.canaryServiceMeta = rollout.spec.template?.metadata?.annotations?[consul.annotation]
            split.aborted = status.abort == true
        }
        change(&split)
        try await platform.apply(split)
        // The status must not claim a weight or route the data plane does not have yet.
        guard await platform.publishRoutes() else { throw RoutesNotDelivered(service: root) }
    }

    /// Gives the stable ReplicaSet's pods the `stableMetadata` labels and the canary's the
    /// `canaryMetadata` labels (Argo's ephemeral metadata), so `role="canary"` queries work.
    func applyRoleLabels(_ rollout: Rollout, status: RolloutStatus, replicaSets: [ReplicaSet]) async throws {
        guard let canary = rollout.spec.strategy.canary else { return }
        let stableLabels = canary.stableMetadata?.labels ?? [:]
        let canaryLabels = canary.canaryMetadata?.labels ?? [:]
        for replicaSet in replicaSets {
            let labels: [String: String]
            if replicaSet.podTemplateHash == status.stableRS {
                labels = stableLabels
            } else if replicaSet.podTemplateHash == status.currentPodHash {
                labels = canaryLabels
            } else {
                labels = [:]
            }
            // Both platforms ignore labels a ReplicaSet already has; asking costs a call each.
            if replicaSet.roleLabels != labels { try await platform.setRoleLabels(replicaSet: replicaSet.key, labels) }
        }
    }

    /// Once the new ReplicaSet is the stable one, the anti-affinity injected for `antiAffinity`
    /// (its pods avoiding the old stable pods' nodes) has nothing left to avoid and is taken out
    /// of its template, as Argo's controller regenerates the affinity of the ReplicaSet it promoted.
    func removeAntiAffinityOnceStable(_ rollout: Rollout, status: RolloutStatus, replicaSets: [ReplicaSet]) async throws
    {
        let strategy = rollout.spec.strategy
        guard strategy.canary?.antiAffinity != nil || strategy.blueGreen?.antiAffinity != nil,
            let stable = status.stableRS, stable == status.currentPodHash,
            let replicaSet = replicaSets.first(where: { $0.podTemplateHash == stable })
        else { return }
        try await platform.removeInjectedAntiAffinity(replicaSet: replicaSet.key)
    }

    /// Stops everything a deleted rollout had: its ReplicaSets (and so its pods), its split and
    /// its experiments.
    func removeRollout(_ key: ResourceKey) async throws {
        for experiment in try observeExperiments(of: key) {
            let experimentKey = ResourceKey(kind: .experiment, namespace: key.namespace, name: experiment.name)
            _ = try await store.delete(experimentKey)
            try await removeExperiment(experimentKey)
        }
        for replicaSet in await platform.replicaSets(ofRollout: key.name, namespace: key.namespace) {
            try await platform.deleteReplicaSet(replicaSet.key)
        }
        for split in await platform.splits() where split.rollout == key.name && split.namespace == key.namespace {
            try await platform.deleteSplit(rootService: split.key)
        }
        await metrics.setRollout(namespace: key.namespace, name: key.name, facts: nil)
        await metrics.removeReconcileErrors(namespace: key.namespace, name: key.name)
        decodedRollouts.removeValue(forKey: key)
        resolvedRollouts.removeValue(forKey: key)
        decodedTemplates.removeValue(forKey: key)
        reportedFacts.removeValue(forKey: key)
        stepPluginFailures.removeValue(forKey: key)
    }

    /// Argo's step plugin calls for the rollout as stored (`StepPlugins.plan`), made one by one,
    /// and the rollout with the statuses they left; the events of phase changes; and how soon to
    /// look again when a plugin could not be asked (30 s, Argo's `handleError`, which also stops the
    /// calls after it). Without a runner, a plugin step says so once and waits.
    func callStepPlugins(
        of rollout: Rollout, key: ResourceKey, time: Date
    ) async -> (rollout: Rollout, events: [StoredEvent], retry: Double?) {
        var (statuses, calls) = StepPlugins.plan(rollout, now: time)
        var events: [StoredEvent] = []
        var failure: String?
        for call in calls {
            let outcome: StepPlugins.Outcome
            if let stepPlugins {
                outcome = await stepPlugins.perform(call, rollout: rollout)
            } else {
                outcome = .unavailable(
                    "step plugin \(call.name): this controller runs no step plugins of Argo's; run the daemon "
                        + "(aviary serve), which reads stepPlugins of argo-rollouts-config")
            }
            let recorded = StepPlugins.record(outcome, of: call, in: &statuses, now: time)
            if let event = recorded.event {
                events.append(
                    StoredEvent(
                        key: key, type: event.warning ? "Warning" : "Normal", reason: event.reason,
                        message: event.message, time: AviaryStore.timestamp(time)))
            }
            if let reason = recorded.retry {
                failure = reason
                break
            }
        }
        if let failure {
            let message = "Reconciliation failed with error: \(failure)"
            if stepPluginFailures[key] != message {
                stepPluginFailures[key] = message
                events.append(
                    StoredEvent(
                        key: key, type: "Warning", reason: "ReconciliationError", message: message,
                        time: AviaryStore.timestamp(time)))
                logger.warning("rollout \(key.namespace)/\(key.name): \(message)")
            }
        } else {
            stepPluginFailures.removeValue(forKey: key)
        }
        var updated = rollout
        if statuses != (rollout.status?.canary?.stepPluginStatuses ?? []) {
            var status = updated.status ?? RolloutStatus()
            var canary = status.canary ?? CanaryStatus()
            canary.stepPluginStatuses = statuses.isEmpty ? nil : statuses
            status.canary = canary
            updated.status = status
        }
        return (updated, events, failure == nil ? nil : StepPlugins.retrySeconds)
    }
}

/// The router did not take a new routing table; the reconcile is retried with backoff.
struct RoutesNotDelivered: Error, CustomStringConvertible {
    /// The Service whose selector or split changed.
    var service: String

    var description: String {
        "the router did not accept the new routes of service \(service); retrying (is `aviary router` running?)"
    }
}
