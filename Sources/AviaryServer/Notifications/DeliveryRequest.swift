import AviaryCore
import Crypto
import Foundation

/// One HTTP request that delivers a notification, built from the service's options when it is
/// sent (so a rotated token applies to what is still waiting).
public struct DeliveryRequest: Sendable, Equatable {
    public var method: String
    public var url: String
    public var headers: [Header]
    public var body: Data

    /// A header.
    public struct Header: Sendable, Equatable {
        public var name: String
        public var value: String
    }

    /// The header carrying the idempotency key, the same on every retry of one notification.
    public static let idempotencyHeader = "Idempotency-Key"
    /// The header carrying the HMAC of a webhook's body when the service has a `signingSecret`.
    public static let signatureHeader = "X-Aviary-Signature-256"

    /// The requests that send `notification` to `destination` through `service` (one per
    /// Alertmanager target, which are tried in order until one takes it; one otherwise).
    /// `slackThread` is the `ts` of the first message of the notification's Slack `groupingKey`
    /// in this channel, when one was posted: the message then goes into its thread.
    public static func requests(
        for notification: RenderedNotification, destination: Destination, service: NotificationService,
        idempotencyKey: String, now: Date, slackThread: String? = nil
    ) throws(DeliveryFailure) -> [DeliveryRequest] {
        var requests: [DeliveryRequest]
        switch service {
        case .webhook(let webhook):
            requests = [try webhookRequest(notification, webhook)]
        case .slack(let slack):
            requests = [try slackRequest(notification, destination, slack, thread: slackThread, now: now)]
        case .alertmanager(let alertmanager):
            requests = try alertRequests(notification, alertmanager, now: now)
        case .email:
            throw DeliveryFailure(permanent: true, reason: "email is sent over SMTP (SMTPClient), not as an HTTP request")
        }
        for index in requests.indices {
            requests[index].headers.append(Header(name: idempotencyHeader, value: idempotencyKey))
        }
        return requests
    }

    private static func webhookRequest(
        _ notification: RenderedNotification, _ webhook: NotificationService.Webhook
    ) throws(DeliveryFailure) -> DeliveryRequest {
        guard let part = notification.webhooks[webhook.name] else {
            throw DeliveryFailure(
                permanent: true,
                reason: "the trigger's templates have no webhook.\(webhook.name) section (method, path, body): add one")
        }
        var url = webhook.url
        if let path = part.path, !path.isEmpty {
            url = url.hasSuffix("/") && path.hasPrefix("/") ? url + path.dropFirst() : url + path
        }
        let body = Data((part.body ?? "").utf8)
        var headers = webhook.headers.map { Header(name: $0.name, value: $0.value) }
        if let auth = webhook.basicAuth { headers.append(basicAuthorization(auth.username, auth.password)) }
        if let secret = webhook.signingSecret {
            headers.append(Header(name: signatureHeader, value: "sha256=" + hmac(secret, body)))
        }
        return DeliveryRequest(method: part.method?.uppercased() ?? "GET", url: url, headers: headers, body: body)
    }

    private static func slackRequest(
        _ notification: RenderedNotification, _ destination: Destination, _ slack: NotificationService.Slack,
        thread: String?, now: Date
    ) throws(DeliveryFailure) -> DeliveryRequest {
        var message: [String: Any] = ["text": notification.message]
        if !destination.recipient.isEmpty { message["channel"] = destination.recipient }
        if let username = slack.username { message["username"] = username }
        if let icon = slack.icon {
            message[icon.hasPrefix(":") ? "icon_emoji" : "icon_url"] = icon
        }
        if let parts = notification.slack {
            for (field, text) in [("attachments", parts.attachments), ("blocks", parts.blocks)] {
                guard let text, !text.trimmingCharacters(in: .whitespacesAndNewlines).isEmpty else { continue }
                guard let json = try? JSONSerialization.jsonObject(with: Data(text.utf8)) else {
                    throw DeliveryFailure(
                        permanent: true,
                        reason: "slack.\(field) did not render to JSON: fix the template (rendered: \(text.prefix(200)))")
                }
                message[field] = json
            }
            // In the thread of its groupingKey, and (notifyBroadcast) in the channel too.
            if let thread {
                message["thread_ts"] = thread
                if parts.notifyBroadcast { message["reply_broadcast"] = true }
            }
        }
        let body: Data
        do {
            body = try JSONSerialization.data(withJSONObject: message, options: [.sortedKeys])
        } catch {
            throw DeliveryFailure(permanent: true, reason: "cannot encode the Slack message: \(error)")
        }
        var headers = [Header(name: "Content-Type", value: "application/json; charset=utf-8")]
        let url: String
        if let webhookURL = slack.webhookURL {
            url = webhookURL
        } else {
            url = slack.apiURL + "chat.postMessage"
            headers.append(Header(name: "Authorization", value: "Bearer " + (slack.token ?? "")))
        }
        if let secret = slack.signingSecret {
            let timestamp = String(Int(now.timeIntervalSince1970))
            let base = Data("v0:\(timestamp):".utf8) + body
            headers.append(Header(name: "X-Slack-Request-Timestamp", value: timestamp))
            headers.append(Header(name: "X-Slack-Signature", value: "v0=" + hmac(secret, base)))
        }
        return DeliveryRequest(method: "POST", url: url, headers: headers, body: body)
    }

