import AviaryModel
import Foundation

/// A service notifications are sent through, from `service.<type>[.<name>]`, its `$key`
/// references replaced by the Secret's values.
public enum NotificationService: Sendable, Equatable {
    /// An HTTP endpoint (`service.webhook.<name>`).
    case webhook(Webhook)
    /// Slack's Web API, or an incoming-webhook URL.
    case slack(Slack)
    /// Alertmanager's v2 API.
    case alertmanager(Alertmanager)
    /// Email through an SMTP server.
    case email(Email)

    /// The service's type, as in its key (`webhook`, `slack`, `alertmanager`).
    public var type: String {
        switch self {
        case .webhook: "webhook"
        case .slack: "slack"
        case .alertmanager: "alertmanager"
        case .email: "email"
        }
    }

    /// The types Aviary sends through.
    public static let supportedTypes = ["webhook", "slack", "alertmanager", "email"]

    /// `service.webhook.<name>`: `url`, `headers` (`[{name, value}]`), `basicAuth`
    /// (`{username, password}`), and Aviary's `signingSecret`: with it, each request carries
    /// `X-Aviary-Signature-256: sha256=<hex HMAC-SHA256 of the body>`.
    public struct Webhook: Sendable, Equatable {
        public var name: String
        public var url: String
        public var headers: [(name: String, value: String)]
        public var basicAuth: (username: String, password: String)?
        public var signingSecret: String?

        public static func == (lhs: Webhook, rhs: Webhook) -> Bool {
            lhs.name == rhs.name && lhs.url == rhs.url && lhs.signingSecret == rhs.signingSecret
                && lhs.headers.map(\.name) == rhs.headers.map(\.name)
                && lhs.headers.map(\.value) == rhs.headers.map(\.value)
                && lhs.basicAuth?.username == rhs.basicAuth?.username
                && lhs.basicAuth?.password == rhs.basicAuth?.password
        }
    }

    /// `service.slack`: a bot `token` posting with `chat.postMessage` under `apiURL`
    /// (`https://slack.com/api/` by default), or an incoming-webhook `webhookURL`; `username`,
    /// `icon` (an emoji `:name:` or an image URL); with `signingSecret`, Slack's request
    /// signature headers (`X-Slack-Signature: v0=...`, `X-Slack-Request-Timestamp`).
    public struct Slack: Sendable, Equatable {
        public var token: String?
        public var webhookURL: String?
        public var apiURL: String
        public var username: String?
        public var icon: String?
        public var signingSecret: String?
    }

    /// `service.alertmanager`: `targets` (`host:port`), `scheme` (`http`), `apiPath`
    /// (`/api/v2/alerts`), `basicAuth`, `bearerToken`.
    public struct Alertmanager: Sendable, Equatable {
        public var targets: [String]
        public var scheme: String
        public var apiPath: String
        public var basicAuthUsername: String?
        public var basicAuthPassword: String?
        public var bearerToken: String?
    }

    /// `service.email`: the SMTP server (`host`, `port`: 465 speaks TLS from the start, any
    /// other port upgrades with STARTTLS when the server offers it), `username` and `password`
    /// (AUTH PLAIN, only over TLS), `from`, `insecure_skip_verify`, `html`.
    public struct Email: Sendable, Equatable {
        public var host: String
        public var port: Int
        public var username: String?
        public var password: String?
        public var from: String
        public var insecureSkipVerify: Bool
        public var html: Bool
    }

