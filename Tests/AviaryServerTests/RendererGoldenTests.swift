import AviaryAPI
import AviaryClient
import AviaryModel
import Foundation
import Testing

/// Golden tests of `get rollout`, `list rollouts` and `get analysisrun` from fixed statuses.
/// `AVIARY_UPDATE_GOLDEN=1 swift test --filter RendererGoldenTests` rewrites Tests/Golden/.
@Suite struct RendererGoldenTests {
    static let now = Date(timeIntervalSince1970: 1_795_867_200)  // 2026-11-28T12:00:00Z

    @Test(arguments: RendererFixture.allCases, [false, true])
    func getRollout(_ fixture: RendererFixture, colour: Bool) throws {
        let snapshot = try fixture.snapshot()
        let text = RolloutRenderer.render(snapshot, now: Self.now, colour: colour)
        try expectGolden(text, named: "get-rollout-\(fixture.rawValue)\(colour ? "-colour" : "")")
        if !colour { #expect(!text.contains("\u{1B}")) }
    }

    @Test(arguments: [RendererFixture.canaryMidway, .abortedByAnalysis])
    func getRolloutWide(_ fixture: RendererFixture) throws {
        let text = RolloutRenderer.render(try fixture.snapshot(), now: Self.now, colour: false, wide: true)
        try expectGolden(text, named: "get-rollout-\(fixture.rawValue)-wide")
        for column in ["REVISION", "HASH", "IMAGE", "ADDRESS", "PID", "NODE", "STARTED"] {
            #expect(text.contains(column), "-o wide lacks \(column)")
        }
    }

    @Test(arguments: [false, true])
    func listRollouts(colour: Bool) throws {
        let rollouts = try RendererFixture.allCases.map { try $0.snapshot().rollout }
        let text = RolloutListRenderer.render(rollouts: rollouts, colour: colour)
        try expectGolden(text, named: "list-rollouts\(colour ? "-colour" : "")")
    }

    @Test func listRolloutsWideAndAllNamespaces() throws {
        var rollouts = try RendererFixture.allCases.map { try $0.snapshot().rollout }
        rollouts[1].metadata.namespace = "shop"
        try expectGolden(
            RolloutListRenderer.render(rollouts: rollouts, colour: false, wide: true, now: Self.now),
            named: "list-rollouts-wide")
        try expectGolden(
            RolloutListRenderer.render(rollouts: rollouts, colour: false, allNamespaces: true, now: Self.now),
            named: "list-rollouts-all-namespaces")
        let colour = RolloutListRenderer.render(rollouts: rollouts, colour: true, allNamespaces: true, now: Self.now)
        // With NAMESPACE first, the status is still the coloured column.
        #expect(colour.split(separator: "\n").contains { $0.hasPrefix("shop") && $0.contains("\u{1B}[36mPaused") })
        var runs = try RendererFixture.canaryMidway.snapshot().analysisRuns
        runs += try RendererFixture.abortedByAnalysis.snapshot().analysisRuns
        runs[1].metadata.namespace = "shop"
        try expectGolden(
            AnalysisRunRenderer.renderList(runs, now: Self.now, colour: false, allNamespaces: true),
            named: "list-analysisruns-all-namespaces")
    }

    @Test func getAnalysisRun() throws {
        let runs = try RendererFixture.canaryMidway.snapshot().analysisRuns
        try expectGolden(
            AnalysisRunRenderer.render(runs[0], now: Self.now, colour: false), named: "get-analysisrun-running")
        let failed = try RendererFixture.abortedByAnalysis.snapshot().analysisRuns
        try expectGolden(
            AnalysisRunRenderer.render(failed[0], now: Self.now, colour: false), named: "get-analysisrun-failed")
        try expectGolden(
            AnalysisRunRenderer.renderList(runs + failed, now: Self.now, colour: false), named: "list-analysisruns")
    }

    @Test func headerNamesEveryField() throws {
        let text = RolloutRenderer.render(try RendererFixture.canaryMidway.snapshot(), now: Self.now, colour: false)
        for label in [
            "Name:", "Namespace:", "Status:", "Message:", "Strategy:", "Step:", "SetWeight:", "ActualWeight:",
            "Images:", "Desired:", "Current:", "Updated:", "Ready:", "Available:",
        ] {
            #expect(text.contains(label), "missing \(label)")
        }
        #expect(text.contains("(stable)") && text.contains("(canary)"))
        #expect(text.contains("success-rate") && text.contains("latest:0.98"))
    }

    /// An experiment step's Experiment: under its revision in `get rollout`, and on its own in
    /// `get experiment` and `list experiments`.
    @Test func experiments() throws {
        let name = "canary-midway-7f9c5d6b8-2-1"
        let json = """
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Experiment",
             "metadata": {"name": "\(name)", "namespace": "default",
                          "creationTimestamp": "\(RendererFixture.stamp(40))",
                          "labels": {"rollouts-pod-template-hash": "7f9c5d6b8"},
                          "ownerReferences": [{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
                                               "name": "canary-midway", "controller": true}]},
             "spec": {"duration": "5m", "templates": [
                 {"name": "baseline", "selector": {"matchLabels": {"side": "baseline"}},
                  "template": {"metadata": {"labels": {"side": "baseline"}}, "spec": {"containers": [{"name": "app"}]}}},
                 {"name": "canary", "selector": {"matchLabels": {"side": "canary"}},
                  "template": {"metadata": {"labels": {"side": "canary"}}, "spec": {"containers": [{"name": "app"}]}}}]},
             "status": {"phase": "Running", "availableAt": "\(RendererFixture.stamp(30))"}}
            """
        let experiment = try JSONDecoder().decode(Experiment.self, from: Data(json.utf8))
        var snapshot = try RendererFixture.canaryMidway.snapshot()
        snapshot.experiments = [experiment]
        try expectGolden(
            RolloutRenderer.render(snapshot, now: Self.now, colour: false), named: "get-rollout-with-experiment")
        let replicaSets = ["baseline": "sample-app:blue", "canary": "sample-app:green"].sorted { $0.key < $1.key }.map {
            ReplicaSetView(
                name: "\(name)-\($0.key)", namespace: "default", rollout: "", podTemplateHash: "h\($0.key.count)",
                revision: 1, replicas: 1, readyReplicas: 1, availableReplicas: 1, images: [$0.value],
                createdAt: RendererFixture.time(38), experiment: name)
        }
        let pods = replicaSets.map {
            PodView(
                name: $0.name + "-x1", namespace: "default", replicaSet: $0.name, rollout: "", labels: [:], port: 1,
                image: $0.images[0], ready: true, restarts: 0, createdAt: RendererFixture.time(37),
                address: "127.0.0.1:1", node: "host-1")
        }
        let run = try RendererFixture.run(
            name: "\(name)-compare", phase: "Running", startedAgo: 20, metrics: [("success-rate", "Running", 1, 0, ["0.99"])])
        try expectGolden(
            ExperimentRenderer.render(
                ExperimentSnapshot(experiment: experiment, replicaSets: replicaSets, pods: pods, analysisRuns: [run]),
                now: Self.now, colour: false),
            named: "get-experiment")
        try expectGolden(
            ExperimentRenderer.renderList([experiment], now: Self.now, colour: false), named: "list-experiments")
    }

    func expectGolden(_ text: String, named name: String) throws {
        let url = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
            .appendingPathComponent("Golden/\(name).txt")
        if ProcessInfo.processInfo.environment["AVIARY_UPDATE_GOLDEN"] == "1" {
            try (text + "\n").write(to: url, atomically: true, encoding: .utf8)
            return
        }
        let expected = try String(contentsOf: url, encoding: .utf8)
        #expect(text + "\n" == expected, "\(name): rendering differs from Tests/Golden/\(name).txt:\n\(text)")
    }
}

/// Fixed rollouts in the states people look at most.
enum RendererFixture: String, CaseIterable, Sendable {
    case canaryMidway = "canary-midway"
    case paused
    case abortedByAnalysis = "aborted-by-analysis"
    case blueGreenPreview = "bluegreen-preview"

