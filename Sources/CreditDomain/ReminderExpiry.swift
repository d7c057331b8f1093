/// When a reminder stops being worth sending (issue 17): once the next reminder of the same thing
/// is due, or once what it reminds of has happened. A delivery attempted later is recorded
/// `expired` instead of reaching a phone with a "ngày mai" that is no longer true.
public struct ReminderExpiry: Sendable, Equatable {
    /// `reminder_settings`, as the planner read it.
    public var sessionDaysBefore: [Int]
    public var overdueDays: [Int]
    public var overdueRepeatDays: Int
    public var reportDaysBefore: [Int]
    public var reportRepeatDays: Int
    /// When the sending window opens, minutes after local midnight: the moment the next reminder
    /// of a day goes out.
    public var sendFromMinutes: Int

    public init(sessionDaysBefore: [Int], overdueDays: [Int], overdueRepeatDays: Int, reportDaysBefore: [Int], reportRepeatDays: Int,
                sendFromMinutes: Int) {
        self.sessionDaysBefore = sessionDaysBefore
        self.overdueDays = overdueDays
        self.overdueRepeatDays = overdueRepeatDays
        self.reportDaysBefore = reportDaysBefore
        self.reportRepeatDays = reportRepeatDays
        self.sendFromMinutes = sendFromMinutes
    }

    /// Seconds since 1970 of `minutes` after midnight of `day` in Vietnam (UTC+7 all year).
    public static func moment(_ day: CalendarDate, minutes: Int) -> Double {
        Double(day.daysSinceEpoch * 86_400 + minutes * 60 - CalendarDate.vietnamOffsetSeconds)
    }

    /// A session reminder `daysBefore` a session on `date` at `startMinutes`: when the next,
    /// closer reminder goes out, or the session's start for the last one.
    public func session(date: CalendarDate, startMinutes: Int, daysBefore: Int) -> Double {
        if let next = sessionDaysBefore.filter({ $0 < daysBefore && $0 > 0 }).max() {
            return Self.moment(date.adding(days: -next), minutes: sendFromMinutes)
        }
        return Self.moment(date, minutes: startMinutes)
    }

    /// The overdue step of day `daysOverdue` of a loan due on `dueOn`: the next step's day.
    public func overdue(dueOn: CalendarDate, daysOverdue: Int) -> Double {
        let next = overdueDays.filter { $0 > daysOverdue }.min() ?? daysOverdue + overdueRepeatDays
        return Self.moment(dueOn.adding(days: next), minutes: sendFromMinutes)
    }

    /// A report step `daysToDue` before its due date (after it when negative): the next step, or
    /// the end of the due day for the step on it.
    public func report(dueOn: CalendarDate, daysToDue: Int) -> Double {
        if daysToDue > 0 {
            if let next = reportDaysBefore.filter({ $0 < daysToDue && $0 >= 0 }).max() {
                return Self.moment(dueOn.adding(days: -next), minutes: sendFromMinutes)
            }
            return Self.moment(dueOn.adding(days: 1), minutes: 0)
        }
        if daysToDue == 0 { return Self.moment(dueOn.adding(days: 1), minutes: 0) }
        return Self.moment(dueOn.adding(days: -daysToDue + reportRepeatDays), minutes: sendFromMinutes)
    }

    /// A loan-use check: the end of the day it must be done by.
    public func loanCheck(checkBy: CalendarDate) -> Double {
        Self.moment(checkBy.adding(days: 1), minutes: 0)
    }
}
