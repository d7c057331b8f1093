public import Foundation
public import JobQueue
public import Logging
public import PostgresNIO

/// The channels a worker delivers through, from its environment: the log always; the webhook,
/// Zalo ZNS and the SMS gateway when configured; `CREDITOPS_CHANNELS` routes kinds to them
/// (``ChannelRoutes``). Without it, everything goes to the webhook if one is configured, else to
/// the log, as before channels existed.
public struct ChannelSetup: Sendable {
    public let routes: ChannelRoutes
    /// The deliveries' backoff: the webhook's when it is the only gateway (its first retry is
    /// configurable), the default otherwise.
    public let retryPolicy: RetryPolicy
    /// The longest one attempt may take: every channel of the longest route in turn, a token
    /// refresh, and 20 s for the outbox's queries.
    public let attemptTimeout: Duration

    public init(routes: ChannelRoutes, retryPolicy: RetryPolicy = DeliveryJobs.defaultRetryPolicy,
                attemptTimeout: Duration = DeliveryJobs.defaultTimeout) {
        self.routes = routes
        self.retryPolicy = retryPolicy
        self.attemptTimeout = attemptTimeout
    }

    public static func fromEnvironment(
        _ environment: [String: String] = ProcessInfo.processInfo.environment, log: LogChannel, client: PostgresClient, logger: Logger
    ) throws(ChannelConfigurationError) -> ChannelSetup {
        var channels: [String: any NotificationChannel] = [log.name: log]
        var timeouts: [String: Duration] = [log.name: .zero]
        let webhook: WebhookConfiguration?
        do {
            webhook = try WebhookConfiguration.fromEnvironment(environment)
        } catch {
            throw ChannelConfigurationError(error.description)
        }
        if let webhook {
            channels["webhook"] = WebhookChannel(configuration: webhook)
            timeouts["webhook"] = webhook.timeout
        }
        if let zalo = try ZaloConfiguration.fromEnvironment(environment) {
            channels["zalo-zns"] = ZaloZNSChannel(configuration: zalo, client: client, logger: logger)
            // A refresh and a second send after a refused token.
            timeouts["zalo-zns"] = zalo.timeout * 3
        }
        if let sms = try SMSConfiguration.fromEnvironment(environment) {
            channels["sms"] = SMSChannel(configuration: sms)
            timeouts["sms"] = sms.timeout
        }
        let routes: ChannelRoutes
        if let text = environment["CREDITOPS_CHANNELS"], !text.trimmingCharacters(in: .whitespaces).isEmpty {
            routes = try ChannelRoutes.parse(text, channels: channels)
        } else {
            routes = ChannelRoutes(channels["webhook"] ?? log)
        }
        let longest = ChannelRoutes.kinds.map { kind in
            routes.route(for: kind).reduce(Duration.zero) { $0 + (timeouts[$1.name] ?? .zero) }
        }.max() ?? .zero
        let onlyWebhook = routes.channels.map(\.name) == ["webhook"]
        return ChannelSetup(
            routes: routes, retryPolicy: onlyWebhook ? webhook!.retryPolicy : DeliveryJobs.defaultRetryPolicy,
            attemptTimeout: longest == .zero ? DeliveryJobs.defaultTimeout : longest + .seconds(20))
    }

    /// What a channel named in `CREDITOPS_CHANNELS` needs to be configured.
    static func howToConfigure(_ name: String) -> String {
        switch name {
        case "webhook": " (webhook needs CREDITOPS_WEBHOOK_URL and CREDITOPS_WEBHOOK_SECRET)"
        case "zalo-zns": " (zalo-zns needs CREDITOPS_ZALO_APP_ID, _APP_SECRET, _REFRESH_TOKEN and _TEMPLATES)"
        case "sms": " (sms needs CREDITOPS_SMS_URL, _API_KEY and _BRANDNAME)"
        default: " (channels: log, webhook, zalo-zns, sms)"
        }
    }
}
