import AviaryModel
import Foundation

/// `scripts/soak --platform simulated`: many rollouts released round-robin on the simulated
/// platform (pods ready at once, no router, no client traffic), so that what each rollout leaves
/// behind per release is multiplied by their number and a slow leak per rollout shows within
/// minutes. Each release sets a new image and an analysis whose job metric exits 0, or 1 for
/// every fifth, which aborts it.
/// Its rollouts keep little history (one old ReplicaSet, one AnalysisRun of each outcome), so
/// the state that policy keeps is full after the first passes.
extension Soak {
    /// Releases in flight at once.
    static let simulatedBatch = 100

    static func runSimulated(_ options: SoakOptions, cluster: ReliabilityCluster) async throws -> SoakReport {
        var report = SoakReport()
        report.processes = ["daemon"]
        try await cluster.startDaemon(extraArguments: ["--platform", "simulated"])
        let names = (0..<options.rollouts).map { "soak-\($0)" }
        let created = Date()
        for first in stride(from: 0, to: names.count, by: simulatedBatch) {
            let group = names[first..<min(first + simulatedBatch, names.count)]
            try await cluster.apply(
                (first == 0 ? [SimulatedSoakManifests.template] : [])
                    + group.map { SimulatedSoakManifests.rollout($0, version: 1, bad: false) })
            let left = try await settle(Dictionary(uniqueKeysWithValues: group.map { ($0, false) }), cluster)
            guard left.isEmpty else {
                throw DemoError(
                    "\(left.keys.sorted().prefix(5).joined(separator: ", ")) did not become Healthy within 300 s")
            }
        }
        cluster.log(
            "\(names.count) rollouts Healthy on the simulated platform in "
                + String(format: "%.0f s", Date().timeIntervalSince(created))
                + "; releasing round-robin, \(simulatedBatch) at a time, for \(options.minutes) minutes")

        let start = Date()
        let end = start.addingTimeInterval(options.minutes * 60)
        var nextMinute = start.addingTimeInterval(60)
        func record(_ label: String) async throws {
            let sample = try await steadySample(cluster)
            report.add(sample, minute: Date().timeIntervalSince(start) / 60)
            cluster.log(sampleLine(label, sample) + "; releases \(report.releases)" + (await census(cluster)))
        }
        try await record("start")
        // Releases so far; strictly round-robin, so release `next` (from 0) gives rollout
        // `next % count` its version `next / count + 2` (each started at version 1).
        var next = 0
        while Date() < end {
            var group: [String: Bool] = [:]
            var documents: [String] = []
            while group.count < min(simulatedBatch, names.count) {
                let name = names[next % names.count]
                let bad = (next + 1) % options.badEvery == 0
                group[name] = bad
                documents.append(
                    SimulatedSoakManifests.rollout(name, version: next / names.count + 2, bad: bad))
                next += 1
            }
            try await cluster.apply(documents)
            let left = try await settle(group, cluster)
            for (name, bad) in group {
                if left[name] != nil {
                    report.unsettled += 1
                } else if bad {
                    report.aborted += 1
                } else {
                    report.promoted += 1
                }
            }
            if !left.isEmpty {
                cluster.log("UNSETTLED after 300 s: \(left.keys.sorted().prefix(5).joined(separator: ", "))")
            }
            if Date() >= nextMinute {
                while nextMinute <= Date() { nextMinute = nextMinute.addingTimeInterval(60) }
                try await record("minute \(Int(Date().timeIntervalSince(start) / 60))")
            }
        }
        try await record("end")
        return report
    }

    /// What the daemon's `GET /debug/memory` says of its heap and its largest tables, as the end of
    /// a sample line: "; heap in use 41230 kB; rows ReplicaSet 3000, AnalysisRun 2000, ...".
    static func census(_ cluster: ReliabilityCluster) async -> String {
        guard let data = try? await cluster.send(.GET, "/debug/memory"),
            let census = (try? JSONSerialization.jsonObject(with: data)) as? [String: Any]
        else { return "" }
        var text = ""
        if let inUse = (census["heap"] as? [String: Any])?["inUseBytes"] as? Int {
            text += "; heap in use \(inUse / 1024) kB"
        }
        if let rows = census["storeRows"] as? [String: Int] {
            let tables = ["resources/ReplicaSet", "resources/AnalysisRun", "measurements", "revisions", "events"]
            text +=
                "; rows "
                + tables.map { "\($0.replacingOccurrences(of: "resources/", with: "")) \(rows[$0] ?? 0)" }
                .joined(separator: ", ")
        }
        return text
    }

    /// Waits up to 300 s for the rollouts of `pending` (name: whether the release is bad) to settle;
    /// returns those that did not. Settled: the daemon has seen the new spec (observed
    /// generation), the rollout is aborted (bad) or Healthy with its new stable (good), and it
    /// has its 2 pods. It asks for the pending rollouts one by one, once a second: listing all of
    /// them would make the daemon encode every rollout each time, which is most of its work and
    /// of its allocations in a run of 1,000.
    static func settle(_ pending: [String: Bool], _ cluster: ReliabilityCluster) async throws -> [String: Bool] {
        var left = pending
        let deadline = Date().addingTimeInterval(300)
        while !left.isEmpty && Date() < deadline {
            try await Task.sleep(for: .seconds(1))
            for (name, bad) in left {
                guard let rollout = try? await cluster.client.rollout(name, namespace: "default"),
                    let status = rollout.status,
                    status.observedGeneration == rollout.metadata.generation.map(String.init)
                else { continue }
                let done =
                    bad
                    ? status.isAborted
                    : status.phase == .healthy && status.stableRS != nil && status.stableRS == status.currentPodHash
                if done, (try? await cluster.client.pods(rollout: name))?.count == 2 { left[name] = nil }
            }
        }
        return left
    }
}

/// The manifests of the simulated soak: rollouts with a 50% step and a job analysis whose exit
/// code the release chooses.
enum SimulatedSoakManifests {
    /// The AnalysisTemplate: one job metric that exits with the `code` argument.
    static let template = """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata:
          name: soak-check
        spec:
          args:
          - name: code
          metrics:
          - name: exit-code
            provider:
              job:
                spec:
                  template:
                    spec:
                      containers:
                      - name: check
                        image: sh
                        command: [sh, -c, "exit {{args.code}}"]
        """

    /// A rollout of 2 pods at image `sample-app:vVERSION`, with an analysis that fails when `bad`.
    /// It keeps one old ReplicaSet and one AnalysisRun of each outcome, so that what policy keeps
    /// is full after a few passes and anything growing after that is not kept by policy.
    static func rollout(_ name: String, version: Int, bad: Bool) -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: \(name)
        spec:
          replicas: 2
          revisionHistoryLimit: 1
          analysis:
            successfulRunHistoryLimit: 1
            unsuccessfulRunHistoryLimit: 1
          selector:
            matchLabels:
              app: \(name)
          template:
            metadata:
              labels:
                app: \(name)
            spec:
              containers:
              - name: app
                image: sample-app:\(bad ? "bad-" : "")v\(version)
                command: [sleep]
          strategy:
            canary:
              steps:
              - setWeight: 50
              - analysis:
                  templates:
                  - templateName: soak-check
                  args:
                  - name: code
                    value: "\(bad ? 1 : 0)"
        """
    }
}
