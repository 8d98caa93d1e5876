import AviaryGoPlugin
import AviaryModel
import AviaryTestSupport
import Crypto
import Foundation
import Synchronization
import Testing

@testable import AviaryCore
@testable import AviaryMetrics

/// The Go source of the metric plugin these tests start (a go-plugin binary, as Argo's are).
private let peerSource = GoPluginPeer.metricPluginSource

/// The lines a plugin wrote to stderr.
private final class PluginLines: Sendable {
    let list = Mutex<[String]>([])
}

/// A plugin host whose `argo-rollouts-config` lists the peer as `aviary-test/peer` with `args`.
private func host(args: [String] = [], log: PluginLines? = nil) throws -> (ArgoPluginHost, MetricProviders) {
    let binary = try GoPluginPeer.build(peerSource)
    let list = """
        - name: aviary-test/peer
          location: file://\(binary)
          args: [\(args.map { "\"\($0)\"" }.joined(separator: ", "))]
        """
    let host = ArgoPluginHost(
        configuration: { ["metricProviderPlugins": list] }, configurationPlace: "namespace argo-rollouts",
        binDirectory: NSTemporaryDirectory() + "aviary-plugin-bin-" + UUID().uuidString,
        log: { _, line in log?.list.withLock { $0.append(line) } })
    var providers = MetricProviders()
    providers.metricPlugins = host
    providers.pluginResumeInterval = .milliseconds(100)
    return (host, providers)
}

/// A metric measured by the peer with `configuration` (JSON) as its plugin configuration.
private func peerMetric(_ configuration: String, name: String = "error-rate") -> Metric {
    metric(
        """
        - name: \(name)
          interval: 30s
          count: 3
          successCondition: result[0] < 0.05
          consecutiveSuccessLimit: 2
          provider:
            plugin:
              aviary-test/peer: \(configuration)
        """)
}

private func pluginRequest(_ metric: Metric) -> MeasurementRequest {
    MeasurementRequest(
        runName: "checkout-7d9-2", metricName: metric.name, metric: metric, startedAt: Date(), namespace: "shop",
        runUID: "a1b2-c3")
}

