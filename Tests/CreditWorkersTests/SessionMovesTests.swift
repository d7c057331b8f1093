import CreditDomain
import CreditWorkers
import Foundation
import JobQueue
import PostgresNIO
import TestSupport
import Testing

/// A session moved after its reminders went out: the people reminded of the old day are told.
@Suite struct SessionMovesTests {
    static func moves(_ client: PostgresClient) -> SessionMoves {
        SessionMoves(client: client, registry: JobKinds.registry(client: client, logger: ImportFixtures.logger), logger: ImportFixtures.logger)
    }

    @Test func theNoticeText() {
        #expect(ReminderTexts.sessionMoved(
            sender: "Đoàn Thanh niên", communePlace: "xã Thái Bình", location: "Trụ sở UBND xã Thái Bình",
            from: CalendarDate(year: 2026, month: 11, day: 17), to: CalendarDate(year: 2026, month: 11, day: 19), time: "08:00")
            == "Đoàn Thanh niên: Lịch phiên giao dịch thay đổi. Phiên giao dịch Ngân hàng Chính sách xã hội tại Trụ sở UBND xã Thái Bình (xã Thái Bình) chuyển từ thứ Ba, 17/11/2026 sang 8 giờ, thứ Năm, 19/11/2026. Đề nghị thông báo lại cho tổ viên.")
    }

    @Test func whoWasRemindedIsToldAndWhatWasNotSentIsWithdrawn() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ReminderPlannerTests.importFixture(client)
            // 14 November: TB-1's session of the 17th is three days ahead; the leader's reminder went
            // out, the commune contact's has not yet.
            _ = try await ReminderPlannerTests.planner(client).plan(.sessions, day: ReminderPlannerTests.day, now: ReminderPlannerTests.morning)
            try await client.query("""
                UPDATE notifications SET state = 'sent', sent_at = now() WHERE idempotency_key LIKE 'session:TB-1:2026-11-17:3d:group:%'
                """, logger: ImportFixtures.logger)
            let recipients = try await client.integer("""
                SELECT (SELECT count(*) FROM groups g JOIN points p ON p.id = g.point_id WHERE p.code = 'TB-1' AND g.leader_phone <> '')
                     + (SELECT count(*) FROM units WHERE code = 'TQ-YS-TB' AND contact_phone <> '')
                """)
            let outcome = try await Self.moves(client).move(
                pointCode: "TB-1", month: CalendarDate(year: 2026, month: 11, day: 1), to: CalendarDate(year: 2026, month: 11, day: 19),
                time: "08:00", reason: "bão số 9", now: ReminderPlannerTests.morning)
            #expect(outcome.from == "2026-11-17" && outcome.to == "2026-11-19" && outcome.time == "08:00")
            #expect(outcome.remindersWithdrawn == 1)
            #expect(outcome.noticesPlanned == recipients && recipients >= 2)
            #expect(try await client.integer("""
                SELECT count(*) FROM notifications WHERE idempotency_key = 'session:TB-1:2026-11-17:3d:unit:TQ-YS-TB' AND state = 'expired'
                """) == 1)
            let notices = try await client.query("""
                SELECT text, extract(epoch FROM expires_at)::float8 FROM notifications WHERE kind = 'session_changed'
                """, logger: ImportFixtures.logger)
            var count = 0
            for try await (text, expires) in notices.decode((String, Double).self) {
                count += 1
                #expect(text.contains("chuyển từ thứ Ba, 17/11/2026 sang 8 giờ, thứ Năm, 19/11/2026"))
                #expect(expires == ReminderExpiry.moment(CalendarDate(year: 2026, month: 11, day: 19), minutes: 8 * 60))
            }
            #expect(count == recipients)
            // Each notice has its delivery job, carrying its commune.
            #expect(try await client.integer("""
                SELECT count(*) FROM jobs j JOIN notifications n ON n.id = (j.args ->> 'notification')::bigint
                WHERE n.kind = 'session_changed' AND j.meta ->> 'unit' = 'TQ-YS-TB'
                """) == recipients)
            // The planner now reminds of the new day: 19 November is one day after the 18th.
            _ = try await ReminderPlannerTests.planner(client).plan(
                .sessions, day: CalendarDate(year: 2026, month: 11, day: 18), now: ReminderPlannerTests.morning)
            #expect(try await client.integer("SELECT count(*) FROM notifications WHERE idempotency_key LIKE 'session:TB-1:2026-11-19:1d:%'") >= 2)
            // Moving again to the same day changes nothing more.
            let again = try await Self.moves(client).move(
                pointCode: "TB-1", month: CalendarDate(year: 2026, month: 11, day: 1), to: CalendarDate(year: 2026, month: 11, day: 19),
                time: "08:00", reason: "bão số 9", now: ReminderPlannerTests.morning)
            #expect(again.noticesPlanned == 0 && again.remindersWithdrawn == 0)
        }
    }

    @Test func nobodyToldNoNoticeAndTheListShowsTheMove() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ReminderPlannerTests.importFixture(client)
            let outcome = try await Self.moves(client).move(
                pointCode: "TB-1", month: CalendarDate(year: 2026, month: 12, day: 1), to: CalendarDate(year: 2027, month: 1, day: 2),
                time: nil, reason: "lũ", now: ReminderPlannerTests.morning)
            #expect(outcome.noticesPlanned == 0 && outcome.remindersWithdrawn == 0)
            let sessions = try await Self.moves(client).list(
                unitCode: "TQ-YS-TB", from: CalendarDate(year: 2026, month: 12, day: 20), to: CalendarDate(year: 2027, month: 1, day: 31))
            #expect(sessions.map(\.date) == ["2027-01-02", "2027-01-17"], "\(sessions)")
            #expect(sessions.first?.movedBecause == "lũ" && sessions.last?.movedBecause == nil)
            #expect(sessions.first?.time == "07:30")
            let unknown = await #expect(throws: SessionMoves.Failure.self) {
                try await Self.moves(client).move(pointCode: "NOPE", month: CalendarDate(year: 2026, month: 12, day: 1),
                                                  to: CalendarDate(year: 2026, month: 12, day: 2), time: nil, reason: "", now: Date())
            }
            #expect(unknown == .unknownPoint("NOPE"))
        }
    }
}
