import Foundation
import JobQueue
import Testing

@Suite struct CronScheduleTests {
    let utc = TimeZone(identifier: "UTC")!

    func date(_ text: String) -> Date {
        try! Date.ISO8601FormatStyle().parse(text)
    }

    @Test(arguments: [
        // expression, after, expected next (UTC unless the test says otherwise)
        ("* * * * *", "2026-11-27T05:10:30Z", "2026-11-27T05:11:00Z"),
        ("5 * * * *", "2026-11-27T05:10:00Z", "2026-11-27T06:05:00Z"),
        ("0,30 9-10 * * *", "2026-11-27T09:45:00Z", "2026-11-27T10:00:00Z"),
        ("*/15 * * * *", "2026-11-27T05:46:00Z", "2026-11-27T06:00:00Z"),
        ("10-40/10 * * * *", "2026-11-27T05:41:00Z", "2026-11-27T06:10:00Z"),
        ("0 0 1 jan,jul *", "2026-07-01T00:00:00Z", "2027-01-01T00:00:00Z"),
        ("0 8 * * mon-fri", "2026-11-27T09:00:00Z", "2026-11-30T08:00:00Z"),  // Friday → Monday
        ("0 8 * * 0", "2026-11-27T09:00:00Z", "2026-11-29T08:00:00Z"),  // Sunday as 0
        ("0 8 * * 7", "2026-11-27T09:00:00Z", "2026-11-29T08:00:00Z"),  // … and as 7
        ("0 0 31 * *", "2026-04-15T00:00:00Z", "2026-05-31T00:00:00Z"),  // April has no 31st
        ("0 0 29 2 *", "2025-03-01T00:00:00Z", "2028-02-29T00:00:00Z"),  // next leap year
        ("59 23 31 12 *", "2026-12-31T23:59:00Z", "2027-12-31T23:59:00Z"),  // year end
        ("0 0 15 11 *", "2026-11-15T00:00:00Z", "2027-11-15T00:00:00Z"),
        ("0 12 13 * fri", "2026-11-01T00:00:00Z", "2026-11-06T12:00:00Z"),  // day 13 OR a Friday
    ])
    func nextRun(expression: String, after: String, expected: String) throws {
        let schedule = try CronSchedule(expression, timeZone: utc)
        #expect(schedule.next(after: date(after)) == date(expected))
    }

    @Test func readsFieldsInTheScheduleTimeZone() throws {
        let hanoi = TimeZone(identifier: "Asia/Ho_Chi_Minh")!  // UTC+7
        let daily = try CronSchedule("0 7 * * *", timeZone: hanoi)
        // 07:30 in Hà Nội is 00:30 UTC: the next 07:00 there is tomorrow 00:00 UTC.
        #expect(daily.next(after: date("2026-11-27T00:30:00Z")) == date("2026-11-28T00:00:00Z"))
        // 06:59 in Hà Nội: today at 07:00.
        #expect(daily.next(after: date("2026-11-26T23:59:00Z")) == date("2026-11-27T00:00:00Z"))
        // A month end in local time that is still the previous day in UTC.
        let monthEnd = try CronSchedule("0 1 1 * *", timeZone: hanoi)
        #expect(monthEnd.next(after: date("2026-11-27T00:00:00Z")) == date("2026-11-30T18:00:00Z"))
    }

    @Test func aScheduleWithoutAZoneIsReadInUTC() throws {
        let daily = try CronSchedule("0 7 * * *")
        #expect(daily.timeZone.secondsFromGMT() == 0)
        #expect(daily.next(after: date("2026-11-27T00:30:00Z")) == date("2026-11-27T07:00:00Z"))
    }

    @Test func previousRun() throws {
        let daily = try CronSchedule("0 7 * * *", timeZone: utc)
        #expect(daily.previous(atOrBefore: date("2026-11-27T07:00:00Z")) == date("2026-11-27T07:00:00Z"))
        #expect(daily.previous(atOrBefore: date("2026-11-27T06:59:00Z")) == date("2026-11-26T07:00:00Z"))
        let yearly = try CronSchedule("0 0 15 11 *", timeZone: utc)
        #expect(yearly.previous(atOrBefore: date("2026-11-01T00:00:00Z")) == date("2025-11-15T00:00:00Z"))
    }

    @Test(arguments: [
        ("* * * *", "has 4 fields"),
        ("60 * * * *", "minute field: 60 is out of range 0-59"),
        ("* 24 * * *", "hour field: 24 is out of range 0-23"),
        ("* * 0 * *", "day-of-month field: 0 is out of range 1-31"),
        ("* * * 13 *", "month field: 13 is out of range 1-12"),
        ("* * * foo *", "month field: 'foo' is not a number or a name"),
        ("* * * * 8", "day-of-week field: 8 is out of range 0-7"),
        ("*/0 * * * *", "minute field '*/0': step '0' must be a whole number above 0"),
        ("30-10 * * * *", "minute field '30-10': range 30-10 runs backwards"),
        ("1,,2 * * * *", "minute field '1,,2' has an empty list item"),
    ])
    func badExpressionsNameTheField(expression: String, message: String) {
        let error = #expect(throws: CronError.self) { try CronSchedule(expression) }
        #expect(error?.description.contains(message) == true, "\(error?.description ?? "")")
    }

    @Test func intervalSchedulesAlignToTheEpoch() {
        let every = PeriodicSchedule.every(.seconds(60))
        #expect(every.next(after: date("2026-11-27T05:10:30Z")) == date("2026-11-27T05:11:00Z"))
        #expect(every.previous(atOrBefore: date("2026-11-27T05:10:30Z")) == date("2026-11-27T05:10:00Z"))
    }
}
