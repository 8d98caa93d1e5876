import AviaryJSON
import AviaryKubernetes
import AviaryTestSupport
import Foundation
import NIOHTTP1

/// An `aviary-test-apiserver` process with Argo's CRDs (and SMI's TrafficSplit) installed through
/// real kubectl, and `aviary serve --platform kubernetes` processes against it. `stop()` kills
/// every process it started; tests call it on success and on failure.
final class ClusterUnderTest: @unchecked Sendable {
    // @unchecked: the processes are started and stopped from the test's one task; the lock guards the list.
    let directory: String
    let kubeconfig: String
    let apiServer: Process
    private let lock = NSLock()
    private var controllers: [Process] = []

    struct Failure: Error, CustomStringConvertible {
        var description: String
    }

    static let kubectl = ["/usr/bin/kubectl", "/usr/local/bin/kubectl"].first {
        FileManager.default.isExecutableFile(atPath: $0)
    }

    init() throws {
        directory = NSTemporaryDirectory() + "aviary-k8s-controller-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory, withIntermediateDirectories: true)
        kubeconfig = directory + "/kubeconfig"
        let log = directory + "/apiserver.log"
        let process = try Self.start("aviary-test-apiserver", ["--port", "0", "--kubeconfig-out", kubeconfig], log: log)
        apiServer = process
        let deadline = Date().addingTimeInterval(60)
        while Date() < deadline, process.isRunning {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            if text.contains("listening on "), FileManager.default.fileExists(atPath: kubeconfig) { return }
            usleep(20_000)
        }
        stop()
        throw Failure(description: "aviary-test-apiserver did not start: \(try String(contentsOfFile: log, encoding: .utf8))")
    }

    /// Kills every process started, the API server last.
    func stop() {
        let started = lock.withLock { controllers }
        for process in started + [apiServer] where process.isRunning {
            kill(process.processIdentifier, SIGKILL)
            process.waitUntilExit()
        }
    }

