/// The hours of the day, local time in Vietnam, when reminders may be delivered (default
/// 07:00–21:00). A delivery due outside them waits for the next opening, never dropped.
public struct SendingWindow: Sendable, Hashable {
    /// Minutes after local midnight.
    public var opens: Int
    public var closes: Int

    public init(opens: Int = 7 * 60, closes: Int = 21 * 60) {
        self.opens = opens
        self.closes = closes
    }

    /// The earliest moment at or after `unixTime` (seconds since 1970) inside the window.
    public func earliestDelivery(atOrAfter unixTime: Double, offsetSeconds: Int = CalendarDate.vietnamOffsetSeconds) -> Double {
        let local = unixTime + Double(offsetSeconds)
        let dayStart = (local / 86_400).rounded(.down) * 86_400
        let minute = (local - dayStart) / 60
        if minute >= Double(opens) && minute < Double(closes) { return unixTime }
        let nextOpening = minute < Double(opens) ? dayStart + Double(opens) * 60 : dayStart + 86_400 + Double(opens) * 60
        return nextOpening - Double(offsetSeconds)
    }
}
