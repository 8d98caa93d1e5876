import AviaryCore
import AviaryStore
import AviaryTestSupport
import Foundation
import Logging
import Testing

@testable import AviaryServer

/// Debian's Alertmanager, on a loopback port of its own, clustering off.
final class AlertmanagerServer: Sendable {
    let address: String
    let port: Int
    private let directory: String
    private let process: WatchedProcess

    static let executable = "/usr/bin/prometheus-alertmanager"
    static var isInstalled: Bool { FileManager.default.isExecutableFile(atPath: executable) }
    /// Where it is installed, and always under CI, which installs it (a missing one fails there).
    static var isRequired: Bool { isInstalled || ProcessInfo.processInfo.environment["CI"] != nil }

    init() async throws {
        try #require(Self.isInstalled, "Alertmanager is not installed: apt-get install -y prometheus-alertmanager")
        directory = NSTemporaryDirectory() + "aviary-alertmanager-" + UUID().uuidString
        try FileManager.default.createDirectory(atPath: directory + "/data", withIntermediateDirectories: true)
        try "route: {receiver: nobody}\nreceivers: [{name: nobody}]\n".write(
            toFile: directory + "/alertmanager.yml", atomically: true, encoding: .utf8)
        port = try freePort()
        address = "127.0.0.1:\(port)"
        process = try WatchedProcess(
            [
                Self.executable, "--config.file=\(directory)/alertmanager.yml", "--storage.path=\(directory)/data",
                "--web.listen-address=\(address)", "--cluster.listen-address=", "--log.level=warn",
            ], directory: directory, name: "alertmanager")
        let address = self.address
        let ready = await eventually(within: 60) { await http(.GET, "http://\(address)/-/ready", timeout: 5)?.status == 200 }
        if !ready {
            let log = process.log
            stop()
            Issue.record("Alertmanager did not start within 60 s:\n\(log)")
            throw AlertmanagerDidNotStart()
        }
    }

    struct AlertmanagerDidNotStart: Error {}

    /// The alerts it holds, as its v2 API lists them.
    func alerts() async -> [[String: Any]] {
        guard let exchange = await http(.GET, "http://\(address)/api/v2/alerts", timeout: 5) else { return [] }
        return (try? JSONSerialization.jsonObject(with: exchange.body) as? [[String: Any]]) ?? []
    }

    func stop() {
        process.stop()
        try? FileManager.default.removeItem(atPath: directory)
    }
}

/// An alert from Argo's notification config arrives in a real Alertmanager, which lists it.
@Suite(.serialized, .enabled(if: AlertmanagerServer.isRequired, "Alertmanager is not installed"))
struct AlertmanagerNotificationTests {
    @Test func anAbortedRolloutsAlertIsListedByAlertmanager() async throws {
        let alertmanager = try await AlertmanagerServer()
        defer { alertmanager.stop() }
        let directory = NSTemporaryDirectory() + "aviary-alert-store-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try AviaryStore(stateDirectory: directory)
        // The rollout the notification is about (a deleted one's would not be kept to be read back).
        try store.apply(Data(#"{"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout", "metadata": {"name": "web"}, "spec": {}}"#.utf8))
        // A dead first target: the alert goes to the next one.
        let dead = try freePort()
        try store.apply(
            Data(
                """
                {"apiVersion": "v1", "kind": "ConfigMap",
                 "metadata": {"name": "argo-rollouts-notification-configmap"},
                 "data": {"service.alertmanager": "targets: [127.0.0.1:\(dead), \(alertmanager.address)]"}}
                """.utf8))
        var rendered = RenderedNotification()
        rendered.alertmanager = RenderedNotification.Alert(
            labels: ["alertname": "RolloutAborted", "rollout": "web"], annotations: ["summary": "web was aborted"],
            generatorURL: "http://aviary.example/rollouts/web")
        try store.enqueue([
            StoredNotification(
                rollout: ResourceKey(kind: .rollout, name: "web"), trigger: "on-rollout-aborted",
                service: "alertmanager", recipient: "", payload: try JSONEncoder().encode(rendered), createdAt: Date())
        ])
        let dispatcher = NotificationDispatcher(
            outbox: store, settings: NotificationSettings(store: store), metrics: DaemonMetrics(),
            logger: Logger(label: "test"))
        for notification in try store.dueNotifications(at: Date()) { await dispatcher.deliver(notification) }

        let stored = try store.notifications(of: ResourceKey(kind: .rollout, name: "web"))
        #expect(stored.map(\.state) == [.delivered], "\(stored.map { $0.lastError ?? "" })")
        let listed = await eventually(within: 30) {
            await alertmanager.alerts().contains {
                ($0["labels"] as? [String: String])?["alertname"] == "RolloutAborted"
            }
        }
        #expect(listed)
        let alert = await alertmanager.alerts().first
        #expect((alert?["labels"] as? [String: String])?["rollout"] == "web")
        #expect((alert?["annotations"] as? [String: String])?["summary"] == "web was aborted")
        #expect(alert?["generatorURL"] as? String == "http://aviary.example/rollouts/web")
    }
}
