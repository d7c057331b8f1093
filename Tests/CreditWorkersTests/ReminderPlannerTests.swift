import CreditDomain
import CreditWorkers
import Foundation
import JobQueue
import PostgresNIO
import TestSupport
import Testing

/// The planners against a small fixture and fixed days: exactly these recipients and steps.
@Suite struct ReminderPlannerTests {
    /// 2026-11-14 10:00 in Vietnam.
    static let morning = Date(timeIntervalSince1970: 1_794_625_200)
    static let day = CalendarDate(year: 2026, month: 11, day: 14)

    /// The import fixtures plus: a group on point KP-2 (session day 31), a group whose leader has
    /// no phone, loans at every escalation step, loans for the loan-use check, and reports.
    static func importFixture(_ client: PostgresClient) async throws {
        try await ImportFixtures.importBase(client: client, loans: false)
        try await ImportFixtures.importText(.groups, """
            code,name,commune_code,leader_name,leader_phone,point_code
            G3,Tổ TK&VV thôn 7,TQ-YS-KP,Trương Thị Yến,0944444444,KP-2
            G4,Tổ TK&VV thôn 9,TQ-YS-KP,Đinh Văn Toàn,,KP-2
            """, client: client)
        try await ImportFixtures.importText(.loans, """
            code,borrower_code,program,principal,outstanding,disbursed_on,due_on
            D1,B1,Cho vay hộ nghèo,50000000,1234567,2023-11-13,2026-11-13
            D7,B2,Cho vay hộ nghèo,50000000,2000000,2023-11-07,2026-11-07
            D30,B3,Cho vay hộ nghèo,50000000,3000000,2023-10-15,2026-10-15
            D60,B1,Cho vay hộ nghèo,50000000,4000000,2023-09-15,2026-09-15
            D4,B2,Cho vay hộ nghèo,50000000,5000000,2023-11-10,2026-11-10
            PAID,B3,Cho vay hộ nghèo,50000000,0,2023-11-13,2026-11-13
            RISK,B1,Cho vay hộ nghèo,50000000,6000000,2023-11-13,2026-11-13
            NEW,B2,Cho vay giải quyết việc làm,30000000,30000000,2026-10-25,2029-10-25
            CHECKED,B3,Cho vay giải quyết việc làm,30000000,30000000,2026-10-25,2029-10-25
            """, client: client)
        try await client.query("UPDATE loans SET status = 'risk' WHERE code = 'RISK'", logger: ImportFixtures.logger)
        try await client.query("UPDATE loans SET use_checked_on = '2026-11-01' WHERE code = 'CHECKED'", logger: ImportFixtures.logger)
        try await client.query("""
            INSERT INTO report_types (code, name, submitting_level, frequency, due_day)
            VALUES ('BC-QUY', 'Báo cáo quý', 'commune', 'quarterly', 25)
            """, logger: ImportFixtures.logger)
        try await ImportFixtures.importText(.reports, """
            report_code,unit_code,due_on,submitted_on
            BC-NAM,TQ-YS,2026-11-28,
            BC-QUY,TQ-YS-TB,2026-11-13,
            BC-QUY,TQ-YS-KP,2026-11-06,
            BC-NAM,TQ-YS,2025-11-15,2025-11-10
            """, client: client)
    }

    static func planner(_ client: PostgresClient) -> ReminderPlanner {
        ReminderPlanner(client: client, registry: JobKinds.registry(client: client, logger: ImportFixtures.logger),
                        logger: ImportFixtures.logger)
    }

    static func keys(_ client: PostgresClient, kind: String) async throws -> [String] {
        var keys: [String] = []
        let rows = try await client.query(
            "SELECT idempotency_key FROM notifications WHERE kind = \(kind)::notification_kind ORDER BY 1", logger: ImportFixtures.logger)
        for try await key in rows.decode(String.self) { keys.append(key) }
        return keys
    }

