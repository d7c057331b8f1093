import AsyncHTTPClient
import Crypto
public import Foundation
public import JobQueue
import NIOCore
import NIOHTTP1

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

    /// The longest a delivery attempt may take: the request's time-out and 20 s for the outbox's
    /// queries, so that an attempt stuck on a dead database connection is cancelled and retried.
    public var attemptTimeout: Duration { timeout + .seconds(20) }

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
        guard let components = URLComponents(string: url), ["http", "https"].contains(components.scheme ?? ""), let host = components.host,
            !host.isEmpty
        else {
            throw WebhookConfigurationError("CREDITOPS_WEBHOOK_URL '\(url)' is not an http(s) URL")
        }
        // Reminders carry names and phone numbers: in clear text only to this machine.
        guard components.scheme == "https" || isLoopback(host) else {
            throw WebhookConfigurationError(
                "CREDITOPS_WEBHOOK_URL '\(url)': http:// is allowed only to this machine (127.0.0.1, ::1, localhost); use https:// for \(host)")
        }
        guard let secret = environment["CREDITOPS_WEBHOOK_SECRET"], !secret.isEmpty else {
            throw WebhookConfigurationError("CREDITOPS_WEBHOOK_SECRET must be set with CREDITOPS_WEBHOOK_URL: the gateway checks each body's signature with it")
        }
        var timeout = Duration.seconds(10)
        if let text = environment["CREDITOPS_WEBHOOK_TIMEOUT_SECONDS"] {
            guard let seconds = Double(text), seconds > 0, seconds <= 300 else {
                throw WebhookConfigurationError("CREDITOPS_WEBHOOK_TIMEOUT_SECONDS '\(text)' must be a number of seconds within 0...300")
            }
            timeout = .milliseconds(Int64(seconds * 1000))
        }
        var firstRetry = DeliveryJobs.defaultRetryPolicy.base
        if let text = environment["CREDITOPS_WEBHOOK_RETRY_SECONDS"] {
            guard let seconds = Double(text), seconds >= 0.1, seconds <= 3600 else {
                throw WebhookConfigurationError("CREDITOPS_WEBHOOK_RETRY_SECONDS '\(text)' must be a number of seconds within 0.1...3600")
            }
            firstRetry = .milliseconds(Int64(seconds * 1000))
        }
        return WebhookConfiguration(url: url, secret: secret, timeout: timeout, firstRetry: firstRetry)
    }
}

/// 127.0.0.0/8, ::1 and localhost.
func isLoopback(_ host: String) -> Bool {
    let bare = host.trimmingCharacters(in: CharacterSet(charactersIn: "[]")).lowercased()
    if bare == "localhost" || bare == "::1" { return true }
    let parts = bare.split(separator: ".", omittingEmptySubsequences: false)
    return parts.count == 4 && parts[0] == "127" && parts.allSatisfy { UInt8($0) != nil }
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

    /// One client for every delivery, which follows no redirect.
    static let httpClient = HTTPClient(
        eventLoopGroupProvider: .singleton, configuration: .init(redirectConfiguration: .disallow))

    public func deliver(_ notification: OutboxNotification) async -> DeliveryOutcome {
        let body: Data
        do {
            let encoder = JSONEncoder()
            encoder.outputFormatting = [.sortedKeys, .withoutEscapingSlashes]
            body = try encoder.encode(Payload(
                idempotency_key: notification.idempotencyKey, notification_id: notification.id, kind: notification.kind,
                recipient_name: notification.recipientName, recipient_phone: notification.recipientPhone,
                unit_code: notification.unitCode, text: notification.text, planned_for: notification.plannedFor,
                text_plain: notification.textPlain, sms_segments: notification.smsSegments,
                sms_segments_plain: notification.smsSegmentsPlain))
        } catch {
            return .failed("cannot encode the notification: \(error)")
        }
        var request = HTTPClientRequest(url: configuration.url)
        request.method = .POST
        request.headers.add(name: "Content-Type", value: "application/json; charset=utf-8")
        request.headers.add(name: "User-Agent", value: "creditops")
        request.headers.add(name: "Idempotency-Key", value: notification.idempotencyKey)
        request.headers.add(
            name: "X-CreditOps-Signature",
            value: WebhookSignature.header(body: body, secret: configuration.secret, time: Int64(Date().timeIntervalSince1970)))
        request.body = .bytes(ByteBuffer(bytes: body))
        let timeout = TimeAmount.milliseconds(Int64(configuration.timeout.seconds * 1000))
        do {
            let response = try await Self.httpClient.execute(request, timeout: timeout)
            let answer = try await response.body.collect(upTo: 64 * 1024)
            let text = String(buffer: answer).trimmingCharacters(in: .whitespacesAndNewlines)
            let detail = "HTTP \(response.status.code)" + (text.isEmpty ? "" : ": \(text.prefix(1000))")
            switch response.status.code {
            case 200..<300: return .sent
            case 300..<400:
                let location = response.headers.first(name: "Location") ?? "no Location"
                return .failed("HTTP \(response.status.code) redirect to \(location.prefix(300)): redirects are not followed; fix CREDITOPS_WEBHOOK_URL")
            case 408, 429: return .retry(detail)
            case 400..<500: return .failed(detail)
            default: return .retry(detail)
            }
        } catch let error as HTTPClientError where error == .deadlineExceeded || error == .readTimeout {
            return .retry("no answer within \(configuration.timeout)")
        } catch {
            return .retry("\(error)")
        }
    }
}
