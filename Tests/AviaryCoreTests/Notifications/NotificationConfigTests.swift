import AviaryCore
import AviaryGoTemplate
import AviaryModel
import Foundation
import Testing

/// Argo's own catalog, read from `../shared/upstream/argo-rollouts/` beside the package.
private func argoCatalog() throws -> [String: String] {
    let root = URL(fileURLWithPath: #filePath).deletingLastPathComponent().deletingLastPathComponent()
        .deletingLastPathComponent().deletingLastPathComponent().deletingLastPathComponent()
    let path = root.appendingPathComponent("shared/upstream/argo-rollouts/notifications-install.yaml").path
    let decoded = ManifestDecoder().decode(try Data(contentsOf: URL(fileURLWithPath: path)), file: path)
    guard case .configMap(let map)? = decoded.resources.first else {
        Issue.record("the catalog is not a ConfigMap: \(decoded.diagnostics)")
        return [:]
    }
    return map.values
}

private func rollout(blueGreen: Bool = false, stepIndex: Int = 1) throws -> GoValue {
    let strategy =
        blueGreen
        ? #"{"blueGreen": {"activeService": "web-active"}}"#
        : #"{"canary": {"steps": [{"setWeight": 10}, {"pause": {}}, {"setWeight": 50}]}}"#
    return try GoValue(
        json: Data(
            """
            {"apiVersion": "argoproj.io/v1alpha1", "kind": "Rollout",
             "metadata": {"name": "web", "namespace": "shop"},
             "spec": {"replicas": 3, "strategy": \(strategy),
                      "template": {"spec": {"containers": [{"name": "web", "image": "web:2"},
                                                           {"name": "proxy", "image": "envoy:1.30"}]}}},
             "status": {"currentStepIndex": \(stepIndex), "updatedReplicas": 1}}
            """.utf8))
}

private let everyTrigger = [
    "on-rollout-updated", "on-rollout-step-completed", "on-rollout-paused", "on-rollout-completed",
    "on-rollout-aborted", "on-scaling-replica-set", "on-analysis-run-running", "on-analysis-run-failed",
    "on-analysis-run-error",
]

struct NotificationConfigTests {
    @Test(arguments: [
        ("RolloutStepCompleted", "on-rollout-step-completed"), ("RolloutUpdated", "on-rollout-updated"),
        ("ScalingReplicaSet", "on-scaling-replica-set"), ("AnalysisRunError", "on-analysis-run-error"),
        ("RolloutAborted", "on-rollout-aborted"), ("HTTPServerDown", "on-http-server-down"),
        ("Step2Done", "on-step2-done"),
    ])
    func anEventsReasonNamesItsTriggerInKebabCase(reason: String, trigger: String) {
        #expect(triggerName(forReason: reason) == trigger)
    }

    @Test func argosCatalogParsesWithEveryTriggerAndTemplate() throws {
        let config = try NotificationConfig(data: try argoCatalog(), secret: [:])
        #expect(config.triggers.keys.sorted() == everyTrigger.sorted())
        #expect(config.templates.count == 9)
        for trigger in everyTrigger { #expect(config.templates(ofTrigger: trigger)?.count == 1, "\(trigger)") }
    }

    @Test func everyCatalogTemplateRendersForACanaryAndABlueGreenRollout() throws {
        let config = try NotificationConfig(data: try argoCatalog(), secret: [:])
        for (blueGreen, strategyName) in [(false, "Canary"), (true, "BlueGreen")] {
            let vars = GoValue.object(["rollout": try rollout(blueGreen: blueGreen)])
            for (name, template) in config.templates {
                // Argo never fires step-completed for blue-green; its template reads the canary's steps.
                if blueGreen && name == "rollout-step-completed" { continue }
                var rendered = RenderedNotification()
                try template.render(vars, into: &rendered)
                #expect(rendered.message.contains("web"), "\(name)")
                #expect(rendered.emailSubject == rendered.message.trimmingCharacters(in: .newlines), "\(name)")
                let attachments = try #require(rendered.slack?.attachments)
                let json = try JSONSerialization.jsonObject(with: Data(attachments.utf8)) as? [[String: Any]]
                let fields = json?.first?["fields"] as? [[String: Any]] ?? []
                #expect(fields.first?["value"] as? String == strategyName, "\(name)")
                #expect(fields.contains { $0["value"] as? String == "envoy:1.30" }, "\(name)")
            }
        }
    }

    @Test func theStepCompletedMessageCountsStepsAsArgosDoes() throws {
        let config = try NotificationConfig(data: try argoCatalog(), secret: [:])
        var rendered = RenderedNotification()
        try config.templates["rollout-step-completed"]?.render(
            .object(["rollout": try rollout(stepIndex: 1)]), into: &rendered)
        #expect(rendered.message == "Rollout web step number 2/3 has been completed.")
    }

    struct Refusal: Sendable, CustomTestStringConvertible {
        var data: [String: String]
        var secret: [String: String] = [:]
        var key: String
        var reason: String
        var testDescription: String { key }
    }

    @Test(arguments: [
        Refusal(
            data: ["template.x": "message: \"{{.rollout.metadata.name\""], key: "template.x",
            reason: "message: template \"x\" line 1"),
        Refusal(
            data: ["template.x": "message: \"{{nope .rollout}}\""], key: "template.x",
            reason: "function \"nope\" not defined"),
        Refusal(
            data: ["service.teams": "recipientUrls: {}"], key: "service.teams",
            reason: "service teams is not supported by Aviary"),
        Refusal(
            data: ["service.slack": "token: $slack-token"], key: "service.slack",
            reason: "$slack-token names no key of Secret argo-rollouts-notification-secret"),
        Refusal(
            data: ["trigger.on-rollout-paused": "- send: [missing]"], key: "trigger.on-rollout-paused",
            reason: "sends template missing, which has no key template.missing"),
        Refusal(
            data: ["service.webhook.a.b": "url: http://x"], key: "service.webhook.a.b",
            reason: "service.<type> or service.<type>.<name>"),
        Refusal(data: ["service.webhook.hook": "headers: []"], key: "service.webhook.hook", reason: "url is missing"),
        Refusal(data: ["template.x": "message: [unclosed"], key: "template.x", reason: "not valid YAML"),
    ])
    func whatIsWrongIsRefusedWithItsKeyAndReason(_ refusal: Refusal) {
        #expect {
            try NotificationConfig(data: refusal.data, secret: refusal.secret)
        } throws: { error in
            guard let error = error as? NotificationConfigError else { return false }
            #expect(error.key == refusal.key)
            #expect(error.reason.contains(refusal.reason), "\(error.reason)")
            return true
        }
    }

    @Test func secretReferencesAreReplacedInEveryOptionValue() throws {
        let config = try NotificationConfig(
            data: [
                "service.webhook.hook": """
                url: https://hooks.example/$path
                headers:
                - name: Authorization
                  value: Bearer $token
                signingSecret: $signing
                """
            ],
            secret: ["path": "p1", "token": "t0k", "signing": "s3"])
        guard case .webhook(let hook)? = config.services["hook"] else {
            Issue.record("no webhook service")
            return
        }
        #expect(hook.url == "https://hooks.example/p1")
        #expect(hook.headers.first?.value == "Bearer t0k")
        #expect(hook.signingSecret == "s3")
    }
}

struct SubscriptionTests {
    struct Case: Sendable, CustomTestStringConvertible {
        var name: String
        var annotations: [String: String]
        var labels: [String: String] = [:]
        var expected: [String: [Destination]]
        var testDescription: String { name }
    }

    static let config: NotificationConfig = {
        var config = NotificationConfig()
        config.defaultTriggers = ["on-rollout-completed"]
        config.serviceDefaultTriggers = ["email": ["on-rollout-aborted"]]
        config.subscriptions = [
            GlobalSubscription(recipients: ["slack:ops"], triggers: ["on-rollout-aborted"], selector: "tier=prod")
        ]
        return config
    }()

    @Test(arguments: [
        Case(
            name: "trigger and service", annotations: ["notifications.argoproj.io/subscribe.on-rollout-paused.slack": "a; b"],
            expected: [
                "on-rollout-paused": [Destination(service: "slack", recipient: "a"), Destination(service: "slack", recipient: "b")]
            ]),
        Case(
            name: "service only: the default triggers",
            annotations: ["notifications.argoproj.io/subscribe.slack": "releases"],
            expected: ["on-rollout-completed": [Destination(service: "slack", recipient: "releases")]]),
        Case(
            name: "service only: the service's default triggers",
            annotations: ["notifications.argoproj.io/subscribe.email": "me@example.com"],
            expected: ["on-rollout-aborted": [Destination(service: "email", recipient: "me@example.com")]]),
        Case(
            name: "webhook without a recipient",
            annotations: ["notifications.argoproj.io/subscribe.on-rollout-updated.hook": ""],
            expected: ["on-rollout-updated": [Destination(service: "hook", recipient: "")]]),
        Case(
            name: "the YAML list",
            annotations: [
                "notifications.argoproj.io/subscriptions": """
                - trigger: [on-rollout-paused, on-rollout-aborted]
                  destinations:
                  - service: slack
                    recipients: [c1, c2]
                """
            ],
            expected: [
                "on-rollout-paused": [Destination(service: "slack", recipient: "c1"), Destination(service: "slack", recipient: "c2")],
                "on-rollout-aborted": [Destination(service: "slack", recipient: "c1"), Destination(service: "slack", recipient: "c2")],
            ]),
        Case(
            name: "a global subscription whose selector matches", annotations: [:], labels: ["tier": "prod"],
            expected: ["on-rollout-aborted": [Destination(service: "slack", recipient: "ops")]]),
        Case(name: "a global subscription whose selector does not match", annotations: [:], labels: ["tier": "dev"], expected: [:]),
        Case(name: "other annotations", annotations: ["example.com/x": "y"], expected: [:]),
    ])
    func destinationsByTrigger(_ test: Case) {
        #expect(
            Subscriptions.destinations(annotations: test.annotations, labels: test.labels, config: Self.config)
                == test.expected)
    }

    @Test func aSubscriptionListThatDoesNotParseIsAProblem() {
        let problems = Subscriptions.problems(annotations: ["notifications.argoproj.io/subscriptions": "- trigger: [a\n"])
        #expect(problems.count == 1)
        #expect(problems.first?.contains("notifications.argoproj.io/subscriptions") == true)
    }
}

