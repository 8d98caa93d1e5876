import Foundation
import Synchronization

/// A self-signed EC certificate and its key (CN aviary-test, valid to 2126), made once with
/// `openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:prime256v1 -nodes -days 36500`.
enum Fixtures {
    static let certificatePEM = """
        -----BEGIN CERTIFICATE-----
        MIIBgzCCASmgAwIBAgIULZC2tbPTiArW9zOvu0KLg+uVA8wwCgYIKoZIzj0EAwIw
        FjEUMBIGA1UEAwwLYXZpYXJ5LXRlc3QwIBcNMjYxMjAyMDMxMzA5WhgPMjEyNjEx
        MDgwMzEzMDlaMBYxFDASBgNVBAMMC2F2aWFyeS10ZXN0MFkwEwYHKoZIzj0CAQYI
        KoZIzj0DAQcDQgAEriYW2zOmpFH+z4o+g9pAqs4bn0JwsXI4E0IEPkJE6ORA02/J
        lsbziCHbGC4pfahHlmYpBZFplde24KDNyKqk96NTMFEwHQYDVR0OBBYEFJ3Pgj1d
        UIfBVSV//40jWp9kgss/MB8GA1UdIwQYMBaAFJ3Pgj1dUIfBVSV//40jWp9kgss/
        MA8GA1UdEwEB/wQFMAMBAf8wCgYIKoZIzj0EAwIDSAAwRQIgOiIYtxE0ke2qz7DQ
        0X/uz4sWxerpDEF54RzwDPLnxG8CIQDP3knYkKs0zyT5bdGH/6ElT/7utn09Mjdp
        vR2ULZ18RA==
        -----END CERTIFICATE-----
        """

    static let keyPEM = """
        -----BEGIN PRIVATE KEY-----
        MIGHAgEAMBMGByqGSM49AgEGCCqGSM49AwEHBG0wawIBAQQgZU40KKabnGCmgGzd
        JW9sBxESO32Mbr9f7WpIThuwaPahRANCAASuJhbbM6akUf7Pij6D2kCqzhufQnCx
        cjgTQgQ+QkTo5EDTb8mWxvOIIdsYLil9qEeWZikFkWmV17bgoM3IqqT3
        -----END PRIVATE KEY-----
        """
}

/// A directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        path = FileManager.default.temporaryDirectory.appendingPathComponent("aviary-k8s-\(UUID().uuidString)").path
        try? FileManager.default.createDirectory(atPath: path, withIntermediateDirectories: true)
    }

    /// Writes `text` to `name` inside the directory and returns the file's path.
    @discardableResult
    func write(_ name: String, _ text: String) throws -> String {
        let file = path + "/" + name
        try FileManager.default.createDirectory(
            atPath: (file as NSString).deletingLastPathComponent, withIntermediateDirectories: true)
        try text.write(toFile: file, atomically: true, encoding: .utf8)
        return file
    }

    func remove() { try? FileManager.default.removeItem(atPath: path) }
}

/// A clock that moves only when the test advances it; sleepers wake when their deadline is passed.
final class TestClock: Clock, Sendable {
    struct Instant: InstantProtocol {
        var offset: Duration
        func advanced(by duration: Duration) -> Instant { Instant(offset: offset + duration) }
        func duration(to other: Instant) -> Duration { other.offset - offset }
        static func < (lhs: Instant, rhs: Instant) -> Bool { lhs.offset < rhs.offset }
    }

    private struct Sleeper {
        var deadline: Instant
        var continuation: CheckedContinuation<Void, any Error>
    }

    private struct State {
        var now = Instant(offset: .zero)
        var sleepers: [Int: Sleeper] = [:]
        var nextID = 0
    }

    private let state = Mutex(State())

    var now: Instant { state.withLock { $0.now } }
    var minimumResolution: Duration { .zero }

    /// How many sleepers wait now.
    var sleeperCount: Int { state.withLock { $0.sleepers.count } }

    func sleep(until deadline: Instant, tolerance: Duration?) async throws {
        let id = state.withLock { state in
            defer { state.nextID += 1 }
            return state.nextID
        }
        try await withTaskCancellationHandler {
            try await withCheckedThrowingContinuation { (continuation: CheckedContinuation<Void, any Error>) in
                let resumeNow = state.withLock { state in
                    if deadline <= state.now || Task.isCancelled { return true }
                    state.sleepers[id] = Sleeper(deadline: deadline, continuation: continuation)
                    return false
                }
                if resumeNow { continuation.resume() }
            }
        } onCancel: {
            let sleeper = state.withLock { $0.sleepers.removeValue(forKey: id) }
            sleeper?.continuation.resume(throwing: CancellationError())
        }
        try Task.checkCancellation()
    }

    /// Moves time forward and wakes every sleeper whose deadline has passed.
    func advance(by duration: Duration) {
        let due = state.withLock { state in
            state.now = state.now.advanced(by: duration)
            let now = state.now
            let due = state.sleepers.filter { $0.value.deadline <= now }
            for id in due.keys { state.sleepers[id] = nil }
            return due.values.map(\.continuation)
        }
        for continuation in due { continuation.resume() }
    }
}

/// Polls `condition` every 20 ms until it holds or `seconds` pass; returns whether it held.
func eventually(within seconds: Double = 60, _ condition: () async throws -> Bool) async rethrows -> Bool {
    let deadline = Date().addingTimeInterval(seconds)
    while Date() < deadline {
        if try await condition() { return true }
        try? await Task.sleep(for: .milliseconds(20))
    }
    return try await condition()
}
