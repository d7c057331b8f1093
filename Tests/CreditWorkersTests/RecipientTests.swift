import CreditDomain
import CreditWorkers
import Foundation
import JobQueue
import PostgresNIO
import TestSupport
import Testing

/// Who gets a reminder: numbers as imports store them, people who opted out, digests to a unit's
/// contact, and sessions on the days calendars make awkward.
@Suite struct RecipientTests {
    static func rows(_ client: PostgresClient, _ sql: String) async throws -> [[String]] {
        var rows: [[String]] = []
        for try await row in try await client.query(PostgresQuery(unsafeSQL: sql), logger: ImportFixtures.logger) {
            rows.append(try row.makeRandomAccess().map { try $0.decode(String?.self) ?? "" })
        }
        return rows
    }

    @Test func importsStoreNumbersInE164AndRefuseWhatIsNoMobileNumber() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ImportFixtures.importBase(client: client, loans: false)
            try await ImportFixtures.importText(.groups, """
                code,name,commune_code,leader_name,leader_phone,point_code
                G5,Tổ 5,TQ-YS-KP,Lò Văn Năm,0912.345.678,KP-1
                G6,Tổ 6,TQ-YS-KP,Lò Văn Sáu,01689 123 456,KP-1
                G7,Tổ 7,TQ-YS-KP,Lò Văn Bảy,+84 387 654 321,KP-1
                G8,Tổ 8,TQ-YS-KP,Lò Văn Tám,,KP-1
                """, client: client)
            #expect(try await Self.rows(client, "SELECT code, leader_phone FROM groups WHERE code >= 'G5' ORDER BY code") == [
                ["G5", "+84912345678"], ["G6", "+84389123456"], ["G7", "+84387654321"], ["G8", ""],
            ])
            #expect(try await Self.rows(client, "SELECT contact_phone FROM units WHERE code = 'TQ'") == [["+84912345678"]])
            // A landline and a short number: row errors naming the column; nothing of the file is imported.
            let error = await #expect(throws: ImportError.self) {
                try await ImportFixtures.importText(.groups, """
                    code,name,commune_code,leader_name,leader_phone,point_code
                    G9,Tổ 9,TQ-YS-KP,Lò Văn Chín,0912345679,KP-1
                    G10,Tổ 10,TQ-YS-KP,Lò Văn Mười,024 3823 4567,KP-1
                    G11,Tổ 11,TQ-YS-KP,Lò Văn Mười Một,091234,KP-1
                    """, client: client)
            }
            let text = error?.description ?? ""
            #expect(text.contains("line 3") && text.contains("leader_phone") && text.contains("'024 3823 4567' is not a Vietnamese mobile number"), "\(text)")
            #expect(text.contains("line 4") && text.contains("'091234' has the wrong number of digits"), "\(text)")
            #expect(try await client.integer("SELECT count(*) FROM groups WHERE code IN ('G9', 'G10', 'G11')") == 0)
        }
    }

    @Test func anOptedOutNumberGetsNothingAndIsCounted() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ReminderPlannerTests.importFixture(client)
            let planner = ReminderPlannerTests.planner(client)
            let optOuts = RecipientOptOuts(client: client, logger: ImportFixtures.logger)
            // Typed as the leader of G1 wrote it on the form.
            let first = try await optOuts.optOut(try VietnamesePhone("091 111 1111"), note: "xin ngừng nhận tin")
            #expect(first.phone == "+84911111111" && first.changed && first.withheld == 0)
            #expect(try await optOuts.optOut(try VietnamesePhone("+84911111111")).changed == false)
            let sessions = try await planner.plan(.sessions, day: ReminderPlannerTests.day, now: ReminderPlannerTests.morning)
            #expect(sessions.due == 2 && sessions.optedOut == 1 && sessions.created == 1)
            #expect(try await Self.rows(client, """
                SELECT n.idempotency_key, n.state::text, (SELECT count(*) FROM jobs j WHERE (j.args->>'notification')::bigint = n.id)::text
                FROM notifications n ORDER BY 1
                """) == [
                ["session:TB-1:2026-11-17:3d:group:G1", "opted_out", "0"],
                ["session:TB-1:2026-11-17:3d:unit:TQ-YS-TB", "pending", "1"],
            ])
            // Opting out the commune contact withholds what is planned and not yet sent.
            let commune = try await optOuts.optOut(try VietnamesePhone("0900000001"))
            #expect(commune.withheld == 1)
            #expect(try await client.integer("SELECT count(*) FROM notifications WHERE state = 'pending'") == 0)
            // Back in: the next planning reaches them again.
            #expect(try await optOuts.optIn(try VietnamesePhone("0911111111")).changed)
            #expect(try await optOuts.list().map(\.phone) == ["+84900000001"])
            let checks = try await planner.plan(.loanChecks, day: ReminderPlannerTests.day, now: ReminderPlannerTests.morning)
            #expect(checks.due == 2 && checks.created == 1 && checks.optedOut == 1)
        }
    }

    @Test func aDeliveryToANumberOptedOutAfterPlanningIsWithheld() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ReminderPlannerTests.importFixture(client)
            _ = try await ReminderPlannerTests.planner(client).plan(.sessions, day: ReminderPlannerTests.day, now: ReminderPlannerTests.morning)
            // Straight into the table, as a second worker's opt-out racing this delivery would be.
            try await client.query("INSERT INTO recipient_opt_outs (phone) VALUES ('+84911111111')", logger: ImportFixtures.logger)
            let sink = WebhookSink()
            let sent = try await sink.run { url in
                // A 10 s time-out: a loaded machine's slow answer must not cause a second request.
                try await WebhookDeliveryTests.deliver(client, url: url, timeout: .seconds(10)) {
                    try await client.integer("SELECT count(*) FROM notifications WHERE state = 'pending'") == 0
                }
            }
            #expect(sent)
            #expect(try await WebhookDeliveryTests.states(client) == ["sent": 1, "opted_out": 1])
            #expect(sink.requests.allSatisfy { !$0.idempotencyKey.contains("group:G1") } && sink.requestCount == 1)
        }
    }

    @Test func aUnitsContactGetsOneDigestPerKindAndDayAndGroupLeadersOneMessageEach() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ReminderPlannerTests.importFixture(client)
            // Three more loans of Kim Phú's groups, 30 days overdue on 14 November: with D30, four
            // for the commune contact and, with D60, five for the district.
            try await ImportFixtures.importText(.loans, """
                code,borrower_code,program,principal,outstanding,disbursed_on,due_on
                K1,B3,Cho vay hộ nghèo,10000000,1000000,2023-10-15,2026-10-15
                K2,B3,Cho vay hộ nghèo,10000000,2000000,2023-10-15,2026-10-15
                K3,B3,Cho vay hộ nghèo,10000000,3000000,2023-10-15,2026-10-15
                """, client: client)
            try await client.query("UPDATE reminder_settings SET digest_max_items = 3", logger: ImportFixtures.logger)
            let planner = ReminderPlannerTests.planner(client)
            let report = try await planner.plan(.overdue, day: ReminderPlannerTests.day, now: ReminderPlannerTests.morning)
            let digests = try await Self.rows(client, """
                SELECT d.recipient_phone, d.unit_code, d.text, (SELECT count(*) FROM notifications i WHERE i.digest_id = d.id)::text,
                       (SELECT count(*) FROM jobs j WHERE (j.args->>'notification')::bigint = d.id)::text
                FROM notifications d WHERE d.idempotency_key LIKE 'digest:%' ORDER BY d.unit_code
                """)
            #expect(digests.map { [$0[0], $0[1], $0[3], $0[4]] } == [
                ["+84987654321", "TQ-YS", "5", "1"],
                ["+84900000002", "TQ-YS-KP", "4", "1"],
                ["+84900000001", "TQ-YS-TB", "2", "1"],
            ])
            let kimPhu = digests[1][2]
            #expect(kimPhu.hasPrefix("Đoàn Thanh niên: 4 khoản vay quá hạn cần đôn đốc: 1) D30 của hộ Ngô Văn Ích (Tổ TK&VV thôn 3) quá hạn 30 ngày, dư nợ 3.000.000 đồng; 2) K1"), "\(kimPhu)")
            #expect(kimPhu.contains("; và 1 khoản khác. Đề nghị phối hợp với tổ trưởng"), "\(kimPhu)")
            // The digested rows are neither sent nor given a job; group leaders keep one message a loan.
            #expect(try await client.integer("""
                SELECT count(*) FROM notifications n JOIN jobs j ON (j.args->>'notification')::bigint = n.id WHERE n.state = 'digested'
                """) == 0)
            #expect(try await client.integer("""
                SELECT count(*) FROM notifications WHERE idempotency_key LIKE 'overdue:%:group:G2' AND state = 'pending'
                """) == 4)
            #expect(report.due == 9 + 3 * 3 && report.digests == 3 && report.created == report.due - 11 + 3)
            // Planning the day again adds nothing, digest or not.
            let again = try await planner.plan(.overdue, day: ReminderPlannerTests.day, now: ReminderPlannerTests.morning)
            #expect(again.created == 0 && again.digests == 0 && again.alreadyPlanned == report.due)
            // A kind left out of digest_kinds goes one message per reminder.
            try await client.query("UPDATE reminder_settings SET digest_kinds = '{session_reminder}'", logger: ImportFixtures.logger)
            let reports = try await planner.plan(.reports, day: ReminderPlannerTests.day, now: ReminderPlannerTests.morning)
            #expect(reports.digests == 0 && reports.created == 5)
        }
    }

    /// Session day 31 at KP-2 and a session on the 1st: the reminders fall on the right days at
    /// the ends of months, in February of a common and of a leap year, and across a year's end.
    @Test(arguments: [
        // (planning day, the session it reminds of, days before)
        ("2027-02-27", "2027-02-28", 1),
        ("2027-02-25", "2027-02-28", 3),
        ("2028-02-28", "2028-02-29", 1),
        ("2028-02-26", "2028-02-29", 3),
        ("2026-12-30", "2026-12-31", 1),
        ("2027-04-29", "2027-04-30", 1),
    ])
    func sessionsAtMonthEnds(_ day: String, _ session: String, _ daysBefore: Int) async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ReminderPlannerTests.importFixture(client)
            let report = try await ReminderPlannerTests.planner(client).plan(
                .sessions, day: CalendarDate(iso: day)!, now: ReminderPlannerTests.morning)
            let keys = try await ReminderPlannerTests.keys(client, kind: "session_reminder")
            #expect(keys.contains("session:KP-2:\(session):\(daysBefore)d:unit:TQ-YS-KP"), "\(keys)")
            #expect(keys.contains("session:KP-2:\(session):\(daysBefore)d:group:G3"), "\(keys)")
            #expect(report.created == keys.count)
            let date = CalendarDate(iso: session)!
            let texts = try await Self.rows(client, "SELECT text FROM notifications WHERE idempotency_key LIKE 'session:KP-2:%:group:G3'")
            #expect(texts.first?.first?.contains(date.vietnameseWithWeekday + (daysBefore == 1 ? " (ngày mai)" : " (còn 3 ngày)")) == true)
        }
    }
}
