import AviaryJSON
import Foundation

/// The test-only endpoints under `/_double/`: they bypass the token check and injected faults.
///
/// - `POST /_double/drop-watches`: ends every open watch stream (no ERROR event).
/// - `POST /_double/faults` `{"status": 429, "retryAfterSeconds": 1, "count": 3}` or `{"hang": true}`;
///   `"request": "patch rollouts/status"` limits a status to requests of that verb and resource,
///   `"agent": "aviary"` to clients whose `User-Agent` starts so.
/// - `DELETE /_double/faults`: clears faults and answers the requests a hang held back.
/// - `POST /_double/compact`: every resourceVersion handed out so far becomes too old (410).
/// - `POST /_double/crashloop` `{"namespace": "ns", "replicaSet": "name"}`.
/// - `GET /_double/requests`: `{"counts": {"list rollouts": 2, "patch rollouts/status": 5, ...}}`,
///   every request to a resource since the start or the last `DELETE /_double/requests`, faulted
///   and held ones included.
/// - `GET /_double/healthz`.
enum ControlAPI {
    static func handle(_ request: APIRequest, server: APIServer) -> APIResponse {
        let cluster = server.cluster
        switch (request.method, request.path) {
        case ("GET", "/_double/healthz"):
            return .full(status: 200, headers: [("Content-Type", "text/plain")], body: Data("ok".utf8))
        case ("POST", "/_double/drop-watches"):
            let count = cluster.state.withLock { state in
                let count = state.hub.watchers.count
                state.hub.endAll()
                return count
            }
            return .json(.object(["dropped": .integer(Int64(count))]))
        case ("POST", "/_double/faults"):
            guard let body = try? JSONValue(parsing: request.body), body.objectValue != nil else {
                return badRequest(
                    "POST /_double/faults needs a JSON object such as {\"status\": 429, \"retryAfterSeconds\": 1, "
                        + "\"count\": 3} or {\"hang\": true}")
            }
            var fault = FaultInjection()
            fault.isHanging = body["hang"]?.boolValue ?? false
            fault.status = body["status"]?.integerValue.map { Int($0) }
            fault.retryAfterSeconds = body["retryAfterSeconds"]?.integerValue.map { Int($0) }
            fault.remaining = body["count"]?.integerValue.map { Int($0) }
            fault.onlyRequest = body["request"]?.stringValue
            fault.onlyAgent = body["agent"]?.stringValue
            if let status = fault.status, !(100...599).contains(status) {
                return badRequest("faults: \"status\" must be an HTTP status code between 100 and 599, not \(status)")
            }
            if fault.status == nil, !fault.isHanging {
                return badRequest("faults: give \"status\" (an HTTP status code) or \"hang\": true")
            }
            let held = cluster.state.withLock { state in
                let held = state.faults.heldRequests
                fault.heldRequests = fault.isHanging ? held : []
                state.faults = fault
                return fault.isHanging ? [] : held
            }
            for request in held { request() }
            return .json(.object(["ok": .bool(true)]))
        case ("DELETE", "/_double/faults"):
            let held = cluster.state.withLock { state in
                let held = state.faults.heldRequests
                state.faults = FaultInjection()
                return held
            }
            for request in held { request() }
            return .json(.object(["ok": .bool(true), "released": .integer(Int64(held.count))]))
        case ("GET", "/_double/requests"):
            let counts = cluster.state.withLock { $0.requestCounts }
            return .json(.object(["counts": .object(counts.mapValues { .integer(Int64($0)) })]))
        case ("DELETE", "/_double/requests"):
            cluster.state.withLock { $0.requestCounts = [:] }
            return .json(.object(["ok": .bool(true)]))
        case ("POST", "/_double/compact"):
            let version = cluster.state.withLock { state in
                state.store.compact()
                return state.store.currentResourceVersion
            }
            return .json(.object(["oldestValidResourceVersion": .string(String(version))]))
        case ("POST", "/_double/crashloop"):
            guard let body = try? JSONValue(parsing: request.body), let namespace = body["namespace"]?.stringValue,
                let replicaSet = body["replicaSet"]?.stringValue
            else {
                return badRequest(
                    "POST /_double/crashloop needs {\"namespace\": \"NS\", \"replicaSet\": \"NAME\"}")
            }
            let key = ObjectKey(namespace: namespace, name: replicaSet)
            cluster.state.withLock { state in
                state.crashLoopingReplicaSets.insert(key)
                state.simulation.changed.insert(key)
                ReplicaSetSimulator.reconcileChanged(state: &state, now: .now)
            }
            return .json(.object(["ok": .bool(true)]))
        default:
            return .json(
                StatusError(code: 404, reason: "NotFound", message: "no control endpoint \(request.method) \(request.path); "
                    + "see docs/kubernetes-test-apiserver.md for the control API").statusObject,
                status: 404)
        }
    }

    private static func badRequest(_ message: String) -> APIResponse {
        .error(.badRequest(message))
    }
}
