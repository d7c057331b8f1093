public import Foundation

/// A notification as a channel sends it.
public struct OutboxNotification: Sendable, Codable, Equatable {
    public var id: Int64
    public var idempotencyKey: String
    public var kind: String
    public var recipientName: String
    public var recipientPhone: String
    public var unitCode: String
    public var text: String
    public var plannedFor: String
    /// The text without diacritics, and the SMS parts each version takes (nil for rows planned
    /// before these were kept).
    public var textPlain: String?
    public var smsSegments: Int?
    public var smsSegmentsPlain: Int?
}

/// What came of one delivery attempt.
public enum DeliveryOutcome: Sendable, Equatable {
    case sent
    /// Refused for good (a 4xx): retrying would not help. The reason is kept in the outbox.
    case failed(String)
    /// Not delivered this time (a 5xx, a time-out, no connection): try again later.
    case retry(String)
    /// This channel cannot reach this recipient (not a Zalo user, template refused): the next
    /// channel of the route may. Never tried again on this channel for this notification.
    case unreachable(String)
    /// Not now, and not worth trying before a moment (seconds since 1970): a daily quota used up
    /// waits for the next day's sending window instead of failing.
    case wait(until: Double, String)
}

/// Where notifications go: the log, a gateway behind a webhook, Zalo ZNS or an SMS gateway.
public protocol NotificationChannel: Sendable {
    var name: String { get }
    func deliver(_ notification: OutboxNotification) async -> DeliveryOutcome
}

/// The default channel: one line per notification on stdout (the outbox keeps the rest), so a
/// demo or a first installation shows reminders arriving without any gateway. Logs are read by
/// more people than the recipients' data is meant for: unless asked, a line names no one and
/// shows a phone number masked (`+849x…x12`).
public struct LogChannel: NotificationChannel {
    public var name: String { "log" }
    /// Print names and whole phone numbers (`--log-recipients`).
    public let showRecipients: Bool

    public init(showRecipients: Bool = false) {
        self.showRecipients = showRecipients
    }

    /// The country code and network digit (or the first two characters) and the last two, the
    /// rest hidden: enough to tell two numbers apart.
    public static func maskedPhone(_ phone: String) -> String {
        let characters = Array(phone.trimmingCharacters(in: .whitespaces))
        guard characters.count > 6 else { return String(repeating: "x", count: characters.count) }
        let shown = phone.hasPrefix("+") ? 4 : 2
        return String(characters.prefix(shown)) + "x…x" + String(characters.suffix(2))
    }

    public func deliver(_ notification: OutboxNotification) async -> DeliveryOutcome {
        let recipient = showRecipients
            ? "\(notification.recipientName) (\(notification.recipientPhone))"
            : Self.maskedPhone(notification.recipientPhone)
        let line = "[nhắc nhở #\(notification.id)] \(notification.kind) → \(recipient), \(notification.unitCode): \(notification.text)\n"
        // Unbuffered: whoever reads our output sees each reminder as it is delivered.
        FileHandle.standardOutput.write(Data(line.utf8))
        return .sent
    }
}