    static func time(_ secondsAgo: Int) -> Date { RendererGoldenTests.now.addingTimeInterval(-Double(secondsAgo)) }
    static func stamp(_ secondsAgo: Int) -> String {
        ISO8601DateFormatter().string(from: time(secondsAgo))
    }

    static let canarySteps = """
        "steps": [{"setWeight": 20}, {"pause": {}}, {"setWeight": 50}, {"pause": {"duration": "30s"}},
                  {"analysis": {"templates": [{"templateName": "success-rate"}]}}, {"setWeight": 80}]
        """

    func rollout() throws -> Rollout {
        let strategy: String
        let status: String
        switch self {
        case .canaryMidway:
            strategy = """
                {"canary": {"canaryService": "web-canary", "stableService": "web-stable",
                 "trafficRouting": {"smi": {"rootService": "web"}}, \(Self.canarySteps)}}
                """
            status = """
                {"phase": "Progressing", "message": "more replicas need to be updated", "currentStepIndex": 2,
                 "stableRS": "6d4f8b9c7", "currentPodHash": "7f9c5d6b8", "replicas": 6, "updatedReplicas": 2,
                 "readyReplicas": 5, "availableReplicas": 5,
                 "canary": {"weights": {"canary": {"weight": 50, "serviceName": "web-canary"},
                                        "stable": {"weight": 50, "serviceName": "web-stable"}}}}
                """
        case .paused:
            strategy = "{\"canary\": {\(Self.canarySteps)}}"
            status = """
                {"phase": "Paused", "message": "CanaryPauseStep", "currentStepIndex": 1,
                 "pauseConditions": [{"reason": "CanaryPauseStep", "startTime": "\(Self.stamp(40))"}],
                 "stableRS": "6d4f8b9c7", "currentPodHash": "7f9c5d6b8", "replicas": 5, "updatedReplicas": 1,
                 "readyReplicas": 5, "availableReplicas": 5}
                """
        case .abortedByAnalysis:
            strategy = "{\"canary\": {\(Self.canarySteps)}}"
            status = """
                {"phase": "Degraded", "abort": true, "currentStepIndex": 4,
                 "message": "RolloutAborted: Rollout aborted update to revision 2: Metric \\"success-rate\\" assessed Failed due to failed (3) > failureLimit (2)",
                 "stableRS": "6d4f8b9c7", "currentPodHash": "7f9c5d6b8", "replicas": 4, "updatedReplicas": 0,
                 "readyReplicas": 4, "availableReplicas": 4}
                """
        case .blueGreenPreview:
            strategy = """
                {"blueGreen": {"activeService": "web-active", "previewService": "web-preview",
                 "autoPromotionEnabled": false}}
                """
            status = """
                {"phase": "Paused", "message": "BlueGreenPause",
                 "pauseConditions": [{"reason": "BlueGreenPause", "startTime": "\(Self.stamp(75))"}],
                 "stableRS": "6d4f8b9c7", "currentPodHash": "7f9c5d6b8", "replicas": 4, "updatedReplicas": 2,
                 "readyReplicas": 4, "availableReplicas": 4,
                 "blueGreen": {"activeSelector": "6d4f8b9c7", "previewSelector": "7f9c5d6b8"}}
                """
        }
        let replicas = self == .canaryMidway ? 4 : self == .blueGreenPreview ? 2 : 4
        let json = """
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
             "metadata": {"name": "\(rawValue)", "namespace": "default", "creationTimestamp": "\(Self.stamp(7200))"},
             "spec": {"replicas": \(replicas), "selector": {"matchLabels": {"app": "web"}},
                      "template": {"metadata": {"labels": {"app": "web"}},
                                   "spec": {"containers": [{"name": "app", "image": "sample-app:green"}]}},
                      "strategy": \(strategy)},
             "status": \(status)}
            """
        return try JSONDecoder().decode(Rollout.self, from: Data(json.utf8))
    }

