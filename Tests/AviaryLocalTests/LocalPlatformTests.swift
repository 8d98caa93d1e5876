import AsyncHTTPClient
import AviaryPlatform
import AviaryTestSupport
import Foundation
import Logging
import Testing

@testable import AviaryLocal

/// A GET on loopback; nil when the request failed.
func get(_ url: String) async -> (status: Int, body: String)? {
    do {
        let response = try await HTTPClient.shared.execute(HTTPClientRequest(url: url), timeout: .seconds(5))
        let body = try await response.body.collect(upTo: 1 << 20)
        return (Int(response.status.code), String(buffer: body))
    } catch {
        return nil
    }
}

/// A state directory and a running platform, torn down (pods stopped) however the body ends.
func withPlatform(
    stateDirectory: String? = nil, stopPods: Bool = true, inheritEnvironment: Bool = false,
    _ body: (LocalPlatform, String) async throws -> Void
) async throws {
    let directory = stateDirectory ?? NSTemporaryDirectory() + "aviary-local-test-" + UUID().uuidString
    try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
    let platform = try LocalPlatform(
        stateStore: FilePlatformStateStore(path: directory + "/platform.json"), logDirectory: directory + "/logs",
        inheritEnvironment: inheritEnvironment)
    let loop = Task { await platform.run(tickInterval: .milliseconds(50)) }
    var failure: Error?
    do {
        try await body(platform, directory)
    } catch {
        failure = error
    }
    loop.cancel()
    _ = await loop.value
    if stopPods || failure != nil {
        await platform.stopAllPods(grace: 2)
        if stateDirectory == nil { try? FileManager.default.removeItem(atPath: directory) }
    }
    if let failure { throw failure }
}

func sampleLaunch(
    image: String, readiness: ReadinessProbe? = ReadinessProbe(path: "/healthz", periodSeconds: 0.2)
)
    -> PodLaunch
{
    PodLaunch(
        arguments: [builtProductsDirectory(containing: "aviary-sample-app") + "/aviary-sample-app"],
        environment: [EnvironmentEntry(name: "GREETING", value: "hello")], image: image, readiness: readiness)
}

func isRunning(_ pid: Int32) -> Bool {
    kill(pid, 0) == 0 && ProcessControl.state(of: pid) != "Z"
}

@Suite(.serialized) struct LocalPlatformTests {
    @Test func aReplicaSetRunsReadySampleAppsOnTheirOwnPorts() async throws {
        try await withPlatform { platform, directory in
            let replicaSet = ReplicaSet(
                rollout: "web", podTemplateHash: "abc", labels: ["app": "web", "role": "stable"], replicas: 3)
            try await platform.apply(replicaSet, launch: sampleLaunch(image: "aviary-sample-app:blue"))
            #expect(await eventually { await platform.counts(of: "web-abc").ready == 3 })
            let pods = await platform.podRecords()
            #expect(Set(pods.map(\.port)).count == 3)
            for pod in pods {
                #expect(pod.labels["rollouts-pod-template-hash"] == "abc")
                let answer = try #require(await get("http://\(pod.address)/"))
                #expect(answer.status == 200)
                #expect(answer.body.contains("aviary-sample-app:blue"), "IMAGE reaches the process")
                #expect(answer.body.contains(pod.name), "POD_NAME reaches the process")
            }

            try await platform.scale(replicaSet: "web-abc", to: 1)
            #expect(await eventually { await platform.podRecords().count == 1 })
            let survivors = await platform.podRecords().compactMap(\.process?.pid)
            #expect(await eventually { pods.compactMap(\.process?.pid).filter(isRunning) == survivors })
        }
    }