@Suite(.serialized, .enabled(if: GoPluginPeer.isRequired))
struct MetricPluginTests {
    @Test func aSuccessfulMeasurementCarriesWhatThePluginWasSent() async throws {
        let log = PluginLines()
        let (host, providers) = try host(args: ["--log-level", "debug"], log: log)
        defer { Task { await host.stopAll() } }
        let outcome = await providers.measure(pluginRequest(peerMetric(#"{"phase": "Successful", "value": "0.01"}"#)))
        guard case .phase(let phase, let display, let message, let metadata) = outcome else {
            Issue.record("expected a phase, got \(outcome)")
            return
        }
        #expect(phase == .successful)
        #expect(display == "0.01")
        #expect(message == nil)
        // The run and the metric arrived as Argo's types, field by field.
        #expect(metadata["run"] == "checkout-7d9-2")
        #expect(metadata["namespace"] == "shop")
        #expect(metadata["uid"] == "a1b2-c3")
        #expect(metadata["runMetrics"] == "1")
        #expect(metadata["metric"] == "error-rate")
        #expect(metadata["successCondition"] == "result[0] < 0.05")
        #expect(metadata["count"] == "3")
        #expect(metadata["interval"] == "30s")
        // GetMetadata's keys join the measurement's own, which win.
        #expect(metadata["ResolvedPeerPhase"] == "Successful")
        await host.stopAll()
        // The plugin's stderr reached the log, with the ConfigMap's args.
        #expect(log.list.withLock { $0 }.contains { $0.contains("peer starting") && $0.contains("--log-level debug") })
        // What it wrote to stderr while serving came over go-plugin's stderr stream.
        #expect(log.list.withLock { $0 }.contains("measuring error-rate"), "\(log.list.withLock { $0 })")
    }

    @Test func aRunningMeasurementIsResumedAtItsResumeAt() async throws {
        let (host, providers) = try host()
        defer { Task { await host.stopAll() } }
        let outcome = await providers.measure(
            pluginRequest(
                peerMetric(#"{"phase": "Running", "resumeAfterMillis": 400, "finalPhase": "Failed", "value": "0.2"}"#)))
        guard case .phase(let phase, let display, _, let metadata) = outcome else {
            Issue.record("expected a phase, got \(outcome)")
            return
        }
        #expect(phase == .failed)
        #expect(display == "0.2")
        #expect(metadata["resumed"] == "true")
        await host.stopAll()
    }

    @Test func anErrorMeasurementIsWordedAsArgoWordsIt() async throws {
        let (host, providers) = try host()
        defer { Task { await host.stopAll() } }
        let outcome = await providers.measure(
            pluginRequest(peerMetric(#"{"phase": "Error", "message": "no data points in 5m"}"#)))
        #expect(outcome == .error("failed to run via plugin: no data points in 5m"))
        // A configuration the plugin cannot read is its Error too.
        let bad = await providers.measure(pluginRequest(peerMetric(#"{"phase": 3}"#)))
        guard case .error(let text) = bad else {
            Issue.record("expected an error, got \(bad)")
            return
        }
        #expect(text.hasPrefix("failed to run via plugin: json: cannot unmarshal number"))
        await host.stopAll()
    }

    @Test func aPluginThatDiesIsStartedAgainForTheNextMeasurement() async throws {
        let (host, providers) = try host()
        defer { Task { await host.stopAll() } }
        let first = await providers.measure(pluginRequest(peerMetric(#"{"phase": "Successful", "value": "1"}"#)))
        guard case .phase(_, _, _, let before) = first, let pid = before["pid"] else {
            Issue.record("expected a phase with the pid, got \(first)")
            return
        }
        let crash = await providers.measure(pluginRequest(peerMetric(#"{"exit": 3}"#)))
        guard case .error(let text) = crash else {
            Issue.record("expected an error, got \(crash)")
            return
        }
        #expect(text.hasPrefix("metric plugin aviary-test/peer: "))
        let again = await providers.measure(pluginRequest(peerMetric(#"{"phase": "Successful", "value": "1"}"#)))
        guard case .phase(.successful, _, _, let after) = again else {
            Issue.record("expected Successful after the restart, got \(again)")
            return
        }
        #expect(after["pid"] != nil)
        #expect(after["pid"] != pid)
        await host.stopAll()
    }

    @Test func aStoppedMeasurementIsTerminated() async throws {
        let marker = NSTemporaryDirectory() + "aviary-terminated-" + UUID().uuidString
        let (host, providers) = try host(args: ["--terminated-file=\(marker)"])
        defer { Task { await host.stopAll() } }
        let measuring = Task {
            await providers.measure(
                pluginRequest(
                    peerMetric(#"{"phase": "Running", "resumeAfterMillis": 600000, "finalPhase": "Successful"}"#)))
        }
        try await Task.sleep(for: .seconds(1))
        measuring.cancel()
        let outcome = await measuring.value
        #expect(
            outcome
                == .error(
                    "metric plugin aviary-test/peer: the measurement was stopped while Running; Terminate was sent"))
        let terminated = await eventually(within: 30) { FileManager.default.fileExists(atPath: marker) }
        #expect(terminated)
        #expect((try? String(contentsOfFile: marker, encoding: .utf8)) == "error-rate")
        try? FileManager.default.removeItem(atPath: marker)
        await host.stopAll()
    }

    @Test func pluginsAKilledDaemonLeftAreStoppedByTheNext() async throws {
        let record = NSTemporaryDirectory() + "aviary-plugins-" + UUID().uuidString + "/running"
        let binary = try GoPluginPeer.build(peerSource)
        let list = "- name: aviary-test/peer\n  location: file://\(binary)"
        func host() -> ArgoPluginHost {
            ArgoPluginHost(
                configuration: { ["metricProviderPlugins": list] }, configurationPlace: "namespace default",
                binDirectory: NSTemporaryDirectory(), processRecord: record, log: { _, _ in })
        }
        // The first daemon starts the plugin and is "killed": it never stops it.
        let first = host()
        var providers = MetricProviders()
        providers.metricPlugins = first
        let outcome = await providers.measure(pluginRequest(peerMetric(#"{"phase": "Successful"}"#)))
        guard case .phase(.successful, _, _, let metadata) = outcome, let pid = metadata["pid"].flatMap(Int32.init)
        else {
            Issue.record("expected Successful with the pid, got \(outcome)")
            return
        }
        #expect(try String(contentsOfFile: record, encoding: .utf8) == "\(pid) \(binary)\n")
        // The next one stops it before anything else.
        await host().stopOrphans()
        let gone = await eventually(within: 30) {
            // Gone, or a zombie (empty command line) until the first host's Process reaps it.
            (FileManager.default.contents(atPath: "/proc/\(pid)/cmdline") ?? Data()).isEmpty
        }
        #expect(gone)
        #expect(!FileManager.default.fileExists(atPath: record))
        await first.stopAll()
    }

    @Test func anInitPluginErrorFailsTheMeasurement() async throws {
        let (host, providers) = try host(args: ["--init-error=no credentials for the metrics API"])
        defer { Task { await host.stopAll() } }
        let outcome = await providers.measure(pluginRequest(peerMetric(#"{"phase": "Successful"}"#)))
        #expect(
            outcome
                == .error(
                    "metric plugin aviary-test/peer: plugin aviary-test/peer failed to initialise (InitPlugin): "
                        + "no credentials for the metrics API"))
        await host.stopAll()
    }

    @Test func anArgumentThatCannotBeEncodedLeavesTheStreamUsable() async throws {
        let kind = ArgoPluginConfiguration.Kind.metricProvider
        let client = try await GoPluginClient.start(
            executable: try GoPluginPeer.build(peerSource), handshake: kind.handshake, log: { _ in })
        let rpc = try await client.dispense(kind.dispenseName)
        // The first call on the stream would carry net/rpc's Request type; a string is no int.
        await #expect(throws: (any Error).self) { try await rpc.call("Plugin.InitPlugin", .string("x"), as: .int) }
        let reply = try await rpc.call("Plugin.InitPlugin", .nilInterface, as: .interface)
        #expect(GoTypes.rpcError(reply) == nil, "InitPlugin answered \(reply)")
        #expect(await !rpc.isBroken)
        await client.stop()
        await #expect(throws: (any Error).self) {
            try await rpc.call("Plugin.InitPlugin", .nilInterface, as: .interface)
        }
        #expect(await rpc.isBroken, "a stream whose session closed is broken")
    }
}

/// What the host says when a plugin cannot be started; no Go needed.
@Suite struct MetricPluginConfigurationTests {
    private func measure(
        with data: [String: String]?, binDirectory: String = NSTemporaryDirectory()
    ) async
        -> ProviderOutcome
    {
        var providers = MetricProviders()
        providers.metricPlugins = ArgoPluginHost(
            configuration: { data }, configurationPlace: "namespace argo-rollouts", binDirectory: binDirectory,
            log: { _, _ in })
        return await providers.measure(pluginRequest(peerMetric(#"{"phase": "Successful"}"#)))
    }

    @Test func aPluginMissingFromTheConfigMapIsNamedWithTheFix() async {
        #expect(
            await measure(with: nil)
                == .error(
                    "metric plugin aviary-test/peer: metric plugin aviary-test/peer is not configured: there is no "
                        + "ConfigMap argo-rollouts-config in namespace argo-rollouts; add one whose "
                        + "metricProviderPlugins lists aviary-test/peer with its location"))
        #expect(
            await measure(with: ["metricProviderPlugins": "- name: argoproj-labs/other\n  location: file:///bin/true"])
                == .error(
                    "metric plugin aviary-test/peer: metric plugin aviary-test/peer is not configured: add it to "
                        + "metricProviderPlugins of the ConfigMap argo-rollouts-config in namespace argo-rollouts "
                        + "(- name: aviary-test/peer, location: file://… or https://…)"))
    }

    @Test func aMissingOrForeignBinaryIsSaidPlainly() async {
        let missing = await measure(with: [
            "metricProviderPlugins": "- name: aviary-test/peer\n  location: file:///nonexistent/peer"
        ])
        #expect(
            missing
                == .error(
                    "metric plugin aviary-test/peer: plugin aviary-test/peer: location file:///nonexistent/peer: "
                        + "/nonexistent/peer does not exist"))
        // A binary that is not a go-plugin (here `true`) exits without a handshake.
        let foreign = await measure(with: [
            "metricProviderPlugins": "- name: aviary-test/peer\n  location: file:///bin/true"
        ])
        #expect(foreign == .error("metric plugin aviary-test/peer: the plugin /bin/true exited before its handshake"))
    }

    @Test func aDownloadWhoseDigestDiffersIsNotRun() async throws {
        let server = try LoopbackServer { _ in
            .respond(status: 200, body: "#!/bin/sh\n", contentType: "application/octet-stream")
        }
        defer { server.stop() }
        let url = "http://127.0.0.1:\(server.port)/peer"
        let directory = NSTemporaryDirectory() + "aviary-plugin-bin-" + UUID().uuidString
        let outcome = await measure(
            with: [
                "metricProviderPlugins":
                    "- name: aviary-test/peer\n  location: \(url)\n  sha256: " + String(repeating: "ab", count: 32)
            ], binDirectory: directory)
        guard case .error(let text) = outcome else {
            Issue.record("expected an error, got \(outcome)")
            return
        }
        #expect(text.contains("the sha256 of \(url) is "))
        #expect(text.hasSuffix("not the \(String(repeating: "ab", count: 32)) the ConfigMap gives; nothing was run"))
        #expect(!FileManager.default.fileExists(atPath: directory + "/aviary-test/peer"))
        let refused = await measure(
            with: ["metricProviderPlugins": "- name: aviary-test/peer\n  location: http://127.0.0.1:1/peer"],
            binDirectory: directory)
        guard case .error(let refusal) = refused else {
            Issue.record("expected an error, got \(refused)")
            return
        }
        #expect(refusal.hasPrefix("metric plugin aviary-test/peer: plugin aviary-test/peer: failed to download "))
    }
}

/// A plugin downloaded from its `https://` (here `http://`) location, checked and run.
@Suite(.serialized, .enabled(if: GoPluginPeer.isRequired))
struct MetricPluginDownloadTests {
    @Test func aDownloadedPluginWithItsDigestRuns() async throws {
        let binary = try GoPluginPeer.build(peerSource)
        // A wrapper script stands for the downloaded binary (the loopback server sends text).
        let script = "#!/bin/sh\nexec \(binary) \"$@\"\n"
        // The release is private: the download carries the Secret's keys as headers (headersFrom).
        let server = try LoopbackServer { request in
            request.headers["authorization"] == "token ghp-example"
                ? .respond(status: 200, body: script, contentType: "application/octet-stream")
                : .respond(status: 404, body: "Not Found", contentType: "text/plain")
        }
        defer { server.stop() }
        let digest = SHA256.hash(data: Data(script.utf8)).map { String(format: "%02x", $0) }.joined()
        let directory = NSTemporaryDirectory() + "aviary-plugin-bin-" + UUID().uuidString
        let list = """
            - name: aviary-test/peer
              location: http://127.0.0.1:\(server.port)/peer
              sha256: "\(digest)"
              headersFrom: [{secretRef: {name: release-token}}]
            """
        let host = ArgoPluginHost(
            configuration: { ["metricProviderPlugins": list] }, configurationPlace: "namespace argo-rollouts",
            binDirectory: directory,
            secret: { $0 == "release-token" ? ["Authorization": "token ghp-example"] : nil }, log: { _, _ in })
        var providers = MetricProviders()
        providers.metricPlugins = host
        let outcome = await providers.measure(pluginRequest(peerMetric(#"{"phase": "Inconclusive", "value": "7"}"#)))
        await host.stopAll()
        guard case .phase(.inconclusive, "7", _, _) = outcome else {
            Issue.record("expected Inconclusive, got \(outcome)")
            return
        }
        // Kept where Argo keeps it: plugin-bin/NAMESPACE/NAME, executable by its owner only.
        let path = directory + "/aviary-test/peer"
        let permissions = try FileManager.default.attributesOfItem(atPath: path)[.posixPermissions] as? Int
        #expect(permissions == 0o700)
        #expect(server.requests.count == 1)
        try? FileManager.default.removeItem(atPath: directory)
    }
}
