import AviaryCore
import AviaryMeta
import AviaryMetrics
import AviaryModel
import AviaryPlatform
import AviaryStore
import Foundation
import Logging

/// Runs the AnalysisRuns the rollouts ask for: resolves their templates from the store, drives
/// each with the `AnalysisRunner` (real Prometheus, web and job providers), and stores every
/// change (status and measurements) before the owning rollout is reconciled again.
public actor AnalysisCoordinator {
    let store: any ResourceStore
    let metrics: DaemonMetrics
    let runner: AnalysisRunner
    /// The secrets for `secretKeyRef` arguments, read when a run starts (edits apply to new runs):
    /// given the run's namespace and the Secrets its arguments name.
    let secrets: @Sendable (_ namespace: String, _ names: Set<String>) async -> SecretStore
    let logger: Logger
    private var handles: [ResourceKey: AnalysisRunHandle] = [:]
    private var rolloutChanged: (@Sendable (ResourceKey) -> Void)?

    /// Creates the coordinator; measurements are taken by `provider`, with the secrets `secrets`
    /// returns when a run starts.
    public init(
        store: any ResourceStore, metrics: DaemonMetrics, provider: any MeasurementProvider = MetricProviders(),
        secrets: @escaping @Sendable (_ namespace: String, _ names: Set<String>) async -> SecretStore = { _, _ in
            SecretStore()
        },
        logger: Logger = Logger(label: "aviary.analysis")
    ) {
        self.store = store
        self.metrics = metrics
        self.runner = AnalysisRunner(provider: provider)
        self.secrets = secrets
        self.logger = logger
    }

    /// Sets what is told when a run of a rollout or an experiment changed (the controller
    /// enqueues the owner).
    public func setRolloutChanged(_ handler: @escaping @Sendable (ResourceKey) -> Void) {
        rolloutChanged = handler
    }

    /// Drives again every stored run that has not completed (after a daemon restart).
    public func resumeStoredRuns() async throws {
        for stored in try store.resources(kind: .analysisRun, namespace: nil) where handles[stored.key] == nil {
            guard let run = try? JSONDecoder().decode(AnalysisRun.self, from: stored.objectJSON()),
                run.status?.phase?.isCompleted != true
            else { continue }
            await drive(run, key: stored.key)
        }
    }

    /// Creates the run a rollout asked for (once: an existing run is left alone) and starts it.
    /// A run whose templates cannot be resolved is stored as Error with the reason, which the
    /// rollout then sees as an analysis error (and aborts).
    func create(
        _ request: AnalysisRunRequest, rollout: Rollout, key: ResourceKey, time: Date
    ) async throws -> StoredEvent? {
        try await create(
            name: request.name, labels: request.labels, annotations: request.annotations, owner: key, time: time,
            references: request.templates.map {
                AnalysisTemplateRef(templateName: $0.templateName, clusterScope: $0.clusterScope)
            },
            dryRun: request.dryRun ?? [], measurementRetention: request.measurementRetention ?? []
        ) { () throws(AnalysisTemplateError) in
            try AnalysisTemplateResolver.resolveRolloutArguments(
                request.args,
                context: RolloutArgumentContext(
                    rollout: rollout, stableHash: rollout.status?.stableRS, latestHash: rollout.status?.currentPodHash))
        }
    }

    /// Creates the run an experiment asked for (once) and starts it; a run whose template cannot
    /// be resolved is stored as Error, which ends the experiment with that phase.
    func create(
        _ request: ExperimentAnalysisRunRequest, experiment key: ResourceKey, time: Date
    ) async throws -> StoredEvent? {
        try await create(
            name: request.name, labels: request.labels, annotations: request.annotations, owner: key, time: time,
            references: [request.template], dryRun: request.dryRun, measurementRetention: request.measurementRetention
        ) { () throws(AnalysisTemplateError) in request.args }
    }

    /// Builds the run `name` of `references` with the arguments `args` gives, stores it, and
    /// starts it; an event on `owner` says so. A template that is not there yet throws
    /// `MissingAnalysisTemplate` (the owner waits); any other failure is stored as an Error run.
    private func create(
        name: String, labels: [String: String], annotations: [String: String] = [:], owner key: ResourceKey,
        time: Date, references: [AnalysisTemplateRef], dryRun: [DryRun], measurementRetention: [MeasurementRetention],
        args: () throws(AnalysisTemplateError) -> [Argument]
    ) async throws -> StoredEvent? {
        let runKey = ResourceKey(kind: .analysisRun, namespace: key.namespace, name: name)
        if try store.resource(runKey) != nil { return nil }
        let catalog = AnalysisTemplateCatalog(
            templates: try decodeAll(AnalysisTemplate.self, kind: .analysisTemplate, namespace: key.namespace),
            clusterTemplates: try decodeAll(
                ClusterAnalysisTemplate.self, kind: .clusterAnalysisTemplate, namespace: nil))
        var run: AnalysisRun
        var failure: String?
        do {
            run = try AnalysisTemplateResolver.makeRun(
                name: name, namespace: key.namespace, references: references, args: try args(), catalog: catalog,
                labels: labels, dryRun: dryRun, measurementRetention: measurementRetention)
        } catch {
            // Argo's controller waits for a template that is not there yet; so does the rollout.
            if error.isMissingTemplate { throw MissingAnalysisTemplate(description: error.message) }
            failure = error.message
            var metadata = ObjectMeta()
            metadata.name = name
            metadata.namespace = key.namespace
            metadata.labels = labels
            run = AnalysisRun(metadata: metadata, spec: AnalysisRunSpec(metrics: []))
            var status = AnalysisRunStatus()
            status.phase = .error
            status.message = error.message
            run.status = status
        }
        if !annotations.isEmpty {
            run.metadata.annotations = (run.metadata.annotations ?? [:]).merging(annotations) { _, given in given }
        }
        let (stored, _) = try await store.apply(try JSONEncoder().encode(run))
        // On a cluster the API server gives the run its uid, which a job metric's Job is owned by.
        run.metadata.uid = (try? JSONDecoder().decode(ObjectMeta.self, from: stored.metadata))?.uid
        if let status = run.status {
            _ = try await store.updateStatus(
                stored.key, status: try JSONEncoder().encode(status), events: [], expectedResourceVersion: nil)
        }
        if failure == nil { await drive(run, key: runKey) }
        return StoredEvent(
            key: key, type: failure == nil ? "Normal" : "Warning",
            reason: failure == nil ? "AnalysisRunRunning" : "AnalysisRunError",
            message: failure.map { "AnalysisRun \(name): \($0)" } ?? "AnalysisRun \(name) created",
            time: AviaryStore.timestamp(time))
    }

    /// Asks a run to stop (`spec.terminate`).
    func terminate(name: String, namespace: String) async throws {
        let runKey = ResourceKey(kind: .analysisRun, namespace: namespace, name: name)
        handles[runKey]?.terminate()
        try await store.setTerminate(runKey)
    }

    /// Stops driving a run and deletes it with its measurements.
    func delete(name: String, namespace: String) async throws {
        let runKey = ResourceKey(kind: .analysisRun, namespace: namespace, name: name)
        handles.removeValue(forKey: runKey)?.cancel()
        _ = try await store.delete(runKey)
        await metrics.removeAnalysisRun(namespace: namespace, run: name)
    }

    /// How many runs it holds a handle of, which is how many are running (for `GET /debug/memory`).
    var handleCount: Int { handles.count }

    /// Stops driving every run (shutdown); their stored state is resumed by the next daemon.
    public func cancelAll() {
        for handle in handles.values { handle.cancel() }
        handles.removeAll()
    }

    private func decodeAll<T: Decodable>(_ type: T.Type, kind: ResourceKind, namespace: String?) throws -> [T] {
        try store.resources(kind: kind, namespace: namespace).compactMap {
            try? JSONDecoder().decode(T.self, from: $0.objectJSON())
        }
    }

    private func drive(_ run: AnalysisRun, key: ResourceKey) async {
        let names = Set((run.spec.args ?? []).compactMap { $0.valueFrom?.secretKeyRef?.name })
        let secrets = await self.secrets(key.namespace, names)
        // Another call may have started it while the secrets were read.
        guard handles[key] == nil else { return }
        let store = self.store
        let metrics = self.metrics
        let logger = self.logger
        // The owner to tell of each change: a rollout, or an experiment.
        let owner: ResourceKey? =
            run.metadata.labels?["rollout"].map { ResourceKey(kind: .rollout, namespace: key.namespace, name: $0) }
            ?? run.metadata.labels?["experiment"].map {
                ResourceKey(kind: .experiment, namespace: key.namespace, name: $0)
            }
        let notify = rolloutChanged
        var runner = self.runner
        runner.secrets = secrets
        let handle = runner.start(run) { update in
            do {
                // The measurement and the metrics first: once the store says the run is done, the
                // controller may delete it (history limits) with its measurements and metric
                // phases; a row or a phase written after that would stay for good.
                if case .measured(let metric, let measurement) = update.event {
                    try await store.record([
                        StoredMeasurement(
                            analysisRun: key, metric: metric, measurement: try JSONEncoder().encode(measurement))
                    ])
                }
                if let status = update.run.status {
                    for result in status.metricResults ?? [] {
                        await metrics.setMetricPhase(
                            namespace: key.namespace, run: key.name, metric: result.name, phase: result.phase.rawValue)
                    }
                    _ = try await store.updateStatus(
                        key, status: try JSONEncoder().encode(status), events: [], expectedResourceVersion: nil)
                }
            } catch {
                logger.error("cannot store AnalysisRun \(key.name): \(error)")
            }
            // A completed run needs no handle; holding it would keep its finished task, with the
            // task's stack slabs (about 50 kB), until the history limits delete the run.
            if case .completed = update.event { await self.release(key) }
            if let owner { notify?(owner) }
        }
        handles[key] = handle
    }

    /// Forgets the handle of a run that completed.
    private func release(_ key: ResourceKey) {
        handles[key] = nil
    }
}

/// A rollout's analysis names a template that is not applied (yet): the rollout waits for it.
struct MissingAnalysisTemplate: BlockedAction {
    var description: String
    var reason: String { "AnalysisTemplateNotFound" }
}
