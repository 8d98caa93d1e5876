import AviaryTestSupport
import Crypto
import Foundation
import Synchronization
import Testing

/// Issue 23: Argo's notification catalog applied unchanged, a rollout subscribed to every
/// trigger, and real HTTP receivers on loopback: a Slack-shaped one (`apiURL` pointed at it)
/// and a webhook. The daemon runs as a process on the simulated platform.
@Suite(.serialized) struct NotificationEndToEndTests {
    /// What a receiver got.
    final class Receiver: Sendable {
        final class State: Sendable {
            let requests = Mutex<[LoopbackServer.Request]>([])
            /// While true, every request is answered 503 (the receiver is "down").
            let down = Mutex(false)
            /// While true, every request is left without an answer (a stuck receiver).
            let hang = Mutex(false)
        }

        let state = State()
        let server: LoopbackServer

        init() throws {
            let state = self.state
            server = try LoopbackServer { request in
                if state.hang.withLock({ $0 }) { return .hang }
                if state.down.withLock({ $0 }) { return .respond(status: 503, body: "down for maintenance") }
                state.requests.withLock { $0.append(request) }
                return .respond(status: 200, body: #"{"ok": true}"#)
            }
        }

        var down: Bool {
            get { state.down.withLock { $0 } }
            set { state.down.withLock { $0 = newValue } }
        }

        var hang: Bool {
            get { state.hang.withLock { $0 } }
            set { state.hang.withLock { $0 = newValue } }
        }

        var got: [LoopbackServer.Request] { state.requests.withLock { $0 } }

        /// The Slack messages' text, in arrival order.
        var slackTexts: [String] {
            got.filter { $0.path == "/api/chat.postMessage" }.compactMap {
                (try? JSONSerialization.jsonObject(with: Data($0.body.utf8)) as? [String: Any])?["text"] as? String
            }
        }
    }

    static let catalogPath =
        URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().appendingPathComponent(
            "shared/upstream/argo-rollouts/notifications-install.yaml"
        ).path

    static let signingSecret = "s3cr3t-signing"

    /// The team's own part, in its namespace: the services (secrets by `$key`), a webhook
    /// template, and the aborted trigger sending it beside Argo's template.
    static func teamConfig(receiver: String) -> String {
        """
        apiVersion: v1
        kind: Secret
        metadata: {name: argo-rollouts-notification-secret, namespace: shop}
        stringData:
          slack-token: xoxb-test-token
          signing: \(signingSecret)
        ---
        apiVersion: v1
        kind: ConfigMap
        metadata: {name: argo-rollouts-notification-configmap, namespace: shop}
        data:
          service.slack: |
            token: $slack-token
            apiURL: \(receiver)/api/
            signingSecret: $signing
          service.webhook.audit: |
            url: \(receiver)/audit
            headers:
            - name: Content-Type
              value: application/json
            signingSecret: $signing
          template.audit: |
            webhook:
              audit:
                method: POST
                body: |
                  {"rollout": "{{.rollout.metadata.name}}", "image": "{{(index .rollout.spec.template.spec.containers 0).image}}"}
          trigger.on-rollout-aborted: |
            - send: [rollout-aborted, audit]
        """
    }

    static let rollout = """
        apiVersion: argoproj.io/v1alpha1
        kind: Rollout
        metadata:
          name: web
          namespace: shop
          annotations:
            notifications.argoproj.io/subscribe.on-rollout-aborted.audit: ""
            notifications.argoproj.io/subscriptions: |
              - trigger: [on-rollout-updated, on-rollout-step-completed, on-rollout-paused, on-rollout-completed,
                          on-rollout-aborted, on-scaling-replica-set, on-analysis-run-running,
                          on-analysis-run-failed, on-analysis-run-error]
                destinations:
                - service: slack
                  recipients: [releases]
        spec:
          replicas: 2
          selector: {matchLabels: {app: web}}
          template:
            metadata: {labels: {app: web}}
            spec:
              containers: [{name: web, image: "web:1"}]
          strategy:
            canary:
              steps: [{setWeight: 50}, {pause: {}}]
        """

