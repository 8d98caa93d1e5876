import AsyncHTTPClient
import AviaryCore
import AviaryModel
import AviaryStore
import Foundation
import Logging
import NIOCore
import NIOHTTP1

/// Sends what the outbox holds: each rollout's notifications in the order they were enqueued
/// (the next waits until the one before is delivered or has failed for good), different
/// rollouts side by side, on its own task so a slow receiver never delays a reconcile.
///
/// A failed attempt is retried with exponential backoff (1 s doubling up to 60 s) until
/// `retryFor` has passed since the notification was enqueued; a 4xx answer (other than 408,
/// 425 and 429), a template without the service's part, or a service that is gone fails it at
/// once. Every attempt carries the same `Idempotency-Key`, so the one attempt a killed daemon
/// may repeat can be dropped by the receiver.
actor NotificationDispatcher {
    let outbox: any NotificationOutbox
    let settings: NotificationSettings
    let metrics: DaemonMetrics
    let retryFor: TimeInterval
    let requestTimeout: TimeAmount
    let now: @Sendable () -> Date
    let logger: Logger
    /// Slack threads by service, channel and `groupingKey`: the `ts` of each key's first message,
    /// which later ones reply to (as Argo's Slack service threads them; kept while the daemon runs).
    private var slackThreads: [String: String] = [:]

    /// One client for the process's life, like `HTTPClient.shared`, so it is never shut down.
    private static let client: HTTPClient = {
        var configuration = HTTPClient.Configuration()
        configuration.connectionPool.retryConnectionEstablishment = false
        configuration.timeout.connect = .seconds(5)
        return HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }()

    init(
        outbox: any NotificationOutbox, settings: NotificationSettings, metrics: DaemonMetrics,
        retryFor: TimeInterval = 3600,
        requestTimeout: TimeAmount = .seconds(10), now: @escaping @Sendable () -> Date = { Date() },
        logger: Logger
    ) {
        self.outbox = outbox
        self.settings = settings
        self.metrics = metrics
        self.retryFor = retryFor
        self.requestTimeout = requestTimeout
        self.now = now
        self.logger = logger
    }

    /// Delivers until the task is cancelled. With nothing due it sleeps until the next retry is
    /// due or the store commits a write (which may have enqueued one), at most `idle`: a daemon at
    /// rest does not read the outbox several times a second.
    func run(idle: Duration = .seconds(30)) async {
        while !Task.isCancelled {
            let seen = outbox.changes.count
            let due: [StoredNotification]
            do {
                due = try await outbox.dueNotifications(at: now(), limit: 32)
            } catch {
                logger.error("cannot read the notification outbox: \(error)")
                due = []
            }
            await withTaskGroup(of: Void.self) { group in
                for notification in due { group.addTask { await self.deliver(notification) } }
            }
            guard due.isEmpty else { continue }
            var wait = idle
            if let next = (try? await outbox.nextNotificationDue()) ?? nil {
                let seconds = max(0.05, next.timeIntervalSince(now()))
                wait = min(idle, .milliseconds(Int64(seconds * 1000)))
            }
            await outbox.changes.wait(after: seen, timeout: wait)
        }
    }

    /// One attempt at one notification, and its outcome recorded.
    func deliver(_ notification: StoredNotification) async {
        let attempt = notification.attempts + 1
        let failure = await send(notification)
        let time = now()
        var state = StoredNotification.State.delivered
        var next = time
        if let failure {
            let age = time.timeIntervalSince(RFC3339.parse(notification.createdAt) ?? time)
            let delay = min(pow(2, Double(min(attempt - 1, 10))), 60)
            if failure.permanent || age + delay > retryFor {
                state = .failed
            } else {
                state = .pending
                next = time.addingTimeInterval(delay)
            }
            let outcome = state == .failed ? "gave up" : "retrying in \(Int(delay)) s"
            logger.warning(
                "notification \(notification.trigger) of rollout \(notification.rollout.namespace)/\(notification.rollout.name) to \(notification.service) failed (attempt \(attempt)): \(failure.reason); \(outcome)"
            )
        }
        let error = failure.map {
            state == .failed && !$0.permanent ? "\($0.reason) (gave up after \(attempt) attempts)" : $0.reason
        }
        do {
            try await outbox.recordAttempt(notification.id, state: state, error: error, nextAttemptAt: next, at: time)
        } catch {
            logger.error("cannot record a notification attempt: \(error)")
        }
        await metrics.countNotification(service: notification.service, delivered: failure == nil)
    }

    private func send(_ notification: StoredNotification) async -> DeliveryFailure? {
        guard let config = settings.config(namespace: notification.rollout.namespace) else {
            return DeliveryFailure(
                permanent: true, reason: "\(NotificationConfig.configMapName) is gone or no longer valid")
        }
        guard let service = config.services[notification.service] else {
            return DeliveryFailure(
                permanent: true,
                reason: "no service \(notification.service) in \(NotificationConfig.configMapName) any more")
        }
        let rendered: RenderedNotification
        do {
            rendered = try JSONDecoder().decode(RenderedNotification.self, from: notification.payload)
        } catch {
            return DeliveryFailure(permanent: true, reason: "the stored notification does not decode: \(error)")
        }
        if case .email(let email) = service {
            guard !notification.recipient.isEmpty else {
                return DeliveryFailure(
                    permanent: true,
                    reason:
                        "an email subscription needs an address, e.g. subscribe.on-rollout-aborted.email: me@example.com"
                )
            }
            let message = EmailMessage(
                from: email.from, to: notification.recipient, subject: rendered.emailSubject ?? "",
                body: rendered.emailBody.flatMap { $0.isEmpty ? nil : $0 } ?? rendered.message, html: email.html,
                idempotencyKey: notification.idempotencyKey)
            return await SMTPClient.send(message, through: email, timeout: requestTimeout)
        }
        let threadKey = rendered.slack?.groupingKey.flatMap { key in
            key.isEmpty ? nil : "\(notification.service)\u{0}\(notification.recipient)\u{0}\(key)"
        }
        let requests: [DeliveryRequest]
        do {
            requests = try DeliveryRequest.requests(
                for: rendered,
                destination: Destination(service: notification.service, recipient: notification.recipient),
                service: service, idempotencyKey: notification.idempotencyKey, now: now(),
                slackThread: threadKey.flatMap { slackThreads[$0] })
        } catch {
            return error
        }
        // Alertmanager's targets are replicas of one another: the first that takes the alert is enough.
        var failure: DeliveryFailure?
        for request in requests {
            let answer: Data
            (failure, answer) = await execute(request, service: service)
            if failure == nil {
                if let threadKey, slackThreads[threadKey] == nil,
                    let ts = (try? JSONSerialization.jsonObject(with: answer) as? [String: Any])?["ts"] as? String
                {
                    slackThreads[threadKey] = ts
                }
                return nil
            }
        }
        return failure
    }

    /// Sends one request: the verdict on the answer, and the answer's body.
    private func execute(_ request: DeliveryRequest, service: NotificationService) async -> (DeliveryFailure?, Data) {
        var outgoing = HTTPClientRequest(url: request.url)
        outgoing.method = HTTPMethod(rawValue: request.method)
        for header in request.headers { outgoing.headers.add(name: header.name, value: header.value) }
        if !request.body.isEmpty { outgoing.body = .bytes(ByteBuffer(bytes: request.body)) }
        do {
            let response = try await Self.client.execute(outgoing, timeout: requestTimeout)
            let body = Data(try await response.body.collect(upTo: 64 * 1024).readableBytesView)
            return (DeliveryFailure.judge(status: Int(response.status.code), body: body, service: service), body)
        } catch {
            return (DeliveryFailure(permanent: false, reason: "\(request.method) \(request.url): \(error)"), Data())
        }
    }
}
