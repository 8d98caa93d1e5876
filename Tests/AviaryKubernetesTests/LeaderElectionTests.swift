import Foundation
import Synchronization
import Testing

@testable import AviaryKubernetes

/// One `aviary-lease-holder` process: a replica of a leader-elected loop.
final class Replica {
    let identity: String
    let process = Process()
    let outputFile: String
    /// When the test killed it with SIGKILL (its leadership ends there).
    var killedAt: Double?

    init(identity: String, server: String, lease: String = "aviary-test") throws {
        self.identity = identity
        outputFile =
            FileManager.default.temporaryDirectory.appendingPathComponent(
                "aviary-lease-\(identity)-\(UUID().uuidString)"
            ).path
        _ = FileManager.default.createFile(atPath: outputFile, contents: nil)
        let output = try FileHandle(forWritingTo: URL(fileURLWithPath: outputFile))
        process.executableURL = URL(fileURLWithPath: builtProductsDirectory() + "/aviary-lease-holder")
        // Lease 3 s, renew deadline 2 s, retry period 0.5 s.
        process.arguments = [server, "default", lease, identity, "3", "2", "0.5"]
        process.standardOutput = output
        process.standardError = output
        try process.run()
        try? output.close()
    }

    /// The lines printed so far: (word, time).
    var lines: [(String, Double)] {
        let text = (try? String(contentsOfFile: outputFile, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap { line in
            let parts = line.split(separator: " ")
            guard parts.count == 3, let time = Double(parts[2]) else { return nil }
            return (String(parts[0]), time)
        }
    }

    /// Whether the replica's own view is that it leads.
    var isLeading: Bool { killedAt == nil && lines.last(where: { $0.0 != "exiting" })?.0 == "leading" }

    /// The periods during which it led, by its own lines (a SIGKILL ends one at the kill).
    var leadingIntervals: [ClosedRange<Double>] {
        var intervals: [ClosedRange<Double>] = []
        var start: Double?
        for (word, time) in lines {
            if word == "leading" { start = time }
            if word == "stopped", let begun = start {
                intervals.append(begun...time)
                start = nil
            }
        }
        if let start { intervals.append(start...(killedAt ?? Date().timeIntervalSince1970)) }
        return intervals
    }

    func signal(_ signal: Int32) {
        if signal == SIGKILL { killedAt = Date().timeIntervalSince1970 }
        kill(process.processIdentifier, signal)
    }

    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
        try? FileManager.default.removeItem(atPath: outputFile)
    }
}

@Suite(.serialized) struct LeaderElectionTests {
    /// Two replicas: one leader at a time; after `kill -9` of the leader the other takes over once the lease
    /// has expired; after SIGTERM the leader releases the Lease and the other takes over at once.
    @Test func oneLeaderTakeoverAfterKillAndReleaseOnTerm() async throws {
        let server = try APIServerDouble()
        defer { server.stop() }
        let client = try server.client()
        defer { Task { [client] in try? await client.shutdown() } }
        let a = try Replica(identity: "a", server: server.url)
        defer { a.stop() }
        let b = try Replica(identity: "b", server: server.url)
        defer { b.stop() }
        var replicas = [a, b]
        var samples = 0
        var violations: [String] = []

        /// Samples the Lease and every replica's own view; at most one may lead, and a leading replica must
        /// be the Lease's holder.
        func sample() async throws {
            let leading = replicas.filter(\.isLeading).map(\.identity)
            let lease = try? await client.get(Lease.resource, namespace: "default", name: "aviary-test").decoded(
                as: Lease.self)
            let leadingAfter = replicas.filter(\.isLeading).map(\.identity)
            samples += 1
            if leading.count > 1 { violations.append("both lead: \(leading)") }
            // A replica that led before and after reading the Lease must be its holder.
            for identity in Set(leading).intersection(leadingAfter) where lease?.spec.holderIdentity != identity {
                violations.append("\(identity) leads but the Lease holder is \(lease?.spec.holderIdentity ?? "nobody")")
            }
        }

        func waitFor(_ seconds: Double, _ condition: () -> Bool) async throws -> Bool {
            let deadline = Date().addingTimeInterval(seconds)
            while Date() < deadline {
                try await sample()
                if condition() { return true }
                try await Task.sleep(for: .milliseconds(50))
            }
            return condition()
        }

        try #require(try await waitFor(60) { replicas.filter(\.isLeading).count == 1 }, "a leader is elected")
        // A steady stretch under one leader is sampled whatever the machine's speed, so the check
        // below has looked often enough (the waits alone sample less on a loaded machine).
        for _ in 0..<40 {
            try await sample()
            try await Task.sleep(for: .milliseconds(25))
        }
        // Both stay put for a few renewals.
        _ = try await waitFor(2) { false }
        let leaders = replicas.filter { $0.isLeading }
        try #require(leaders.count == 1)
        let first = leaders[0]
        let second = first === a ? b : a
        #expect(replicas.filter(\.isLeading).count == 1)

        // kill -9: the other takes over after the lease (3 s) expires, within lease + retry period + slack.
        first.signal(SIGKILL)
        let killedAt = Date().timeIntervalSince1970
        try #require(try await waitFor(30) { second.isLeading }, "the second replica takes over")
        let takeoverLine = second.lines.first { $0.0 == "leading" }
        let takeover = (takeoverLine?.1 ?? .infinity) - killedAt
        #expect(takeover >= 2.0, "took over after \(takeover) s, before the lease could have expired")
        #expect(takeover <= 3 + 0.6 + 1.5, "took over after \(takeover) s")

        // A third replica joins; SIGTERM of the leader releases the Lease and the third leads at once.
        let c = try Replica(identity: "c", server: server.url)
        defer { c.stop() }
        replicas.append(c)
        _ = try await waitFor(2) { false }
        #expect(!c.isLeading)
        second.signal(SIGTERM)
        let terminatedAt = Date().timeIntervalSince1970
        try #require(try await waitFor(30) { c.isLeading }, "the third replica takes over")
        let handoverLine = c.lines.first { $0.0 == "leading" }
        let handover = (handoverLine?.1 ?? .infinity) - terminatedAt
        #expect(handover < 1.5, "took over \(handover) s after SIGTERM; the lease is 3 s")
        second.process.waitUntilExit()
        #expect(second.process.terminationStatus == 0)
        #expect(second.lines.map(\.0).suffix(2) == ["stopped", "exiting"])

        let lease = try await client.get(Lease.resource, namespace: "default", name: "aviary-test").decoded(
            as: Lease.self)
        #expect(lease.spec.holderIdentity == "c")
        #expect(lease.spec.leaseTransitions == 2, "a, then b, then c")
        #expect(lease.spec.leaseDurationSeconds == 3)

        // By their own timestamps, no two replicas ever led at once.
        let intervals = replicas.flatMap { replica in replica.leadingIntervals.map { (replica.identity, $0) } }
        for (index, (name, interval)) in intervals.enumerated() {
            for (otherName, other) in intervals[(index + 1)...] where interval.overlaps(other) {
                violations.append("\(name) \(interval) overlaps \(otherName) \(other)")
            }
        }
        #expect(violations.isEmpty, "\(violations)")
        #expect(samples > 40, "the Lease and the replicas were sampled \(samples) times")
    }
}
