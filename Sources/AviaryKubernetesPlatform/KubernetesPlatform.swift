import AviaryJSON
import AviaryKubernetes
import AviaryPlatform
import AviaryStore
import Foundation
import Synchronization

import AviaryModel

/// The Kubernetes platform: the controller's `Platform` over an API server, as Argo's controller
/// does it. ReplicaSets (`apps/v1`) named `ROLLOUT-HASH` with the `rollouts-pod-template-hash`
/// label, a controller owner reference to the Rollout and Argo's annotations; Services' selectors
/// pinned by merge patch with the `managed-by-rollouts` annotation; SMI `TrafficSplit`s for a root
/// service. Reads come from informer caches; every write waits until its watch event is in the
/// cache, so the next reconcile sees it. Pod counts are the ReplicaSets' status (the cluster's
/// ReplicaSet controller writes it), so no reconcile lists pods.
public actor KubernetesPlatform: Platform {
    let client: KubernetesClient
    let resources: KubernetesResources
    let replicaSetCache: WatchedCache
    let podCache: WatchedCache
    let splitCache: WatchedCache
    let splitResource: GroupVersionResource
    let trafficVersions: TrafficResourceVersions
    /// AWS's load balancers, read to check ALB weights (Argo's `--aws-verify-target-group`); nil:
    /// not checked.
    let loadBalancers: (any ElasticLoadBalancing)?
    /// The target-group tag naming an Ingress's Service (Argo's `--alb-tag-key-resource-id`).
    let albResourceIDTag: String
    /// Argo's traffic router plugin binaries, called for a split whose router is one; nil: none run.
    let trafficRouterPlugins: (any TrafficRouterPlugins)?
    /// The splits written through routers other than SMI, by root service: their objects are the
    /// user's (an Ingress, a VirtualService, a route), so what the rollout last set is kept here.
    var providerSplits: [NamespacedName: TrafficSplit] = [:]
    let instanceID: String?
    private var changeHandler: (@Sendable () -> Void)?
    private let ownerChanged = Callback<ResourceKey>()
    /// What lets a resync skip a rollout or Service whose world did not change (see `ChangeStamps`).
    private let stamps = Mutex(ChangeStamps())

    /// The index of ReplicaSets by owning rollout (`namespace/name`).
    static let byRollout = "rollout"

    /// A platform on `client`'s cluster for the resources `resources` serves; SMI TrafficSplits in
    /// `smiVersion` (v1alpha1 ... v1alpha4, as Argo's `--smi-api-version`); ALB weights checked
    /// against `loadBalancers` when given; Argo's traffic router plugins through `trafficRouterPlugins`.
    public init(
        client: KubernetesClient, resources: KubernetesResources, namespace: String?, instanceID: String?,
        smiVersion: String = "v1alpha1", trafficVersions: TrafficResourceVersions = TrafficResourceVersions(),
        loadBalancers: (any ElasticLoadBalancing)? = nil,
        albResourceIDTag: String = ALBVerification.defaultResourceIDTag,
        trafficRouterPlugins: (any TrafficRouterPlugins)? = nil
    ) {
        self.trafficRouterPlugins = trafficRouterPlugins
        self.trafficVersions = trafficVersions
        self.loadBalancers = loadBalancers
        self.albResourceIDTag = albResourceIDTag
        self.client = client
        self.resources = resources
        self.instanceID = instanceID
        let hashLabel = podTemplateHashLabel
        replicaSetCache = WatchedCache(
            informer: Informer(
                client: client, resource: .replicaSets, namespace: namespace, labelSelector: hashLabel,
                indexers: [
                    Self.byRollout: { object in
                        object.metadata.ownerReferences?.filter { $0.kind == "Rollout" && $0.controller == true }
                            .map { "\(object.metadata.namespace ?? "")/\($0.name)" } ?? []
                    }
                ]))
        podCache = WatchedCache(
            informer: Informer(
                client: client, resource: .pods, namespace: namespace, labelSelector: hashLabel,
                transform: { $0.keeping(Self.podFieldsRead) }))
        splitResource = .trafficSplits(version: smiVersion)
        splitCache = WatchedCache(informer: Informer(client: client, resource: splitResource, namespace: namespace))
    }

    /// Sets what is told when something a rollout or an experiment observes changed (its
    /// ReplicaSets' counts, a rollout's split): the owner's key.
    public nonisolated func setOwnerChangeHandler(_ handler: @escaping @Sendable (ResourceKey) -> Void) {
        ownerChanged.set(handler)
    }

    /// Waits until the ReplicaSets and pods have been listed once (TrafficSplits are not waited
    /// for: a cluster without SMI's CRD serves no rollout with `smi` routing).
    public func waitForSync() async {
        await replicaSetCache.informer.waitForSync()
        await podCache.informer.waitForSync()
    }

    // MARK: ReplicaSetControl

    /// Creates the ReplicaSet `ROLLOUT-HASH` (owned by the rollout, selecting the rollout's
    /// selector plus the hash); an existing one gets the count and annotations of `replicaSet`.
    public func apply(_ replicaSet: ReplicaSet) async throws {
        if replicaSetCache.informer.object(forKey: replicaSet.key.cacheKey) != nil {
            try await update(replicaSet: replicaSet.key) { $0 = replicaSet }
            return
        }
        if replicaSet.ownerKind == .experiment {
            try await createExperimentReplicaSet(replicaSet)
            return
        }
        guard let rollout = resources.rolloutObject(namespace: replicaSet.namespace, name: replicaSet.rollout),
            let uid = rollout.metadata.uid
        else { throw RolloutNotCached(rollout: NamespacedName(namespace: replicaSet.namespace, name: replicaSet.rollout)) }
        let hash = replicaSet.podTemplateHash
        var template = try JSONValue(parsing: replicaSet.template)
        var templateLabels = template[path: "metadata", "labels"]?.objectValue ?? [:]
        templateLabels[podTemplateHashLabel] = .string(hash)
        for (name, value) in replicaSet.roleLabels { templateLabels[name] = .string(value) }
        template[path: "metadata", "labels"] = .object(templateLabels)
        Self.injectAntiAffinity(into: &template, rollout: rollout, hash: hash)
        // A Rollout with a workloadRef may have no selector: the Deployment's is used.
        let selector = rollout.json[path: "spec", "selector"] ?? resources.workloadSelector(of: rollout)
        var matchLabels = selector?["matchLabels"]?.objectValue ?? [:]
        matchLabels[podTemplateHashLabel] = .string(hash)
        var labels: [String: JSONValue] = replicaSet.labels.mapValues { .string($0) }
        labels[podTemplateHashLabel] = .string(hash)
        if let instanceID { labels[ArgoNames.controllerInstanceLabel] = .string(instanceID) }
        var annotations: [String: JSONValue] = [
            ArgoNames.revisionAnnotation: .string(String(replicaSet.revision)),
            ArgoNames.desiredReplicasAnnotation: .string(
                String(rollout.json[path: "spec", "replicas"]?.integerValue ?? 1)),
        ]
        if let deadline = replicaSet.scaleDownDeadline {
            annotations[ArgoNames.scaleDownDeadlineAnnotation] = .string(Self.timestamp(deadline))
        }
        if !replicaSet.roleLabels.isEmpty {
            annotations[ArgoNames.ephemeralMetadataAnnotation] = .string(Self.ephemeralMetadata(replicaSet.roleLabels))
        }
        let body: JSONValue = [
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": [
                "name": .string(replicaSet.name), "namespace": .string(replicaSet.namespace), "labels": .object(labels),
                "annotations": .object(annotations),
                "ownerReferences": [Self.rolloutOwnerReference(name: replicaSet.rollout, uid: uid)],
            ],
            "spec": [
                "replicas": .integer(Int64(replicaSet.replicas)),
                "minReadySeconds": .integer(Int64(replicaSet.minReadySeconds)),
                "selector": ["matchLabels": .object(matchLabels)], "template": template,
            ],
        ]
        try await create(replicaSet, body: body)
    }

    /// Creates the ReplicaSet `body` describes and waits for the cache to show it; one created
    /// meanwhile (the cache had not shown it yet) gets the count and annotations of `replicaSet`.
    private func create(_ replicaSet: ReplicaSet, body: JSONValue) async throws {
        do {
            let created = try await client.create(
                .replicaSets, namespace: replicaSet.namespace, try KubernetesObject(json: body))
            await replicaSetCache.waitUntilSeen(created)
        } catch let error as KubernetesError where error.isAlreadyExists {
            let existing = try await client.get(.replicaSets, namespace: replicaSet.namespace, name: replicaSet.name)
            await replicaSetCache.waitUntilSeen(existing)
            try await update(replicaSet: replicaSet.key) { $0 = replicaSet }
        }
    }

    /// `antiAffinity` of the rollout's strategy, as Argo injects it: a new ReplicaSet's pods avoid
    /// the nodes of the stable ReplicaSet's pods (`rollouts-pod-template-hash In [stable]`, topology
    /// `kubernetes.io/hostname`), preferred with the given weight or required; added to the pod
    /// template's own `affinity.podAntiAffinity`. Nothing when there is no other stable ReplicaSet.
    static func injectAntiAffinity(into template: inout JSONValue, rollout: KubernetesObject, hash: String) {
        let strategy = rollout.json[path: "spec", "strategy"]
        guard let antiAffinity = strategy?[path: "canary", "antiAffinity"] ?? strategy?[path: "blueGreen", "antiAffinity"],
            let stable = rollout.json[path: "status", "stableRS"]?.stringValue, !stable.isEmpty, stable != hash
        else { return }
        let term: JSONValue = [
            "labelSelector": [
                "matchExpressions": [["key": .string(podTemplateHashLabel), "operator": "In", "values": [.string(stable)]]]
            ],
            "topologyKey": "kubernetes.io/hostname",
        ]
        var podAntiAffinity = template[path: "spec", "affinity", "podAntiAffinity"]?.objectValue ?? [:]
        if let preferred = antiAffinity["preferredDuringSchedulingIgnoredDuringExecution"] {
            let weight = preferred["weight"]?.integerValue ?? 1
            let existing = podAntiAffinity["preferredDuringSchedulingIgnoredDuringExecution"]?.arrayValue ?? []
            podAntiAffinity["preferredDuringSchedulingIgnoredDuringExecution"] = .array(
                existing + [["weight": .integer(weight), "podAffinityTerm": term]])
        } else if antiAffinity["requiredDuringSchedulingIgnoredDuringExecution"] != nil {
            let existing = podAntiAffinity["requiredDuringSchedulingIgnoredDuringExecution"]?.arrayValue ?? []
            podAntiAffinity["requiredDuringSchedulingIgnoredDuringExecution"] = .array(existing + [term])
        } else {
            return
        }
        template[path: "spec", "affinity", "podAntiAffinity"] = .object(podAntiAffinity)
    }

    /// The pod template's `affinity` without the terms `injectAntiAffinity` adds (those that
    /// select by `rollouts-pod-template-hash`), emptied lists and objects dropped (`.null`); nil
    /// when it has no such term.
    static func affinityWithoutInjectedTerms(_ template: JSONValue) -> JSONValue? {
        guard let affinity = template[path: "spec", "affinity"]?.objectValue,
            var podAntiAffinity = affinity["podAntiAffinity"]?.objectValue
        else { return nil }
        func isInjected(_ term: JSONValue?) -> Bool {
            (term?[path: "labelSelector", "matchExpressions"]?.arrayValue ?? []).contains {
                $0["key"]?.stringValue == podTemplateHashLabel
            }
        }
        var removed = false
        for (field, termPath) in [
            ("preferredDuringSchedulingIgnoredDuringExecution", ["podAffinityTerm"]),
            ("requiredDuringSchedulingIgnoredDuringExecution", []),
        ] {
            guard let terms = podAntiAffinity[field]?.arrayValue else { continue }
            let kept = terms.filter { !isInjected(termPath.isEmpty ? $0 : $0[path: termPath]) }
            guard kept.count != terms.count else { continue }
            removed = true
            podAntiAffinity[field] = kept.isEmpty ? nil : .array(kept)
        }
        guard removed else { return nil }
        var result = affinity
        result["podAntiAffinity"] = podAntiAffinity.isEmpty ? nil : .object(podAntiAffinity)
        return result.isEmpty ? .null : .object(result)
    }

    public func removeInjectedAntiAffinity(replicaSet key: NamespacedName) async throws {
        guard let object = replicaSetCache.informer.object(forKey: key.cacheKey),
            let template = object.json[path: "spec", "template"],
            let affinity = Self.affinityWithoutInjectedTerms(template)
        else { return }
        // A JSON patch replaces the whole affinity: a merge patch would keep keys it does not name.
        let operation: JSONValue =
            affinity == .null
            ? ["op": "remove", "path": "/spec/template/spec/affinity"]
            : ["op": "replace", "path": "/spec/template/spec/affinity", "value": affinity]
        do {
            let patched = try await client.patch(
                .replicaSets, namespace: key.namespace, name: key.name, type: .json, body: [operation])
            await replicaSetCache.waitUntilSeen(patched)
        } catch {
            guard error.isNotFound else { throw error }
        }
    }

    /// Creates the ReplicaSet `EXPERIMENT-TEMPLATE` of an experiment's template, owned by the
    /// Experiment, with Argo's annotations and a selector of the template's labels and hash.
    func createExperimentReplicaSet(_ replicaSet: ReplicaSet) async throws {
        let experimentName = replicaSet.rollout
        guard let experiment = resources.experimentObject(namespace: replicaSet.namespace, name: experimentName),
            let uid = experiment.metadata.uid
        else { throw ExperimentNotCached(experiment: NamespacedName(namespace: replicaSet.namespace, name: experimentName)) }
        var template = try JSONValue(parsing: replicaSet.template)
        var templateLabels = template[path: "metadata", "labels"]?.objectValue ?? [:]
        templateLabels[podTemplateHashLabel] = .string(replicaSet.podTemplateHash)
        template[path: "metadata", "labels"] = .object(templateLabels)
        var labels: [String: JSONValue] = replicaSet.labels.mapValues { .string($0) }
        if let instanceID { labels[ArgoNames.controllerInstanceLabel] = .string(instanceID) }
        var annotations: [String: JSONValue] = [
            ArgoNames.experimentNameAnnotation: .string(experimentName),
            ArgoNames.experimentTemplateAnnotation: .string(String(replicaSet.name.dropFirst(experimentName.count + 1))),
        ]
        if let deadline = replicaSet.scaleDownDeadline {
            annotations[ArgoNames.scaleDownDeadlineAnnotation] = .string(Self.timestamp(deadline))
        }
        let body: JSONValue = [
            "apiVersion": "apps/v1", "kind": "ReplicaSet",
            "metadata": [
                "name": .string(replicaSet.name), "namespace": .string(replicaSet.namespace), "labels": .object(labels),
                "annotations": .object(annotations),
                "ownerReferences": [Self.ownerReference(kind: "Experiment", name: experimentName, uid: uid)],
            ],
            "spec": [
                "replicas": .integer(Int64(replicaSet.replicas)),
                "minReadySeconds": .integer(Int64(replicaSet.minReadySeconds)),
                "selector": ["matchLabels": .object(replicaSet.labels.mapValues { .string($0) })], "template": template,
            ],
        ]
        try await create(replicaSet, body: body)
    }

    @discardableResult
    public func scale(replicaSet: NamespacedName, to replicas: Int) async throws -> Bool {
        try await update(replicaSet: replicaSet) { $0.replicas = replicas }
    }

    /// Sends what `change` changed of the count, revision and scale-down deadline as one merge patch.
    @discardableResult
    public func update(replicaSet key: NamespacedName, _ change: (inout ReplicaSet) -> Void) async throws -> Bool {
        guard let object = replicaSetCache.informer.object(forKey: key.cacheKey) else { return false }
        let current = Self.replicaSet(object)
        var changed = current
        change(&changed)
        var metadata: [String: JSONValue] = [:]
        var annotations: [String: JSONValue] = [:]
        var spec: [String: JSONValue] = [:]
        if changed.replicas != current.replicas {
            spec["replicas"] = .integer(Int64(changed.replicas))
            if let rollout = resources.rolloutObject(namespace: key.namespace, name: current.rollout),
                let desired = rollout.json[path: "spec", "replicas"]?.integerValue
            {
                annotations[ArgoNames.desiredReplicasAnnotation] = .string(String(desired))
            }
        }
        if changed.revision != current.revision {
            annotations[ArgoNames.revisionAnnotation] = .string(String(changed.revision))
        }
        if changed.scaleDownDeadline != current.scaleDownDeadline {
            annotations[ArgoNames.scaleDownDeadlineAnnotation] =
                changed.scaleDownDeadline.map { JSONValue.string(Self.timestamp($0)) } ?? .null
        }
        if !annotations.isEmpty { metadata["annotations"] = .object(annotations) }
        guard !metadata.isEmpty || !spec.isEmpty else { return true }
        var body: JSONValue = [:]
        if !metadata.isEmpty { body["metadata"] = .object(metadata) }
        if !spec.isEmpty { body["spec"] = .object(spec) }
        do {
            let patched = try await client.patch(
                .replicaSets, namespace: key.namespace, name: key.name, type: .merge, body: body)
            await replicaSetCache.waitUntilSeen(patched)
        } catch {
            guard error.isNotFound else { throw error }
            return false
        }
        return true
    }

    /// Records the labels in Argo's `ephemeral-metadata` annotation and the template, and relabels
    /// the ReplicaSet's pods (as Argo does for `canaryMetadata`/`stableMetadata`).
    public func setRoleLabels(replicaSet key: NamespacedName, _ labels: [String: String]) async throws {
        guard let object = replicaSetCache.informer.object(forKey: key.cacheKey) else { return }
        let current = Self.replicaSet(object)
        guard current.roleLabels != labels else { return }
        var templateLabels: [String: JSONValue] = [:]
        for name in current.roleLabels.keys where labels[name] == nil { templateLabels[name] = .null }
        for (name, value) in labels { templateLabels[name] = .string(value) }
        let body: JSONValue = [
            "metadata": [
                "annotations": [
                    ArgoNames.ephemeralMetadataAnnotation: labels.isEmpty ? .null : .string(Self.ephemeralMetadata(labels))
                ]
            ],
            "spec": ["template": ["metadata": ["labels": .object(templateLabels)]]],
        ]
        let patched = try await client.patch(
            .replicaSets, namespace: key.namespace, name: key.name, type: .merge, body: body)
        for pod in podCache.informer.objects(index: StandardIndex.ownerUID, value: object.metadata.uid ?? "") {
            do {
                _ = try await client.patch(
                    .pods, namespace: key.namespace, name: pod.metadata.name ?? "", type: .merge,
                    body: ["metadata": ["labels": .object(templateLabels)]])
            } catch {
                guard error.isNotFound else { throw error }
                continue
            }
        }
        await replicaSetCache.waitUntilSeen(patched)
    }

    /// Deletes pods created before `before`, keeping at most `maxUnavailable` (at least 1) of the
    /// ReplicaSet's pods unavailable at a time; the ReplicaSet controller replaces them.
    @discardableResult
    public func restartPods(replicaSet key: NamespacedName, before: Date, maxUnavailable: Int) async throws -> Int {
        guard let object = replicaSetCache.informer.object(forKey: key.cacheKey) else { return 0 }
        let pods = podCache.informer.objects(index: StandardIndex.ownerUID, value: object.metadata.uid ?? "")
        let unavailable = pods.filter { !Self.isReady($0) }.count
        let budget = max(maxUnavailable, 1) - unavailable
        guard budget > 0 else { return 0 }
        let old = pods.filter { Self.date($0.metadata.creationTimestamp) < before }
            .sorted { ($0.metadata.creationTimestamp ?? "") < ($1.metadata.creationTimestamp ?? "") }
        var evicted = 0
        for pod in old.prefix(budget) {
            do {
                try await client.delete(.pods, namespace: key.namespace, name: pod.metadata.name ?? "")
                evicted += 1
            } catch {
                guard error.isNotFound else { throw error }
                continue
            }
        }
        return evicted
    }

    public func deleteReplicaSet(_ key: NamespacedName) async throws {
        do {
            try await client.delete(.replicaSets, namespace: key.namespace, name: key.name)
        } catch {
            guard error.isNotFound else { throw error }
            return
        }
        await replicaSetCache.waitUntilGone(key.cacheKey)
    }

    public func replicaSets() -> [ReplicaSet] {
        replicaSetCache.informer.list().map(Self.replicaSet).filter { !$0.rollout.isEmpty }.sorted { $0.name < $1.name }
    }

    public func replicaSets(ofRollout rollout: String, namespace: String) -> [ReplicaSet] {
        replicaSetCache.informer.objects(index: Self.byRollout, value: "\(namespace)/\(rollout)")
            .map(Self.replicaSet).sorted { $0.name < $1.name }
    }

    /// The ReplicaSet's `status`, as the cluster's ReplicaSet controller writes it.
    public func counts(of key: NamespacedName) -> ReplicaSetCounts {
        guard let object = replicaSetCache.informer.object(forKey: key.cacheKey) else {
            return ReplicaSetCounts(replicas: 0, ready: 0, available: 0)
        }
        return Self.counts(object)
    }

    // MARK: ServiceControl

    /// Pins the Service's selector by merge patch (only the selector and Argo's
    /// `managed-by-rollouts` annotation; the rest of the Service is the user's). A Service the
    /// cluster does not have is left alone: the user creates Services, the controller never does.
    public func apply(_ service: PlatformService) async throws {
        guard let object = resources.serviceInformer.object(forKey: service.key.cacheKey) else {
            if let experiment = service.experiment { try await createExperimentService(service, experiment: experiment) }
            return
        }
        let current = object.json[path: "spec", "selector"] ?? [:]
        let wanted: JSONValue = .object(service.selector.mapValues { .string($0) })
        var body: JSONValue = [:]
        if let change = MergePatch.diff(from: current, to: wanted) { body["spec"] = ["selector": change] }
        let manager = service.selector[podTemplateHashLabel].flatMap { rolloutOwning(hash: $0, namespace: service.namespace) }
        if let manager, object.metadata.annotations?[ArgoNames.managedByRolloutsAnnotation] != manager {
            body["metadata"] = ["annotations": [ArgoNames.managedByRolloutsAnnotation: .string(manager)]]
        }
        guard body != [:] else { return }
        let patched = try await client.patch(
            .services, namespace: service.namespace, name: service.name, type: .merge, body: body)
        await resources.serviceCache.waitUntilSeen(patched)
    }

    /// Unpins the Service (removes the hash from its selector and Argo's annotation); the Service
    /// itself is the user's and stays.
    public func deleteService(_ key: NamespacedName) async throws {
        if let object = resources.serviceInformer.object(forKey: key.cacheKey),
            object.metadata.ownerReferences?.contains(where: { $0.kind == "Experiment" }) == true
        {
            // An experiment template's Service is the controller's own: it goes with the template's pods.
            do {
                try await client.delete(.services, namespace: key.namespace, name: key.name)
            } catch {
                guard error.isNotFound else { throw error }
            }
            return
        }
        guard let object = resources.serviceInformer.object(forKey: key.cacheKey),
            object.json[path: "spec", "selector", podTemplateHashLabel] != nil
                || object.metadata.annotations?[ArgoNames.managedByRolloutsAnnotation] != nil
        else { return }
        let body: JSONValue = [
            "metadata": ["annotations": [ArgoNames.managedByRolloutsAnnotation: .null]],
            "spec": ["selector": [podTemplateHashLabel: .null]],
        ]
        do {
            let patched = try await client.patch(
                .services, namespace: key.namespace, name: key.name, type: .merge, body: body)
            await resources.serviceCache.waitUntilSeen(patched)
        } catch {
            guard error.isNotFound else { throw error }
            return
        }
    }

    /// Creates the Service of an experiment template (Argo's: owned by the Experiment, annotated with
    /// its name and the template's, one port to the container's port).
    func createExperimentService(_ service: PlatformService, experiment: String) async throws {
        guard let owner = resources.experimentObject(namespace: service.namespace, name: experiment),
            let uid = owner.metadata.uid
        else { throw ExperimentNotCached(experiment: NamespacedName(namespace: service.namespace, name: experiment)) }
        let annotations: [String: JSONValue] = [
            ArgoNames.experimentNameAnnotation: .string(experiment),
            ArgoNames.experimentTemplateAnnotation: .string(service.experimentTemplate ?? ""),
        ]
        let body: JSONValue = [
            "apiVersion": "v1", "kind": "Service",
            "metadata": [
                "name": .string(service.name), "namespace": .string(service.namespace),
                "annotations": .object(annotations),
                "ownerReferences": [Self.ownerReference(kind: "Experiment", name: experiment, uid: uid)],
            ],
            "spec": [
                "selector": .object(service.selector.mapValues { .string($0) }),
                "ports": [["protocol": "TCP", "port": .integer(Int64(service.port)), "targetPort": .integer(Int64(service.port))]],
            ],
        ]
        do {
            _ = try await client.create(.services, namespace: service.namespace, try KubernetesObject(json: body))
        } catch let error as KubernetesError where error.isAlreadyExists {
            return
        }
    }

    public func service(_ key: NamespacedName) -> PlatformService? {
        guard let object = resources.serviceInformer.object(forKey: key.cacheKey) else { return nil }
        var selector: [String: String] = [:]
        for (name, value) in object.json[path: "spec", "selector"]?.objectValue ?? [:] {
            if let value = value.stringValue { selector[name] = value }
        }
        return PlatformService(
            name: key.name, namespace: key.namespace,
            address: object.json[path: "spec", "clusterIP"]?.stringValue ?? "",
            port: Int(object.json[path: "spec", "ports"]?.arrayValue?.first?["port"]?.integerValue ?? 0),
            selector: selector)
    }

    /// Every Service in the informer's cache, with its ClusterIP as the address.
    public func services() -> [PlatformService] {
        resources.serviceInformer.list().compactMap { object -> PlatformService? in
            guard let name = object.metadata.name else { return nil }
            return service(NamespacedName(namespace: object.metadata.namespace ?? "default", name: name))
        }
        .sorted { ($0.namespace, $0.name) < ($1.namespace, $1.name) }
    }

    private func rolloutOwning(hash: String, namespace: String) -> String? {
        replicaSetCache.informer.objects(index: StandardIndex.namespace, value: namespace)
            .first { $0.metadata.labels?[podTemplateHashLabel] == hash }
            .flatMap { $0.metadata.ownerReferences?.first { $0.kind == "Rollout" }?.name }
    }

    // MARK: TrafficControl

    /// Gives the split to each of its routers in turn (`TrafficSplit.routers`: the one that keys it,
    /// then those named beside it), as Argo's controller drives every router named; a router that
    /// fails stops the ones after it. A split through a router other than SMI, or through several,
    /// is kept, and given again only when it changed.
    public func apply(_ split: TrafficSplit) async throws {
        let routers = split.routers
        let kept = split.provider != nil || routers.count > 1
        if kept { guard providerSplits[split.key] != split else { return } }
        for (provider, routerSplit) in routers {
            if let provider {
                try await applyThroughProvider(provider, routerSplit)
            } else {
                try await writeSMISplit(routerSplit)
            }
        }
        if kept { providerSplits[split.key] = split }
    }

    /// Writes the SMI TrafficSplit of the root service, named `smi.trafficSplitName` or else after
    /// the rollout (Argo's default): backends canary then stable, weights out of 100.
    private func writeSMISplit(_ split: TrafficSplit) async throws {
        let name = split.name ?? split.rollout ?? split.rootService
        let isQuantity = splitResource.version == "v1alpha1"
        func weight(_ value: Int) -> JSONValue { isQuantity ? .string(String(value)) : .integer(Int64(value)) }
        let spec: JSONValue = [
            "service": .string(split.rootService),
            // An experiment step's templates follow the stable backend, each with its share, which
            // Argo takes out of the stable one.
            "backends": .array(
                [
                    ["service": .string(split.canaryService), "weight": weight(split.canaryWeight)],
                    [
                        "service": .string(split.stableService),
                        "weight": weight(
                            100 - split.canaryWeight - (split.additionalBackends ?? []).reduce(0) { $0 + $1.weight }),
                    ],
                ]
                    + (split.additionalBackends ?? []).map {
                        ["service": .string($0.service), "weight": weight($0.weight)]
                    }),
        ]
        let routes = try Self.routesAnnotation(split)
        let existing = splitCache.informer.object(forKey: "\(split.namespace)/\(name)")
        if let existing {
            var body: JSONValue = [:]
            if existing.json["spec"] != spec { body["spec"] = spec }
            if existing.metadata.annotations?[ArgoNames.managedRoutesAnnotation] != routes {
                body["metadata"] = ["annotations": [ArgoNames.managedRoutesAnnotation: routes.map { JSONValue.string($0) } ?? .null]]
            }
            guard body != [:] else { return }
            let patched = try await client.patch(
                splitResource, namespace: split.namespace, name: name, type: .merge, body: body)
            await splitCache.waitUntilSeen(patched)
            return
        }
        var metadata: JSONValue = ["name": .string(name), "namespace": .string(split.namespace)]
        if let routes { metadata["annotations"] = [ArgoNames.managedRoutesAnnotation: .string(routes)] }
        if let rolloutName = split.rollout,
            let uid = resources.rolloutObject(namespace: split.namespace, name: rolloutName)?.metadata.uid
        {
            metadata["ownerReferences"] = [Self.rolloutOwnerReference(name: rolloutName, uid: uid)]
        }
        let body: JSONValue = [
            "apiVersion": .string("split.smi-spec.io/\(splitResource.version)"), "kind": "TrafficSplit",
            "metadata": metadata, "spec": spec,
        ]
        let created = try await client.create(splitResource, namespace: split.namespace, try KubernetesObject(json: body))
        await splitCache.waitUntilSeen(created)
    }

    public func deleteSplit(rootService: NamespacedName) async throws {
        // A router's objects are the user's, or owned by the rollout (the canary Ingress) and
        // collected with it.
        if let kept = providerSplits.removeValue(forKey: rootService), kept.provider != nil { return }
        guard let object = splitObject(rootService: rootService), let name = object.metadata.name else { return }
        do {
            try await client.delete(splitResource, namespace: rootService.namespace, name: name)
        } catch {
            guard error.isNotFound else { throw error }
            return
        }
        await splitCache.waitUntilGone(object.key)
    }

    public func split(rootService: NamespacedName) -> TrafficSplit? {
        providerSplits[rootService] ?? splitObject(rootService: rootService).flatMap(Self.split)
    }

    public func splits() -> [TrafficSplit] {
        // An SMI split kept for the routers beside it is the TrafficSplit object's.
        (splitCache.informer.list().compactMap(Self.split) + providerSplits.values.filter { $0.provider != nil })
            .sorted { $0.key < $1.key }
    }

    /// The mesh reads the TrafficSplit itself: once written, it is published.
    public func publishRoutes() async -> Bool { true }

    private func splitObject(rootService: NamespacedName) -> KubernetesObject? {
        splitCache.informer.objects(index: StandardIndex.namespace, value: rootService.namespace)
            .first { $0.json[path: "spec", "service"]?.stringValue == rootService.name }
    }

    // MARK: PodsAndDiscovery

    public func pods() -> [Pod] {
        podCache.informer.list().compactMap { object -> Pod? in
            guard let owner = object.metadata.ownerReferences?.first(where: { $0.kind == "ReplicaSet" }) else {
                return nil
            }
            let namespace = object.metadata.namespace ?? "default"
            let replicaSet = replicaSetCache.informer.object(forKey: "\(namespace)/\(owner.name)").map(Self.replicaSet)
            let container = object.json[path: "spec", "containers"]?.arrayValue?.first
            let containerStatus = object.json[path: "status", "containerStatuses"]?.arrayValue?.first
            let exitCode = containerStatus?[path: "lastState", "terminated", "exitCode"]?.integerValue
            return Pod(
                name: object.metadata.name ?? "", namespace: namespace, replicaSet: owner.name,
                rollout: replicaSet?.rollout ?? "", labels: object.metadata.labels ?? [:],
                image: container?["image"]?.stringValue ?? "",
                address: object.json[path: "status", "podIP"]?.stringValue ?? "",
                port: Int(container?["ports"]?.arrayValue?.first?["containerPort"]?.integerValue ?? 0), processID: nil,
                isReady: Self.isReady(object), restarts: Int(containerStatus?["restartCount"]?.integerValue ?? 0),
                lastTermination: exitCode.map { "exit \($0)" }, createdAt: Self.date(object.metadata.creationTimestamp))
        }.sorted { $0.name < $1.name }
    }

    /// Pod logs stay with the cluster (`kubectl logs`); the controller does not proxy them.
    public func log(of pod: NamespacedName) -> String { "" }

    /// On a cluster Prometheus finds pods with `kubernetes_sd_configs`: the daemon serves no targets.
    public func serviceDiscoveryJSON() -> Data { Data("[]".utf8) }

    // MARK: PlatformLifecycle

    public func setChangeHandler(_ handler: @escaping @Sendable () -> Void) {
        changeHandler = handler
    }

    /// Lists and watches ReplicaSets, pods and TrafficSplits until cancelled; a change of a
    /// ReplicaSet or TrafficSplit owned by a rollout tells that rollout. Every event also moves the
    /// change stamps.
    public func run(tickInterval: Duration) async {
        await withTaskGroup(of: Void.self) { group in
            for cache in [replicaSetCache, podCache, splitCache] {
                group.addTask { await cache.informer.run() }
            }
            // A Service the informer listed before this subscription has no stamp until its next
            // event, and until then is never skipped.
            let serviceEvents = resources.serviceInformer.events()
            group.addTask { [self] in
                for await event in serviceEvents { self.stamps.withLock { $0.serviceChanged(event.object.key) } }
            }
            for cache in [replicaSetCache, splitCache] {
                let isSplit = cache === splitCache
                group.addTask { [self] in
                    await cache.follow { event in
                        let object = event.object
                        let owner = object.metadata.ownerReferences?.first {
                            $0.kind == "Rollout" || $0.kind == "Experiment"
                        }
                        let namespace = object.metadata.namespace ?? "default"
                        self.stamps.withLock { stamps in
                            if isSplit {
                                stamps.routingChanged()
                            } else if let owner, owner.kind == "Rollout" {
                                stamps.rolloutChanged("\(namespace)/\(owner.name)")
                            }
                        }
                        guard let owner else { return }
                        self.ownerChanged(
                            ResourceKey(
                                kind: owner.kind == "Rollout" ? .rollout : .experiment, namespace: namespace,
                                name: owner.name))
                    }
                }
            }
            group.addTask { [self] in
                await podCache.follow { event in
                    guard let rollout = Self.rolloutKey(ofPod: event.object) else { return }
                    self.stamps.withLock { $0.rolloutChanged(rollout) }
                }
            }
        }
    }

    /// `namespace/rollout` of a pod of a rollout's ReplicaSet (named `ROLLOUT-HASH`, the hash being
    /// the pod's `rollouts-pod-template-hash`); nil for any other pod.
    static func rolloutKey(ofPod pod: KubernetesObject) -> String? {
        guard let hash = pod.metadata.labels?[podTemplateHashLabel], !hash.isEmpty,
            let owner = pod.metadata.ownerReferences?.first(where: { $0.kind == "ReplicaSet" }),
            owner.name.hasSuffix("-" + hash)
        else { return nil }
        return "\(pod.metadata.namespace ?? "default")/\(owner.name.dropLast(hash.count + 1))"
    }

    /// A number that grows whenever anything a reconcile of the rollout reads changed: one of its
    /// ReplicaSets or their pods, or any Service or TrafficSplit (a rollout reads several by name).
    /// Stamps move when the informer delivers the event, after its cache changed: a reconcile that
    /// reads the stamp and then the caches may see a change its stamp does not cover yet, and is
    /// looked at once more; it never records a stamp that covers a change it did not see.
    public func changeStamp(ofRollout rollout: String, namespace: String) -> Int? {
        stamps.withLock { $0.rollout("\(namespace)/\(rollout)") }
    }

    /// The Service's last event; nil for a Service the informer has not shown.
    public func changeStamp(ofService service: NamespacedName) -> Int? {
        stamps.withLock { $0.service(service.cacheKey) }
    }

    /// Pods belong to the cluster: a controller that stops leaves them running, as Argo's does.
    public func stopAllPods(grace: Double) async {}

    // MARK: Conversions

    static func replicaSet(_ object: KubernetesObject) -> ReplicaSet {
        let labels = object.metadata.labels ?? [:]
        let annotations = object.metadata.annotations ?? [:]
        let hash = labels[podTemplateHashLabel] ?? ""
        let owner = object.metadata.ownerReferences?.first { $0.kind == "Rollout" || $0.kind == "Experiment" }
        let rollout = owner?.name ?? ""
        let roleLabels = Self.roleLabels(annotations[ArgoNames.ephemeralMetadataAnnotation])
        var templateLabels: [String: String] = [:]
        for (name, value) in object.json[path: "spec", "template", "metadata", "labels"]?.objectValue ?? [:]
        where roleLabels[name] == nil {
            if let value = value.stringValue { templateLabels[name] = value }
        }
        var template = object.json[path: "spec", "template"] ?? [:]
        template[path: "metadata", "labels"] = .object(templateLabels.mapValues { .string($0) })
        var replicaSet = ReplicaSet(
            namespace: object.metadata.namespace ?? "default", rollout: rollout, podTemplateHash: hash,
            labels: templateLabels, template: template.serialized(),
            minReadySeconds: Int(object.json[path: "spec", "minReadySeconds"]?.integerValue ?? 0),
            replicas: Int(object.json[path: "spec", "replicas"]?.integerValue ?? 1),
            revision: Int(annotations[ArgoNames.revisionAnnotation] ?? "") ?? 0,
            createdAt: date(object.metadata.creationTimestamp))
        replicaSet.name = object.metadata.name ?? replicaSet.name
        if owner?.kind == "Experiment" { replicaSet.ownerKind = .experiment }
        replicaSet.roleLabels = roleLabels
        replicaSet.scaleDownDeadline = annotations[ArgoNames.scaleDownDeadlineAnnotation].flatMap(parseDate)
        return replicaSet
    }

    /// A controller owner reference to a rollout: what the ReplicaSets, TrafficSplits and canary
    /// Ingresses it makes carry, so that they are collected with it.
    static func rolloutOwnerReference(name: String, uid: String) -> JSONValue {
        ownerReference(kind: "Rollout", name: name, uid: uid)
    }

    /// A controller owner reference to an Argo object (a Rollout, an Experiment).
    static func ownerReference(kind: String, name: String, uid: String) -> JSONValue {
        [
            "apiVersion": "argoproj.io/v1alpha1", "kind": .string(kind), "name": .string(name), "uid": .string(uid),
            "controller": true, "blockOwnerDeletion": true,
        ]
    }

    static func counts(_ object: KubernetesObject) -> ReplicaSetCounts {
        ReplicaSetCounts(
            replicas: Int(object.json[path: "status", "replicas"]?.integerValue ?? 0),
            ready: Int(object.json[path: "status", "readyReplicas"]?.integerValue ?? 0),
            available: Int(object.json[path: "status", "availableReplicas"]?.integerValue ?? 0))
    }

    static func split(_ object: KubernetesObject) -> TrafficSplit? {
        guard let root = object.json[path: "spec", "service"]?.stringValue,
            let backends = object.json[path: "spec", "backends"]?.arrayValue, backends.count >= 2,
            let canary = backends[0]["service"]?.stringValue, let stable = backends[1]["service"]?.stringValue
        else { return nil }
        let weight = backends[0]["weight"]
        var split = TrafficSplit(
            namespace: object.metadata.namespace ?? "default", rootService: root, canaryService: canary,
            stableService: stable,
            canaryWeight: Int(weight?.integerValue ?? weight?.stringValue.flatMap { Int64($0) } ?? 0),
            rollout: object.metadata.ownerReferences?.first { $0.kind == "Rollout" }?.name, name: object.metadata.name)
        func weightValue(_ value: JSONValue?) -> Int {
            Int(value?.integerValue ?? value?.stringValue.flatMap { Int64($0) } ?? 0)
        }
        let additional = backends.dropFirst(2).compactMap { backend -> AdditionalBackend? in
            backend["service"]?.stringValue.map { AdditionalBackend(service: $0, weight: weightValue(backend["weight"])) }
        }
        split.additionalBackends = additional.isEmpty ? nil : additional
        if let text = object.metadata.annotations?[ArgoNames.managedRoutesAnnotation],
            let routes = try? JSONDecoder().decode(ManagedRoutes.self, from: Data(text.utf8))
        {
            split.headerRoutes = routes.headerRoutes
            split.mirrorRoutes = routes.mirrorRoutes
        }
        return split
    }

    private struct ManagedRoutes: Codable {
        var headerRoutes: [SetHeaderRoute]
        var mirrorRoutes: [SetMirrorRoute]
    }

    private static func routesAnnotation(_ split: TrafficSplit) throws -> String? {
        guard !split.headerRoutes.isEmpty || !split.mirrorRoutes.isEmpty else { return nil }
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(
            decoding: try encoder.encode(ManagedRoutes(headerRoutes: split.headerRoutes, mirrorRoutes: split.mirrorRoutes)),
            as: UTF8.self)
    }

    /// What the platform reads of a pod, the only part the pod cache keeps: a pod is counted, its
    /// labels set, its age and readiness judged and its view drawn, and nothing else. A pod in a
    /// real cluster carries far more (the whole container spec, volumes, every condition and
    /// container state), multiplied by every pod of every rollout.
    static let podFieldsRead: KeptFields = .members([
        "apiVersion": .all, "kind": .all,
        "metadata": .members([
            "name": .all, "namespace": .all, "uid": .all, "resourceVersion": .all, "labels": .all,
            "ownerReferences": .all, "creationTimestamp": .all, "deletionTimestamp": .all,
        ]),
        "spec": .members([
            "nodeName": .all,
            "containers": .members(["name": .all, "image": .all, "ports": .members(["containerPort": .all])]),
        ]),
        "status": .members([
            "phase": .all, "podIP": .all,
            "conditions": .members(["type": .all, "status": .all, "lastTransitionTime": .all]),
            "containerStatuses": .members([
                "ready": .all, "restartCount": .all,
                "lastState": .members(["terminated": .members(["exitCode": .all])]),
            ]),
        ]),
    ])

    static func isReady(_ pod: KubernetesObject) -> Bool {
        (pod.json[path: "status", "conditions"]?.arrayValue ?? []).contains {
            $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
        }
    }

    static func ephemeralMetadata(_ labels: [String: String]) -> String {
        let encoder = JSONEncoder()
        encoder.outputFormatting = .sortedKeys
        return String(decoding: (try? encoder.encode(["labels": labels])) ?? Data("{}".utf8), as: UTF8.self)
    }

    static func roleLabels(_ annotation: String?) -> [String: String] {
        guard let annotation,
            let metadata = try? JSONDecoder().decode([String: [String: String]].self, from: Data(annotation.utf8))
        else { return [:] }
        return metadata["labels"] ?? [:]
    }

    static func timestamp(_ date: Date) -> String {
        date.formatted(Date.ISO8601FormatStyle())
    }

    static func parseDate(_ text: String) -> Date? {
        try? Date.ISO8601FormatStyle().parse(text)
    }

    static func date(_ text: String?) -> Date {
        text.flatMap(parseDate) ?? Date(timeIntervalSince1970: 0)
    }
}

/// A ReplicaSet was to be created for a rollout the informer has not shown yet; the reconcile is retried.
struct RolloutNotCached: Error, CustomStringConvertible {
    var rollout: NamespacedName
    var description: String {
        "rollout \(rollout) is not in the informer cache yet, so its ReplicaSet cannot be owned by it; retrying"
    }
}

extension NamespacedName {
    /// The informer's key, `namespace/name`.
    var cacheKey: String { "\(namespace)/\(name)" }
}

/// An experiment's ReplicaSet or Service is made before the Experiment reached the informer cache.
struct ExperimentNotCached: Error, CustomStringConvertible {
    var experiment: NamespacedName
    var description: String {
        "experiment \(experiment) is not in the informer cache yet, so what it makes cannot be owned by it; retrying"
    }
}
