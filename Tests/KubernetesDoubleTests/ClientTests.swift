import AviaryJSON
import Foundation
#if canImport(FoundationNetworking)
    import FoundationNetworking
#endif
import KubernetesTestDouble
import Testing

/// Whether the Python `kubernetes` client is importable here; scripts/test installs it.
let pythonKubernetesClientIsInstalled: Bool = {
    guard let output = try? run("/usr/bin/env", ["python3", "-c", "import kubernetes"]) else { return false }
    return output.status == 0
}()

/// The official Python client and the executable itself against the double, and the control API
/// that client tests lean on.
@Suite(.serialized)
struct ClientTests {
    @Test(
        .enabled(
            if: pythonKubernetesClientIsInstalled,
            "the Python kubernetes client is not installed: run scripts/test, or pip install kubernetes (add --break-system-packages on Debian's own Python)"
        ))
    func pythonClientPagesWatchesFromAResourceVersionAndGets410AfterCompaction() async throws {
        try await withHarness { harness in
            let script = packageRoot + "/Tests/KubernetesDoubleTests/kube_client_check.py"
            let output = try run("/usr/bin/env", ["python3", script, harness.kubeconfig, "python-client"])
            #expect(output.status == 0, "\(output.combined)")
            for check in [
                "pagination", "pagination-resource-version", "watch-from-resource-version",
                "continue-after-compaction", "watch-after-compaction", "watch-after-relist",
            ] {
                #expect(output.stdout.contains("CHECK \(check):"), "\(check) did not pass: \(output.combined)")
            }
            #expect(output.stdout.contains("ALL CHECKS PASSED"), "\(output.combined)")
        }
    }

    @Test func theExecutablePrintsItsAddressWritesAKubeconfigAndRequiresTheToken() async throws {
        let directory = NSTemporaryDirectory() + "aviary-k8s-double-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let executable = builtProductsDirectory() + "/aviary-test-apiserver"
        let process = Process()
        process.executableURL = URL(fileURLWithPath: executable)
        process.arguments = ["--port", "0", "--kubeconfig-out", directory + "/config", "--require-token", "s3cret"]
        let pipe = Pipe()
        process.standardOutput = pipe
        try process.run()
        defer {
            process.terminate()
            process.waitUntilExit()
        }
        var firstLine = Data()
        while !firstLine.contains(UInt8(ascii: "\n")) {
            let chunk = pipe.fileHandleForReading.availableData
            if chunk.isEmpty { break }
            firstLine.append(chunk)
        }
        let line = String(decoding: firstLine, as: UTF8.self).trimmingCharacters(in: .whitespacesAndNewlines)
        #expect(line.hasPrefix("listening on http://127.0.0.1:"), "first line: \(line)")
        let url = String(line.dropFirst("listening on ".count))
        let config = try String(contentsOfFile: directory + "/config", encoding: .utf8)
        #expect(config.contains("server: \(url)") && config.contains("token: s3cret"))
        #expect(config.contains("current-context: aviary-test"))

        // kubectl 1.32 sends no bearer token to a plain-HTTP server (seen with -v=9), so the token
        // is checked with a raw client here.
        var authorized = URLRequest(url: URL(string: url + "/api/v1/namespaces")!)
        authorized.setValue("Bearer s3cret", forHTTPHeaderField: "Authorization")
        let (list, accepted) = try await URLSession.shared.data(for: authorized)
        #expect((accepted as? HTTPURLResponse)?.statusCode == 200)
        #expect(try JSONValue(parsing: list)["kind"]?.stringValue == "NamespaceList")

        var request = URLRequest(url: URL(string: url + "/api/v1/namespaces")!)
        request.setValue("Bearer wrong", forHTTPHeaderField: "Authorization")
        let (body, response) = try await URLSession.shared.data(for: request)
        #expect((response as? HTTPURLResponse)?.statusCode == 401)
        let status = try JSONValue(parsing: body)
        #expect(status["reason"]?.stringValue == "Unauthorized" && status["kind"]?.stringValue == "Status")
    }

    @Test func watchesEndAtTheirTimeoutWithABookmarkAndMarkTheEndOfInitialEvents() async throws {
        try await withHarness { harness in
            for name in ["a", "b"] {
                let created = try harness.kubectl(
                    ["create", "-f", "-"], input: #"{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"\#(name)"}}"#)
                #expect(created.status == 0, "\(created.combined)")
            }
            let started = ContinuousClock.now
            let stream = try harness.kubectl([
                "get", "--raw",
                "/api/v1/namespaces/default/configmaps?watch=1&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
                    + "&allowWatchBookmarks=true&timeoutSeconds=1",
            ])
            #expect(stream.status == 0, "\(stream.combined)")
            #expect(ContinuousClock.now - started < .seconds(10), "the stream ended at its timeout")
            let events = try stream.stdout.split(separator: "\n").map { try JSONValue(parsing: Data($0.utf8)) }
            let types = events.compactMap { $0["type"]?.stringValue }
            #expect(types == ["ADDED", "ADDED", "BOOKMARK", "BOOKMARK"], "\(stream.stdout)")
            #expect(
                events.dropFirst(2).first?[path: ["object", "metadata", "annotations", "k8s.io/initial-events-end"]]
                    == .string("true"), "the first bookmark marks the end of the initial events")
        }
    }

