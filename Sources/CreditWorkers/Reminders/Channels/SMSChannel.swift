import CreditDomain
public import Foundation

/// A brandname SMS gateway over HTTP (`CREDITOPS_SMS_*`).
public struct SMSConfiguration: Sendable {
    public enum TextForm: String, Sendable {
        /// Without diacritics: GSM-7, 160 characters a part (the usual, cheaper choice).
        case plain
        /// With diacritics: UCS-2, 70 characters a part.
        case unicode
    }

    public var url: String
    public var apiKey: String
    /// The registered sender name the phone shows (at most 11 characters).
    public var brandName: String
    public var textForm: TextForm
    public var timeout: Duration

    public init(url: String, apiKey: String, brandName: String, textForm: TextForm = .plain, timeout: Duration = .seconds(10)) {
        self.url = url
        self.apiKey = apiKey
        self.brandName = brandName
        self.textForm = textForm
        self.timeout = timeout
    }

    /// nil when `CREDITOPS_SMS_URL` is unset.
    public static func fromEnvironment(_ environment: [String: String]) throws(ChannelConfigurationError) -> SMSConfiguration? {
        guard let url = environment["CREDITOPS_SMS_URL"], !url.isEmpty else { return nil }
        _ = try GatewayHTTP.checkedURL(url, variable: "CREDITOPS_SMS_URL")
        guard let apiKey = environment["CREDITOPS_SMS_API_KEY"], !apiKey.isEmpty else {
            throw ChannelConfigurationError("CREDITOPS_SMS_API_KEY must be set with CREDITOPS_SMS_URL: the gateway's key for this sender")
        }
        guard let brandName = environment["CREDITOPS_SMS_BRANDNAME"], (1...11).contains(brandName.count),
            brandName.allSatisfy({ $0.isASCII && ($0.isLetter || $0.isNumber || $0 == "_" || $0 == "-" || $0 == ".") })
        else {
            throw ChannelConfigurationError(
                "CREDITOPS_SMS_BRANDNAME must be the registered brand name: 1 to 11 letters, digits, '_', '-' or '.' (e.g. DOANTN)")
        }
        let formText = environment["CREDITOPS_SMS_TEXT"] ?? "plain"
        guard let textForm = TextForm(rawValue: formText) else {
            throw ChannelConfigurationError("CREDITOPS_SMS_TEXT '\(formText)' must be plain (no diacritics, GSM-7) or unicode (UCS-2)")
        }
        let timeout = try GatewayHTTP.seconds(environment, "CREDITOPS_SMS_TIMEOUT_SECONDS", within: 0.001...300, default: .seconds(10))
        return SMSConfiguration(url: url, apiKey: apiKey, brandName: brandName, textForm: textForm, timeout: timeout)
    }
}

/// Sends each notification as one SMS request:
///
///     POST CREDITOPS_SMS_URL
///     Authorization: Bearer CREDITOPS_SMS_API_KEY
///     {"phone": "84912345678", "text": "…", "brandname": "DOANTN", "client_message_id": "<idempotency key>"}
///
/// 2xx: sent. 400 and 422 (the gateway refuses the number or the text): unreachable. 401 and 403
/// (our key): failed, with the answer. 408, 429, 5xx, no answer: retried with the same
/// `client_message_id`, which the gateway uses to send a repeat once.
public struct SMSChannel: NotificationChannel {
    public let configuration: SMSConfiguration
    public var name: String { "sms" }

    public init(configuration: SMSConfiguration) {
        self.configuration = configuration
    }

    struct Payload: Encodable {
        var phone: String
        var text: String
        var brandname: String
        var client_message_id: String
    }

    public func deliver(_ notification: OutboxNotification) async -> DeliveryOutcome {
        guard let phone = try? VietnamesePhone(notification.recipientPhone) else {
            return .unreachable("'\(notification.recipientPhone)' is not a Vietnamese mobile number")
        }
        let text = switch configuration.textForm {
        case .plain: notification.textPlain ?? SMSText.withoutDiacritics(notification.text)
        case .unicode: notification.text
        }
        let body: Data
        do {
            body = try GatewayHTTP.encoder.encode(Payload(
                phone: phone.zaloForm, text: text, brandname: configuration.brandName, client_message_id: notification.idempotencyKey))
        } catch {
            return .failed("cannot encode the SMS: \(error)")
        }
        let headers = [("Content-Type", "application/json; charset=utf-8"), ("Authorization", "Bearer \(configuration.apiKey)")]
        switch await GatewayHTTP.post(configuration.url, headers: headers, body: body, timeout: configuration.timeout) {
        case .failure(let error):
            return .retry(error.description)
        case .success(let answer):
            let detail = "SMS gateway HTTP \(answer.status)" + (answer.body.isEmpty ? "" : ": \(answer.body.prefix(500))")
            switch answer.status {
            case 200..<300: return .sent
            case 400, 422: return .unreachable(detail)
            case 401, 403: return .failed(detail + " (check CREDITOPS_SMS_API_KEY)")
            case 408, 429, 500...: return .retry(detail)
            default: return .failed(detail)
            }
        }
    }
}