    @Test func aPodThatExitsIsRestartedWithBackoffAndNeverReady() async throws {
        try await withPlatform { platform, directory in
            let launch = PodLaunch(
                arguments: ["/bin/sh", "-c", "echo starting $POD_NAME on $PORT; exit 3"], image: "crash:1")
            try await platform.apply(
                ReplicaSet(rollout: "crash", podTemplateHash: "x1", labels: ["app": "crash"], replicas: 1),
                launch: launch)
            // After its third exit the pod waits for its restart (4 s, so this state is seen).
            var waiting: PodRecord?
            #expect(
                await eventually {
                    waiting = await platform.podRecords().first.flatMap {
                        $0.restarts == 3 && $0.nextStartAt != nil ? $0 : nil
                    }
                    return waiting != nil
                })
            let pod = try #require(waiting)
            #expect(!pod.isReady)
            #expect(
                pod.lastTermination == "exit 3: starting \(pod.name) on \(pod.port)",
                "how the process ended, with the last line it wrote")
            #expect(await platform.counts(of: "crash-x1") == ReplicaSetCounts(replicas: 1, ready: 0, available: 0))
            let log = try String(contentsOfFile: await platform.logPath(of: pod.name), encoding: .utf8)
            #expect(log.contains("starting \(pod.name) on \(pod.port)"))
            // The schedule, not a measured time: the third restart is due 4 s (1, 2, 4) after the
            // exit that followed the last start, so at least 4 s after that start.
            let nextStartAt = try #require(pod.nextStartAt)
            let startedAt = try #require(pod.startedAt)
            #expect(nextStartAt.timeIntervalSince(startedAt) >= 4, "the third restart waits at least 4 s, not 1 or 2")
        }
    }

    @Test func aCommandThatCannotStartIsReportedInTheLog() async throws {
        try await withPlatform { platform, _ in
            let launch = PodLaunch(arguments: ["/nonexistent/aviary-app"], image: "missing:1")
            try await platform.apply(
                ReplicaSet(rollout: "gone", podTemplateHash: "x2", labels: ["app": "gone"], replicas: 1), launch: launch
            )
            #expect(await eventually { (await platform.podRecords().first?.restarts ?? 0) >= 1 })
            let pod = try #require(await platform.podRecords().first)
            let log = try String(contentsOfFile: await platform.logPath(of: pod.name), encoding: .utf8)
            #expect(log.contains("/nonexistent/aviary-app"))
            #expect(pod.lastTermination == "cannot start /nonexistent/aviary-app: No such file or directory")
        }
    }

    @Test(arguments: [false, true])
    func aPodStartsInItsWorkingDirWithOnlyTheEnvironmentItIsGiven(inheritEnvironment: Bool) async throws {
        setenv("AVIARY_TEST_DAEMON_ONLY", "from-the-daemon", 1)
        try await withPlatform(inheritEnvironment: inheritEnvironment) { platform, directory in
            let workingDirectory = directory + "/release-v2"
            try FileManager.default.createDirectory(atPath: workingDirectory, withIntermediateDirectories: true)
            let launch = PodLaunch(
                arguments: ["/bin/sh", "-c", "echo \"in `pwd`, marker ${AVIARY_TEST_DAEMON_ONLY:-unset}\"; exec sleep 60"],
                image: "env:1", workingDirectory: workingDirectory)
            try await platform.apply(
                ReplicaSet(rollout: "env", podTemplateHash: "w1", labels: ["app": "env"], replicas: 1), launch: launch)
            var log = ""
            #expect(
                await eventually {
                    guard let pod = await platform.podRecords().first else { return false }
                    log = (try? String(contentsOfFile: await platform.logPath(of: pod.name), encoding: .utf8)) ?? ""
                    return log.contains("marker")
                })
            #expect(log.contains("in \(workingDirectory),"), "workingDir is where the process starts: \(log)")
            let marker = inheritEnvironment ? "marker from-the-daemon" : "marker unset"
            #expect(log.contains(marker), "the daemon's environment reaches pods only with --pod-env-inherit: \(log)")
        }
    }

    @Test func aWorkingDirThatDoesNotExistIsReportedInTheLog() async throws {
        try await withPlatform { platform, directory in
            let launch = PodLaunch(arguments: ["/bin/true"], image: "nowhere:1", workingDirectory: directory + "/missing")
            try await platform.apply(
                ReplicaSet(rollout: "nowhere", podTemplateHash: "w2", labels: ["app": "nowhere"], replicas: 1),
                launch: launch)
            #expect(await eventually { (await platform.podRecords().first?.restarts ?? 0) >= 1 })
            let pod = try #require(await platform.podRecords().first)
            let log = try String(contentsOfFile: await platform.logPath(of: pod.name), encoding: .utf8)
            #expect(log.contains("workingDir \(directory)/missing is not a directory"), "\(log)")
        }
    }

    @Test func aRestartedPlatformAdoptsTheRunningPods() async throws {
        let directory = NSTemporaryDirectory() + "aviary-local-adopt-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        var firstPIDs: [Int32] = []
        try await withPlatform(stateDirectory: directory, stopPods: false) { platform, _ in
            try await platform.apply(
                ReplicaSet(
                    rollout: "web", podTemplateHash: "abc", labels: ["app": "web"], replicas: 2),
                launch: sampleLaunch(image: "aviary-sample-app:blue"))
            try await platform.apply(PlatformService(name: "web", port: 0, selector: ["app": "web"]))
            #expect(await eventually { await platform.counts(of: "web-abc").ready == 2 })
            firstPIDs = await platform.podRecords().compactMap(\.process?.pid).sorted()
        }
        try await withPlatform(stateDirectory: directory) { platform, _ in
            // Adopted pods keep their readiness: the router's endpoints do not blink.
            #expect(await platform.routeTable().services["web"]?.endpoints.count == 2)
            try await Task.sleep(for: .milliseconds(500))
            #expect(await platform.podRecords().compactMap(\.process?.pid).sorted() == firstPIDs)
            #expect(await platform.podRecords().allSatisfy { $0.restarts == 0 && $0.isReady })
        }
        #expect(await eventually { firstPIDs.filter(isRunning).isEmpty })
    }

    @Test func aPodRemovedJustBeforeTheDaemonDiedIsStoppedAfterTheRestart() async throws {
        let directory = NSTemporaryDirectory() + "aviary-local-orphan-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let statePath = directory + "/platform.json"
        // The first platform starts two pods and is then dropped without stopping them, as a
        // daemon killed with SIGKILL would be.
        var pids: [Int32] = []
        do {
            let first = try LocalPlatform(
                stateStore: FilePlatformStateStore(path: statePath), logDirectory: directory + "/logs")
            try await first.apply(
                ReplicaSet(
                    rollout: "web", podTemplateHash: "abc", labels: ["app": "web"], replicas: 2),
                launch: sampleLaunch(image: "aviary-sample-app:blue"))
            #expect(
                await eventually {
                    await first.tick()
                    return await first.counts(of: "web-abc").ready == 2
                })
            pids = await first.podRecords().compactMap(\.process?.pid).sorted()
        }
        defer { for pid in pids where isRunning(pid) { kill(pid, SIGKILL) } }
        // What it saved in the instant between removing one pod (a scale-down) and signalling it.
        var saved = try JSONDecoder().decode(
            PlatformState.self, from: Data(contentsOf: URL(fileURLWithPath: statePath)))
        let victim = try #require(saved.pods.values.min { $0.name < $1.name })
        saved.pods.removeValue(forKey: victim.name)
        saved.terminating[victim.name] = try #require(victim.process)
        saved.replicaSets["web-abc"]?.replicas = 1
        try JSONEncoder().encode(saved).write(to: URL(fileURLWithPath: statePath))

        try await withPlatform(stateDirectory: directory) { platform, _ in
            #expect(await eventually { !isRunning(victim.process!.pid) }, "the removed pod's process is stopped")
            #expect(await platform.podRecords().count == 1)
            #expect(await platform.podRecords().first?.process.map { isRunning($0.pid) } == true, "the other pod stays")
            #expect(
                await eventually {
                    let data = try? Data(contentsOf: URL(fileURLWithPath: statePath))
                    return data.flatMap { try? JSONDecoder().decode(PlatformState.self, from: $0) }?.terminating.isEmpty
                        == true
                }, "the stopped process is forgotten")
        }
    }

    @Test func processesStartedJustBeforeTheDaemonDiedButNotRecordedAreStoppedAfterTheRestart() async throws {
        let directory = NSTemporaryDirectory() + "aviary-local-unrecorded-" + UUID().uuidString
        let logs = directory + "/logs"
        try FileManager.default.createDirectory(atPath: logs, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        // A daemon killed between starting these and saving that it had: a pod (whose shell has
        // a child writing to the same log) and a router. Nothing saved names them.
        let family = ["/bin/sh", "-c", "sleep 300 & sleep 300"]
        let pod = try ProcessControl.spawn(arguments: family, environment: [:], logPath: logs + "/web-abc-bcdfg.log")
        let router = try ProcessControl.spawn(arguments: family, environment: [:], logPath: logs + "/router.log")
        // Not a pod's log: the platform leaves it alone.
        let other = try ProcessControl.spawn(arguments: family, environment: [:], logPath: logs + "/notes.log")
        defer { for process in [pod, router, other] { kill(-process.pid, SIGKILL) } }
        #expect(
            await eventually { ProcessControl.outputWriters(in: logs).filter { $0.group == pod.pid }.count == 3 },
            "the shell and its two sleeps write to the pod's log")

        try await withPlatform(stateDirectory: directory) { platform, _ in
            try await platform.apply(
                ReplicaSet(rollout: "web", podTemplateHash: "abc", labels: ["app": "web"], replicas: 1),
                launch: sampleLaunch(image: "aviary-sample-app:blue"))
            #expect(
                await eventually { ProcessControl.outputWriters(in: logs).allSatisfy { $0.group != pod.pid } },
                "the unrecorded pod's whole process group is stopped")
            #expect(await eventually { await platform.counts(of: "web-abc").ready == 1 }, "the recorded pod runs")
            let recorded = try #require(await platform.podRecords().first?.process)
            #expect(isRunning(recorded.pid))
            #expect(isRunning(router.pid) && isRunning(other.pid), "other logs' writers are not the platform's")
        }

        let supervisor = RouterSupervisor(
            command: [builtProductsDirectory() + "/aviary", "router"], tablePath: directory + "/table.json",
            stateStore: FilePlatformStateStore(path: directory + "/router.json"), logPath: logs + "/router.log",
            logger: Logger(label: "test"))
        try await supervisor.startOrAdopt()
        let started = try #require(await supervisor.pid)
        #expect(started != router.pid)
        #expect(await eventually { !isRunning(router.pid) }, "the unrecorded router is stopped before a new one starts")
        #expect(
            ProcessControl.outputWriters(in: logs).filter { $0.path.hasSuffix("/router.log") }.map(\.group) == [started])
        #expect(isRunning(other.pid))
        await supervisor.stop()
    }

    @Test func serviceDiscoveryAndListenersFollowReadiness() async throws {
        try await withPlatform { platform, _ in
            try await platform.apply(PlatformService(name: "web", port: 18080, selector: ["app": "web"]))
            try await platform.apply(
                ReplicaSet(
                    rollout: "web", podTemplateHash: "abc", labels: ["app": "web", "role": "canary"], replicas: 2),
                launch: sampleLaunch(image: "aviary-sample-app:blue"))
            #expect(await eventually { await platform.routeTable().services["web"]?.endpoints.count == 2 })
            let data = await platform.serviceDiscoveryJSON()
            let groups = try #require(try JSONSerialization.jsonObject(with: data) as? [[String: Any]])
            #expect(groups.count == 2)
            let labels = try #require(groups.first?["labels"] as? [String: String])
            #expect(labels["role"] == "canary" && labels["rollout"] == "web")
        }
    }
}