    @Test func sessionsThreeDaysAndOneDayAheadToLeadersAndTheCommune() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Self.importFixture(client)
            let planner = Self.planner(client)
            // 14 November: TB-1 meets on the 17th, three days ahead.
            _ = try await planner.plan(.sessions, day: Self.day, now: Self.morning)
            // 29 November: KP-2's day 31 falls on 30 November (D5), one day ahead; G4's leader has
            // no phone, so the commune contact gets G4's reminder, saying for whom.
            let late = try await planner.plan(.sessions, day: CalendarDate(year: 2026, month: 11, day: 29), now: Self.morning)
            #expect(late.withoutPhone == 0)
            #expect(try await Self.keys(client, kind: "session_reminder") == [
                "session:KP-2:2026-11-30:1d:group:G3",
                "session:KP-2:2026-11-30:1d:group:G4",
                "session:KP-2:2026-11-30:1d:unit:TQ-YS-KP",
                "session:TB-1:2026-11-17:3d:group:G1",
                "session:TB-1:2026-11-17:3d:unit:TQ-YS-TB",
            ])
            let forwarded = try await client.query("""
                SELECT recipient_name, recipient_phone, text FROM notifications WHERE idempotency_key = 'session:KP-2:2026-11-30:1d:group:G4'
                """, logger: ImportFixtures.logger)
            for try await (name, phone, text) in forwarded.decode((String, String, String).self) {
                #expect(name == "Phạm Thị Dung" && phone == "+84900000002")
                #expect(text.hasSuffix("(Gửi thay tổ trưởng Tổ TK&VV thôn 9: chưa có số điện thoại của tổ trưởng, đề nghị chuyển lời và bổ sung số.)"))
                #expect(text.contains("thứ Hai, 30/11/2026 (ngày mai)"))
            }
            // A December session moved from the 17th to the 21st for a storm.
            try await client.query("""
                INSERT INTO point_session_overrides (point_id, month, session_on, reason)
                SELECT id, DATE '2026-12-01', DATE '2026-12-21', 'bão' FROM points WHERE code = 'TB-1'
                """, logger: ImportFixtures.logger)
            let onOldDay = try await planner.plan(.sessions, day: CalendarDate(year: 2026, month: 12, day: 14), now: Self.morning)
            #expect(onOldDay.due == 0)
            let moved = try await planner.plan(.sessions, day: CalendarDate(year: 2026, month: 12, day: 20), now: Self.morning)
            #expect(moved.created == 2)
            #expect(try await Self.keys(client, kind: "session_reminder").contains("session:TB-1:2026-12-21:1d:group:G1"))
            let text = try await client.query("SELECT text FROM notifications WHERE idempotency_key = 'session:TB-1:2026-11-17:3d:group:G1'",
                                              logger: ImportFixtures.logger)
            for try await text in text.decode(String.self) {
                #expect(text == "Đoàn Thanh niên: Phiên giao dịch Ngân hàng Chính sách xã hội tại Trụ sở UBND xã Thái Bình (xã Thái Bình) lúc 7 giờ 30, thứ Ba, 17/11/2026 (còn 3 ngày). Đề nghị tổ trưởng Tổ TK&VV thôn 1 thu lãi, tiết kiệm và nhắc tổ viên đến đúng giờ.")
            }
            // December's session moved into January: its day-before reminder is planned on 1 January.
            try await client.query("""
                UPDATE point_session_overrides SET session_on = DATE '2027-01-02', reason = 'lũ'
                WHERE month = DATE '2026-12-01' AND point_id = (SELECT id FROM points WHERE code = 'TB-1')
                """, logger: ImportFixtures.logger)
            let acrossTheYear = try await planner.plan(.sessions, day: CalendarDate(year: 2027, month: 1, day: 1), now: Self.morning)
            #expect(acrossTheYear.created >= 2)
            #expect(try await Self.keys(client, kind: "session_reminder").contains("session:TB-1:2027-01-02:1d:group:G1"))
            try await client.query("""
                UPDATE point_session_overrides SET session_on = DATE '2026-12-21', reason = 'bão'
                WHERE month = DATE '2026-12-01' AND point_id = (SELECT id FROM points WHERE code = 'TB-1')
                """, logger: ImportFixtures.logger)
            // The commune union is addressed by its own name, once; the sender is configuration.
            try await client.query("UPDATE reminder_settings SET sender_name = 'Tỉnh đoàn Tuyên Quang'", logger: ImportFixtures.logger)
            _ = try await planner.plan(.sessions, day: CalendarDate(year: 2026, month: 12, day: 18), now: Self.morning)
            let union = try await client.query(
                "SELECT text FROM notifications WHERE idempotency_key = 'session:TB-1:2026-12-21:3d:unit:TQ-YS-TB'", logger: ImportFixtures.logger)
            var unionTexts: [String] = []
            for try await text in union.decode(String.self) { unionTexts.append(text) }
            #expect(unionTexts.count == 1)
            #expect(unionTexts.allSatisfy {
                $0.hasPrefix("Tỉnh đoàn Tuyên Quang: ") && $0.contains("Đề nghị Đoàn xã Thái Bình phối hợp") && !$0.contains("xã xã")
                    && $0.contains("thứ Hai, 21/12/2026")
            }, "\(unionTexts)")
        }
    }

    @Test func overdueLoansEscalateByDayAndStopWhenRepaidOrMarked() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Self.importFixture(client)
            let report = try await Self.planner(client).plan(.overdue, day: Self.day, now: Self.morning)
            #expect(report.followupsCreated == 4)
            // Nine reminders; the district (D30 and D60) and Thái Bình (D7 and D60) each get theirs as one digest.
            #expect(report.due == 9 && report.digests == 2 && report.created == 9 - 4 + 2)
            #expect(try await Self.keys(client, kind: "overdue_followup").filter { !$0.hasPrefix("digest:") } == [
                "overdue:D1:2026-11-13:1d:group:G1",
                "overdue:D30:2026-10-15:30d:group:G2",
                "overdue:D30:2026-10-15:30d:unit:TQ-YS",
                "overdue:D30:2026-10-15:30d:unit:TQ-YS-KP",
                "overdue:D60:2026-09-15:60d:group:G1",
                "overdue:D60:2026-09-15:60d:unit:TQ-YS",
                "overdue:D60:2026-09-15:60d:unit:TQ-YS-TB",
                "overdue:D7:2026-11-07:7d:group:G1",
                "overdue:D7:2026-11-07:7d:unit:TQ-YS-TB",
            ])
            let text = try await client.query("SELECT text FROM notifications WHERE idempotency_key = 'overdue:D1:2026-11-13:1d:group:G1'",
                                              logger: ImportFixtures.logger)
            for try await text in text.decode(String.self) {
                #expect(text.contains("đã quá hạn 1 ngày (hạn trả 13/11/2026), dư nợ 1.234.567 đồng"))
            }
        }
    }

    @Test func loanUseChecksTwentyDaysAfterDisbursement() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Self.importFixture(client)
            _ = try await Self.planner(client).plan(.loanChecks, day: Self.day, now: Self.morning)
            #expect(try await Self.keys(client, kind: "loan_use_check") == ["loan_check:NEW:group:G1", "loan_check:NEW:unit:TQ-YS-TB"])
        }
    }

    @Test func reportDeadlinesBeforeOnAndAfterTheDueDate() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Self.importFixture(client)
            let report = try await Self.planner(client).plan(.reports, day: Self.day, now: Self.morning)
            // BC-NAM due in 14 days; TB's quarterly report 1 day late, KP's 8 days late (day 1
            // and every 7 after): the unit, and after the due date the district that receives it
            // (told of both late reports in one digest).
            #expect(report.due == 5 && report.digests == 1 && report.created == 4)
            #expect(try await Self.keys(client, kind: "report_deadline").filter { !$0.hasPrefix("digest:") } == [
                "report:BC-NAM:TQ-YS:2026:-14d:unit:TQ-YS",
                "report:BC-QUY:TQ-YS-KP:2026-Q4:+8d:unit:TQ-YS",
                "report:BC-QUY:TQ-YS-KP:2026-Q4:+8d:unit:TQ-YS-KP",
                "report:BC-QUY:TQ-YS-TB:2026-Q4:+1d:unit:TQ-YS",
                "report:BC-QUY:TQ-YS-TB:2026-Q4:+1d:unit:TQ-YS-TB",
            ])
        }
    }

    @Test func planningTheSameDayAgainAddsNothing() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Self.importFixture(client)
            let planner = Self.planner(client)
            let first = try await planner.planAll(day: Self.day, now: Self.morning)
            let created = first.map(\.created).reduce(0, +)
            // 18 reminders; the district's two overdue loans and two late reports received, and
            // Thái Bình's two overdue loans, go as three digests: 15 messages.
            #expect(first.map(\.due).reduce(0, +) == 18)
            #expect(first.map(\.digests).reduce(0, +) == 3)
            #expect(created == 15)
            let again = try await planner.planAll(day: Self.day, now: Self.morning)
            #expect(again.map(\.created).reduce(0, +) == 0)
            #expect(again.map(\.alreadyPlanned).reduce(0, +) == 18)
            #expect(again.map(\.followupsCreated).reduce(0, +) == 0)
            let counts = try await client.query("""
                SELECT (SELECT count(*) FROM notifications), (SELECT count(*) FROM jobs WHERE kind = 'notifications.deliver'),
                       (SELECT count(*) FROM followups)
                """, logger: ImportFixtures.logger)
            for try await (notifications, jobs, followups) in counts.decode((Int, Int, Int).self) {
                #expect(notifications == 18 + 3)
                #expect(jobs == created)
                #expect(followups == 4)
            }
        }
    }

    @Test func deliveriesPlannedInQuietHoursWaitForSevenInTheMorning() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await Self.importFixture(client)
            // 22:30 in Vietnam on 14 November.
            let lateEvening = Date(timeIntervalSince1970: 1_794_670_200)
            _ = try await Self.planner(client).plan(.overdue, day: Self.day, now: lateEvening)
            let rows = try await client.query("""
                SELECT DISTINCT n.deliver_after = j.run_at, to_char(n.deliver_after AT TIME ZONE 'Asia/Ho_Chi_Minh', 'YYYY-MM-DD HH24:MI')
                FROM notifications n JOIN jobs j ON (j.args->>'notification')::bigint = n.id
                """, logger: ImportFixtures.logger)
            var seen = 0
            // Each delivery job runs no earlier than its notification may go out.
            for try await (same, local) in rows.decode((Bool, String).self) {
                seen += 1
                #expect(same)
                #expect(local == "2026-11-15 07:00")
            }
            #expect(seen == 1)
        }
    }
}
