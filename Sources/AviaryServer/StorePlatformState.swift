import AviaryLocal
import AviaryStore
import Foundation

/// Keeps the local platform's state (ReplicaSets, pods and their PIDs, services, the router's
/// process) in the daemon's SQLite store, so one file holds everything a restarted daemon needs
/// to adopt what is running.
struct StorePlatformState: PlatformStateStore {
    /// The key of the platform's pods, ReplicaSets and services.
    static let platformKey = "local-platform"
    /// The key of the router process.
    static let routerKey = "router"

    let store: AviaryStore
    let key: String

    func loadPlatformState() throws -> Data? {
        try store.platformValue(forKey: key)
    }

    func savePlatformState(_ data: Data) throws {
        try store.setPlatformValue(data, forKey: key)
    }
}
