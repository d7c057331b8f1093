import CreditDomain
public import Foundation
public import Logging
public import PostgresNIO

/// Zalo Notification Service: template messages from the Youth Union's Official Account
/// (`CREDITOPS_ZALO_*`).
public struct ZaloConfiguration: Sendable {
    public var appID: String
    public var appSecret: String
    /// Seeds the token store the first time; Zalo rotates it on every refresh after that.
    public var initialRefreshToken: String
    /// The approved ZNS template of each notification kind (`session_reminder=123456,…`).
    public var templates: [String: String]
    /// Zalo's business API (`/message/template`) and OAuth server (`/v4/oa/access_token`).
    public var apiURL: String
    public var oauthURL: String
    public var timeout: Duration

    public static let defaultAPIURL = "https://business.openapi.zalo.me"
    public static let defaultOAuthURL = "https://oauth.zaloapp.com"

    public init(appID: String, appSecret: String, initialRefreshToken: String, templates: [String: String],
                apiURL: String = defaultAPIURL, oauthURL: String = defaultOAuthURL, timeout: Duration = .seconds(10)) {
        self.appID = appID
        self.appSecret = appSecret
        self.initialRefreshToken = initialRefreshToken
        self.templates = templates
        self.apiURL = apiURL
        self.oauthURL = oauthURL
        self.timeout = timeout
    }

    /// nil when `CREDITOPS_ZALO_APP_ID` is unset.
    public static func fromEnvironment(_ environment: [String: String]) throws(ChannelConfigurationError) -> ZaloConfiguration? {
        guard let appID = environment["CREDITOPS_ZALO_APP_ID"], !appID.isEmpty else { return nil }
        func required(_ variable: String, _ why: String) throws(ChannelConfigurationError) -> String {
            guard let value = environment[variable], !value.isEmpty else {
                throw ChannelConfigurationError("\(variable) must be set with CREDITOPS_ZALO_APP_ID: \(why)")
            }
            return value
        }
        let secret = try required("CREDITOPS_ZALO_APP_SECRET", "the app's secret key, sent when refreshing the OA token")
        let refresh = try required("CREDITOPS_ZALO_REFRESH_TOKEN", "the OA's refresh token, used once to start the token store")
        let templateText = try required("CREDITOPS_ZALO_TEMPLATES", "the approved ZNS template of each kind, e.g. session_reminder=123456")
        var templates: [String: String] = [:]
        for entry in templateText.split(separator: ",") {
            let parts = entry.split(separator: "=", maxSplits: 1).map { $0.trimmingCharacters(in: .whitespaces) }
            guard parts.count == 2, ChannelRoutes.kinds.contains(parts[0]) || parts[0] == "*", !parts[1].isEmpty,
                parts[1].allSatisfy(\.isNumber)
            else {
                throw ChannelConfigurationError(
                    "CREDITOPS_ZALO_TEMPLATES: '\(entry)' is not KIND=TEMPLATE_ID (kinds: \(ChannelRoutes.kinds.joined(separator: ", ")), or *)")
            }
            templates[parts[0]] = parts[1]
        }
        let apiURL = try GatewayHTTP.checkedURL(environment["CREDITOPS_ZALO_API_URL"] ?? defaultAPIURL, variable: "CREDITOPS_ZALO_API_URL")
        let oauthURL = try GatewayHTTP.checkedURL(
            environment["CREDITOPS_ZALO_OAUTH_URL"] ?? defaultOAuthURL, variable: "CREDITOPS_ZALO_OAUTH_URL")
        let timeout = try GatewayHTTP.seconds(environment, "CREDITOPS_ZALO_TIMEOUT_SECONDS", within: 0.001...300, default: .seconds(10))
        return ZaloConfiguration(appID: appID, appSecret: secret, initialRefreshToken: refresh, templates: templates,
                                 apiURL: apiURL, oauthURL: oauthURL, timeout: timeout)
    }

    func template(for kind: String) -> String? { templates[kind] ?? templates["*"] }
}

/// Sends a notification as a ZNS template message:
///
///     POST {api}/message/template   access_token: …
///     {"phone": "84912345678", "template_id": "…", "template_data": {…}, "tracking_id": "<idempotency key>"}
///
/// Zalo answers 200 with `error` 0 and the day's quota, or an error code:
/// - -124 (access token invalid): the token is refreshed and the message sent again, once;
/// - -144 (the OA's daily quota is used up): waits for the next day's sending window;
/// - -133 (ZNS is not sent between 22:00 and 06:00): waits for 06:00;
/// - -100 (unknown error), HTTP 5xx or 429, no answer: retried;
/// - any other code (not a Zalo user -118, cannot receive ZNS -119, refused -114/-139, phone
///   invalid -108, template refused -109/-117/-131, out of balance -115, …): unreachable by ZNS,
///   so the next channel of the route (the SMS) gets it.
/// Before sending, a quota already reported used up today waits as -144 would.
public struct ZaloZNSChannel: NotificationChannel {
    public let configuration: ZaloConfiguration
    public let tokens: ZaloTokenStore
    /// The current time, for the quota's day; tests move it.
    public let clock: @Sendable () -> Date
    public var name: String { "zalo-zns" }

