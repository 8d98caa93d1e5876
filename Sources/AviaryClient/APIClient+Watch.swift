import AsyncHTTPClient
import AviaryAPI
import Foundation
import NIOCore
import NIOFoundationCompat

/// Following the daemon's watch streams (NDJSON: a resource object or `{"items": [...]}` per line, empty lines as heartbeats).
extension APIClient {
    /// The watch path of a rollout; `owned` also follows its AnalysisRuns, ReplicaSets and pods.
    public static func watchPath(
        rollout: String, namespace: String, owned: Bool, timeoutSeconds: Double? = nil
    )
        -> String
    {
        var path = "/api/v1/watch/rollouts/\(rollout)?namespace=\(namespace)"
        if owned { path += "&owned=true" }
        if let timeoutSeconds { path += "&timeoutSeconds=\(timeoutSeconds)" }
        return path
    }

    /// The watch path of every rollout of a namespace (all namespaces when nil).
    public static func watchPath(rolloutsIn namespace: String?) -> String {
        "/api/v1/watch/rollouts" + (namespace.map { "?namespace=\($0)" } ?? "")
    }

    /// Opens a watch stream and calls `onLine` with each non-empty line (without its newline) until the
    /// stream ends (nil), or `onLine` returns false (the returned value is that line's). A stream
    /// that cannot be opened, or an answer other than 2xx, is a `Failure`.
    public func follow(_ path: String, onLine: (Data) async -> Bool) async throws(Failure) -> Data? {
        if Self.refusesConnections(server) { throw Failure(status: nil, description: Self.notRunning(server)) }
        var request = HTTPClientRequest(url: server + path)
        if let token { request.headers.add(name: "Authorization", value: "Bearer \(token)") }
        do {
            // The daemon ends a stream after its own timeout (300 s by default); this one only
            // catches a daemon that stopped answering altogether.
            let response = try await HTTPClient.shared.execute(request, timeout: .hours(24))
            guard (200..<300).contains(Int(response.status.code)) else {
                let data = Data(buffer: try await response.body.collect(upTo: 1024 * 1024))
                let body = try? JSONDecoder().decode(ErrorBody.self, from: data)
                throw Failure(
                    status: Int(response.status.code),
                    description: body?.error ?? "HTTP \(response.status.code) from \(path)")
            }
            var pending = Data()
            for try await buffer in response.body {
                pending.append(contentsOf: buffer.readableBytesView)
                while let newline = pending.firstIndex(of: UInt8(ascii: "\n")) {
                    let line = Data(pending[pending.startIndex..<newline])
                    pending.removeSubrange(pending.startIndex...newline)
                    // Empty lines are the daemon's heartbeats.
                    if !line.isEmpty, !(await onLine(line)) { return line }
                }
            }
            return nil
        } catch let failure as Failure {
            throw failure
        } catch {
            throw Failure(status: nil, description: Self.notRunning(server) + " (\(error))")
        }
    }
}