    @Test func aCanaryAndAnAbortSendArgosTriggersInOrderSignedAndOnce() async throws {
        let receiver = try Receiver()
        defer { receiver.server.stop() }
        try await Daemon.run(extraArguments: ["--platform", "simulated"]) { daemon in
            try await Self.setUpAndReleaseOnce(daemon, receiver: receiver)
            #expect(try daemon.cli(["set", "image", "web", "web=web:3", "-n", "shop"]).status == 0)
            #expect(await Self.waitPhase(daemon, "Paused"))
            #expect(try daemon.cli(["abort", "web", "-n", "shop"]).status == 0)
            #expect(await Self.waitPhase(daemon, "Degraded"))

            // Every event with a catalog trigger is one Slack message, in the events' order.
            let catalog = [
                "RolloutUpdated": "has been updated", "RolloutStepCompleted": "has been completed.",
                "RolloutPaused": "has been paused", "RolloutCompleted": "has been completed.",
                "RolloutAborted": "has been aborted", "ScalingReplicaSet": "Scaling Rollout web's replicaset",
            ]
            // Once nothing is pending, the events and the messages are compared one to one.
            var events: [String] = []
            let delivered = await eventually(within: 30) {
                let listed = Self.notifications(
                    await daemon.call(.GET, "/api/v1/rollouts/web/notifications?namespace=shop"))
                guard !listed.isEmpty, listed.allSatisfy({ $0["state"] as? String == "delivered" }) else { return false }
                events = ((await daemon.call(.GET, "/api/v1/rollouts/web/events?namespace=shop"))?.json["events"]
                    as? [[String: Any]] ?? []).compactMap { $0["reason"] as? String }.filter { catalog[$0] != nil }
                return receiver.slackTexts.count == events.count
                    && receiver.got.filter { $0.path == "/audit" }.count == 1
            }
            #expect(delivered, "events \(events), got \(receiver.slackTexts)")
            for (reason, text) in zip(events, receiver.slackTexts) {
                #expect(text.contains(catalog[reason] ?? "?"), "\(reason): \(text)")
            }
            // Argo's sequence for a canary promoted by hand, then one aborted at its pause.
            let moves = events.filter { $0 != "ScalingReplicaSet" }
            #expect(
                Array(moves.drop { $0 != "RolloutUpdated" }.dropFirst(0)) == [
                    "RolloutUpdated", "RolloutStepCompleted", "RolloutPaused", "RolloutStepCompleted",
                    "RolloutCompleted", "RolloutUpdated", "RolloutStepCompleted", "RolloutPaused", "RolloutAborted",
                ], "\(moves)")
            let steps = receiver.slackTexts.filter { $0.contains("step number") }
            #expect(
                steps == [
                    "Rollout web step number 1/2 has been completed.", "Rollout web step number 2/2 has been completed.",
                    "Rollout web step number 1/2 has been completed.",
                ], "the step that completed, counted from 1 as Argo's template does")

            let slack = receiver.got.filter { $0.path == "/api/chat.postMessage" }
            for request in slack {
                #expect(request.headers["authorization"] == "Bearer xoxb-test-token")
                let timestamp = try #require(request.headers["x-slack-request-timestamp"])
                let base = Data("v0:\(timestamp):".utf8) + Data(request.body.utf8)
                #expect(request.headers["x-slack-signature"] == "v0=" + Self.hmac(base), "Slack's v0 signature")
                let json = try JSONSerialization.jsonObject(with: Data(request.body.utf8)) as? [String: Any]
                #expect(json?["channel"] as? String == "releases")
                let attachments = json?["attachments"] as? [[String: Any]]
                #expect(attachments?.first?["title"] as? String == "web", "the catalog's attachments, as JSON")
            }
            let keys = slack.compactMap { $0.headers["idempotency-key"] }
            #expect(keys.count == slack.count && Set(keys).count == keys.count, "one key per notification")

            let audit = try #require(receiver.got.first { $0.path == "/audit" })
            #expect(audit.method == "POST")
            #expect(audit.headers["x-aviary-signature-256"] == "sha256=" + Self.hmac(Data(audit.body.utf8)))
            let body = try JSONSerialization.jsonObject(with: Data(audit.body.utf8)) as? [String: String]
            #expect(body == ["rollout": "web", "image": "web:3"], "rendered from the rollout as it was at the abort")

