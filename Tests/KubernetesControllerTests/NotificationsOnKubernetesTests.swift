import AviaryJSON
import AviaryKubernetes
import AviaryTestSupport
import Foundation
import Synchronization
import Testing

/// Issue 23 on a cluster: Argo's notification ConfigMap and Secret applied with kubectl, a Rollout
/// subscribed by annotation, and a webhook receiver on loopback. The leader sends each trigger in
/// order; what it could not send when it was killed, the next leader sends.
extension CanaryOnKubernetesTests {
    /// A webhook receiver that can be down (503).
    final class HookReceiver: Sendable {
        final class State: Sendable {
            let requests = Mutex<[LoopbackServer.Request]>([])
            let isDown = Mutex(false)
        }

        let state = State()
        let server: LoopbackServer

        init() throws {
            let state = self.state
            server = try LoopbackServer { request in
                if state.isDown.withLock({ $0 }) { return .respond(status: 503, body: "down") }
                state.requests.withLock { $0.append(request) }
                return .respond(status: 200, body: "{}")
            }
        }

        func setDown(_ down: Bool) { state.isDown.withLock { $0 = down } }

        /// What each request said (`{"trigger": ..., "rollout": ..., "image": ...}`), in arrival order.
        var bodies: [[String: String]] {
            state.requests.withLock { $0 }.compactMap {
                try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: String]
            }
        }
    }

    static let notifiedTriggers = ["rollout-updated", "rollout-step-completed", "rollout-paused", "rollout-aborted"]

    /// The global configuration in the controller's namespace: a webhook service whose token is a
    /// `$key` of the Secret, and one template and trigger per event.
    static func notificationConfig(receiver: String) -> String {
        let token = Data("t0k3n".utf8).base64EncodedString()
        let templates = notifiedTriggers.map { trigger in
            """
              template.hook-\(trigger): |
                webhook:
                  hook:
                    method: POST
                    body: |
                      {"trigger": "\(trigger)", "rollout": "{{.rollout.metadata.name}}", "image": "{{(index .rollout.spec.template.spec.containers 0).image}}"}
              trigger.on-\(trigger): |
                - send: [hook-\(trigger)]

            """
        }
        return """
            apiVersion: v1
            kind: Secret
            metadata: {name: argo-rollouts-notification-secret}
            data:
              hookToken: \(token)
            ---
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: argo-rollouts-notification-configmap}
            data:
              service.webhook.hook: |
                url: \(receiver)/hook
                headers:
                - name: Authorization
                  value: Bearer $hookToken

            """ + templates.joined()
    }

    static func notifiedRollout(image: String) -> String {
        """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: web
          annotations:
            notifications.argoproj.io/subscribe.on-rollout-updated.hook: ""
            notifications.argoproj.io/subscriptions: |
              - trigger: [on-rollout-step-completed, on-rollout-paused, on-rollout-aborted]
                destinations: [{service: hook}]
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: web, image: "\(image)"}]
          strategy:
            canary:
              steps: [{setWeight: 50}, {pause: {}}]
        """
    }

    @Test func theLeaderSendsArgosTriggersAndTheNextLeaderSendsWhatItCouldNot() async throws {
        let receiver = try HookReceiver()
        defer { receiver.server.stop() }
        try await withCluster { cluster in
            try cluster.installCRDs()
            try cluster.kubectl(["apply", "-f", "-"], input: Self.notificationConfig(receiver: receiver.server.url))
            try cluster.kubectl(["apply", "-f", "-"], input: Self.notifiedRollout(image: "web:1"))
            let first = try cluster.startController()
            let webPhase = { () throws -> String? in
                try cluster.object("rollout", "web")?[at: "status", "phase"]?.stringValue
            }
            #expect(try await eventually(within: 60) { try webPhase() == "Healthy" }, "web:1 never went Healthy")
            let before = receiver.bodies.count

            // An update: Argo's sequence for a canary reaching its pause, in order, with the Secret's token.
            try cluster.kubectl(["apply", "-f", "-"], input: Self.notifiedRollout(image: "web:2"))
            var sequence: [String] = []
            let sent = try await eventually(within: 60) {
                sequence = receiver.bodies.dropFirst(before).compactMap { $0["trigger"] }
                return sequence.count >= 3
            }
            #expect(sent, "\(sequence)")
            #expect(sequence == ["rollout-updated", "rollout-step-completed", "rollout-paused"])
            #expect(receiver.bodies.dropFirst(before).allSatisfy { $0["image"] == "web:2" && $0["rollout"] == "web" })
            #expect(
                receiver.state.requests.withLock { $0 }.allSatisfy { $0.headers["authorization"] == "Bearer t0k3n" },
                "the $hookToken of the Secret")

            // The receiver goes down; the abort's notification waits in the leader's outbox and in its ConfigMap.
            receiver.setDown(true)
            try cluster.kubectl([
                "patch", "rollout", "web", "--subresource=status", "--type", "merge", "-p",
                #"{"status":{"abort":true}}"#,
            ])
            #expect(try await eventually(within: 60) { try webPhase() == "Degraded" })
            var held: [String: JSONValue] = [:]
            let persisted = try await eventually(within: 30) {
                held = try cluster.object("configmap", "aviary-notification-outbox")?["data"]?.objectValue ?? [:]
                return held.count == 1
            }
            #expect(persisted, "the pending notification is kept for a next leader: \(held)")
            let entry = try JSONValue(parsing: Data((held.values.first?.stringValue ?? "{}").utf8))
            #expect(entry["trigger"]?.stringValue == "on-rollout-aborted", "\(entry)")
            let key = try #require(entry["idempotencyKey"]?.stringValue)

            // The leader dies with it unsent; the next one takes the Lease, loads it and sends it once.
            kill(first.process.processIdentifier, SIGKILL)
            first.process.waitUntilExit()
            receiver.setDown(false)
            let second = try cluster.startController()
            let delivered = try await eventually(within: 90) {
                receiver.bodies.contains { $0["trigger"] == "rollout-aborted" }
            }
            let log = (try? String(contentsOfFile: second.log, encoding: .utf8)) ?? ""
            #expect(delivered, "the next leader never sent the abort: \(log)")
            let aborts = receiver.state.requests.withLock { $0 }.filter { $0.body.contains("rollout-aborted") }
            #expect(aborts.count == 1 && aborts.first?.headers["idempotency-key"] == key, "\(aborts)")
            #expect(log.contains("1 notifications left pending by an earlier leader are sent"), "\(log)")
            let emptied = try await eventually(within: 30) {
                (try cluster.object("configmap", "aviary-notification-outbox")?["data"]?.objectValue ?? [:]).isEmpty
            }
            #expect(emptied, "a delivered notification leaves the ConfigMap")
            let address = try await cluster.endpointsAddress(log: second.log)
            let metrics = await http(.GET, address + "/metrics", timeout: 10)?.text ?? ""
            #expect(metrics.contains(#"notification_send_success{service="hook"} 1"#), "\(metrics)")
        }
    }
}
