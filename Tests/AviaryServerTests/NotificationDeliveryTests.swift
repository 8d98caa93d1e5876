import AviaryCore
import AviaryStore
import Crypto
import Foundation
import Testing

@testable import AviaryServer

/// How a notification becomes an HTTP request for each service, and how an answer is judged;
/// and the notification ConfigMap refused at apply, by key.
@Suite struct NotificationDeliveryTests {
    static func config(_ data: [String: String], secret: [String: String] = [:]) throws -> NotificationConfig {
        try NotificationConfig(data: data, secret: secret)
    }

    static var notification: RenderedNotification {
        var notification = RenderedNotification()
        notification.message = "Rollout web has been aborted."
        notification.slack = RenderedNotification.Slack(attachments: #"[{"title": "web"}]"#, notifyBroadcast: true)
        notification.webhooks["audit"] = RenderedNotification.Webhook(method: "post", path: "/events/web", body: #"{"a":1}"#)
        notification.alertmanager = RenderedNotification.Alert(
            labels: ["alertname": "RolloutAborted"], annotations: ["summary": "web"], generatorURL: "http://x/web")
        return notification
    }

    static let now = Date(timeIntervalSince1970: 1_800_000_000)

    @Test func aWebhookRequestJoinsThePathSignsTheBodyAndCarriesTheKey() throws {
        let config = try Self.config([
            "service.webhook.audit": """
            url: https://hooks.example/base/
            headers: [{name: X-Team, value: shop}]
            basicAuth: {username: u, password: p}
            signingSecret: k
            """
        ])
        let requests = try DeliveryRequest.requests(
            for: Self.notification, destination: Destination(service: "audit", recipient: ""),
            service: try #require(config.services["audit"]), idempotencyKey: "key-1", now: Self.now)
        let request = try #require(requests.first)
        #expect(requests.count == 1)
        #expect(request.method == "POST" && request.url == "https://hooks.example/base/events/web")
        #expect(request.body == Data(#"{"a":1}"#.utf8))
        let headers = Dictionary(uniqueKeysWithValues: request.headers.map { ($0.name, $0.value) })
        #expect(headers["X-Team"] == "shop")
        #expect(headers["Authorization"] == "Basic " + Data("u:p".utf8).base64EncodedString())
        #expect(headers["Idempotency-Key"] == "key-1")
        let expected = HMAC<SHA256>.authenticationCode(for: request.body, using: SymmetricKey(data: Data("k".utf8)))
            .map { String(format: "%02x", $0) }.joined()
        #expect(headers["X-Aviary-Signature-256"] == "sha256=" + expected)
    }

    @Test func aSlackMessageCarriesTextChannelAndTheAttachmentsAsJSON() throws {
        let config = try Self.config(["service.slack": "token: xoxb-1\nusername: aviary\nicon: \":bird:\""])
        let service = try #require(config.services["slack"])
        let requests = try DeliveryRequest.requests(
            for: Self.notification, destination: Destination(service: "slack", recipient: "releases"),
            service: service, idempotencyKey: "k", now: Self.now)
        let request = try #require(requests.first)
        #expect(request.url == "https://slack.com/api/chat.postMessage")
        #expect(request.headers.contains { $0.name == "Authorization" && $0.value == "Bearer xoxb-1" })
        let body = try #require(try JSONSerialization.jsonObject(with: request.body) as? [String: Any])
        #expect(body["channel"] as? String == "releases" && body["text"] as? String == "Rollout web has been aborted.")
        #expect(body["username"] as? String == "aviary" && body["icon_emoji"] as? String == ":bird:")
        #expect((body["attachments"] as? [[String: Any]])?.first?["title"] as? String == "web")
        #expect(body["thread_ts"] == nil && body["reply_broadcast"] == nil, "the first of its groupingKey starts the thread")

        // A later one of the same groupingKey replies in the thread, and (notifyBroadcast) in the channel.
        let reply = try #require(
            try DeliveryRequest.requests(
                for: Self.notification, destination: Destination(service: "slack", recipient: "releases"),
                service: service, idempotencyKey: "k2", now: Self.now, slackThread: "1700000000.000100"
            ).first)
        let replyBody = try #require(try JSONSerialization.jsonObject(with: reply.body) as? [String: Any])
        #expect(replyBody["thread_ts"] as? String == "1700000000.000100")
        #expect(replyBody["reply_broadcast"] as? Bool == true)
    }

    @Test func anAlertGoesToEachTargetInTurnWithItsLabels() throws {
        let config = try Self.config(["service.alertmanager": "targets: [10.0.0.1:9093, 10.0.0.2:9093]\nbearerToken: t"])
        let requests = try DeliveryRequest.requests(
            for: Self.notification, destination: Destination(service: "alertmanager", recipient: ""),
            service: try #require(config.services["alertmanager"]), idempotencyKey: "k", now: Self.now)
        #expect(requests.map(\.url) == ["http://10.0.0.1:9093/api/v2/alerts", "http://10.0.0.2:9093/api/v2/alerts"])
        let alerts = try #require(try JSONSerialization.jsonObject(with: requests[0].body) as? [[String: Any]])
        #expect((alerts.first?["labels"] as? [String: String]) == ["alertname": "RolloutAborted"])
        #expect(alerts.first?["generatorURL"] as? String == "http://x/web")
        #expect(requests[0].headers.contains { $0.name == "Authorization" && $0.value == "Bearer t" })
    }

    @Test func aTemplateWithoutTheServicesPartFailsForGood() throws {
        let config = try Self.config(["service.webhook.other": "url: http://x"])
        let service = try #require(config.services["other"])
        #expect(throws: DeliveryFailure.self) {
            try DeliveryRequest.requests(
                for: Self.notification, destination: Destination(service: "other", recipient: ""),
                service: service, idempotencyKey: "k", now: Self.now)
        }
    }

    struct Answer: Sendable, CustomTestStringConvertible {
        var status: Int
        var body: String = ""
        var expected: Bool?  // nil: delivered; true: failed for good; false: retried
        var testDescription: String { "\(status) \(body)" }
    }

    @Test(arguments: [
        Answer(status: 200), Answer(status: 204), Answer(status: 400, expected: true), Answer(status: 404, expected: true),
        Answer(status: 408, expected: false), Answer(status: 429, expected: false), Answer(status: 500, expected: false),
        Answer(status: 503, expected: false), Answer(status: 200, body: #"{"ok": false, "error": "channel_not_found"}"#, expected: true),
        Answer(status: 200, body: #"{"ok": false, "error": "ratelimited"}"#, expected: false),
    ])
    func anAnswerIsDeliveredRetriedOrFinal(_ answer: Answer) throws {
        let slack = try #require(try Self.config(["service.slack": "token: x"]).services["slack"])
        let failure = DeliveryFailure.judge(status: answer.status, body: Data(answer.body.utf8), service: slack)
        #expect(failure?.permanent == answer.expected, "\(failure?.reason ?? "delivered")")
    }

    @Test(arguments: [
        ("service.webhook.hook: |\n    url: http://x/$nope", "$nope names no key of Secret argo-rollouts-notification-secret"),
        ("template.bad: |\n    message: \"{{.rollout.metadata.name\"", "key template.bad: message: template \"bad\" line 1"),
        ("service.pagerduty: |\n    token: x", "key service.pagerduty: service pagerduty is not supported by Aviary"),
    ])
    func aBadNotificationConfigMapIsRefusedAtApplyWithItsKey(entry: String, reason: String) throws {
        let directory = NSTemporaryDirectory() + "aviary-notify-apply-" + UUID().uuidString
        defer { try? FileManager.default.removeItem(atPath: directory) }
        let store = try AviaryStore(stateDirectory: directory)
        let api = ResourceAPI(store: store, changed: { _ in })
        let manifest = """
            apiVersion: v1
            kind: ConfigMap
            metadata: {name: argo-rollouts-notification-configmap}
            data:
              \(entry)
            """
        #expect {
            try api.apply(Data(manifest.utf8), file: "notify.yaml")
        } throws: { error in
            let text = "\(error)"
            #expect(text.contains(reason), "\(text)")
            return true
        }
        #expect(try store.resources(kind: .configMap).isEmpty, "nothing was applied")
    }
}