    func snapshot() throws -> RolloutSnapshot {
        let rollout = try rollout()
        let name = rawValue
        let stable = "\(name)-6d4f8b9c7"
        let canary = "\(name)-7f9c5d6b8"
        let stableCount: Int
        let canaryCount: Int
        let canaryReady: Int
        switch self {
        case .canaryMidway: (stableCount, canaryCount, canaryReady) = (4, 2, 1)
        case .paused: (stableCount, canaryCount, canaryReady) = (4, 1, 1)
        case .abortedByAnalysis: (stableCount, canaryCount, canaryReady) = (4, 0, 0)
        case .blueGreenPreview: (stableCount, canaryCount, canaryReady) = (2, 2, 2)
        }
        let replicaSets = [
            ReplicaSetView(
                name: stable, namespace: "default", rollout: name, podTemplateHash: "6d4f8b9c7", revision: 1,
                replicas: stableCount, readyReplicas: stableCount, availableReplicas: stableCount,
                images: ["sample-app:blue"], createdAt: Self.time(7200)),
            ReplicaSetView(
                name: canary, namespace: "default", rollout: name, podTemplateHash: "7f9c5d6b8", revision: 2,
                replicas: canaryCount,
                readyReplicas: canaryReady, availableReplicas: canaryReady, images: ["sample-app:green"],
                createdAt: Self.time(95),
                scaleDownDeadline: self == .abortedByAnalysis ? Self.time(-12) : nil),
        ]
        var pods: [PodView] = []
        for index in 0..<stableCount {
            pods.append(
                PodView(
                    name: "\(stable)-s\(index)", namespace: "default", replicaSet: stable, rollout: name, labels: [:],
                    port: 41000 + index, image: "sample-app:blue", ready: true, restarts: index == 1 ? 2 : 0,
                    createdAt: Self.time(7100), address: "127.0.0.1:\(41000 + index)", node: "host-1",
                    pid: 4100 + index))
        }
        for index in 0..<canaryCount {
            pods.append(
                PodView(
                    name: "\(canary)-c\(index)", namespace: "default", replicaSet: canary, rollout: name, labels: [:],
                    port: 42000 + index, image: "sample-app:green", ready: index < canaryReady, restarts: 0,
                    createdAt: Self.time(90 - index * 30), address: "127.0.0.1:\(42000 + index)", node: "host-1",
                    pid: 4200 + index))
        }
        var runs: [AnalysisRun] = []
        if self == .canaryMidway {
            runs.append(
                try Self.run(
                    name: "\(name)-7f9c5d6b8-2-bg", phase: "Running", startedAgo: 60,
                    metrics: [
                        ("success-rate", "Running", 2, 0, ["0.99", "0.98"]),
                        ("latency-p99", "Running", 1, 0, ["0.231"]),
                    ]))
        }
        if self == .abortedByAnalysis {
            runs.append(
                try Self.run(
                    name: "\(name)-7f9c5d6b8-2-4", phase: "Failed", startedAgo: 80,
                    metrics: [("success-rate", "Failed", 1, 3, ["0.99", "0.71", "0.64", "0.52"])],
                    message: "Metric \"success-rate\" assessed Failed due to failed (3) > failureLimit (2)"))
        }
        return RolloutSnapshot(rollout: rollout, replicaSets: replicaSets, pods: pods, analysisRuns: runs)
    }

