import AviaryJSON
import Foundation

/// Stands in for the ReplicaSet controller and the kubelet: keeps each ReplicaSet's pods at
/// `spec.replicas` (pods named `NAME-xxxxx`, owned by the ReplicaSet, labelled from the
/// template), makes them Ready `--pod-ready-after` after creation (or crash-loop when told so
/// through the control API), and writes the ReplicaSet's status.
enum ReplicaSetSimulator {
    /// How often a crash-looping pod's restart count rises.
    static let restartInterval: Duration = .seconds(1)

    /// The timer's pass: the ReplicaSets written since the last pass, and those with a pod on its way
    /// to Ready or crash-looping (time alone changes them).
    static func tick(state: inout ClusterState, now: ContinuousClock.Instant) {
        state.simulation.changed.formUnion(state.simulation.inProgress)
        reconcileChanged(state: &state, now: now)
    }

    /// Brings each ReplicaSet written (or whose pods were) since the last pass to its replicas. A
    /// pass runs after every write; it looks only at what changed, so a write costs the same at
    /// 10,000 ReplicaSets as at one (a pass over every ReplicaSet and pod took 10,000 of each
    /// about a second of CPU).
    static func reconcileChanged(state: inout ClusterState, now: ContinuousClock.Instant) {
        guard !state.isSimulating else { return }
        state.isSimulating = true
        defer { state.isSimulating = false }
        while !state.simulation.changed.isEmpty {
            let batch = state.simulation.changed
            state.simulation.changed.removeAll()
            for key in batch.sorted() {
                guard let replicaSet = state.store.object(.replicaSets, key) else {
                    state.simulation.inProgress.remove(key)
                    continue
                }
                let uid = replicaSet[path: ["metadata", "uid"]]?.stringValue ?? ""
                let pods = (state.simulation.podsByOwnerUID[uid] ?? []).sorted().compactMap { podKey in
                    state.store.object(.pods, podKey).map { (podKey, $0) }
                }
                if reconcile(replicaSet, key: key, pods: pods, state: &state, now: now) {
                    state.simulation.inProgress.insert(key)
                } else {
                    state.simulation.inProgress.remove(key)
                }
            }
            // A ReplicaSet's own pass leaves it settled: the writes it made to its pods do not
            // need another.
            state.simulation.changed.subtract(batch)
        }
    }

    /// Brings one ReplicaSet's pods to its replicas; true while a pod is not Ready yet or crash-loops.
    private static func reconcile(
        _ replicaSet: JSONValue, key: ObjectKey, pods owned: [(ObjectKey, JSONValue)], state: inout ClusterState,
        now: ContinuousClock.Instant
    ) -> Bool {
        guard let uid = replicaSet[path: ["metadata", "uid"]]?.stringValue,
            replicaSet[path: ["metadata", "deletionTimestamp"]] == nil
        else { return false }
        let desired = Int(replicaSet[path: ["spec", "replicas"]]?.integerValue ?? 1)
        var pods = owned.filter { podKey, _ in podKey.namespace == key.namespace }
        if pods.count < desired {
            for _ in pods.count..<desired {
                if let created = createPod(for: replicaSet, key: key, uid: uid, state: &state) {
                    pods.append(created)
                }
            }
        } else if pods.count > desired {
            let surplus = pods.sorted { creation($0.1) > creation($1.1) }.prefix(pods.count - desired)
            for (podKey, _) in surplus { state.deleteStored(.pods, podKey) }
            let removed = Set(surplus.map(\.0))
            pods.removeAll { removed.contains($0.0) }
        }
        let isCrashLooping = state.crashLoopingReplicaSets.contains(key)
        var ready = 0
        for (podKey, pod) in pods {
            let updated = progress(pod, isCrashLooping: isCrashLooping, state: &state, now: now)
            if updated[path: ["status", "conditions"]]?.arrayValue?.contains(where: {
                $0["type"]?.stringValue == "Ready" && $0["status"]?.stringValue == "True"
            }) == true {
                ready += 1
            }
            if updated != pod { state.writeStored(.pods, podKey, object: updated) }
        }
        var status: JSONValue = .object(["replicas": .integer(Int64(pods.count))])
        if !pods.isEmpty { status["fullyLabeledReplicas"] = .integer(Int64(pods.count)) }
        if ready > 0 {
            status["readyReplicas"] = .integer(Int64(ready))
            status["availableReplicas"] = .integer(Int64(ready))
        }
        if let generation = replicaSet[path: ["metadata", "generation"]] { status["observedGeneration"] = generation }
        if replicaSet["status"] != status { state.setStatus(.replicaSets, key, status) }
        return isCrashLooping || ready < pods.count
    }

