import AviaryAPI
import AviaryMeta
import AviaryModel
import AviaryPlatform
import AviaryStore
import Foundation
import Hummingbird
import NIOCore
import ServiceLifecycle

/// The watch streams (`GET /api/v1/watch/...`): NDJSON, one line when the stream opens and one
/// each time what it follows changes. A stream sleeps until the store commits a write (any
/// write wakes it; it then re-reads what it follows and sends a line only if that changed), so a
/// change reaches the client without polling.
enum Watch {
    /// What a watch follows, read afresh after each write: the line to send and a fingerprint that
    /// differs exactly when the subject (or what it owns) changed. nil ends the stream (deleted).
    typealias Read = @Sendable () async throws -> (line: Data, fingerprint: String)?

    /// How long a stream sleeps without a store write before it looks again: a pod's restart count
    /// and PID live in the platform's memory and reach the store only with its other changes.
    static let recheck: Duration = .seconds(2)

    /// The response body: lines until `read` returns nil, `timeout` seconds have passed, the
    /// client has gone or the daemon shuts down. An empty line goes out after `recheck` without
    /// a change: writing is how a stream learns that its client has gone, and a daemon that is
    /// shutting down waits for its open streams.
    static func body(changes: StoreChanges, timeout: Double, read: @escaping Read) -> ResponseBody {
        ResponseBody { writer in
            try await withGracefulShutdownHandler {
                try await stream(
                    changes: changes, timeout: timeout, read: read,
                    write: { line in try await writer.write(ByteBuffer(bytes: line + [UInt8(ascii: "\n")])) },
                    heartbeat: { try await writer.write(ByteBuffer(string: "\n")) })
            } onGracefulShutdown: {
                // Wakes every stream; each sees the shutdown and ends.
                changes.notify()
            }
            try await writer.finish(nil)
        }
    }

    /// Calls `write` with the first line and then with each changed one (and `heartbeat` after
    /// each `recheck` without one), until `read` returns nil, `timeout` seconds have passed, the
    /// task is cancelled or the daemon shuts down.
    static func stream(
        changes: StoreChanges, timeout: Double, read: Read, write: (Data) async throws -> Void,
        heartbeat: () async throws -> Void = {}
    ) async throws {
        let deadline = ContinuousClock.now + .milliseconds(Int64(max(0, timeout) * 1000))
        var lastFingerprint: String?
        var lastWrite = ContinuousClock.now
        while !Task.isCancelled && !Task.isShuttingDownGracefully {
            // The count is taken before reading, so a write during the read wakes the next wait.
            let seen = changes.count
            guard let (line, fingerprint) = try await read() else { return }
            if fingerprint != lastFingerprint {
                lastFingerprint = fingerprint
                try await write(line)
                lastWrite = ContinuousClock.now
            } else if ContinuousClock.now - lastWrite >= recheck {
                try await heartbeat()
                lastWrite = ContinuousClock.now
            }
            let remaining = deadline - ContinuousClock.now
            if remaining <= .zero { return }
            await changes.wait(after: seen, timeout: min(remaining, recheck))
        }
    }

    /// One resource: a line (the object) per write of it.
    static func resource(_ key: ResourceKey, store: any ResourceStore) -> Read {
        {
            guard let resource = try store.resource(key) else { return nil }
            return (resource.objectJSON(), String(resource.resourceVersion))
        }
    }