struct NotifierTests {
    @Test func eachEventSendsItsTriggersTemplatesToEverySubscriber() throws {
        var data = try argoCatalog()
        data["service.slack"] = "token: xoxb"
        let config = try NotificationConfig(data: data, secret: [:])
        let pending = Notifier.notifications(
            reasons: ["RolloutUpdated", "RolloutResumed", "RolloutStepCompleted"], rollout: try rollout(),
            annotations: [
                "notifications.argoproj.io/subscribe.on-rollout-updated.slack": "a;b",
                "notifications.argoproj.io/subscribe.on-rollout-step-completed.slack": "a",
                "notifications.argoproj.io/subscribe.on-rollout-resumed.slack": "a",
            ],
            labels: [:], config: config)
        // RolloutResumed has no trigger in the catalog: nothing is sent for it.
        #expect(pending.map(\.trigger) == ["on-rollout-updated", "on-rollout-updated", "on-rollout-step-completed"])
        #expect(pending.map(\.destination.recipient) == ["a", "b", "a"])
        #expect(pending.allSatisfy { $0.failure == nil })
        #expect(pending[2].notification.message == "Rollout web step number 2/3 has been completed.")
    }

    @Test func aSubscriberOfAServiceThatIsNotConfiguredGetsAFailureThatSaysSo() throws {
        let config = try NotificationConfig(data: try argoCatalog(), secret: [:])
        let pending = Notifier.notifications(
            reasons: ["RolloutAborted"], rollout: try rollout(),
            annotations: ["notifications.argoproj.io/subscribe.on-rollout-aborted.pager": "x"], labels: [:],
            config: config)
        #expect(pending.count == 1)
        #expect(pending.first?.failure?.contains("no service pager") == true)
    }