    public init(configuration: ZaloConfiguration, client: PostgresClient, logger: Logger,
                clock: @escaping @Sendable () -> Date = Date.init) {
        self.configuration = configuration
        self.tokens = ZaloTokenStore(configuration: configuration, client: client, logger: logger)
        self.clock = clock
    }

    struct Payload: Encodable {
        var phone: String
        var template_id: String
        var template_data: [String: String]
        var tracking_id: String
    }

    /// The parameters every CreditOps template declares.
    static func templateData(_ notification: OutboxNotification) -> [String: String] {
        let date = CalendarDate(iso: notification.plannedFor)?.vietnamese ?? notification.plannedFor
        return ["recipient_name": notification.recipientName, "unit_code": notification.unitCode, "date": date, "content": notification.text]
    }

    public func deliver(_ notification: OutboxNotification) async -> DeliveryOutcome {
        guard let phone = try? VietnamesePhone(notification.recipientPhone) else {
            return .unreachable("'\(notification.recipientPhone)' is not a Vietnamese mobile number")
        }
        guard let template = configuration.template(for: notification.kind) else {
            return .unreachable("no ZNS template for \(notification.kind) in CREDITOPS_ZALO_TEMPLATES")
        }
        let now = clock().timeIntervalSince1970
        do {
            if try await tokens.quotaUsedUp(today: CalendarDate(unixTime: now)) {
                return .wait(until: Self.nextVietnamMidnight(after: now), "the Zalo OA's daily ZNS quota is used up")
            }
        } catch {
            return .retry("cannot read the ZNS quota: \(error)")
        }
        let body: Data
        do {
            body = try GatewayHTTP.encoder.encode(Payload(
                phone: phone.zaloForm, template_id: template, template_data: Self.templateData(notification),
                tracking_id: notification.idempotencyKey))
        } catch {
            return .failed("cannot encode the ZNS message: \(error)")
        }
        var staleToken: String?
        for _ in 0..<2 {
            let token: String
            do {
                token = try await tokens.accessToken(replacing: staleToken)
            } catch {
                return .retry("no Zalo access token: \(error)")
            }
            let headers = [("Content-Type", "application/json"), ("access_token", token)]
            switch await GatewayHTTP.post(configuration.apiURL + "/message/template", headers: headers, body: body, timeout: configuration.timeout) {
            case .failure(let error):
                return .retry("Zalo: \(error.description)")
            case .success(let answer):
                guard (200..<300).contains(answer.status) else {
                    let detail = "Zalo HTTP \(answer.status)" + (answer.body.isEmpty ? "" : ": \(answer.body.prefix(500))")
                    return answer.status == 429 || answer.status >= 500 ? .retry(detail) : .unreachable(detail)
                }
                guard let reply = try? JSONDecoder().decode(Reply.self, from: Data(answer.body.utf8)) else {
                    return .retry("Zalo answered something that is not its JSON: \(answer.body.prefix(300))")
                }
                let detail = "Zalo error \(reply.error): \(reply.message ?? "")"
                switch reply.error {
                case 0:
                    if let quota = reply.data?.quota, let remaining = quota.remainingQuota?.value {
                        try? await tokens.recordQuota(today: CalendarDate(unixTime: now), daily: quota.dailyQuota?.value, remaining: remaining)
                    }
                    return .sent
                case -124:
                    staleToken = token
                    continue
                case -144:
                    try? await tokens.recordQuota(today: CalendarDate(unixTime: now), daily: nil, remaining: 0)
                    return .wait(until: Self.nextVietnamMidnight(after: now), detail)
                case -133:
                    return .wait(until: Self.nextVietnamSix(after: now), detail)
                case -100:
                    return .retry(detail)
                default:
                    return .unreachable(detail)
                }
            }
        }
        return .retry("Zalo refused the access token just refreshed (-124)")
    }

    /// The start of the next day in Vietnam (UTC+7, no daylight saving).
    static func nextVietnamMidnight(after time: Double) -> Double {
        let local = time + 7 * 3600
        return (local / 86_400).rounded(.down) * 86_400 + 86_400 - 7 * 3600
    }

    /// The next 06:00 in Vietnam, when ZNS sends again.
    static func nextVietnamSix(after time: Double) -> Double {
        let local = time + 7 * 3600
        let sixToday = (local / 86_400).rounded(.down) * 86_400 + 6 * 3600
        return (local < sixToday ? sixToday : sixToday + 86_400) - 7 * 3600
    }

    struct Reply: Decodable {
        var error: Int
        var message: String?
        var data: ReplyData?
    }

    struct ReplyData: Decodable {
        var msg_id: String?
        var quota: Quota?
    }

    struct Quota: Decodable {
        var dailyQuota: LenientInt?
        var remainingQuota: LenientInt?
    }
}

/// Zalo writes numbers as strings in some answers ("500") and as numbers in others.
struct LenientInt: Decodable {
    let value: Int?

    init(from decoder: any Decoder) throws {
        let container = try decoder.singleValueContainer()
        if let number = try? container.decode(Int.self) {
            value = number
        } else if let text = try? container.decode(String.self) {
            value = Int(text)
        } else {
            value = nil
        }
    }
}