    /// kubectl against the double, with a discovery cache of its own.
    @discardableResult
    func kubectl(_ arguments: [String], input: String? = nil) throws -> String {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: Self.kubectl ?? "/usr/bin/kubectl")
        process.arguments = ["--kubeconfig", kubeconfig, "--cache-dir", directory + "/cache"] + arguments
        process.environment = ProcessInfo.processInfo.environment.merging(["HOME": directory]) { $1 }
        let output = directory + "/kubectl-\(UUID().uuidString).out"
        _ = FileManager.default.createFile(atPath: output, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: output))
        let errors = Pipe()
        let stdin = Pipe()
        process.standardOutput = handle
        process.standardError = errors
        process.standardInput = stdin
        try process.run()
        if let input { stdin.fileHandleForWriting.write(Data(input.utf8)) }
        try? stdin.fileHandleForWriting.close()
        let errorText = String(decoding: errors.fileHandleForReading.readDataToEndOfFile(), as: UTF8.self)
        process.waitUntilExit()
        try? handle.close()
        let text = try String(contentsOfFile: output, encoding: .utf8)
        try? FileManager.default.removeItem(atPath: output)
        guard process.terminationStatus == 0 else {
            throw Failure(description: "kubectl \(arguments.joined(separator: " ")) failed: \(errorText)\(text)")
        }
        return text
    }

    /// Installs Argo's published CRDs (and a TrafficSplit CRD in SMI's group) with `kubectl create`.
    func installCRDs() throws {
        for file in ["rollout-crd.yaml", "analysis-template-crd.yaml", "cluster-analysis-template-crd.yaml",
            "analysis-run-crd.yaml", "experiment-crd.yaml"]
        {
            try kubectl(["create", "-f", argoCRDFolder + "/" + file])
        }
        try kubectl(["create", "-f", "-"], input: Self.trafficSplitCRD)
    }

    /// Starts `aviary serve --platform kubernetes` with `arguments` added, its endpoints on a port the
    /// system picks; its output goes to a log.
    @discardableResult
    func startController(
        _ arguments: [String] = [], environment: [String: String] = [:]
    ) throws -> (process: Process, log: String) {
        let log = directory + "/controller-\(UUID().uuidString).log"
        let process = try Self.start(
            "aviary",
            ["serve", "--platform", "kubernetes", "--kubeconfig", kubeconfig, "--lease-namespace", "default",
             "--listen", "127.0.0.1:0"] + arguments, log: log, environment: environment)
        lock.withLock { controllers.append(process) }
        return (process, log)
    }

    /// The double's address (`http://127.0.0.1:PORT`), from the kubeconfig it wrote.
    var server: String {
        let text = (try? String(contentsOfFile: kubeconfig, encoding: .utf8)) ?? ""
        return text.components(separatedBy: "server: ").dropFirst().first?.split(separator: "\n").first
            .map { $0.trimmingCharacters(in: .whitespaces) } ?? ""
    }

    /// A call to the double's control API (`/_double/...`); throws unless it answers 200.
    @discardableResult
    func control(_ method: HTTPMethod, _ path: String, _ body: String? = nil) async throws -> JSONValue {
        guard let exchange = await http(method, server + path, body: body.map { Data($0.utf8) }), exchange.status == 200
        else { throw Failure(description: "\(method) \(path) failed") }
        return try JSONValue(parsing: exchange.body)
    }

    /// The requests the double has seen by verb and resource since the last reset.
    func requestCounts() async throws -> [String: Int] {
        let counts = try await control(.GET, "/_double/requests")["counts"]?.objectValue ?? [:]
        return counts.compactMapValues { $0.integerValue.map { Int($0) } }
    }

    /// Where the controller that writes `log` serves `/healthz`, `/readyz` and `/metrics`, once it says.
    func endpointsAddress(log: String, within seconds: Double = 60) async throws -> String {
        var address: String?
        _ = try await eventually(within: seconds) {
            let text = (try? String(contentsOfFile: log, encoding: .utf8)) ?? ""
            address = text.components(separatedBy: "/metrics on ").dropFirst().first?
                .split(separator: "\n").first.map(String.init)
            return address != nil
        }
        guard let address else {
            throw Failure(description: "the controller never said where it listens: \(try String(contentsOfFile: log, encoding: .utf8))")
        }
        return address
    }

    /// Starts a built product with its output going to `log`.
    private static func start(
        _ product: String, _ arguments: [String], log: String, environment: [String: String] = [:]
    ) throws -> Process {
        let process = Process()
        process.executableURL = URL(fileURLWithPath: builtProductsDirectory(containing: product) + "/" + product)
        process.arguments = arguments
        if !environment.isEmpty {
            process.environment = ProcessInfo.processInfo.environment.merging(environment) { $1 }
        }
        _ = FileManager.default.createFile(atPath: log, contents: nil)
        let handle = try FileHandle(forWritingTo: URL(fileURLWithPath: log))
        process.standardOutput = handle
        process.standardError = handle
        try process.run()
        try? handle.close()
        return process
    }

    /// An object as kubectl reads it (`kubectl get KIND NAME -o json`), nil when it does not exist.
    func object(_ kind: String, _ name: String, namespace: String? = nil) throws -> JSONValue? {
        let text = try kubectl(
            ["get", kind, "--ignore-not-found", "-o", "json"] + (name.isEmpty ? [] : [name])
                + (namespace.map { ["-n", $0] } ?? []))
        guard !text.isEmpty else { return nil }
        return try JSONValue(parsing: Data(text.utf8))
    }

    /// The items of `kubectl get KIND -o json`.
    func list(_ kind: String) throws -> [JSONValue] {
        try object(kind, "")?["items"]?.arrayValue ?? []
    }

    /// `count` basic canaries `PREFIX-0` ... (1 replica, steps `setWeight: 20` and `pause: {}`) as one
    /// multi-document YAML for `kubectl apply`.
    static func basicCanaries(_ prefix: String, count: Int) -> String {
        (0..<count).map { index in
            """
            apiVersion: argoproj.io/v1alpha1
            kind: Rollout
            metadata: {name: \(prefix)-\(index)}
            spec:
              replicas: 1
              selector:
                matchLabels: {app: \(prefix)-\(index)}
              template:
                metadata:
                  labels: {app: \(prefix)-\(index)}
                spec:
                  containers: [{name: app, image: "app:v1"}]
              strategy:
                canary:
                  steps: [{setWeight: 20}, {pause: {}}]
            """
        }.joined(separator: "\n---\n")
    }

    /// A minimal CRD for SMI's `TrafficSplit` v1alpha1 (the structure of its spec is left open).
    static let trafficSplitCRD = """
        apiVersion: apiextensions.k8s.io/v1
        kind: CustomResourceDefinition
        metadata:
          name: trafficsplits.split.smi-spec.io
        spec:
          group: split.smi-spec.io
          scope: Namespaced
          names:
            kind: TrafficSplit
            listKind: TrafficSplitList
            plural: trafficsplits
            singular: trafficsplit
            shortNames: [ts]
          versions:
          - name: v1alpha1
            served: true
            storage: true
            schema:
              openAPIV3Schema:
                type: object
                x-kubernetes-preserve-unknown-fields: true
        """
}

extension JSONValue {
    /// The value at a path of object members and array indexes (`"spec", "backends", 0, "weight"`).
    subscript(at path: Any...) -> JSONValue? {
        var value: JSONValue? = self
        for step in path {
            if let name = step as? String {
                value = value?[name]
            } else if let index = step as? Int, let array = value?.arrayValue, array.indices.contains(index) {
                value = array[index]
            } else {
                return nil
            }
        }
        return value
    }
}
