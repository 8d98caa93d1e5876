import Foundation

/// A go-plugin binary built from Go source beside a test, with Debian's Go and its packaged
/// hashicorp/go-plugin (GOPATH mode, offline): the real peer Aviary's plugin host talks to.
public enum GoPluginPeer {
    /// Debian's packaged Go sources (go-plugin, yamux, grpc).
    static let gocode = "/usr/share/gocode"

    public static var goExecutable: String? {
        let paths = (ProcessInfo.processInfo.environment["PATH"] ?? "").split(separator: ":").map(String.init)
        return (paths + ["/usr/bin", "/usr/lib/go/bin"]).map { $0 + "/go" }
            .first { FileManager.default.isExecutableFile(atPath: $0) }
    }

    /// Where Go and go-plugin are installed, and always under CI, which installs them.
    public static var isRequired: Bool {
        (goExecutable != nil && FileManager.default.fileExists(atPath: gocode + "/src/github.com/hashicorp/go-plugin"))
            || ProcessInfo.processInfo.environment["CI"] != nil
    }

    private static let built = BuiltBinaries()

    /// The Go source of the Argo metric plugin the tests start (`aviary-test/peer`).
    public static let metricPluginSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("AviaryMetricsTests/metric_plugin_peer").path

    /// The Go source of the Argo traffic router plugin the tests start (`aviary-test/router`), whose
    /// router is a JSON file.
    public static let trafficRouterPluginSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("AviaryMetricsTests/traffic_router_plugin_peer").path

    /// The Go source of the Argo step plugin the tests start (`aviary-test/step`), which records
    /// each call in the file its config names.
    public static let stepPluginSource = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().appendingPathComponent("AviaryMetricsTests/step_plugin_peer").path

    /// The calls a step plugin peer recorded in `file` (one JSON object per line), oldest first.
    public static func recordedCalls(_ file: String) -> [[String: Any]] {
        let text = (try? String(contentsOfFile: file, encoding: .utf8)) ?? ""
        return text.split(separator: "\n").compactMap {
            try? JSONSerialization.jsonObject(with: Data($0.utf8)) as? [String: Any]
        }
    }

    /// The AnalysisTemplate `plugin-rate`: one metric measured `count` times a second apart by the
    /// peer, which answers `phase` and `value` (and checks nothing itself).
    public static func analysisTemplate(phase: String, value: String, count: Int = 2) -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: AnalysisTemplate
        metadata: {name: plugin-rate}
        spec:
          metrics:
          - name: plugin-rate
            count: \(count)
            interval: 1s
            successCondition: result[0] >= 0.95
            provider:
              plugin:
                aviary-test/peer: {phase: \(phase), value: "\(value)"}
        """
    }

    /// Argo's ConfigMap `argo-rollouts-config` listing `binary` as the metric plugin `aviary-test/peer`
    /// (or under `list` as `name`).
    public static func argoConfigMap(
        binary: String, namespace: String = "default", args: [String] = [], list: String = "metricProviderPlugins",
        name: String = "aviary-test/peer"
    ) -> String {
        """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: argo-rollouts-config, namespace: \(namespace)}
        data:
          \(list): |-
            - name: \(name)
              location: file://\(binary)
              args: [\(args.map { "\"\($0)\"" }.joined(separator: ", "))]
        """
    }

    /// Builds the Go package in `sourceDirectory` (once per test process) and returns the binary's path.
    public static func build(_ sourceDirectory: String) throws -> String {
        try built.binary(for: sourceDirectory) {
            guard let go = goExecutable else {
                throw TestSupportFailure(
                    "go is not installed: apt-get install golang-go golang-github-hashicorp-go-plugin-dev "
                        + "golang-google-grpc-dev")
            }
            let root = NSTemporaryDirectory() + "aviary-goplugin-" + UUID().uuidString
            let package = root + "/src/peer"
            try FileManager.default.createDirectory(atPath: package, withIntermediateDirectories: true)
            for file in try FileManager.default.contentsOfDirectory(atPath: sourceDirectory) where file.hasSuffix(".go")
            {
                try FileManager.default.copyItem(atPath: sourceDirectory + "/" + file, toPath: package + "/" + file)
            }
            let process = Process()
            process.executableURL = URL(fileURLWithPath: go)
            process.arguments = ["build", "-o", root + "/peer", "peer"]
            process.currentDirectoryURL = URL(fileURLWithPath: root)
            var environment = ProcessInfo.processInfo.environment
            environment["GO111MODULE"] = "off"
            environment["GOPATH"] = root + ":" + gocode
            environment["GOFLAGS"] = ""
            environment["GOCACHE"] = NSTemporaryDirectory() + "aviary-gocache"
            process.environment = environment
            let output = Pipe()
            process.standardOutput = output
            process.standardError = output
            try process.run()
            let said = output.fileHandleForReading.readDataToEndOfFile()
            process.waitUntilExit()
            guard process.terminationStatus == 0 else {
                throw TestSupportFailure(
                    "go build of \(sourceDirectory) failed:\n\(String(decoding: said, as: UTF8.self))")
            }
            return root + "/peer"
        }
    }
}

private final class BuiltBinaries: @unchecked Sendable {
    private let lock = NSLock()
    private var paths: [String: String] = [:]

    func binary(for source: String, build: () throws -> String) throws -> String {
        lock.lock()
        defer { lock.unlock() }
        if let path = paths[source], FileManager.default.isExecutableFile(atPath: path) { return path }
        let path = try build()
        paths[source] = path
        return path
    }
}
