public import CreditDomain
public import Foundation
public import JobQueue
public import Logging
public import PostgresNIO
import Metrics

/// Delivers one outbox row per job. The row is the truth: a job whose row is already sent or
/// failed does nothing, so a retried or rescued job never sends twice what was confirmed once;
/// a request in flight when a worker died is repeated with the same idempotency key.
public struct DeliveryJobs: Sendable {
    public struct Arguments: Codable, Sendable {
        public var notification: Int64
    }

    public let client: PostgresClient
    public let channel: any NotificationChannel
    public let retryPolicy: RetryPolicy
    /// The longest one attempt may take, request and queries together; then it is cancelled and retried.
    public let timeout: Duration
    /// The current time; tests and `--now` move it.
    public let clock: @Sendable () -> Date

    /// 15 s after the first failed attempt, doubling up to an hour: 25 attempts span about 20 hours.
    public static let defaultRetryPolicy = RetryPolicy(base: .seconds(15), maximum: .seconds(3600))
    /// The webhook's default request time-out and 20 s for the outbox's queries.
    public static let defaultTimeout = Duration.seconds(30)

    public init(client: PostgresClient, channel: any NotificationChannel,
                retryPolicy: RetryPolicy = DeliveryJobs.defaultRetryPolicy,
                timeout: Duration = DeliveryJobs.defaultTimeout,
                clock: @escaping @Sendable () -> Date = Date.init) {
        self.client = client
        self.channel = channel
        self.retryPolicy = retryPolicy
        self.timeout = timeout
        self.clock = clock
    }

    struct Undelivered: Error, CustomStringConvertible {
        let description: String
    }

    public var deliver: JobDefinition<Arguments> {
        JobDefinition(kind: ReminderPlanner.deliveryKind, queue: ReminderPlanner.queue, maxAttempts: 25,
                      timeout: timeout, retryPolicy: retryPolicy) { args, context in
            try await deliver(args.notification, context: context)
        }
    }

    func deliver(_ id: Int64, context: JobContext) async throws {
        let rows = try await client.query("""
            SELECT n.id, n.idempotency_key, n.kind::text, n.recipient_name, n.recipient_phone, n.unit_code, n.text,
                   n.planned_for::text, n.state::text,
                   extract(epoch FROM s.send_from)::int / 60, extract(epoch FROM s.send_until)::int / 60,
                   extract(epoch FROM n.expires_at)::float8, n.text_plain, n.sms_segments, n.sms_segments_plain
            FROM notifications n CROSS JOIN reminder_settings s WHERE n.id = \(id)
            """, logger: context.logger)
        var found: (OutboxNotification, String, SendingWindow, Double?)?
        for try await row in rows {
            let cells = row.makeRandomAccess()
            found = (OutboxNotification(
                id: try cells[0].decode(Int64.self), idempotencyKey: try cells[1].decode(String.self),
                kind: try cells[2].decode(String.self), recipientName: try cells[3].decode(String.self),
                recipientPhone: try cells[4].decode(String.self), unitCode: try cells[5].decode(String.self),
                text: try cells[6].decode(String.self), plannedFor: try cells[7].decode(String.self),
                textPlain: try cells[12].decode(String?.self), smsSegments: try cells[13].decode(Int?.self),
                smsSegmentsPlain: try cells[14].decode(Int?.self)),
                try cells[8].decode(String.self),
                SendingWindow(opens: try cells[9].decode(Int.self), closes: try cells[10].decode(Int.self)),
                try cells[11].decode(Double?.self))
        }
        guard let (notification, state, window, expiresAt) = found else {
            throw JobFailure.discard("notification \(id) does not exist")
        }
        guard state == "pending" else { return }
        let now = clock().timeIntervalSince1970
        // Past its moment (the next reminder is due, the session has begun): recorded, not sent.
        if let expiresAt, now >= expiresAt {
            try await client.query("""
                UPDATE notifications SET state = 'expired', last_error = 'expired before it could be sent'
                WHERE id = \(id) AND state = 'pending'
                """, logger: context.logger)
            Counter(label: "creditops_notifications_expired_total", dimensions: [("kind", notification.kind)]).increment()
            return
        }
        let opening = window.earliestDelivery(atOrAfter: now)
        if opening > now {
            // Quiet hours: wait for the next opening of the window, never drop.
            throw JobFailure.retry(after: .milliseconds(Int64((opening - now) * 1000)), "outside the sending hours")
        }
        try await client.query("UPDATE notifications SET attempts = attempts + 1, channel = \(channel.name) WHERE id = \(id)",
                               logger: context.logger)
        switch await channel.deliver(notification) {
        case .sent:
            try await client.query("""
                UPDATE notifications SET state = 'sent', sent_at = now(), last_error = NULL WHERE id = \(id) AND state = 'pending'
                """, logger: context.logger)
        case .failed(let reason):
            try await markFailed(id, reason, context: context)
            throw JobFailure.discard(reason)
        case .retry(let reason):
            if context.isLastAttempt {
                try await markFailed(id, "gave up after \(context.attempt) attempts: \(reason)", context: context)
                throw JobFailure.discard(reason)
            }
            try await client.query("UPDATE notifications SET last_error = \(reason) WHERE id = \(id)", logger: context.logger)
            throw Undelivered(description: reason)
        }
    }

    private func markFailed(_ id: Int64, _ reason: String, context: JobContext) async throws {
        try await client.query("""
            UPDATE notifications SET state = 'failed', last_error = \(reason) WHERE id = \(id) AND state = 'pending'
            """, logger: context.logger)
    }
}
