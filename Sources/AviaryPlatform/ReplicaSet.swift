import Foundation

/// The label that pins pods, ReplicaSets and Service selectors to one revision of a rollout.
public let podTemplateHashLabel = "rollouts-pod-template-hash"

/// What owns a ReplicaSet.
public enum ReplicaSetOwnerKind: String, Codable, Sendable, Hashable {
    /// A Rollout: the ReplicaSet is one of its revisions.
    case rollout = "Rollout"
    /// An Experiment: the ReplicaSet runs one of its templates.
    case experiment = "Experiment"
}

/// A ReplicaSet: one revision of a rollout (its pod template), or one template of an experiment,
/// and how many pods it should have.
public struct ReplicaSet: Codable, Sendable, Hashable {
    /// `<rollout>-<podTemplateHash>`, or `<experiment>-<template>`.
    public var name: String
    /// The namespace of its owner.
    public var namespace: String
    /// The owner's name: a rollout's, or an experiment's when `ownerKind` says so.
    public var rollout: String
    /// What `rollout` names.
    public var ownerKind: ReplicaSetOwnerKind
    /// The pod-template hash (the `rollouts-pod-template-hash` label).
    public var podTemplateHash: String
    /// The labels every pod gets: the template's labels and `rollouts-pod-template-hash`.
    public var labels: [String: String]
    /// Labels that follow its current role (`canaryMetadata`/`stableMetadata`), on top of `labels`.
    public var roleLabels: [String: String]
    /// The pod template it was made from, as JSON (for `undo` and the observed state).
    public var template: Data
    /// `minReadySeconds` of the owner: how long a pod must be ready before it counts as available.
    public var minReadySeconds: Int
    /// How many pods it should have.
    public var replicas: Int
    /// The `rollout.argoproj.io/revision` annotation.
    public var revision: Int
    /// The `scale-down-deadline` annotation: when it is due to be scaled to 0.
    public var scaleDownDeadline: Date?
    /// When it was created.
    public var createdAt: Date

    /// Creates a ReplicaSet; its name is `<rollout>-<podTemplateHash>`.
    public init(
        namespace: String = "default", rollout: String, podTemplateHash: String, labels: [String: String],
        template: Data = Data("{}".utf8), minReadySeconds: Int = 0, replicas: Int, revision: Int = 1,
        createdAt: Date = Date(timeIntervalSince1970: 0)
    ) {
        self.name = "\(rollout)-\(podTemplateHash)"
        self.namespace = namespace
        self.rollout = rollout
        self.podTemplateHash = podTemplateHash
        self.labels = labels.merging([podTemplateHashLabel: podTemplateHash]) { _, hash in hash }
        self.roleLabels = [:]
        self.template = template
        self.minReadySeconds = minReadySeconds
        self.replicas = replicas
        self.revision = revision
        self.scaleDownDeadline = nil
        self.createdAt = createdAt
        self.ownerKind = .rollout
    }

    /// Creates the ReplicaSet `<experiment>-<template>` of an experiment's template.
    public init(
        namespace: String, experiment: String, template templateName: String, podTemplateHash: String,
        labels: [String: String], template: Data, minReadySeconds: Int, replicas: Int, createdAt: Date
    ) {
        self.init(
            namespace: namespace, rollout: experiment, podTemplateHash: podTemplateHash, labels: labels,
            template: template, minReadySeconds: minReadySeconds, replicas: replicas, revision: 1, createdAt: createdAt)
        self.name = "\(experiment)-\(templateName)"
        self.ownerKind = .experiment
    }

    /// Its key.
    public var key: NamespacedName { NamespacedName(namespace: namespace, name: name) }

    /// The labels its pods have now: `labels` with `roleLabels` over them.
    public var podLabels: [String: String] { labels.merging(roleLabels) { _, role in role } }

    public init(from decoder: any Decoder) throws {
        let container = try decoder.container(keyedBy: CodingKeys.self)
        name = try container.decode(String.self, forKey: .name)
        namespace = try container.decode(String.self, forKey: .namespace)
        rollout = try container.decode(String.self, forKey: .rollout)
        ownerKind = try container.decodeIfPresent(ReplicaSetOwnerKind.self, forKey: .ownerKind) ?? .rollout
        podTemplateHash = try container.decode(String.self, forKey: .podTemplateHash)
        labels = try container.decode([String: String].self, forKey: .labels)
        roleLabels = try container.decode([String: String].self, forKey: .roleLabels)
        template = try container.decode(Data.self, forKey: .template)
        // A ReplicaSet the local platform saved before this field kept it in its pods' launch.
        minReadySeconds = try container.decodeIfPresent(Int.self, forKey: .minReadySeconds) ?? 0
        replicas = try container.decode(Int.self, forKey: .replicas)
        revision = try container.decode(Int.self, forKey: .revision)
        scaleDownDeadline = try container.decodeIfPresent(Date.self, forKey: .scaleDownDeadline)
        createdAt = try container.decode(Date.self, forKey: .createdAt)
    }
}

/// How many pods of a ReplicaSet exist, are ready, and are available.
public struct ReplicaSetCounts: Sendable, Equatable {
    /// Pods that exist (running or waiting to restart).
    public var replicas: Int
    /// Pods whose readiness says ready.
    public var ready: Int
    /// Pods ready for at least `minReadySeconds`.
    public var available: Int

    /// Creates counts.
    public init(replicas: Int, ready: Int, available: Int) {
        self.replicas = replicas
        self.ready = ready
        self.available = available
    }
}
