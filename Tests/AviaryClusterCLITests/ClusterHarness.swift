import AviaryTestSupport
import Foundation
import Testing

#if canImport(Glibc)
    import Glibc
#endif

/// The package's root directory.
let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
    .deletingLastPathComponent().path

/// Argo Rollouts' published CRDs, in the shared folder beside the package (test data only).
let argoCRDFolder = URL(fileURLWithPath: packageRoot).deletingLastPathComponent().path
    + "/shared/upstream/argo-rollouts/crds"

/// kubectl, when installed.
let kubectlPath = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first { FileManager.default.isExecutableFile(atPath: $0) }

/// How a process ended and what it wrote on each stream.
struct Finished: CustomStringConvertible {
    var status: Int32
    var stdout: String
    var stderr: String
    var description: String { "exit \(status)\nstdout: \(stdout)\nstderr: \(stderr)" }
}

/// Runs `arguments` to completion, its streams in files (no pipe can fill up).
func run(_ arguments: [String], in directory: String) throws -> Finished {
    let process = Process()
    process.executableURL = URL(fileURLWithPath: arguments[0])
    process.arguments = Array(arguments.dropFirst())
    let stem = directory + "/" + UUID().uuidString
    FileManager.default.createFile(atPath: stem + ".out", contents: nil)
    FileManager.default.createFile(atPath: stem + ".err", contents: nil)
    let out = try FileHandle(forWritingTo: URL(fileURLWithPath: stem + ".out"))
    let err = try FileHandle(forWritingTo: URL(fileURLWithPath: stem + ".err"))
    process.standardOutput = out
    process.standardError = err
    process.standardInput = FileHandle.nullDevice
    try process.run()
    process.waitUntilExit()
    try? out.close()
    try? err.close()
    defer {
        try? FileManager.default.removeItem(atPath: stem + ".out")
        try? FileManager.default.removeItem(atPath: stem + ".err")
    }
    return Finished(
        status: process.terminationStatus,
        stdout: (try? String(contentsOfFile: stem + ".out", encoding: .utf8)) ?? "",
        stderr: (try? String(contentsOfFile: stem + ".err", encoding: .utf8)) ?? "")
}

/// A double with its kubeconfig, and kubectl and `aviary` pointed at it.
struct Cluster {
    let server: TestAPIServerProcess
    let aviaryPath = builtProductsDirectory() + "/aviary"

    /// `kubectl --kubeconfig K ARGS`.
    func kubectl(_ arguments: [String]) throws -> Finished {
        try run([kubectlPath!, "--kubeconfig", server.kubeconfig] + arguments, in: server.directory)
    }

    /// `aviary ARGS --kubeconfig K` (cluster mode).
    func aviary(_ arguments: [String]) throws -> Finished {
        try run([aviaryPath] + arguments + ["--kubeconfig", server.kubeconfig], in: server.directory)
    }

    /// `aviary install kubernetes ARGS | kubectl apply -f -`, through a shell pipe as a person types it.
    func installAviary(_ arguments: [String] = [], kubectlArguments: [String] = []) throws -> Finished {
        let line =
            ([aviaryPath, "install", "kubernetes"] + arguments).map(quoted).joined(separator: " ") + " | "
            + ([kubectlPath!, "--kubeconfig", server.kubeconfig, "apply", "-f", "-"] + kubectlArguments)
            .map(quoted).joined(separator: " ")
        return try run(["/bin/bash", "-o", "pipefail", "-c", line], in: server.directory)
    }

    /// An object as JSON (`kubectl get KIND NAME -o json`).
    func object(_ kind: String, _ name: String, namespace: String = "default") throws -> [String: Any] {
        let got = try kubectl(["get", kind, name, "-n", namespace, "-o", "json"])
        #expect(got.status == 0, "kubectl get \(kind) \(name): \(got)")
        return (try? JSONSerialization.jsonObject(with: Data(got.stdout.utf8))) as? [String: Any] ?? [:]
    }

    /// Writes `text` to a file in the double's directory and returns its path.
    func file(_ name: String, _ text: String) throws -> String {
        let path = server.directory + "/" + name
        try text.write(toFile: path, atomically: true, encoding: .utf8)
        return path
    }

    /// `kubectl patch rollout NAME --subresource=status --type=merge -p PATCH`: a status as a controller
    /// (Argo's or Aviary's) would have written it.
    func patchStatus(_ name: String, _ patch: String) throws {
        let patched = try kubectl(["patch", "rollout", name, "--subresource=status", "--type=merge", "-p", patch])
        #expect(patched.status == 0, "kubectl patch --subresource=status: \(patched)")
    }
}

private func quoted(_ word: String) -> String { "'" + word.replacingOccurrences(of: "'", with: "'\\''") + "'" }

/// Runs `body` against a fresh double; the double is stopped whatever happens.
func withCluster(_ body: (Cluster) async throws -> Void) async throws {
    try await withTestAPIServer { server in try await body(Cluster(server: server)) }
}

