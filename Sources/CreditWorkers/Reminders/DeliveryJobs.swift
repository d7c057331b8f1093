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
    /// The channels of each kind, tried in order while one cannot reach the recipient.
    public let routes: ChannelRoutes
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
        self.init(client: client, routes: ChannelRoutes(channel), retryPolicy: retryPolicy, timeout: timeout, clock: clock)
    }

    public init(client: PostgresClient, routes: ChannelRoutes,
                retryPolicy: RetryPolicy = DeliveryJobs.defaultRetryPolicy,
                timeout: Duration = DeliveryJobs.defaultTimeout,
                clock: @escaping @Sendable () -> Date = Date.init) {
        self.client = client
        self.routes = routes
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
                   extract(epoch FROM n.expires_at)::float8, n.text_plain, n.sms_segments, n.sms_segments_plain,
                   EXISTS (SELECT 1 FROM recipient_opt_outs o WHERE o.phone = n.recipient_phone), n.unreachable_by
            FROM notifications n CROSS JOIN reminder_settings s WHERE n.id = \(id)
            """, logger: context.logger)
        var found: (OutboxNotification, String, SendingWindow, Double?, Bool, [String])?
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
                try cells[11].decode(Double?.self), try cells[15].decode(Bool.self), try cells[16].decode([String].self))
        }
        guard let (notification, state, window, expiresAt, optedOut, unreachableBy) = found else {
            throw JobFailure.discard("notification \(id) does not exist")
        }
        guard state == "pending" else { return }
        // Opted out after this was planned: withheld, as the planner would have.
        if optedOut {
            try await client.query("""
                UPDATE notifications SET state = 'opted_out', last_error = 'the recipient opted out' WHERE id = \(id) AND state = 'pending'
                """, logger: context.logger)
            return
        }
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
        let route = routes.route(for: notification.kind).filter { !unreachableBy.contains($0.name) }
        var unreachable: [String] = []
        for channel in route {
            try await client.query("UPDATE notifications SET attempts = attempts + 1, channel = \(channel.name) WHERE id = \(id)",
                                   logger: context.logger)
            switch await channel.deliver(notification) {
            case .sent:
                try await client.query("""
                    UPDATE notifications SET state = 'sent', sent_at = now(), last_error = NULL WHERE id = \(id) AND state = 'pending'
                    """, logger: context.logger)
                return
            case .failed(let reason):
                try await markFailed(id, "\(channel.name): \(reason)", context: context)
                throw JobFailure.discard(reason)
            case .unreachable(let reason):
                // Remembered, so that a retry (of the next channel) does not ask this one again.
                let error = "\(channel.name): \(reason)"
                try await client.query("""
                    UPDATE notifications SET unreachable_by = array_append(unreachable_by, \(channel.name)), last_error = \(error)
                    WHERE id = \(id)
                    """, logger: context.logger)
                unreachable.append(error)
                Counter(label: "creditops_notifications_fallbacks_total", dimensions: [("channel", channel.name)]).increment()
            case .retry(let reason):
                if context.isLastAttempt {
                    try await markFailed(id, "gave up after \(context.attempt) attempts: \(channel.name): \(reason)", context: context)
                    throw JobFailure.discard(reason)
                }
                try await client.query("UPDATE notifications SET last_error = \(channel.name + ": " + reason) WHERE id = \(id)",
                                       logger: context.logger)
                throw Undelivered(description: reason)
            case .wait(let until, let reason):
                if context.isLastAttempt {
                    try await markFailed(id, "gave up after \(context.attempt) attempts: \(channel.name): \(reason)", context: context)
                    throw JobFailure.discard(reason)
                }
                try await client.query("UPDATE notifications SET last_error = \(channel.name + ": " + reason) WHERE id = \(id)",
                                       logger: context.logger)
                let resume = window.earliestDelivery(atOrAfter: max(until, clock().timeIntervalSince1970))
                throw JobFailure.retry(after: .milliseconds(Int64(max(0, resume - clock().timeIntervalSince1970) * 1000)), reason)
            }
        }
        let reason = unreachable.isEmpty
            ? "no channel left for \(notification.kind): \(unreachableBy.joined(separator: ", ")) could not reach the recipient"
            : "no channel could reach the recipient: " + unreachable.joined(separator: "; ")
        try await markFailed(id, reason, context: context)
        throw JobFailure.discard(reason)
    }

    private func markFailed(_ id: Int64, _ reason: String, context: JobContext) async throws {
        try await client.query("""
            UPDATE notifications SET state = 'failed', last_error = \(reason) WHERE id = \(id) AND state = 'pending'
            """, logger: context.logger)
    }
}
