import AviaryTestSupport
import Foundation
import Testing

@testable import AviaryStore

/// A fresh directory under the system's temporary directory, removed by `remove()`.
struct TemporaryDirectory {
    let path: String

    init() {
        path = NSTemporaryDirectory() + "aviary-store-test-" + UUID().uuidString
    }

    func remove() {
        try? FileManager.default.removeItem(atPath: path)
    }
}

func rollout(_ name: String, replicas: Int, label: String = "a") -> Data {
    Data(
        """
        {"apiVersion":"argoproj.io/v1alpha1","kind":"Rollout",
         "metadata":{"name":"\(name)","labels":{"app":"\(label)"}},
         "spec":{"replicas":\(replicas)},"status":{"phase":"ignored"}}
        """.utf8)
}

func json(_ data: Data?) -> [String: Any]? {
    data.flatMap { try? JSONSerialization.jsonObject(with: $0) as? [String: Any] }
}

@Suite struct ResourceTests {
    @Test func applyCountsGenerationsAndVersions() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)

        let (created, createdOutcome) = try store.apply(rollout("web", replicas: 4))
        #expect(createdOutcome == .created)
        #expect(created.generation == 1)
        #expect(created.key == ResourceKey(kind: .rollout, name: "web"))
        #expect(created.status == nil, "a status in an applied manifest is ignored")

        let (same, sameOutcome) = try store.apply(rollout("web", replicas: 4))
        #expect(sameOutcome == .unchanged)
        #expect(same.resourceVersion == created.resourceVersion)

        let (relabelled, relabelOutcome) = try store.apply(rollout("web", replicas: 4, label: "b"))
        #expect(relabelOutcome == .configured)
        #expect(relabelled.generation == 1, "a metadata change is not a spec change")
        #expect(relabelled.resourceVersion > created.resourceVersion)

        let (scaled, scaledOutcome) = try store.apply(rollout("web", replicas: 5, label: "b"))
        #expect(scaledOutcome == .configured)
        #expect(scaled.generation == 2)
        #expect(json(scaled.spec)?["replicas"] as? Int == 5)

        let object = scaled.object()
        let metadata = try #require(object["metadata"] as? [String: Any])
        #expect(metadata["generation"] as? Int == 2)
        #expect(metadata["namespace"] as? String == "default")
        #expect(metadata["resourceVersion"] as? String == String(scaled.resourceVersion))
    }

    /// A ConfigMap's and a Secret's body sits beside `metadata`: stored and given back there, a
    /// Secret's `stringData` folded into base64 `data` as the API server does, an empty one adding
    /// nothing, and a change of a value is a change.
    @Test func configMapsAndSecretsKeepTheirBodyAtTheTopLevel() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        let secret = Data(
            #"{"apiVersion":"v1","kind":"Secret","metadata":{"name":"s"},"type":"Opaque","data":{"a":"eA=="},"stringData":{"b":"y"}}"#
                .utf8)
        let (stored, _) = try store.apply(secret)
        for object in [stored.object(), try #require(json(stored.objectJSON()))] {
            #expect(object["data"] as? [String: String] == ["a": "eA==", "b": "eQ=="])
            #expect(object["type"] as? String == "Opaque")
            #expect(object["stringData"] == nil && object["spec"] == nil)
        }
        let empty = Data(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"}}"#.utf8)
        let (emptyStored, _) = try store.apply(empty)
        #expect(json(emptyStored.objectJSON())?.keys.sorted() == ["apiVersion", "kind", "metadata"])
        let filled = Data(#"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"data":{"k":"v"}}"#.utf8)
        let (changed, outcome) = try store.apply(filled)
        #expect(outcome == .configured)
        #expect(json(changed.objectJSON())?["data"] as? [String: String] == ["k": "v"])
    }

    /// The spliced encoding (stored spec and status bytes as they are) means what the untyped
    /// object means, with and without a spec or status, and with characters JSON escapes.
    @Test(arguments: [
        StoredResource(
            key: ResourceKey(kind: .rollout, namespace: "team-a", name: "web"), apiVersion: "argoproj.io/v1alpha1",
            generation: 3, resourceVersion: 41, metadata: Data(#"{"labels":{"app":"w\"<eb>&"},"name":"web"}"#.utf8),
            spec: Data(#"{"replicas":2,"steps":[{"setWeight":20.5}],"x":null}"#.utf8),
            status: Data(#"{"message":"a/b \u00e9","phase":"Healthy"}"#.utf8), createdAt: "2026-01-01T00:00:00Z"),
        StoredResource(
            key: ResourceKey(kind: .service, name: "svc"), apiVersion: "v1", generation: 1, resourceVersion: 7,
            metadata: Data("{}".utf8), spec: nil, status: nil, createdAt: "2026-01-02T00:00:00Z"),
        StoredResource(
            key: ResourceKey(kind: .analysisRun, name: "run"), apiVersion: "argoproj.io/v1alpha1", generation: 1,
            resourceVersion: 9, metadata: Data(#"{"name":"run"}"#.utf8), spec: Data(#"{}"#.utf8),
            status: nil, createdAt: "2026-01-03T00:00:00Z"),
    ])
    func objectJSONMeansTheObject(resource: StoredResource) throws {
        let spliced = try JSONSerialization.jsonObject(with: resource.objectJSON()) as? NSDictionary
        #expect(spliced == resource.object() as NSDictionary)
        var appended = Array("[".utf8)
        resource.appendObjectJSON(to: &appended)
        #expect(Data(appended.dropFirst()) == resource.objectJSON())
    }

    @Test func statusWriteIsOneTransactionWithItsEvents() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        let (resource, _) = try store.apply(rollout("web", replicas: 4))
        let event = StoredEvent(
            key: resource.key, reason: "RolloutPaused", message: "paused at step 1", time: "2026-01-01T00:00:00Z")

        let written = try #require(
            try store.updateStatus(
                resource.key, status: Data(#"{"phase":"Paused"}"#.utf8), events: [event],
                expectedResourceVersion: resource.resourceVersion))
        #expect(json(written.status)?["phase"] as? String == "Paused")
        #expect(written.generation == 1, "a status write does not change the generation")
        #expect(try store.events(for: resource.key) == [event])

        let stale = try store.updateStatus(
            resource.key, status: Data(#"{"phase":"Healthy"}"#.utf8), events: [event],
            expectedResourceVersion: resource.resourceVersion)
        #expect(stale == nil, "a write based on an old version is refused")
        #expect(json(try store.resource(resource.key)?.status)?["phase"] as? String == "Paused")
        #expect(try store.events(for: resource.key).count == 1, "the refused write's events are not stored")

        let missing = try store.updateStatus(
            ResourceKey(kind: .rollout, name: "nope"), status: Data("{}".utf8))
        #expect(missing == nil)
    }

    @Test func statusWritesInOneTransactionEachAsItsOwnWriteWouldBe() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        let (web, _) = try store.apply(rollout("web", replicas: 1))
        let (api, _) = try store.apply(rollout("api", replicas: 1))
        let event = StoredEvent(key: api.key, reason: "RolloutPaused", message: "paused", time: "2026-01-01T00:00:00Z")
        let paused = Data(#"{"phase":"Paused"}"#.utf8)

        let results = try store.updateStatuses([
            StatusUpdate(key: web.key, status: paused, expectedResourceVersion: web.resourceVersion),
            StatusUpdate(
                key: api.key, status: paused, events: [event], expectedResourceVersion: api.resourceVersion - 1),
            StatusUpdate(key: ResourceKey(kind: .rollout, name: "nope"), status: paused),
        ])
        #expect(results.map { $0?.key } == [web.key, nil, nil], "a stale or missing one is refused, in order")
        #expect(json(try store.resource(web.key)?.status)?["phase"] as? String == "Paused")
        #expect(try store.resource(api.key)?.status == nil)
        #expect(try store.events(for: api.key).isEmpty, "the refused write's events are not stored")

        // One status that is not an object: none of them is written.
        let before = try store.resource(web.key)?.resourceVersion
        #expect(throws: StoreError.self) {
            try store.updateStatuses([
                StatusUpdate(key: web.key, status: Data(#"{"phase":"Healthy"}"#.utf8)),
                StatusUpdate(key: api.key, status: Data("[]".utf8)),
            ])
        }
        #expect(try store.resource(web.key)?.resourceVersion == before)
    }

    @Test func listUpdateSpecAndDelete() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        try store.apply(rollout("b", replicas: 1))
        try store.apply(rollout("a", replicas: 1))
        try store.apply(
            Data(#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"a","namespace":"x"},"spec":{}}"#.utf8))
        #expect(try store.resources(kind: .rollout).map(\.key.name) == ["a", "b"])
        #expect(try store.resources(kind: .service, namespace: "x").count == 1)
        #expect(try store.resources(kind: .service, namespace: "default").isEmpty)

        let key = ResourceKey(kind: .rollout, name: "a")
        let updated = try #require(try store.updateSpec(key, spec: Data(#"{"replicas":3}"#.utf8)))
        #expect(updated.generation == 2)

        #expect(try store.delete(key))
        #expect(try store.resource(key) == nil)
        #expect(try !store.delete(key))
    }

    /// The port index follows every write: a Service that moves or is deleted leaves its old
    /// port, and only `spec.ports[0].port` of a Service counts.
    @Test func servicesListeningOnAPortFollowMovesAndDeletes() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        func service(_ name: String, namespace: String = "default", ports: String) -> Data {
            Data(
                #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"\#(name)","namespace":"\#(namespace)"},"spec":{"ports":\#(ports)}}"#
                    .utf8)
        }
        func holders(_ ports: [Int]) throws -> [String] {
            try store.services(listeningOn: ports).map { "\($0.key.namespace)/\($0.key.name)" }
        }
        try store.apply(service("web", ports: #"[{"port":8080}]"#))
        try store.apply(service("api", namespace: "shop", ports: #"[{"port":9090},{"port":8080}]"#))
        try store.apply(service("bad", ports: #"[{"port":"8080"}]"#))
        try store.apply(
            Data(
                #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"c"},"spec":{"ports":[{"port":8080}]}}"#.utf8
            ))
        #expect(try holders([8080]) == ["default/web"])
        #expect(try holders([9090, 8080, 9090]) == ["default/web", "shop/api"])
        #expect(try holders([7070]).isEmpty)

        try store.apply(service("web", ports: #"[{"port":7070}]"#))
        #expect(try holders([8080]).isEmpty)
        #expect(try holders([7070]) == ["default/web"])
        #expect(try store.delete(ResourceKey(kind: .service, name: "web")))
        #expect(try holders([7070]).isEmpty)
    }

    @Test(arguments: [
        ("not json", "the manifest is not a JSON object"),
        (#"{"apiVersion":"v1","metadata":{"name":"x"}}"#, "kind is missing"),
        (#"{"kind":"Service","metadata":{"name":"x"}}"#, "apiVersion is missing"),
        (#"{"apiVersion":"v1","kind":"Service","metadata":{}}"#, "metadata.name is missing"),
        (#"{"apiVersion":"v1","kind":"Service","metadata":{"name":"x"},"spec":[]}"#, "spec must be an object"),
    ])
    func badManifestsStoreNothing(manifest: String, reason: String) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        #expect(throws: StoreError.invalidObject(reason: reason)) { try store.apply(Data(manifest.utf8)) }
        #expect(try store.resources(kind: .service).isEmpty)
    }

    @Test func eachResourceKeepsOnlyItsLatestEvents() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let store = try AviaryStore(stateDirectory: directory.path)
        let web = ResourceKey(kind: .rollout, name: "web")
        let api = ResourceKey(kind: .rollout, name: "api")
        func event(_ key: ResourceKey, _ number: Int) -> StoredEvent {
            StoredEvent(
                key: key, type: "Normal", reason: "Step", message: "event \(number)", time: "2026-01-01T00:00:00Z")
        }
        let kept = AviaryStore.eventsKeptPerResource
        // In batches, through both ways events are written: alone and with a status.
        try store.apply(rollout("web", replicas: 1))
        for batch in stride(from: 0, to: kept + 150, by: 50) {
            try store.record((batch..<batch + 50).map { event(web, $0) })
        }
        try store.updateStatus(web, status: Data("{}".utf8), events: [event(web, kept + 150)])
        try store.record([event(api, 0)])
        let events = try store.events(for: web, limit: 10 * kept)
        #expect(events.count == kept)
        #expect(events.first?.message == "event 151" && events.last?.message == "event \(kept + 150)")
        #expect(try store.events(for: api).map(\.message) == ["event 0"], "another resource's events are its own")
    }

    @Test func revisionsEventsMeasurementsAndPlatformValuesPersist() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        let key = ResourceKey(kind: .rollout, name: "web")
        let run = ResourceKey(kind: .analysisRun, name: "web-abc-2")
        do {
            let store = try AviaryStore(stateDirectory: directory.path)
            try store.apply(rollout("web", replicas: 4))
            try store.recordRevision(
                StoredRevision(
                    rollout: key, revision: 1, podTemplateHash: "abc", template: Data("{}".utf8),
                    createdAt: "2026-01-01T00:00:00Z"))
            try store.recordRevision(
                StoredRevision(
                    rollout: key, revision: 2, podTemplateHash: "def", template: Data(#"{"a":1}"#.utf8),
                    createdAt: "2026-01-01T00:01:00Z"))
            let measurements = [
                StoredMeasurement(analysisRun: run, metric: "success", measurement: Data(#"{"value":"1"}"#.utf8)),
                StoredMeasurement(analysisRun: run, metric: "latency", measurement: Data(#"{"value":"9"}"#.utf8)),
            ]
            // A measurement of a run that is not (or no longer) stored is dropped.
            try store.record(measurements)
            #expect(try store.measurements(of: run).isEmpty)
            try store.apply(
                Data(
                    #"{"apiVersion":"argoproj.io/v1alpha1","kind":"AnalysisRun","metadata":{"name":"web-abc-2"},"spec":{"metrics":[]}}"#
                        .utf8))
            try store.record(measurements)
            try store.setPlatformValue(Data("pids".utf8), forKey: "pods")
        }
        let reopened = try AviaryStore(stateDirectory: directory.path)
        #expect(try reopened.revisions(of: key).map(\.podTemplateHash) == ["abc", "def"])
        #expect(try reopened.measurements(of: run).count == 2)
        #expect(try reopened.measurements(of: run, metric: "success").count == 1)
        #expect(try reopened.platformValue(forKey: "pods") == Data("pids".utf8))
        #expect(try reopened.platformValue(forKey: "other") == nil)
        let attributes = try FileManager.default.attributesOfItem(atPath: directory.path)
        #expect((attributes[.posixPermissions] as? Int) == 0o700)
        #expect(try reopened.delete(key))
        #expect(try reopened.revisions(of: key).isEmpty)
    }
}

@Suite struct OpenErrorTests {
    @Test func aFileWhereTheDirectoryShouldBe() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        FileManager.default.createFile(atPath: directory.path, contents: Data())
        #expect(throws: StoreError.cannotCreateDirectory(path: directory.path, reason: "a file with that name exists"))
        {
            try AviaryStore(stateDirectory: directory.path)
        }
    }

    @Test func aDirectoryThatCannotBeCreated() throws {
        let error = #expect(throws: StoreError.self) { try AviaryStore(stateDirectory: "/proc/aviary-state") }
        #expect(error?.description.contains("/proc/aviary-state") == true)
        #expect(error?.description.contains("--state-dir") == true)
    }

    @Test func aDamagedDatabaseIsRefusedAtOpen() throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        do {
            let store = try AviaryStore(stateDirectory: directory.path)
            try store.apply(rollout("web", replicas: 1))
        }
        let file = directory.path + "/" + AviaryStore.fileName
        try? FileManager.default.removeItem(atPath: file + "-wal")
        try? FileManager.default.removeItem(atPath: file + "-shm")
        try Data(repeating: 0x5A, count: 4096).write(to: URL(fileURLWithPath: file))
        let error = #expect(throws: StoreError.self) { try AviaryStore(stateDirectory: directory.path) }
        guard case .corrupt = error else {
            Issue.record("expected a corrupt-database error, got \(String(describing: error))")
            return
        }
    }
}

/// Mounts a small tmpfs (root only) so that a read-only directory and a full disk are real.
@Suite(.serialized, .enabled(if: getuid() == 0, "mounting a tmpfs needs root"))
struct FileSystemErrorTests {
    func withTmpfs(options: String, _ body: (String) throws -> Void) throws {
        let directory = TemporaryDirectory()
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        defer { directory.remove() }
        try run("/bin/mount", ["-t", "tmpfs", "-o", options, "tmpfs", directory.path])
        defer { try? run("/bin/umount", [directory.path]) }
        try body(directory.path)
    }

    func run(_ executable: String, _ arguments: [String]) throws {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = arguments
        try process.run()
        process.waitUntilExit()
        try #require(process.terminationStatus == 0, "\(executable) \(arguments) failed")
    }

    @Test func aReadOnlyDirectory() throws {
        try withTmpfs(options: "ro,size=1m") { path in
            let error = #expect(throws: StoreError.self) { try AviaryStore(stateDirectory: path) }
            guard case .notWritable(let errorPath, _) = error else {
                Issue.record("expected not writable, got \(String(describing: error))")
                return
            }
            #expect(errorPath == path)
        }
    }

    @Test func aFullDiskFailsTheWriteAndKeepsWhatWasThere() throws {
        try withTmpfs(options: "size=1m") { path in
            let store = try AviaryStore(stateDirectory: path)
            try store.apply(rollout("kept", replicas: 1))
            // Fill the rest of the disk.
            let filler =
                FileHandle(forWritingAtPath: path + "/filler")
                ?? {
                    FileManager.default.createFile(atPath: path + "/filler", contents: nil)
                    return FileHandle(forWritingAtPath: path + "/filler")!
                }()
            let chunk = Data(repeating: 1, count: 64 * 1024)
            while (try? filler.write(contentsOf: chunk)) != nil {}
            try? filler.close()
            let big = String(repeating: "x", count: 200_000)
            let manifest = Data(
                #"{"apiVersion":"v1","kind":"Service","metadata":{"name":"big"},"spec":{"x":"\#(big)"}}"#.utf8)
            let error = #expect(throws: StoreError.self) { try store.apply(manifest) }
            guard case .diskFull = error else {
                Issue.record("expected disk full, got \(String(describing: error))")
                return
            }
            #expect(try store.resource(ResourceKey(kind: .rollout, name: "kept")) != nil)
            #expect(try store.resource(ResourceKey(kind: .service, name: "big")) == nil)
        }
    }
}

@Suite(.serialized) struct DurabilityTests {
    /// A writer process is killed with SIGKILL mid-stream; every write it acknowledged is stored.
    @Test(arguments: [50, 400])
    func acknowledgedWritesSurviveKillNine(acknowledgementsBeforeKill: Int) throws {
        let directory = TemporaryDirectory()
        defer { directory.remove() }
        try FileManager.default.createDirectory(atPath: directory.path, withIntermediateDirectories: true)
        let ackFile = directory.path + "/acks"
        FileManager.default.createFile(atPath: ackFile, contents: nil)
        let output = try #require(FileHandle(forWritingAtPath: ackFile))

        let writer = Process()
        writer.executableURL = URL(
            fileURLWithPath: builtProductsDirectory(containing: "aviary-store-writer") + "/aviary-store-writer")
        writer.arguments = [directory.path + "/state"]
        writer.standardOutput = output
        try writer.run()
        defer {
            if writer.isRunning { kill(writer.processIdentifier, SIGKILL) }
        }

        let deadline = Date().addingTimeInterval(120)
        var acknowledged: [Int] = []
        while Date() < deadline {
            acknowledged = Self.acknowledgements(in: ackFile)
            if acknowledged.count >= acknowledgementsBeforeKill || !writer.isRunning { break }
            usleep(2_000)
        }
        kill(writer.processIdentifier, SIGKILL)
        writer.waitUntilExit()
        #expect(writer.terminationReason == .uncaughtSignal, "the writer must die by the signal, not by itself")
        acknowledged = Self.acknowledgements(in: ackFile)
        try #require(acknowledged.count >= acknowledgementsBeforeKill)

        let store = try AviaryStore(stateDirectory: directory.path + "/state")
        let stored = try store.resources(kind: .rollout)
        let names = Set(stored.map(\.key.name))
        let missing = acknowledged.filter { !names.contains("r-\($0)") }
        #expect(missing.isEmpty, "acknowledged but lost: \(missing)")
        for resource in stored where acknowledged.contains(Int(resource.key.name.dropFirst(2)) ?? -1) {
            #expect(json(resource.status)?["phase"] as? String == "Healthy")
        }
    }

    /// The complete "ack N" lines written so far; a line cut by the kill has no newline and does not count.
    static func acknowledgements(in file: String) -> [Int] {
        guard let text = try? String(contentsOfFile: file, encoding: .utf8) else { return [] }
        return text.split(separator: "\n", omittingEmptySubsequences: false).dropLast().compactMap { line in
            line.hasPrefix("ack ") ? Int(line.dropFirst(4)) : nil
        }
    }
}