    static func run(
        name: String, phase: String, startedAgo: Int,
        metrics: [(name: String, phase: String, successful: Int, failed: Int, values: [String])],
        message: String? = nil
    ) throws -> AnalysisRun {
        let specMetrics = metrics.map { #"{"name": "\#($0.name)", "provider": {"prometheus": {"query": "up"}}}"# }
        let results = metrics.map { metric -> String in
            let measurements = metric.values.enumerated().map { index, value in
                let failed = index >= metric.values.count - metric.failed
                return """
                    {"phase": "\(failed ? "Failed" : "Successful")", "value": "\(value)",
                     "startedAt": "\(stamp(startedAgo - index * 10))", "finishedAt": "\(stamp(startedAgo - index * 10))"}
                    """
            }
            return """
                {"name": "\(metric.name)", "phase": "\(metric.phase)", "count": \(metric.values.count),
                 "successful": \(metric.successful), "failed": \(metric.failed),
                 "measurements": [\(measurements.joined(separator: ","))]}
                """
        }
        let json = """
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "AnalysisRun",
             "metadata": {"name": "\(name)", "namespace": "default", "creationTimestamp": "\(stamp(startedAgo))",
                          "labels": {"rollout": "\(name.split(separator: "-").dropLast(3).joined(separator: "-"))",
                                     "rollouts-pod-template-hash": "7f9c5d6b8"}},
             "spec": {"metrics": [\(specMetrics.joined(separator: ","))]},
             "status": {"phase": "\(phase)", \(message.map { "\"message\": \"\($0.replacingOccurrences(of: "\"", with: "\\\""))\"," } ?? "")
                        "startedAt": "\(stamp(startedAgo))", "metricResults": [\(results.joined(separator: ","))]}}
            """
        return try JSONDecoder().decode(AnalysisRun.self, from: Data(json.utf8))
    }
}