    private static func creation(_ pod: JSONValue) -> String {
        pod[path: ["metadata", "creationTimestamp"]]?.stringValue ?? ""
    }

    private static func createPod(
        for replicaSet: JSONValue, key: ObjectKey, uid: String, state: inout ClusterState
    ) -> (ObjectKey, JSONValue)? {
        let template = replicaSet[path: ["spec", "template"]] ?? .object([:])
        var metadata: JSONValue = .object([
            "name": .string("\(key.name)-\(state.randomSuffix())"),
            "generateName": .string("\(key.name)-"),
            "namespace": .string(key.namespace),
            "ownerReferences": .array([
                .object([
                    "apiVersion": .string("apps/v1"), "kind": .string("ReplicaSet"), "name": .string(key.name),
                    "uid": .string(uid), "controller": .bool(true), "blockOwnerDeletion": .bool(true),
                ])
            ]),
        ])
        if let labels = template[path: ["metadata", "labels"]] { metadata["labels"] = labels }
        if let annotations = template[path: ["metadata", "annotations"]] { metadata["annotations"] = annotations }
        var spec = template["spec"] ?? .object([:])
        spec["nodeName"] = .string("aviary-test-node")
        let pod: JSONValue = .object([
            "apiVersion": .string("v1"), "kind": .string("Pod"), "metadata": metadata, "spec": spec,
        ])
        guard let created = state.createStored(.pods, namespace: key.namespace, object: pod),
            let name = created[path: ["metadata", "name"]]?.stringValue,
            let podUID = created[path: ["metadata", "uid"]]?.stringValue
        else { return nil }
        state.podStartTimes[podUID] = .now
        return (ObjectKey(namespace: key.namespace, name: name), created)
    }

    /// The pod's status as the kubelet would report it by now.
    private static func progress(
        _ pod: JSONValue, isCrashLooping: Bool, state: inout ClusterState, now: ContinuousClock.Instant
    ) -> JSONValue {
        guard let uid = pod[path: ["metadata", "uid"]]?.stringValue else { return pod }
        let started = state.podStartTimes[uid] ?? now
        if state.podStartTimes[uid] == nil { state.podStartTimes[uid] = now }
        let containers = pod[path: ["spec", "containers"]]?.arrayValue ?? []
        let startTime = pod[path: ["metadata", "creationTimestamp"]] ?? .string(Timestamp.now())
        let podIP = "10.244.\(uid.utf8.reduce(0) { ($0 &+ Int($1)) % 250 }).\(uid.utf8.count % 250 + 2)"
        var updated = pod
        if isCrashLooping {
            let previous = pod[path: ["status", "containerStatuses"]]?.arrayValue?.first?["restartCount"]?.integerValue ?? 0
            let lastRestart = state.lastRestarts[uid] ?? started
            var restarts = previous
            if now - lastRestart >= restartInterval || previous == 0 {
                restarts += 1
                state.lastRestarts[uid] = now
            }
            updated["status"] = status(
                phase: "Running", isReady: false, startTime: startTime, podIP: podIP,
                containerStatuses: containers.map { container in
                    .object([
                        "name": container["name"] ?? .string(""), "image": container["image"] ?? .string(""),
                        "ready": .bool(false), "started": .bool(false), "restartCount": .integer(restarts),
                        "state": .object([
                            "waiting": .object([
                                "reason": .string("CrashLoopBackOff"),
                                "message": .string("back-off 10s restarting failed container"),
                            ])
                        ]),
                        "lastState": .object([
                            "terminated": .object(["exitCode": .integer(1), "reason": .string("Error")])
                        ]),
                    ])
                })
            return updated
        }
        let isReady = now - started >= state.podReadyAfter
        let restarts = pod[path: ["status", "containerStatuses"]]?.arrayValue?.first?["restartCount"] ?? .integer(0)
        let wasReady = pod[path: ["status", "phase"]]?.stringValue == "Running"
            && pod[path: ["status", "containerStatuses"]]?.arrayValue?.first?["ready"]?.boolValue == true
        if wasReady { return pod }
        updated["status"] = status(
            phase: isReady ? "Running" : "Pending", isReady: isReady, startTime: startTime, podIP: podIP,
            containerStatuses: containers.map { container in
                .object([
                    "name": container["name"] ?? .string(""), "image": container["image"] ?? .string(""),
                    "ready": .bool(isReady), "started": .bool(isReady), "restartCount": restarts,
                    "state": isReady
                        ? .object(["running": .object(["startedAt": startTime])])
                        : .object(["waiting": .object(["reason": .string("ContainerCreating")])]),
                ])
            })
        return updated
    }

