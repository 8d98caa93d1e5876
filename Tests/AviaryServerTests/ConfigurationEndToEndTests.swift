import AviaryTestSupport
import Foundation
import Testing

/// ConfigMaps and Secrets on one host: applied like any manifest, read by a pod's `envFrom` and
/// `valueFrom` when its process starts, and a missing one holds the pod back with the kubelet's
/// reason until it is applied.
@Suite(.serialized) struct ConfigurationEndToEndTests {
    static let manifests = """
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: web-config}
        data:
          GREETING: hello from a ConfigMap
          MODE: fast
          SECONDS: "600"
        ---
        apiVersion: v1
        kind: Secret
        metadata: {name: web-secret}
        type: Opaque
        stringData:
          TOKEN: s3cr3t
        data:
          API_KEY: a2V5LTEyMw==
        ---
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: configured}
        spec:
          replicas: 1
          selector: {matchLabels: {app: configured}}
          template:
            metadata: {labels: {app: configured, tier: web}}
            spec:
              containers:
              - name: app
                image: configured:v1
                command: ["/bin/sleep", "$(CFG_SECONDS)"]
                envFrom:
                - prefix: CFG_
                  configMapRef: {name: web-config}
                - secretRef: {name: absent-but-optional, optional: true}
                env:
                - name: TOKEN
                  valueFrom: {secretKeyRef: {name: web-secret, key: TOKEN}}
                - name: API_KEY
                  valueFrom: {secretKeyRef: {name: web-secret, key: API_KEY}}
                - name: ME
                  valueFrom: {fieldRef: {fieldPath: metadata.name}}
                - name: TIER
                  valueFrom: {fieldRef: {fieldPath: "metadata.labels['tier']"}}
                - name: SUMMARY
                  value: "$(CFG_GREETING) in $(CFG_MODE) mode"
          strategy:
            canary:
              steps: [{setWeight: 50}]
        """

    static let waiting = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata: {name: waiting}
        spec:
          replicas: 1
          selector: {matchLabels: {app: waiting}}
          template:
            metadata: {labels: {app: waiting}}
            spec:
              containers:
              - name: app
                image: waiting:v1
                command: ["/bin/sleep", "600"]
                env:
                - name: LEVEL
                  valueFrom: {configMapKeyRef: {name: late-config, key: LEVEL}}
          strategy:
            canary:
              steps: [{setWeight: 50}]
        """

    @Test func podsReadConfigMapsAndSecretsWhenTheyStart() async throws {
        try await Daemon.run { try await check($0) }
    }

    func check(_ daemon: Daemon) async throws {
        let file = daemon.stateDirectory + "/configured.yaml"
        try Self.manifests.write(toFile: file, atomically: true, encoding: .utf8)
        let applied = try daemon.cli(["apply", "-f", file])
        #expect(applied.status == 0, "\(applied.output)")
        #expect(applied.output.contains("configmap/web-config created"), "\(applied.output)")

        var pod: [String: Any] = [:]
        #expect(
            await eventually(within: 60) {
                guard let found = await pods(daemon, rollout: "configured").first, found["pid"] is Int else { return false }
                pod = found
                return true
            })
        let pid = try #require(pod["pid"] as? Int)
        let name = try #require(pod["name"] as? String)
        let environment = try Self.environment(ofProcess: pid)
        #expect(environment["CFG_GREETING"] == "hello from a ConfigMap")
        #expect(environment["CFG_MODE"] == "fast")
        #expect(environment["TOKEN"] == "s3cr3t", "stringData reaches the pod")
        #expect(environment["API_KEY"] == "key-123", "base64 data reaches the pod decoded")
        #expect(environment["ME"] == name)
        #expect(environment["TIER"] == "web")
        #expect(environment["SUMMARY"] == "hello from a ConfigMap in fast mode")
        let commandLine = try String(contentsOfFile: "/proc/\(pid)/cmdline", encoding: .utf8)
        #expect(commandLine.split(separator: "\0").last == "600", "$(CFG_SECONDS) in command is expanded")

        // Stored as Kubernetes stores it: stringData folded into base64 data, values never listed.
        let secret = try #require(await daemon.call(.GET, "/api/v1/secrets/web-secret")?.json)
        #expect(secret["data"] as? [String: String] == ["TOKEN": "czNjcjN0", "API_KEY": "a2V5LTEyMw=="])
        #expect(secret["stringData"] == nil)
        let listed = try daemon.cli(["list", "secrets"])
        #expect(listed.output.contains("web-secret"), "\(listed.output)")
        #expect(listed.output.contains("Opaque"), "\(listed.output)")
        #expect(!listed.output.contains("s3cr3t") && !listed.output.contains("czNjcjN0"), "\(listed.output)")
        let configMaps = try daemon.cli(["list", "configmaps"])
        #expect(configMaps.output.contains("web-config"), "\(configMaps.output)")

        // A ConfigMap that is not there yet: the pod does not start and says why, then starts once applied.
        let waitingFile = daemon.stateDirectory + "/waiting.yaml"
        try Self.waiting.write(toFile: waitingFile, atomically: true, encoding: .utf8)
        #expect(try daemon.cli(["apply", "-f", waitingFile]).status == 0)
        var reason = ""
        #expect(
            await eventually(within: 60) {
                reason = await pods(daemon, rollout: "waiting").first?["lastTermination"] as? String ?? ""
                return !reason.isEmpty
            })
        #expect(reason.contains("CreateContainerConfigError"), "\(reason)")
        #expect(reason.contains("configmap \"late-config\" not found in namespace \"default\""), "\(reason)")
        let late = daemon.stateDirectory + "/late.yaml"
        try "apiVersion: v1\nkind: ConfigMap\nmetadata: {name: late-config}\ndata: {LEVEL: debug}\n"
            .write(toFile: late, atomically: true, encoding: .utf8)
        #expect(try daemon.cli(["apply", "-f", late]).status == 0)
        var started: Int?
        #expect(
            await eventually(within: 90) {
                started = await pods(daemon, rollout: "waiting").first?["pid"] as? Int
                return started != nil
            })
        if let started { #expect(try Self.environment(ofProcess: started)["LEVEL"] == "debug") }

        // Bad input changes nothing: a Secret whose data is not base64 is refused, naming the field.
        let bad = daemon.stateDirectory + "/bad-secret.yaml"
        try "apiVersion: v1\nkind: Secret\nmetadata: {name: bad}\ndata: {TOKEN: not base64!}\n"
            .write(toFile: bad, atomically: true, encoding: .utf8)
        let refused = try daemon.cli(["apply", "-f", bad])
        #expect(refused.status != 0)
        #expect(refused.output.contains("bad-secret.yaml"), "\(refused.output)")
        #expect(refused.output.contains("data.TOKEN"), "\(refused.output)")
        #expect(await daemon.call(.GET, "/api/v1/secrets/bad")?.status == 404)
    }

    func pods(_ daemon: Daemon, rollout: String) async -> [[String: Any]] {
        let pods = (await daemon.call(.GET, "/api/v1/pods"))?.json["pods"] as? [[String: Any]] ?? []
        return pods.filter { $0["rollout"] as? String == rollout }
    }

    static func environment(ofProcess pid: Int) throws -> [String: String] {
        let data = try Data(contentsOf: URL(fileURLWithPath: "/proc/\(pid)/environ"))
        var environment: [String: String] = [:]
        for entry in data.split(separator: 0) {
            let text = String(decoding: entry, as: UTF8.self)
            guard let equals = text.firstIndex(of: "=") else { continue }
            environment[String(text[..<equals])] = String(text[text.index(after: equals)...])
        }
        return environment
    }
}
