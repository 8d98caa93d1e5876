import AviaryTestSupport
import Foundation
import Testing

/// Each verb in cluster mode against the double, with a Rollout whose status was written as Argo's
/// controller writes it: the object read back has exactly the effect of the plugin's patch, and
/// nothing else changed.
@Suite(.serialized, .enabled(if: kubectlPath != nil, "kubectl is not installed (Debian: apt-get install kubectl)"))
struct ClusterVerbTests {
    @Test func promoteClearsThePauseConditionsOnly() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            let before = try cluster.web()
            let promoted = try cluster.aviary(["promote", "web"])
            #expect(promoted.status == 0 && promoted.stdout == "rollout \"web\" promoted\n", "\(promoted)")
            let after = try cluster.web()
            #expect(after.status == merged(before.status, ["pauseConditions": NSNull()]))
            #expect(after.spec == before.spec)
        }
    }

    @Test func pauseThenPromoteUnpausesAndSkipsTheRunningStep() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            // No pause condition: the canary is in a step (an analysis, say); promote skips it.
            try cluster.patchStatus("web", #"{"status":{"pauseConditions":null,"controllerPause":null}}"#)
            let before = try cluster.web()
            let paused = try cluster.aviary(["pause", "web"])
            #expect(paused.status == 0 && paused.stdout == "rollout \"web\" paused\n", "\(paused)")
            let afterPause = try cluster.web()
            #expect(afterPause.spec == merged(before.spec, ["paused": true]))
            #expect(afterPause.status == before.status)
            let promoted = try cluster.aviary(["promote", "web"])
            #expect(promoted.status == 0, "\(promoted)")
            let after = try cluster.web()
            #expect(after.spec == merged(before.spec, ["paused": false]))
            #expect(after.status == merged(before.status, ["currentStepIndex": 2]))
        }
    }

    @Test func promoteAfterAnInconclusiveAnalysisClearsTheControllerPauseAndMovesOn() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            try cluster.patchStatus(
                "web",
                #"{"status":{"currentStepIndex":3,"pauseConditions":[{"reason":"InconclusiveAnalysisRun","startTime":"2026-12-02T06:10:00Z"}],"canary":{"currentStepAnalysisRunStatus":{"name":"web-7c9f-2-3","status":"Inconclusive"}}}}"#
            )
            let before = try cluster.web()
            let promoted = try cluster.aviary(["promote", "web"])
            #expect(promoted.status == 0, "\(promoted)")
            let after = try cluster.web()
            #expect(
                after.status
                    == merged(
                        before.status, ["pauseConditions": NSNull(), "controllerPause": false, "currentStepIndex": 4]))
            #expect(after.spec == before.spec)
        }
    }

    @Test func promoteFullSetsPromoteFullUnlessTheCurrentPodsAreStable() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            let before = try cluster.web()
            let full = try cluster.aviary(["promote", "web", "--full"])
            #expect(full.status == 0 && full.stdout == "rollout \"web\" fully promoted\n", "\(full)")
            let after = try cluster.web()
            #expect(after.status == merged(before.status, ["promoteFull": true]))
            #expect(after.spec == before.spec)

            try cluster.patchStatus("web", #"{"status":{"promoteFull":null,"stableRS":"7c9f"}}"#)
            let stable = try cluster.web()
            let again = try cluster.aviary(["promote", "web", "--full"])
            #expect(again.status == 0 && again.stdout.contains("already fully promoted"), "\(again)")
            #expect(try cluster.web().resourceVersion == stable.resourceVersion, "nothing was written")
        }
    }

    @Test func abortAndRetryWriteTheAbortFlag() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            let before = try cluster.web()
            let aborted = try cluster.aviary(["abort", "web"])
            #expect(aborted.status == 0 && aborted.stdout == "rollout \"web\" aborted\n", "\(aborted)")
            let afterAbort = try cluster.web()
            #expect(afterAbort.status == merged(before.status, ["abort": true]))
            #expect(afterAbort.spec == before.spec)
            let retried = try cluster.aviary(["retry", "rollout", "web"])
            #expect(retried.status == 0 && retried.stdout == "rollout \"web\" retried\n", "\(retried)")
            #expect(try cluster.web().status == merged(before.status, ["abort": false]))
        }
    }

    @Test func restartSetsRestartAtToNowInRFC3339() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            let before = try cluster.web()
            let start = Date().addingTimeInterval(-1)
            let restarted = try cluster.aviary(["restart", "web"])
            let end = Date().addingTimeInterval(1)
            #expect(restarted.status == 0 && restarted.stdout == "rollout \"web\" restarts\n", "\(restarted)")
            let after = try cluster.web()
            let restartAt = after.spec["restartAt"] as? String ?? ""
            let formatter = ISO8601DateFormatter()
            let time = try #require(formatter.date(from: restartAt), "spec.restartAt \(restartAt) is RFC 3339")
            #expect(time >= start.addingTimeInterval(-1) && time <= end, "\(restartAt)")
            #expect(restartAt.hasSuffix("Z") && restartAt.count == 20, "to the second, in UTC: \(restartAt)")
            #expect(after.spec == merged(before.spec, ["restartAt": restartAt]))
            #expect(after.status == before.status)

            let later = try cluster.aviary(["restart", "web", "--in", "1h"])
            #expect(later.status == 0 && later.stdout == "rollout \"web\" restarts in 3600s\n", "\(later)")
            let delayed = try #require(formatter.date(from: try cluster.web().spec["restartAt"] as? String ?? ""))
            #expect(delayed >= start.addingTimeInterval(3599) && delayed <= end.addingTimeInterval(3600))
        }
    }

    @Test func setImageChangesOnlyThatContainerAndRefusesAnUnknownOne() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            let before = try cluster.web()
            let set = try cluster.aviary(["set", "image", "web", "app=registry.example/web:yellow"])
            #expect(set.status == 0 && set.stdout == "rollout \"web\" image updated\n", "\(set)")
            let after = try cluster.web()
            let containers = ((after.spec["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"]
            let images = (containers as? [[String: Any]] ?? []).map { "\($0["name"]!)=\($0["image"]!)" }
            #expect(images == ["app=registry.example/web:yellow", "sidecar=registry.example/proxy:1"])
            #expect(after.status == before.status)

            let refused = try cluster.aviary(["set", "image", "web", "db=postgres:16"])
            #expect(refused.status == 1)
            #expect(
                refused.stderr
                    == "error: rollout \"web\" in namespace \"default\" has no container \"db\" in spec.template "
                    + "(its containers: app, sidecar); name one of them, or use *=IMAGE for all\n", "\(refused)")
            #expect(try cluster.web().resourceVersion == after.resourceVersion, "bad input changes nothing")

            let every = try cluster.aviary(["set", "image", "web", "*=registry.example/all:2"])
            #expect(every.status == 0, "\(every)")
            let all = ((try cluster.web().spec["template"] as? [String: Any])?["spec"] as? [String: Any])?["containers"]
            #expect((all as? [[String: Any]] ?? []).allSatisfy { $0["image"] as? String == "registry.example/all:2" })
        }
    }

    /// A Rollout whose template is its Deployment's: the image is changed there, and the error says how.
    @Test func setImageOnAWorkloadRefRolloutSaysToChangeTheDeployment() async throws {
        try await withCluster { cluster in
            let installed = try cluster.installAviary()
            #expect(installed.status == 0, "\(installed)")
            let rollout = """
                apiVersion: argoproj.io/v1alpha1
                kind: Rollout
                metadata: {name: shop}
                spec:
                  replicas: 2
                  workloadRef: {apiVersion: apps/v1, kind: Deployment, name: shop}
                  strategy: {canary: {steps: [{setWeight: 50}]}}
                """
            #expect(try cluster.kubectl(["create", "-f", try cluster.file("shop.yaml", rollout)]).status == 0)
            let refused = try cluster.aviary(["set", "image", "shop", "shop=shop:2"])
            #expect(refused.status == 1)
            #expect(
                refused.stderr
                    == "error: rollout \"shop\" in namespace \"default\" takes its pod template from Deployment shop "
                    + "(spec.workloadRef): change the image there (kubectl set image deployment/shop shop=shop:2 -n "
                    + "default); the rollout takes the new template through its steps\n", "\(refused)")
        }
    }

    @Test func undoCopiesAnOlderReplicaSetsTemplateWithoutItsHashLabel() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            let before = try cluster.web()
            let missing = try cluster.aviary(["undo", "web", "--to-revision", "7"])
            #expect(missing.status == 1)
            #expect(
                missing.stderr
                    == "error: rollout \"web\" in namespace \"default\" has no revision 7 (its ReplicaSets have "
                    + "revisions 2, 1); pass one of them to --to-revision\n", "\(missing)")
            #expect(try cluster.web().resourceVersion == before.resourceVersion)

            let current = try cluster.aviary(["undo", "web", "--to-revision", "2"])
            #expect(current.status == 0 && current.stdout.contains("nothing written"), "\(current)")
            #expect(try cluster.web().resourceVersion == before.resourceVersion)

            let undone = try cluster.aviary(["undo", "web"])
            #expect(
                undone.status == 0 && undone.stdout == "rollout \"web\" rolled back to the pod template of revision 1\n",
                "\(undone)")
            let after = try cluster.web()
            let stableTemplate =
                (try cluster.object("replicaset", "web-5d4b")["spec"] as? [String: Any])?["template"] as? [String: Any]
            var expected = try #require(stableTemplate)
            var metadata = expected["metadata"] as? [String: Any] ?? [:]
            var labels = metadata["labels"] as? [String: Any] ?? [:]
            labels["rollouts-pod-template-hash"] = nil
            metadata["labels"] = labels
            expected["metadata"] = metadata
            #expect(canonical(after.spec["template"] ?? [:]) == canonical(expected))
            #expect(after.spec == merged(before.spec, ["template": expected]))
            #expect(after.status == before.status)
        }
    }

    @Test func getListAndStatusRenderTheArgoShapedStatus() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            // The double's ReplicaSet simulator makes the pods; the tree shows them once there.
            let drawn = await eventually(within: 120) {
                let got = try? cluster.aviary(["get", "rollout", "web"])
                return got?.stdout.components(separatedBy: "Pod ").count == 6
            }
            let got = try cluster.aviary(["get", "rollout", "web"])
            #expect(drawn, "five pods drawn: \(got)")
            for line in [
                "Name:            web", "Namespace:       default", "Status:          ॥ Paused",
                "Message:         CanaryPauseStep", "Strategy:        Canary", "  Step:          1/4",
                "  SetWeight:     10", "  ActualWeight:  10", "Images:          registry.example/web:blue (stable)",
                "                 registry.example/proxy:1 (stable, canary)",
                "                 registry.example/web:green (canary)",
                "  Desired:       4", "  Current:       5",
            ] {
                #expect(got.stdout.contains(line + "\n"), "\(line) in \(got.stdout)")
            }
            #expect(got.stdout.contains("# revision:2") && got.stdout.contains("# revision:1"), "\(got.stdout)")
            #expect(got.stdout.contains("⧉ web-7c9f") && got.stdout.contains("canary"), "\(got.stdout)")

            let listed = try cluster.aviary(["list", "rollouts"])
            #expect(listed.status == 0, "\(listed)")
            let row = listed.stdout.split(separator: "\n").last.map {
                $0.split(separator: " ", omittingEmptySubsequences: true).joined(separator: " ")
            }
            #expect(row == "web Canary Paused 1/4 10 5/4 4 1 5", "\(listed.stdout)")

            let status = try cluster.aviary(["status", "web"])
            #expect(status.status == 0 && status.stdout == "Paused - CanaryPauseStep\n", "\(status)")

            let json = try cluster.aviary(["get", "rollout", "web", "-o", "json"])
            let object = (try? JSONSerialization.jsonObject(with: Data(json.stdout.utf8))) as? [String: Any]
            #expect((object?["status"] as? [String: Any])?["currentPodHash"] as? String == "7c9f", "\(json)")
        }
    }

    @Test func statusWatchFollowsTheAPIServerUntilHealthy() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            let watcher = try BackgroundProcess(
                [cluster.aviaryPath, "status", "web", "--watch", "--timeout", "10m", "--kubeconfig",
                 cluster.server.kubeconfig], directory: cluster.server.directory)
            defer { watcher.stop() }
            #expect(await eventually(within: 120) { watcher.output.contains("Paused - CanaryPauseStep") }, "\(watcher.output)")
            try cluster.patchStatus(
                "web",
                #"{"status":{"phase":"Healthy","message":null,"pauseConditions":null,"stableRS":"7c9f","currentStepIndex":4}}"#)
            #expect(await eventually(within: 120) { !watcher.isRunning }, "status --watch ends: \(watcher.output)")
            #expect(watcher.exitStatus == 0 && watcher.output.hasSuffix("Healthy\n"), "\(watcher.output)")
        }
    }

    @Test func getRolloutWatchRedrawsOnAPIServerEvents() async throws {
        try await withCluster { cluster in
            try cluster.makePausedWeb()
            let watcher = try BackgroundProcess(
                [cluster.aviaryPath, "get", "rollout", "web", "--watch", "--kubeconfig", cluster.server.kubeconfig],
                directory: cluster.server.directory)
            defer { watcher.stop() }
            #expect(await eventually(within: 120) { watcher.output.contains("॥ Paused") }, "\(watcher.output)")
            try cluster.patchStatus("web", #"{"status":{"phase":"Degraded","message":"RolloutAborted: by a test","abort":true}}"#)
            #expect(
                await eventually(within: 120) { watcher.output.contains("Message:         RolloutAborted: by a test") },
                "\(watcher.output)")
        }
    }
}

/// A process running in the background, its output (stdout and stderr) in a file.
final class BackgroundProcess: @unchecked Sendable {
    // @unchecked: the properties are constants; `Process` is only polled, signalled and waited for.
    private let process = Process()
    private let log: String

    init(_ arguments: [String], directory: String) throws {
        log = directory + "/" + UUID().uuidString + ".log"
        FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.executableURL = URL(fileURLWithPath: arguments[0])
        process.arguments = Array(arguments.dropFirst())
        process.standardOutput = handle
        process.standardError = handle
        process.standardInput = FileHandle.nullDevice
        try process.run()
    }

    var output: String { (try? String(contentsOfFile: log, encoding: .utf8)) ?? "" }
    var isRunning: Bool { process.isRunning }
    var exitStatus: Int32 { process.terminationStatus }

    /// Ends it (SIGKILL when still running) and waits.
    func stop() {
        if process.isRunning { kill(process.processIdentifier, SIGKILL) }
        process.waitUntilExit()
    }
}