    @Test func faultsAnswerTheInjectedStatusForCountRequestsThenClear() async throws {
        try await withHarness { harness in
            let injected = try await harness.call(
                "POST", "/_double/faults", body: #"{"status": 429, "retryAfterSeconds": 1, "count": 2}"#)
            #expect(injected.status == 200)
            for _ in 0..<2 {
                let answer = try await harness.call("GET", "/api/v1/namespaces")
                #expect(answer.status == 429 && answer.headers["retry-after"] == "1")
                let status = try JSONValue(parsing: Data(answer.body.utf8))
                #expect(status["reason"]?.stringValue == "TooManyRequests" && status["code"]?.integerValue == 429)
            }
            #expect(try await harness.call("GET", "/api/v1/namespaces").status == 200)
            #expect(try await harness.call("GET", "/_double/healthz").status == 200)

            _ = try await harness.call("POST", "/_double/faults", body: #"{"status": 500}"#)
            #expect(try await harness.call("GET", "/api/v1/namespaces").status == 500)
            #expect(try await harness.call("GET", "/api/v1/namespaces").status == 500)
            #expect(try await harness.call("DELETE", "/_double/faults").status == 200)
            #expect(try await harness.call("GET", "/api/v1/namespaces").status == 200)
        }
    }

    @Test func aHangHoldsRequestsUntilCleared() async throws {
        try await withHarness { harness in
            _ = try await harness.call("POST", "/_double/faults", body: #"{"hang": true}"#)
            let held = Task { try await harness.call("GET", "/api/v1/namespaces/default") }
            let kubectl = try harness.kubectl(["get", "namespace", "default", "--request-timeout=1s"])
            #expect(kubectl.status != 0, "kubectl gets no answer while hanging: \(kubectl.combined)")
            #expect(try await harness.call("DELETE", "/_double/faults").status == 200)
            #expect(try await held.value.status == 200, "the held request is answered once cleared")
        }
    }

    @Test func dropWatchesEndsOpenStreamsAndCrashloopMakesPodsNotReady() async throws {
        try await withHarness { harness in
            let watcher = try BackgroundCommand(
                kubectlPath ?? "/usr/bin/kubectl",
                [
                    "--kubeconfig", harness.kubeconfig, "--cache-dir", harness.directory + "/cache", "get", "pods",
                    "-w", "-o", "name",
                ], environment: ["HOME": harness.directory])
            defer { watcher.stop() }
            let manifest = try harness.file("rs.yaml", KubectlTests.replicaSetManifest(name: "web", replicas: 2))
            #expect(try harness.kubectl(["create", "-f", manifest]).status == 0)
            #expect(await eventually(within: 20) { watcher.text.contains("pod/web-") }, "\(watcher.text)")
            let dropped = try await harness.call("POST", "/_double/drop-watches")
            #expect(dropped.status == 200 && dropped.body.contains("\"dropped\":1"), "\(dropped.body)")

            let crash = try await harness.call(
                "POST", "/_double/crashloop", body: #"{"namespace": "default", "replicaSet": "web"}"#)
            #expect(crash.status == 200)
            let crashLooping = try await eventually(within: 20) {
                let pods = try harness.kubectl(["get", "pods", "-l", "rs=web", "-o", "json"]).stdout
                let items = try JSONValue(parsing: Data(pods.utf8))["items"]?.arrayValue ?? []
                return items.count == 2 && items.allSatisfy { pod in
                    let container = pod[path: ["status", "containerStatuses"]]?.arrayValue?.first
                    return container?[path: ["state", "waiting", "reason"]]?.stringValue == "CrashLoopBackOff"
                        && (container?["restartCount"]?.integerValue ?? 0) >= 2 && container?["ready"]?.boolValue == false
                }
            }
            #expect(crashLooping, "both pods crash-loop with rising restart counts")
            let ready = try harness.kubectl(["get", "rs", "web", "-o", "jsonpath={.status.readyReplicas}"])
            #expect(ready.stdout.isEmpty, "no ready replicas: \(ready.combined)")
        }
    }
}

/// Where SwiftPM put the built executables (beside the test bundle).
func builtProductsDirectory() -> String {
    let executable = (try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/self/exe")) ?? ""
    var directory = (executable as NSString).deletingLastPathComponent
    while !directory.isEmpty, directory != "/",
        !FileManager.default.fileExists(atPath: directory + "/aviary-test-apiserver")
    {
        directory = (directory as NSString).deletingLastPathComponent
    }
    return directory
}