    /// A rollout or an experiment and what it owns: a line (the owner) whenever it, one of its
    /// AnalysisRuns (label `rollout` or `experiment`), ReplicaSets or pods changed, so `get rollout
    /// --watch` and `get experiment --watch` know when to read their whole view again.
    static func withOwned(_ key: ResourceKey, store: any ResourceStore, platform: any Platform) -> Read {
        let ownerKind: ReplicaSetOwnerKind = key.kind == .experiment ? .experiment : .rollout
        let label = key.kind == .experiment ? "experiment" : "rollout"
        return {
            guard let owner = try store.resource(key) else { return nil }
            var parts = ["\(label):\(owner.resourceVersion)"]
            for run in try store.resources(kind: .analysisRun, namespace: key.namespace)
            where labels(of: run)[label] == key.name {
                parts.append("run:\(run.key.name):\(run.resourceVersion)")
            }
            var replicaSets: Set<String> = []
            for replicaSet in await platform.replicaSets()
            where replicaSet.ownerKind == ownerKind && replicaSet.rollout == key.name
                && replicaSet.namespace == key.namespace
            {
                replicaSets.insert(replicaSet.name)
                let deadline = replicaSet.scaleDownDeadline.map { AviaryStore.timestamp($0) } ?? "-"
                parts.append("rs:\(replicaSet.name):\(replicaSet.replicas):\(deadline)")
            }
            for pod in await platform.pods()
            where replicaSets.contains(pod.replicaSet) && pod.namespace == key.namespace {
                let pid = pod.processID.map { String($0) } ?? "-"
                parts.append("pod:\(pod.name):\(pod.isReady):\(pod.restarts):\(pid):\(pod.lastTermination ?? "-")")
            }
            return (owner.objectJSON(), parts.joined(separator: ","))
        }
    }

    /// Every resource of a kind in a namespace (all namespaces when nil): a line `{"items": [...]}`
    /// whenever one of them is written, created or deleted. Never ends on its own.
    static func list(kind: ResourceKind, namespace: String?, store: any ResourceStore) -> Read {
        {
            let resources = try store.resources(kind: kind, namespace: namespace)
            // Written from the stored JSON, as the listing is: no `[String: Any]` per resource.
            var line = Array(#"{"items":["#.utf8)
            for (index, resource) in resources.enumerated() {
                if index > 0 { line.append(UInt8(ascii: ",")) }
                resource.appendObjectJSON(to: &line)
            }
            line.append(contentsOf: "]}".utf8)
            return (Data(line), resources.map { "\($0.key):\($0.resourceVersion)" }.joined(separator: ","))
        }
    }

    /// `GET /api/v1/watch/{kind}/{name}`: the stream ends when the resource is deleted or after
    /// `timeoutSeconds` (default 300); `owned=true` on a rollout or an experiment also follows its
    /// AnalysisRuns, ReplicaSets and pods. `changes` wakes the stream when `store` may have changed.
    static func resourceResponse(
        _ request: Request, _ context: BasicRequestContext, store: any ResourceStore, changes: StoreChanges,
        platform: any Platform
    ) -> Response {
        let query = request.uri.queryParameters
        let namespace = query.get("namespace") ?? "default"
        let timeout = Double(query.get("timeoutSeconds") ?? "") ?? 300
        let name = context.parameters.get("name") ?? ""
        let key: ResourceKey
        do {
            key = ResourceKey(
                kind: try ResourceKind(named: context.parameters.get("kind") ?? ""), namespace: namespace, name: name
            )
            guard try store.resource(key) != nil else {
                throw APIError.notFound(key.kind, name: name, namespace: namespace)
            }
        } catch {
            return errorResponse(error)
        }
        let read =
            (key.kind == .rollout || key.kind == .experiment) && query.get("owned") == "true"
            ? withOwned(key, store: store, platform: platform) : resource(key, store: store)
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"],
            body: body(changes: changes, timeout: timeout, read: read))
    }

    /// `GET /api/v1/watch/{kind}`: `{"items": [...]}` per change of any resource of the kind; no
    /// `namespace` means all.
    static func listResponse(
        _ request: Request, _ context: BasicRequestContext, store: any ResourceStore, changes: StoreChanges
    ) -> Response {
        let query = request.uri.queryParameters
        let kind: ResourceKind
        do {
            kind = try ResourceKind(named: context.parameters.get("kind") ?? "")
        } catch {
            return errorResponse(error)
        }
        return Response(
            status: .ok, headers: [.contentType: "application/x-ndjson"],
            body: body(
                changes: changes, timeout: Double(query.get("timeoutSeconds") ?? "") ?? 300,
                read: list(kind: kind, namespace: query.get("namespace"), store: store)))
    }

    static func labels(of resource: StoredResource) -> [String: String] {
        (try? JSONDecoder().decode(ObjectMeta.self, from: resource.metadata))?.labels ?? [:]
    }
}