    private static func alertRequests(
        _ notification: RenderedNotification, _ service: NotificationService.Alertmanager, now: Date
    ) throws(DeliveryFailure) -> [DeliveryRequest] {
        guard let alert = notification.alertmanager, !alert.labels.isEmpty else {
            throw DeliveryFailure(
                permanent: true,
                reason: "the trigger's templates have no alertmanager.labels: add at least alertname")
        }
        var entry: [String: Any] = [
            "labels": alert.labels, "annotations": alert.annotations,
            "startsAt": ISO8601DateFormatter().string(from: now),
        ]
        if let url = alert.generatorURL, !url.isEmpty { entry["generatorURL"] = url }
        let body: Data
        do {
            body = try JSONSerialization.data(withJSONObject: [entry], options: [.sortedKeys])
        } catch {
            throw DeliveryFailure(permanent: true, reason: "cannot encode the alert: \(error)")
        }
        var headers = [Header(name: "Content-Type", value: "application/json")]
        if let token = service.bearerToken {
            headers.append(Header(name: "Authorization", value: "Bearer " + token))
        } else if let username = service.basicAuthUsername {
            headers.append(basicAuthorization(username, service.basicAuthPassword ?? ""))
        }
        let path = service.apiPath.hasPrefix("/") ? service.apiPath : "/" + service.apiPath
        return service.targets.map { target in
            DeliveryRequest(method: "POST", url: "\(service.scheme)://\(target)\(path)", headers: headers, body: body)
        }
    }

    private static func basicAuthorization(_ username: String, _ password: String) -> Header {
        Header(name: "Authorization", value: "Basic " + Data("\(username):\(password)".utf8).base64EncodedString())
    }

    /// The hex HMAC-SHA256 of `data` under `secret`.
    public static func hmac(_ secret: String, _ data: Data) -> String {
        let code = HMAC<SHA256>.authenticationCode(for: data, using: SymmetricKey(data: Data(secret.utf8)))
        return code.map { String(format: "%02x", $0) }.joined()
    }
}

/// Why a delivery did not go through, and whether trying again can help.
public struct DeliveryFailure: Error, Sendable, Equatable, CustomStringConvertible {
    /// True when retrying cannot help (a 4xx answer, a template without the service's part).
    public var permanent: Bool
    /// What happened.
    public var reason: String

    /// A failure.
    public init(permanent: Bool, reason: String) {
        self.permanent = permanent
        self.reason = reason
    }

    public var description: String { reason }

    /// How an HTTP answer is judged: 2xx delivered (nil); 408, 425, 429 and 5xx worth retrying;
    /// any other status final. Slack's Web API answers 200 with `"ok": false` for its errors.
    public static func judge(status: Int, body: Data, service: NotificationService) -> DeliveryFailure? {
        let text = String(decoding: body.prefix(300), as: UTF8.self)
        if (200..<300).contains(status) {
            if case .slack(let slack) = service, slack.webhookURL == nil,
                let answer = try? JSONSerialization.jsonObject(with: body) as? [String: Any],
                answer["ok"] as? Bool == false
            {
                let error = answer["error"] as? String ?? "unknown error"
                return DeliveryFailure(permanent: error != "ratelimited", reason: "Slack answered error \(error)")
            }
            return nil
        }
        let retried = status == 408 || status == 425 || status == 429 || status >= 500
        return DeliveryFailure(permanent: !retried, reason: "HTTP \(status): \(text)")
    }
}
