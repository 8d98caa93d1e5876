import AviaryHarness
import AviaryLocal
import AviaryTestSupport
import Foundation
import Testing

/// `scripts/package`: the .deb installs into a temporary root (`dpkg -x`) and the daemon runs from
/// there, starting its router and its pods from the package's binaries. The test packages the
/// debug build (`--bin-dir`); the release build with the Swift runtime linked in is what the
/// script makes by default, and it refuses a binary that still loads a Swift library.
@Suite(.serialized, .enabled(if: FileManager.default.isExecutableFile(atPath: "/usr/bin/dpkg-deb")))
struct PackageTests {
    static let packageRoot = URL(fileURLWithPath: #filePath).deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().path

    static let rollout = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: packaged}
        spec:
          replicas: 2
          selector: {matchLabels: {app: packaged}}
          template:
            metadata: {labels: {app: packaged}}
            spec:
              containers:
              - name: app
                image: packaged:v1
                command: [aviary-sample-app]
                readinessProbe: {httpGet: {path: /healthz, port: 8080}, periodSeconds: 1}
          strategy:
            canary:
              steps: [{setWeight: 50}]
        """

    @Test func theDebInstallsIntoAnEmptyRootAndRunsFromThere() async throws {
        let work = NSTemporaryDirectory() + "aviary-package-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: work, withIntermediateDirectories: true)
        defer { try? FileManager.default.removeItem(atPath: work) }
        let built = try runCommand([
            Self.packageRoot + "/scripts/package", "--bin-dir", builtProductsDirectory(), "--fast", "--out", work,
            "--version", "0.1.0+test",
        ])
        try #require(built.status == 0, "scripts/package: \(built.output)")
        let deb = try #require(built.output.split(separator: "\n").last.map(String.init))
        #expect(deb.hasSuffix("aviary_0.1.0+test_\(try architecture()).deb"), "\(built.output)")

        let fields = try runCommand(["/usr/bin/dpkg-deb", "-f", deb, "Package", "Version", "Depends"]).output
        #expect(fields.contains("Package: aviary"), "\(fields)")
        #expect(fields.contains("Version: 0.1.0+test"), "\(fields)")
        #expect(fields.contains("libc6") && fields.contains("libsqlite3-0"), "shared libraries are dependencies: \(fields)")
        #expect(!fields.lowercased().contains("swift"), "the toolchain is never a dependency: \(fields)")

        let root = work + "/root"
        let extracted = try runCommand(["/usr/bin/dpkg", "-x", deb, root])
        try #require(extracted.status == 0, "dpkg -x: \(extracted.output)")
        let aviary = root + "/usr/bin/aviary"
        let version = try runCommand([aviary, "version"])
        #expect(version.status == 0 && version.output.hasPrefix("aviary "), "\(version.output)")
        let unit = try String(contentsOfFile: root + "/lib/systemd/system/aviary.service", encoding: .utf8)
        #expect(unit.contains("ExecStart=/usr/bin/aviary serve "), "\(unit)")
        #expect(FileManager.default.fileExists(atPath: root + "/usr/share/aviary/examples/demo/rollout.yaml"))
        let lint = try runCommand([
            aviary, "lint", "-f", root + "/usr/share/aviary/examples/canary.yaml", "-f",
            root + "/usr/share/aviary/examples/success-rate.yaml",
        ])
        #expect(lint.status == 0, "the packaged examples lint: \(lint.output)")

        // The daemon from the package: its PATH starts with the package's bin, so the router and
        // the pods' aviary-sample-app are the package's too.
        let port = try #require(PortAllocator.freePort())
        let daemon = DaemonProcess(aviary: aviary, stateDirectory: work + "/state", port: port)
        try FileManager.default.createDirectory(atPath: daemon.stateDirectory, withIntermediateDirectories: true)
        try await daemon.start(logPath: work + "/serve.log")
        defer { daemon.stop() }
        try Self.rollout.write(toFile: work + "/packaged.yaml", atomically: true, encoding: .utf8)
        let applied = try runCommand(
            [aviary, "apply", "-f", work + "/packaged.yaml"], environment: ["AVIARY_SERVER": daemon.base])
        #expect(applied.status == 0, "\(applied.output)")
        var executables: [String] = []
        let ready = await eventually(within: 90) {
            let pods = (await http(.GET, daemon.base + "/api/v1/pods"))?.json["pods"] as? [[String: Any]] ?? []
            guard pods.count == 2, pods.allSatisfy({ $0["ready"] as? Bool == true }) else { return false }
            executables = pods.compactMap { $0["pid"] as? Int }.compactMap {
                try? FileManager.default.destinationOfSymbolicLink(atPath: "/proc/\($0)/exe")
            }
            return true
        }
        #expect(ready, "the packaged daemon runs the rollout's pods")
        #expect(executables == [root + "/usr/bin/aviary-sample-app", root + "/usr/bin/aviary-sample-app"])
    }

    func architecture() throws -> String {
        try runCommand(["/usr/bin/dpkg", "--print-architecture"]).output.trimmingCharacters(in: .whitespacesAndNewlines)
    }
}