    /// Reads a service's options; `type` is the `<type>` of its key.
    init(type: String, name: String, yaml: String, secret: [String: String]?) throws {
        let key = name == type ? "service.\(type)" : "service.\(type).\(name)"
        guard Self.supportedTypes.contains(type) else {
            throw NotificationConfigError(
                key: key,
                reason: "service \(type) is not supported by Aviary (it sends through "
                    + Self.supportedTypes.joined(separator: ", ") + "): use one of those or remove the key")
        }
        let options = try SecretReferences(secret: secret, key: key).resolve(try YAMLText.load(yaml) ?? [:])
        guard let map = options as? [String: Any] else {
            throw NotificationConfigError(key: key, reason: "expected a map of options")
        }
        func text(_ field: String) -> String? { YAMLValue.scalarText(map[field]).flatMap { $0.isEmpty ? nil : $0 } }
        let auth = map["basicAuth"] as? [String: Any]
        switch type {
        case "webhook":
            guard let url = text("url"), URL(string: url)?.scheme != nil else {
                throw NotificationConfigError(key: key, reason: "url is missing or not an absolute URL: set url: https://...")
            }
            var headers: [(String, String)] = []
            for entry in map["headers"] as? [Any] ?? [] {
                guard let header = entry as? [String: Any], let field = YAMLValue.scalarText(header["name"]) else {
                    throw NotificationConfigError(key: key, reason: "each header is {name, value}")
                }
                headers.append((field, YAMLValue.scalarText(header["value"]) ?? ""))
            }
            self = .webhook(
                Webhook(
                    name: name, url: url, headers: headers,
                    basicAuth: auth.map {
                        (YAMLValue.scalarText($0["username"]) ?? "", YAMLValue.scalarText($0["password"]) ?? "")
                    },
                    signingSecret: text("signingSecret")))
        case "slack":
            guard text("token") != nil || text("webhookURL") != nil else {
                throw NotificationConfigError(
                    key: key, reason: "slack needs a token (a bot token, e.g. token: $slack-token) or a webhookURL")
            }
            var apiURL = text("apiURL") ?? "https://slack.com/api/"
            if !apiURL.hasSuffix("/") { apiURL += "/" }
            self = .slack(
                Slack(
                    token: text("token"), webhookURL: text("webhookURL"), apiURL: apiURL, username: text("username"),
                    icon: text("icon"), signingSecret: text("signingSecret")))
        case "email":
            guard let host = text("host"), let from = text("from") else {
                throw NotificationConfigError(
                    key: key, reason: "email needs host and from, e.g. host: smtp.example.com and from: rollouts@example.com")
            }
            guard let port = Int(text("port") ?? "587"), (1...65535).contains(port) else {
                throw NotificationConfigError(key: key, reason: "port \(text("port") ?? "") is not a port number (1-65535)")
            }
            self = .email(
                Email(
                    host: host, port: port, username: text("username"), password: text("password"), from: from,
                    insecureSkipVerify: map["insecure_skip_verify"] as? Bool ?? false, html: map["html"] as? Bool ?? false))
        default:
            let targets = (map["targets"] as? [Any] ?? []).compactMap(YAMLValue.scalarText)
            guard !targets.isEmpty else {
                throw NotificationConfigError(key: key, reason: "alertmanager needs targets, e.g. targets: [10.0.0.1:9093]")
            }
            self = .alertmanager(
                Alertmanager(
                    targets: targets, scheme: text("scheme") ?? "http", apiPath: text("apiPath") ?? "/api/v2/alerts",
                    basicAuthUsername: auth.flatMap { YAMLValue.scalarText($0["username"]) },
                    basicAuthPassword: auth.flatMap { YAMLValue.scalarText($0["password"]) },
                    bearerToken: text("bearerToken")))
        }
    }
}

/// `$key` in a service's option values, replaced by the Secret's `key` (Argo's rule: a `$`
/// followed by letters, digits, `_` and `-`).
struct SecretReferences {
    /// The Secret's values; nil when they are not known (lint without the Secret), and then
    /// `$key` is left as written.
    var secret: [String: String]?
    var key: String

    func resolve(_ value: Any) throws -> Any {
        switch value {
        case let text as String: return try resolve(text)
        case let list as [Any]: return try list.map(resolve)
        case let map as [String: Any]: return try map.mapValues(resolve)
        default: return value
        }
    }

    func resolve(_ text: String) throws -> String {
        var result = ""
        var index = text.startIndex
        while index < text.endIndex {
            let character = text[index]
            guard character == "$" else {
                result.append(character)
                index = text.index(after: index)
                continue
            }
            var end = text.index(after: index)
            while end < text.endIndex, text[end].isLetter || text[end].isNumber || text[end] == "_" || text[end] == "-" {
                end = text.index(after: end)
            }
            let name = String(text[text.index(after: index)..<end])
            guard let secret else {
                result += text[index..<end]
                index = end
                continue
            }
            if name.isEmpty {
                result.append(character)
            } else if let value = secret[name] {
                result += value
            } else {
                throw NotificationConfigError(
                    key: key,
                    reason: "$\(name) names no key of Secret \(NotificationConfig.secretName): "
                        + "add \(name) to its stringData (or data), or write the value itself")
            }
            index = end
        }
        return result
    }
}
