import CreditDomain
import CreditWorkers
import Foundation
import PostgresNIO
import TestSupport
import Testing

/// Days the leader missed are planned when it next plans, each as of its day: what is still
/// useful goes out marked late, what its moment has passed expires.
@Suite struct CatchUpTests {
    static func day(_ month: Int, _ day: Int, _ year: Int = 2026) -> CalendarDate { CalendarDate(year: year, month: month, day: day) }

    @Test func theDaysToPlan() {
        // First run ever: only the day itself.
        #expect(ReminderJobs.daysToPlan(last: nil, target: Self.day(11, 14), catchUpDays: 7) == [Self.day(11, 14)])
        // Planned yesterday: today.
        #expect(ReminderJobs.daysToPlan(last: Self.day(11, 13), target: Self.day(11, 14), catchUpDays: 7) == [Self.day(11, 14)])
        // Already planned today, or a later day: today again (planning is idempotent).
        #expect(ReminderJobs.daysToPlan(last: Self.day(11, 20), target: Self.day(11, 14), catchUpDays: 7) == [Self.day(11, 14)])
        // Across the year's end, three missed days.
        #expect(ReminderJobs.daysToPlan(last: Self.day(12, 29), target: Self.day(1, 2, 2027), catchUpDays: 7)
            == [Self.day(12, 30), Self.day(12, 31), Self.day(1, 1, 2027), Self.day(1, 2, 2027)])
        // A month away: the last seven days only, and February of a leap year.
        #expect(ReminderJobs.daysToPlan(last: Self.day(1, 1, 2028), target: Self.day(3, 2, 2028), catchUpDays: 7)
            == (0...7).map { Self.day(2, 24, 2028).adding(days: $0) })
        #expect(ReminderJobs.daysToPlan(last: Self.day(1, 1, 2028), target: Self.day(3, 2, 2028), catchUpDays: 7).contains(Self.day(2, 29, 2028)))
        #expect(ReminderJobs.daysToPlan(last: Self.day(11, 1), target: Self.day(11, 14), catchUpDays: 0) == [Self.day(11, 14)])
    }

    @Test func missedMorningsArePlannedLateOrExpire() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ReminderPlannerTests.importFixture(client)
            // The last planning ran for 6 November; the leader is back on the 14th at 10:00.
            try await client.query("INSERT INTO reminder_plan_days (day) VALUES ('2026-11-06')", logger: ImportFixtures.logger)
            let jobs = ReminderJobs(planner: ReminderPlannerTests.planner(client), clock: { ReminderPlannerTests.morning })
            let planned = try await jobs.planDays(through: ReminderPlannerTests.day, now: ReminderPlannerTests.morning, logger: ImportFixtures.logger)
            #expect(planned == (7...14).map { Self.day(11, $0) })

            func texts(_ pattern: String) async throws -> [(text: String, expired: Bool)] {
                let rows = try await client.query("""
                    SELECT text, expires_at <= to_timestamp(\(ReminderPlannerTests.morning.timeIntervalSince1970)) FROM notifications
                    WHERE idempotency_key LIKE \(pattern) ORDER BY idempotency_key
                    """, logger: ImportFixtures.logger)
                var found: [(String, Bool)] = []
                for try await (text, expired) in rows.decode((String, Bool).self) { found.append((text, expired)) }
                return found
            }
            // D4 fell due on the 10th: its day-1 step (the 11th) is still before the day-7 step, so
            // it goes out late, saying so, without "1 day overdue", which is no longer true.
            let d4 = try await texts("overdue:D4:2026-11-10:1d:group:%")
            #expect(d4.count == 1)
            #expect(d4.allSatisfy { $0.text.hasPrefix("Đoàn Thanh niên (nhắc muộn): ") && !$0.text.contains("quá hạn 1 ngày") && !$0.expired },
                    "\(d4)")
            // D7's day-1 step (the 8th) was superseded by its day-7 step this morning: it will expire.
            let d7 = try await texts("overdue:D7:2026-11-07:1d:group:%")
            #expect(d7.count == 1 && d7.allSatisfy(\.expired))
            // Today's reminders are not late.
            let d1 = try await texts("overdue:D1:2026-11-13:1d:group:%")
            #expect(d1.count == 1 && d1.allSatisfy { !$0.text.contains("nhắc muộn") && $0.text.contains("quá hạn 1 ngày") })
            // The report due on the 13th: its due-day step (planned late) has expired, its day-1-late
            // step (today) goes out.
            let dueDay = try await texts("report:BC-QUY:TQ-YS-TB:2026-Q4:-0d:%")
            #expect(dueDay.count == 1 && dueDay.allSatisfy { $0.expired && $0.text.contains("(nhắc muộn)") && !$0.text.contains("hôm nay") },
                    "\(dueDay)")
            let dayAfter = try await texts("report:BC-QUY:TQ-YS-TB:2026-Q4:+1d:%")
            #expect(dayAfter.count == 2 && dayAfter.allSatisfy { !$0.expired && $0.text.contains("quá hạn 1 ngày") }, "\(dayAfter)")

            // Planning again adds nothing; the table of planned days has every day once.
            let again = try await jobs.planDays(through: ReminderPlannerTests.day, now: ReminderPlannerTests.morning, logger: ImportFixtures.logger)
            #expect(again == [ReminderPlannerTests.day])
            #expect(try await client.integer("SELECT count(*) FROM reminder_plan_days") == 9)
        }
    }

    @Test func catchUpIsBoundedBySettings() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ReminderPlannerTests.importFixture(client)
            try await client.query("UPDATE reminder_settings SET catch_up_days = 2", logger: ImportFixtures.logger)
            try await client.query("INSERT INTO reminder_plan_days (day) VALUES ('2026-11-01')", logger: ImportFixtures.logger)
            let jobs = ReminderJobs(planner: ReminderPlannerTests.planner(client), clock: { ReminderPlannerTests.morning })
            let planned = try await jobs.planDays(through: ReminderPlannerTests.day, now: ReminderPlannerTests.morning, logger: ImportFixtures.logger)
            #expect(planned == [Self.day(11, 12), Self.day(11, 13), Self.day(11, 14)])
        }
    }
}
