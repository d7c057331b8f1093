public import Foundation

/// A moment as a wall clock at a fixed offset shows it: Vietnam's (UTC+7 all year) unless told,
/// or UTC's with offset 0. Plain arithmetic: pages print hundreds of times, and a date formatter
/// made per call cost `/ops` most of its time.
public struct WallTime: Sendable, Hashable {
    public let day: CalendarDate
    /// Seconds since the day's midnight, 0..<86,400.
    public let secondOfDay: Int

    public init(_ date: Date, offsetSeconds: Int = CalendarDate.vietnamOffsetSeconds) {
        let local = Int((date.timeIntervalSince1970 + Double(offsetSeconds)).rounded(.down))
        day = CalendarDate(unixTime: date.timeIntervalSince1970, offsetSeconds: offsetSeconds)
        secondOfDay = (local % 86_400 + 86_400) % 86_400
    }

    public var hour: Int { secondOfDay / 3600 }
    public var minute: Int { secondOfDay % 3600 / 60 }
    public var second: Int { secondOfDay % 60 }

    /// `08:05`.
    public var hoursAndMinutes: String { "\(Self.twoDigits(hour)):\(Self.twoDigits(minute))" }
    /// `08:05:09`.
    public var clock: String { "\(hoursAndMinutes):\(Self.twoDigits(second))" }

    static func twoDigits(_ value: Int) -> String { value < 10 ? "0\(value)" : "\(value)" }

    /// `2026-12-01T01:05:09Z`: ISO 8601 in UTC, to the second.
    public static func isoUTC(_ date: Date) -> String {
        let utc = WallTime(date, offsetSeconds: 0)
        return "\(utc.day.iso)T\(utc.clock)Z"
    }
}