            let shown = try daemon.cli(["get", "rollout", "web", "-n", "shop"])
            #expect(shown.output.contains("Notifications:"), "\(shown.output)")
            #expect(shown.output.contains("on-rollout-aborted → audit"), "\(shown.output)")
            #expect(shown.output.contains("✔ delivered"), "\(shown.output)")
            let metrics = (await daemon.call(.GET, "/metrics"))?.text ?? ""
            #expect(metrics.contains(#"notification_send_success{service="slack"} \#(slack.count)"#), "\(metrics)")
        }
    }

    @Test func aReceiverThatIsDownGetsEverythingInOrderWhenItIsBackAfterTheDaemonWasKilled() async throws {
        let receiver = try Receiver()
        defer { receiver.server.stop() }
        receiver.down = true
        try await Daemon.run(extraArguments: ["--platform", "simulated"]) { daemon in
            try await Self.setUpAndReleaseOnce(daemon, receiver: receiver)
            // The rollout's own notifications, in the order they were enqueued (the list is newest first).
            let order = Self.notifications(await daemon.call(.GET, "/api/v1/rollouts/web/notifications?namespace=shop"))
                .reversed().compactMap { $0["trigger"] as? String }
            // And more, sent by hand, until the outbox holds 100.
            for _ in order.count..<100 {
                #expect(
                    try daemon.cli([
                        "notifications", "template", "notify", "rollout-completed", "web", "-n", "shop", "--recipient",
                        "slack:releases",
                    ]).status == 0)
            }
            let census = (await daemon.call(.GET, "/debug/memory"))?.json["storeRows"] as? [String: Any]
            #expect(census?["notifications"] as? Int == 100)
            // Down for a while: attempts fail and are retried with backoff, nothing is given up.
            let retried = await eventually(within: 30) {
                let metrics = (await daemon.call(.GET, "/metrics"))?.text ?? ""
                let failures = metrics.split(separator: "\n").first { $0.hasPrefix(#"notification_send_error{service="slack"}"#) }
                return failures.flatMap { Int($0.split(separator: " ").last ?? "") }.map { $0 >= 2 } ?? false
            }
            #expect(retried, "the first attempts failed with 503 and were retried")

            // The daemon killed while they wait: the next one sends them all, once each, in order.
            daemon.killNine()
            receiver.down = false
            try await daemon.start(extraArguments: ["--platform", "simulated"])
            let all = await eventually(within: 120) { receiver.slackTexts.count >= 100 }
            #expect(all, "\(receiver.slackTexts.count) of 100")
            let triggerOfText: (String) -> String = { text in
                text.contains("updated") ? "on-rollout-updated"
                    : text.contains("step number") ? "on-rollout-step-completed"
                    : text.contains("paused") ? "on-rollout-paused"
                    : text.contains("has been completed") ? "on-rollout-completed" : "on-scaling-replica-set"
            }
            #expect(receiver.slackTexts.prefix(order.count).map(triggerOfText) == order, "\(receiver.slackTexts)")
            #expect(
                receiver.slackTexts.dropFirst(order.count).prefix(100 - order.count).allSatisfy {
                    $0 == "Rollout web has been completed."
                })
            // Nothing was in flight while the receiver answered 503 only, so no key repeats.
            let keys = receiver.got.compactMap { $0.headers["idempotency-key"] }
            #expect(keys.count - Set(keys).count <= 1, "at most the one in flight is repeated")
            #expect(Set(keys).count >= 100)
        }
    }

    @Test func aReceiverThatNeverAnswersDoesNotHoldTheRolloutBack() async throws {
        let receiver = try Receiver()
        defer { receiver.server.stop() }
        receiver.hang = true
        try await Daemon.run(extraArguments: ["--platform", "simulated"]) { daemon in
            // Each attempt waits 10 s for an answer that never comes; the rollout does not wait.
            let started = Date()
            try await Self.setUpAndReleaseOnce(daemon, receiver: receiver)
            print("a canary with a stuck receiver: apply to promoted and Healthy in \(Date().timeIntervalSince(started)) s")
            let listed = Self.notifications(await daemon.call(.GET, "/api/v1/rollouts/web/notifications?namespace=shop"))
            #expect(listed.allSatisfy { $0["state"] as? String == "pending" }, "\(listed)")
            #expect(receiver.slackTexts.isEmpty)
        }
    }

    /// Argo's catalog (unchanged, the global configuration), the team's part and the rollout
    /// applied; then one release promoted by hand: web:1 Healthy, web:2 paused, promoted, Healthy.
    static func setUpAndReleaseOnce(_ daemon: Daemon, receiver: Receiver) async throws {
        #expect(try daemon.cli(["apply", "-f", catalogPath]).status == 0)
        try daemon.applyWithCLI(teamConfig(receiver: receiver.server.url) + "\n---\n" + rollout)
        #expect(await waitPhase(daemon, "Healthy"))
        #expect(try daemon.cli(["set", "image", "web", "web=web:2", "-n", "shop"]).status == 0)
        #expect(await waitPhase(daemon, "Paused"))
        #expect(try daemon.cli(["promote", "web", "-n", "shop"]).status == 0)
        #expect(await waitPhase(daemon, "Healthy", image: "web:2"))
    }

    static func notifications(_ exchange: Exchange?) -> [[String: Any]] {
        exchange?.json["notifications"] as? [[String: Any]] ?? []
    }

    static func hmac(_ data: Data) -> String {
        HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: Data(signingSecret.utf8)))
            .map { String(format: "%02x", $0) }.joined()
    }

    /// Waits for the rollout's phase; with `image`, also for that image to be the stable one.
    static func waitPhase(_ daemon: Daemon, _ phase: String, image: String? = nil) async -> Bool {
        await eventually(within: 60) {
            let rollout = (await daemon.call(.GET, "/api/v1/rollouts/web?namespace=shop"))?.json ?? [:]
            let status = rollout["status"] as? [String: Any] ?? [:]
            guard status["phase"] as? String == phase else { return false }
            guard let image else { return true }
            let containers =
                ((rollout["spec"] as? [String: Any])?["template"] as? [String: Any])
                .flatMap { ($0["spec"] as? [String: Any])?["containers"] as? [[String: Any]] } ?? []
            return status["stableRS"] as? String == status["currentPodHash"] as? String
                && containers.first?["image"] as? String == image
        }
    }
}