    private static func status(
        phase: String, isReady: Bool, startTime: JSONValue, podIP: String, containerStatuses: [JSONValue]
    ) -> JSONValue {
        let readiness = JSONValue.string(isReady ? "True" : "False")
        let condition = { (type: String, value: JSONValue) -> JSONValue in
            .object(["type": .string(type), "status": value, "lastTransitionTime": startTime])
        }
        return .object([
            "phase": .string(phase),
            "conditions": .array([
                condition("PodScheduled", .string("True")), condition("Initialized", .string("True")),
                condition("ContainersReady", readiness), condition("Ready", readiness),
            ]),
            "hostIP": .string("10.0.0.1"), "podIP": .string(podIP),
            "qosClass": .string("BestEffort"), "startTime": startTime,
            "containerStatuses": .array(containerStatuses),
        ])
    }
}

/// The simulator's bookkeeping, kept with every committed write: the ReplicaSets it must look at
/// again, and the pods of each ReplicaSet by its uid (as the ReplicaSet controller finds them by
/// their controller reference).
struct SimulationIndex: Sendable {
    /// ReplicaSets written, or whose pods were, since the simulator's last pass.
    var changed: Set<ObjectKey> = []
    /// ReplicaSets with a pod not Ready yet or crash-looping: every tick looks at them again.
    var inProgress: Set<ObjectKey> = []
    /// Pod keys by the uid of their controlling owner.
    private(set) var podsByOwnerUID: [String: Set<ObjectKey>] = [:]

    mutating func note(_ record: WatchRecord) {
        if record.groupResource == .replicaSets {
            changed.insert(record.key)
        } else if record.groupResource == .pods {
            if let previous = record.previous.flatMap(Self.controller) {
                podsByOwnerUID[previous.uid]?.remove(record.key)
                if podsByOwnerUID[previous.uid]?.isEmpty == true { podsByOwnerUID[previous.uid] = nil }
                if let name = previous.replicaSet {
                    changed.insert(ObjectKey(namespace: record.key.namespace, name: name))
                }
            }
            if record.type != .deleted, let current = Self.controller(of: record.object) {
                podsByOwnerUID[current.uid, default: []].insert(record.key)
                if let name = current.replicaSet {
                    changed.insert(ObjectKey(namespace: record.key.namespace, name: name))
                }
            }
        }
    }

    /// The uid of a pod's controlling owner, and its name when that owner is a ReplicaSet.
    private static func controller(of pod: JSONValue) -> (uid: String, replicaSet: String?)? {
        for owner in pod[path: ["metadata", "ownerReferences"]]?.arrayValue ?? []
        where owner["controller"]?.boolValue == true {
            guard let uid = owner["uid"]?.stringValue else { continue }
            return (uid, owner["kind"]?.stringValue == "ReplicaSet" ? owner["name"]?.stringValue : nil)
        }
        return nil
    }
}
