public import Foundation
public import JobQueue

/// Where the webhook channel posts, and how (DESIGN.md "Notifications").
public struct WebhookConfiguration: Sendable {
    public var url: String
    public var secret: String
    /// The longest one request may take; then it counts as not delivered and is retried.
    public var timeout: Duration
    /// The wait before the first retry of a delivery the gateway did not take; it doubles with each
    /// attempt up to an hour. Short for a gateway that is back quickly, long for one that throttles.
    public var firstRetry: Duration

    public init(url: String, secret: String, timeout: Duration = .seconds(10),
                firstRetry: Duration = DeliveryJobs.defaultRetryPolicy.base) {
        self.url = url
        self.secret = secret
        self.timeout = timeout
        self.firstRetry = firstRetry
    }

    /// The deliveries' backoff with ``firstRetry`` as its first step.
    public var retryPolicy: RetryPolicy {
        var policy = DeliveryJobs.defaultRetryPolicy
        policy.base = firstRetry
        return policy
    }

    /// From `CREDITOPS_WEBHOOK_URL` and `CREDITOPS_WEBHOOK_SECRET` (and optionally
    /// `CREDITOPS_WEBHOOK_TIMEOUT_SECONDS` and `CREDITOPS_WEBHOOK_RETRY_SECONDS`); nil when no URL
    /// is set (the log channel is used).
    public static func fromEnvironment(_ environment: [String: String] = ProcessInfo.processInfo.environment) throws(WebhookConfigurationError) -> WebhookConfiguration? {
        guard let url = environment["CREDITOPS_WEBHOOK_URL"], !url.isEmpty else { return nil }
        do throws(ChannelConfigurationError) {
            _ = try GatewayHTTP.checkedURL(url, variable: "CREDITOPS_WEBHOOK_URL")
            guard let secret = environment["CREDITOPS_WEBHOOK_SECRET"], !secret.isEmpty else {
                throw ChannelConfigurationError(
                    "CREDITOPS_WEBHOOK_SECRET must be set with CREDITOPS_WEBHOOK_URL: the gateway checks each body's signature with it")
            }
            let timeout = try GatewayHTTP.seconds(environment, "CREDITOPS_WEBHOOK_TIMEOUT_SECONDS", within: 0.001...300, default: .seconds(10))
            let firstRetry = try GatewayHTTP.seconds(
                environment, "CREDITOPS_WEBHOOK_RETRY_SECONDS", within: 0.1...3600, default: DeliveryJobs.defaultRetryPolicy.base)
            return WebhookConfiguration(url: url, secret: secret, timeout: timeout, firstRetry: firstRetry)
        } catch {
            throw WebhookConfigurationError(error.description)
        }
    }
}

public struct WebhookConfigurationError: Error, CustomStringConvertible {
    public let description: String
    init(_ description: String) { self.description = description }
}

/// Posts each notification as JSON, signed with a time (`X-CreditOps-Signature: t=UNIX,v1=HEX`,
/// see ``WebhookSignature``), with its idempotency key in `Idempotency-Key` so that a repeat of a
/// request that was in flight when a worker died is sent once by the gateway.
/// 2xx: sent; 408, 429 and 5xx, a time-out or no connection: retried; a redirect and other 4xx:
/// failed (a redirect is never followed: the body would go where nobody configured it to).
public struct WebhookChannel: NotificationChannel {
    public let configuration: WebhookConfiguration
    public var name: String { "webhook" }

    public init(configuration: WebhookConfiguration) {
        self.configuration = configuration
    }

    /// The body's fields (snake case, as gateways expect).
    struct Payload: Encodable {
        var idempotency_key: String
        var notification_id: Int64
        var kind: String
        var recipient_name: String
        var recipient_phone: String
        var unit_code: String
        var text: String
        var planned_for: String
        var text_plain: String?
        var sms_segments: Int?
        var sms_segments_plain: Int?
    }

    public func deliver(_ notification: OutboxNotification) async -> DeliveryOutcome {
        let body: Data
        do {
            body = try GatewayHTTP.encoder.encode(Payload(
                idempotency_key: notification.idempotencyKey, notification_id: notification.id, kind: notification.kind,
                recipient_name: notification.recipientName, recipient_phone: notification.recipientPhone,
                unit_code: notification.unitCode, text: notification.text, planned_for: notification.plannedFor,
                text_plain: notification.textPlain, sms_segments: notification.smsSegments,
                sms_segments_plain: notification.smsSegmentsPlain))
        } catch {
            return .failed("cannot encode the notification: \(error)")
        }
        let headers = [
            ("Content-Type", "application/json; charset=utf-8"), ("Idempotency-Key", notification.idempotencyKey),
            ("X-CreditOps-Signature",
             WebhookSignature.header(body: body, secret: configuration.secret, time: Int64(Date().timeIntervalSince1970))),
        ]
        switch await GatewayHTTP.post(configuration.url, headers: headers, body: body, timeout: configuration.timeout) {
        case .failure(let error):
            return .retry(error.description)
        case .success(let answer):
            let detail = "HTTP \(answer.status)" + (answer.body.isEmpty ? "" : ": \(answer.body.prefix(1000))")
            switch answer.status {
            case 200..<300: return .sent
            case 300..<400:
                let location = answer.location ?? "no Location"
                return .failed("HTTP \(answer.status) redirect to \(location.prefix(300)): redirects are not followed; fix CREDITOPS_WEBHOOK_URL")
            case 408, 429: return .retry(detail)
            case 400..<500: return .failed(detail)
            default: return .retry(detail)
            }
        }
    }
}