    @Test func aTemplateThatFailsToRenderIsAFailureNamingTemplateAndField() throws {
        var data = try argoCatalog()
        data["service.slack"] = "token: xoxb"
        let config = try NotificationConfig(data: data, secret: [:])
        // Argo's step-completed template reads the canary's steps, which a blue-green rollout lacks.
        let pending = Notifier.notifications(
            reasons: ["RolloutStepCompleted"], rollout: try rollout(blueGreen: true),
            annotations: ["notifications.argoproj.io/subscribe.on-rollout-step-completed.slack": "x"], labels: [:],
            config: config)
        let failure = try #require(pending.first?.failure)
        #expect(failure.contains("template rollout-step-completed, field message"), "\(failure)")
    }
}

/// Argo's self-service layering of the notification ConfigMap and Secret, as rows.
@Suite struct NotificationLayeringTests {
    struct Row: Sendable, CustomTestStringConvertible {
        var name: String
        var layers: [NotificationConfig.Layer]
        var data: [String: String]?
        var secret: [String: String]
        var testDescription: String { name }
    }

    static let rows: [Row] = [
        Row(name: "no layer", layers: [], data: nil, secret: [:]),
        Row(name: "no ConfigMap anywhere", layers: [(nil, ["k": "v"]), (nil, nil)], data: nil, secret: ["k": "v"]),
        Row(
            name: "the namespace's keys win, the others stay",
            layers: [(["a": "1", "b": "2"], ["k": "global", "g": "x"]), (["b": "3"], ["k": "mine"])],
            data: ["a": "1", "b": "3"], secret: ["k": "mine", "g": "x"]),
        Row(
            name: "a namespace with its own ConfigMap only", layers: [(nil, nil), (["t": "1"], nil)], data: ["t": "1"],
            secret: [:]),
        Row(
            name: "an empty ConfigMap is a ConfigMap", layers: [([:], nil)], data: [:], secret: [:]),
    ]

    @Test(arguments: rows)
    func layered(_ row: Row) {
        let (data, secret) = NotificationConfig.layered(row.layers)
        #expect(data == row.data)
        #expect(secret == row.secret)
    }
}
