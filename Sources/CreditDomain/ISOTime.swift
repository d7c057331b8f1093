public import Foundation

/// Moments as people and scripts type them (`--run-at`, `plan --now`, the API's `run_at`).
public enum ISOTime {
    /// Accepts `2026-12-01T07:00:00+07:00`, with or without fractional seconds, and `Z`; refuses
    /// days the calendar lacks (Foundation would roll 2026-02-30 over to 2 March).
    public static func parse(_ text: String) -> Date? {
        guard text.count <= 40, CalendarDate(iso: text.prefix(10)) != nil else { return nil }
        if let date = try? Date.ISO8601FormatStyle(includingFractionalSeconds: true).parse(text) { return date }
        return try? Date.ISO8601FormatStyle().parse(text)
    }
}
