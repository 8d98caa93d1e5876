import AviaryModel
import Foundation

/// The reads the CLI verbs make, decoded into model values.
extension APIClient {
    /// A rollout with its status.
    public func rollout(_ name: String, namespace: String) async throws(Failure) -> Rollout {
        let data = try await send(.GET, Self.resourcePath(kind: "rollouts", name: name, namespace: namespace))
        return try Self.decode(Rollout.self, data, what: "rollout \"\(name)\"")
    }

    /// A rollout from the JSON the daemon sends (an answer or a line of a watch stream).
    public static func rollout(from data: Data) throws(Failure) -> Rollout {
        try decode(Rollout.self, data, what: "a rollout")
    }

    /// Every rollout of a namespace (of all namespaces when nil).
    public func rollouts(namespace: String?) async throws(Failure) -> [Rollout] {
        try await items(Rollout.self, kind: "rollouts", namespace: namespace)
    }

    /// Every AnalysisRun of a namespace (of all namespaces when nil); with `rollout`, only that
    /// rollout's (label `rollout`).
    public func analysisRuns(namespace: String?, rollout: String? = nil) async throws(Failure) -> [AnalysisRun] {
        let runs = try await items(AnalysisRun.self, kind: "analysisruns", namespace: namespace)
        return rollout.map { name in runs.filter { $0.metadata.labels?["rollout"] == name } } ?? runs
    }

    /// One AnalysisRun.
    public func analysisRun(_ name: String, namespace: String) async throws(Failure) -> AnalysisRun {
        let data = try await send(.GET, Self.resourcePath(kind: "analysisruns", name: name, namespace: namespace))
        return try Self.decode(AnalysisRun.self, data, what: "analysisrun \"\(name)\"")
    }

    /// Everything `get rollout` draws, read now.
    public func snapshot(of name: String, namespace: String) async throws(Failure) -> RolloutSnapshot {
        // The four reads go out together: one round trip of waiting instead of four.
        async let rolloutRead = rollout(name, namespace: namespace)
        async let replicaSetRead = send(.GET, "/api/v1/replicasets?rollout=\(name)&namespace=\(namespace)")
        async let podRead = send(.GET, "/api/v1/pods?rollout=\(name)")
        async let runRead = analysisRuns(namespace: namespace, rollout: name)
        let rollout: Rollout
        let replicaSetData: Data
        let podData: Data
        let runs: [AnalysisRun]
        do {
            (rollout, replicaSetData, podData, runs) = try await (rolloutRead, replicaSetRead, podRead, runRead)
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(status: nil, description: "\(error)")
        }
        let decoder = JSONDecoder()
        decoder.dateDecodingStrategy = .iso8601
        struct ReplicaSets: Decodable { var replicaSets: [ReplicaSetInfo] }
        let replicaSets: [ReplicaSetInfo]
        do {
            replicaSets = try decoder.decode(ReplicaSets.self, from: replicaSetData).replicaSets
        } catch {
            throw Failure(status: nil, description: "the daemon's replicasets answer cannot be read: \(error)")
        }
        let podObjects =
            ((try? JSONSerialization.jsonObject(with: podData)) as? [String: Any])?["pods"] as? [[String: Any]]
        let pods = (podObjects ?? []).filter { ($0["namespace"] as? String ?? namespace) == namespace }.map { pod in
            PodInfo(
                name: pod["name"] as? String ?? "", replicaSet: pod["replicaSet"] as? String ?? "",
                ready: pod["ready"] as? Bool ?? false, running: pod["pid"] != nil,
                restarts: pod["restarts"] as? Int ?? 0,
                createdAt: (pod["createdAt"] as? String).flatMap { Style.date($0) } ?? Date(),
                lastTermination: pod["lastTermination"] as? String, pid: pod["pid"] as? Int,
                address: pod["address"] as? String, image: pod["image"] as? String, node: pod["node"] as? String)
        }
        return RolloutSnapshot(rollout: rollout, replicaSets: replicaSets, pods: pods, analysisRuns: runs)
    }

    private func items<T: Decodable>(_ type: T.Type, kind: String, namespace: String?) async throws(Failure) -> [T] {
        let data = try await send(.GET, Self.resourcePath(kind: kind, namespace: namespace))
        return try Self.decode(ItemList<T>.self, data, what: kind).items
    }

    private static func decode<T: Decodable>(_ type: T.Type, _ data: Data, what: String) throws(Failure) -> T {
        do {
            return try JSONDecoder().decode(T.self, from: data)
        } catch {
            throw Failure(status: nil, description: "the daemon's answer for \(what) cannot be read: \(error)")
        }
    }
}

/// The daemon's list answer: `{"items": [...]}`.
struct ItemList<T: Decodable>: Decodable {
    var items: [T]
}