/// A canary of 4 steps with two containers, as a team would apply it.
let webRollout = """
    apiVersion: argoproj.io/v1alpha1
    kind: Rollout
    metadata:
      name: web
    spec:
      replicas: 4
      selector:
        matchLabels:
          app: web
      template:
        metadata:
          labels:
            app: web
        spec:
          containers:
          - name: app
            image: registry.example/web:green
            ports:
            - containerPort: 8080
          - name: sidecar
            image: registry.example/proxy:1
      strategy:
        canary:
          steps:
          - setWeight: 10
          - pause: {}
          - setWeight: 33
          - pause: {}

    """

/// The status Argo's controller writes for `web` paused at its first pause step (index 1), the
/// canary at hash `7c9f` and stable `5d4b`.
let pausedStatus = """
    {"status":{"phase":"Paused","message":"CanaryPauseStep","currentStepIndex":1,"currentPodHash":"7c9f",
    "stableRS":"5d4b","currentStepHash":"68f5","controllerPause":true,"observedGeneration":"1",
    "pauseConditions":[{"reason":"CanaryPauseStep","startTime":"2026-12-02T06:00:00Z"}],
    "replicas":5,"updatedReplicas":1,"readyReplicas":5,"availableReplicas":5,"selector":"app=web",
    "canary":{"weights":{"canary":{"podTemplateHash":"7c9f","weight":10},"stable":{"podTemplateHash":"5d4b","weight":90}}}}}
    """

/// A ReplicaSet of `web` as a controller makes it: `web-HASH`, the hash label, the revision annotation,
/// a controller owner reference to the Rollout.
func replicaSet(hash: String, revision: Int, image: String, replicas: Int, rolloutUID: String) -> String {
    """
    apiVersion: apps/v1
    kind: ReplicaSet
    metadata:
      name: web-\(hash)
      labels:
        app: web
        rollouts-pod-template-hash: "\(hash)"
      annotations:
        rollout.argoproj.io/revision: "\(revision)"
      ownerReferences:
      - apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        name: web
        uid: \(rolloutUID)
        controller: true
        blockOwnerDeletion: true
    spec:
      replicas: \(replicas)
      selector:
        matchLabels:
          app: web
          rollouts-pod-template-hash: "\(hash)"
      template:
        metadata:
          labels:
            app: web
            rollouts-pod-template-hash: "\(hash)"
        spec:
          containers:
          - name: app
            image: \(image)
            ports:
            - containerPort: 8080
          - name: sidecar
            image: registry.example/proxy:1

    """
}

extension Cluster {
    /// Installs Aviary's CRDs (the whole install), creates `web`, gives it the paused status and its two
    /// ReplicaSets (stable revision 1 blue, canary revision 2 green); returns the Rollout's uid.
    @discardableResult
    func makePausedWeb() throws -> String {
        let installed = try installAviary()
        #expect(installed.status == 0, "aviary install kubernetes | kubectl apply -f -: \(installed)")
        let created = try kubectl(["create", "-f", try file("web.yaml", webRollout)])
        #expect(created.status == 0, "kubectl create rollout: \(created)")
        try patchStatus("web", pausedStatus)
        let uid = (try object("rollout", "web")["metadata"] as? [String: Any])?["uid"] as? String ?? ""
        for (hash, revision, image, replicas) in [
            ("5d4b", 1, "registry.example/web:blue", 4), ("7c9f", 2, "registry.example/web:green", 1),
        ] {
            let made = try kubectl([
                "create", "-f",
                try file(
                    "rs-\(hash).yaml",
                    replicaSet(hash: hash, revision: revision, image: image, replicas: replicas, rolloutUID: uid)),
            ])
            #expect(made.status == 0, "kubectl create replicaset: \(made)")
        }
        return uid
    }

    /// The Rollout's `spec` and `status`, and its resourceVersion.
    func web() throws -> (spec: [String: Any], status: [String: Any], resourceVersion: String) {
        let json = try object("rollout", "web")
        return (
            json["spec"] as? [String: Any] ?? [:], json["status"] as? [String: Any] ?? [:],
            (json["metadata"] as? [String: Any])?["resourceVersion"] as? String ?? ""
        )
    }
}

/// `dictionary` with `changes` applied as a JSON merge patch applies them at the top level (null
/// removes a key).
func merged(_ dictionary: [String: Any], _ changes: [String: Any]) -> [String: Any] {
    var result = dictionary
    for (key, value) in changes { result[key] = value is NSNull ? nil : value }
    return result
}

/// JSON text with sorted keys: equal objects give equal text.
func canonical(_ value: Any) -> String {
    let data = try? JSONSerialization.data(withJSONObject: value, options: [.sortedKeys, .fragmentsAllowed])
    return data.map { String(decoding: $0, as: UTF8.self) } ?? "\(value)"
}

/// Two JSON objects are equal when their canonical texts are.
func == (left: [String: Any], right: [String: Any]) -> Bool { canonical(left) == canonical(right) }
