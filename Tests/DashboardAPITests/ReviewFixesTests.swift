import CreditWorkers
import Foundation
import HTTPTypes
import Hummingbird
import HummingbirdTesting
import JobQueue
import PostgresNIO
import Testing

/// The bugs a review of the API and /ops found, each as a user meets it.
@Suite struct ReviewFixesTests {
    @Test func finishedJobsAnswer409AndOffersOnlyWhatCanBeDone() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let queue = JobQueue(client: database, registry: JobRegistry(), logger: DashboardAPITests.logger)
            let id = try await queue.enqueue(NewJob(kind: "noop", runAt: Date().addingTimeInterval(3600)))
            try await database.query("UPDATE jobs SET state = 'completed', finalized_at = now() WHERE id = \(id)", logger: DashboardAPITests.logger)
            let staff = DashboardAPITests.bearer(fixture.staff)
            for action in ["cancel", "retry"] {
                try await client.execute(uri: "/api/v1/jobs/\(id)/\(action)", method: .post, headers: staff) { response in
                    #expect(response.status == .conflict, "\(action)")
                    #expect(String(buffer: response.body).contains("completed"), "\(action): \(String(buffer: response.body))")
                }
            }
            // A completed job's page offers neither button; a scheduled one offers both.
            try await client.execute(uri: "/ops/jobs/\(id)", method: .get, headers: staff) { response in
                let html = String(buffer: response.body)
                #expect(!html.contains("/retry\"") && !html.contains("/cancel\""))
            }
            let scheduled = try await queue.enqueue(NewJob(kind: "noop", runAt: Date().addingTimeInterval(3600)))
            try await client.execute(uri: "/ops/jobs/\(scheduled)", method: .get, headers: staff) { response in
                let html = String(buffer: response.body)
                #expect(html.contains("/ops/jobs/\(scheduled)/retry\"") && html.contains("/ops/jobs/\(scheduled)/cancel\""))
            }
        }
    }

    @Test func aNonASCIIQueueNameIsABadRequest() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            try await client.execute(uri: "/ops/jobs", method: .post,
                                     headers: DashboardAPITests.bearer(fixture.staff).merging([.contentType: "application/x-www-form-urlencoded"]),
                                     body: ByteBuffer(string: "kind=noop&queue=h%C3%A0ng-%C4%91%E1%BB%A3i")) { response in
                #expect(response.status == .seeOther)
                #expect((response.headers[.location]?.removingPercentEncoding ?? "").contains("queue: 1 to 128 ASCII letters"))
            }
        }
    }

    @Test func pathParametersArePercentDecoded() async throws {
        try await DashboardAPITests.withApp { client, fixture, _ in
            // %44%31 is D1.
            try await client.execute(uri: "/api/v1/units/%44%31/summary", method: .get, headers: DashboardAPITests.bearer(fixture.district)) { response in
                #expect(response.status == .ok)
                #expect(String(buffer: response.body).contains(#""unit" : "D1""#))
            }
        }
    }

    @Test func theNextPageLinkKeepsAFilterWithAmpersandsAndEquals() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let queue = JobQueue(client: database, registry: JobRegistry(), logger: DashboardAPITests.logger)
            // 51 jobs of a kind whose name holds '&' and '=': more than one page of 50.
            try await queue.enqueue(batch: (0..<51).map { _ in NewJob(kind: "a&b=c", runAt: Date().addingTimeInterval(3600)) })
            var next = ""
            try await client.execute(uri: "/ops?kind=a%26b%3Dc", method: .get, headers: DashboardAPITests.bearer(fixture.staff)) { response in
                let html = String(buffer: response.body)
                let link = html.firstMatch(of: /href="(\/ops\?before=[^"]*)">Trang sau/)
                next = link.map { String($0.1).replacingOccurrences(of: "&amp;", with: "&") } ?? ""
            }
            #expect(next.contains("kind=a%26b%3Dc"), "\(next)")
            try await client.execute(uri: next, method: .get, headers: DashboardAPITests.bearer(fixture.staff)) { response in
                // The second page holds the 51st job, filtered by the same kind.
                let rows = String(buffer: response.body).matches(of: /<td>a&amp;b=c<\/td>/).count
                #expect(rows == 1)
            }
        }
    }
}

/// Reminders that expired (their moment passed before a gateway took them), went late (planned
/// for a missed day) or were withheld from people who opted out are counted where people look:
/// the unit's summary and dashboard, and /ops.
@Suite struct ExpiredReminderCountTests {
    @Test func theSummaryTheDashboardAndOpsCountExpiredLateAndOptedOutReminders() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            // Per unit C1: 2 expired, 3 sent (2 of them late), 1 failed, 4 opted out.
            try await database.query("""
                INSERT INTO notifications (idempotency_key, kind, recipient_name, recipient_phone, unit_id, unit_code, text,
                                           planned_for, deliver_after, state, late)
                SELECT 'k' || n, 'session_reminder', 'Tổ trưởng', '+84912345678', u.id, u.code, 'nhắc', current_date, now(),
                       (CASE WHEN n <= 2 THEN 'expired' WHEN n <= 5 THEN 'sent' WHEN n = 6 THEN 'failed' ELSE 'opted_out' END)::notification_state,
                       n IN (4, 5)
                FROM units u CROSS JOIN generate_series(1, 10) AS n WHERE u.code = 'C1'
                """, logger: DashboardAPITests.logger)
            try await client.execute(uri: "/api/v1/units/D1/summary", method: .get, headers: DashboardAPITests.bearer(fixture.district)) { response in
                let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                #expect(json?["remindersExpired30Days"] as? Int == 2)
                #expect(json?["remindersSent30Days"] as? Int == 3)
                #expect(json?["remindersLate30Days"] as? Int == 2)
                #expect(json?["remindersFailed30Days"] as? Int == 1)
                #expect(json?["remindersOptedOut30Days"] as? Int == 4)
            }
            try await client.execute(uri: "/dashboard/D1", method: .get, headers: DashboardAPITests.bearer(fixture.district)) { response in
                let page = String(buffer: response.body)
                #expect(page.contains("<th scope=\"row\">Tin nhắc hết hạn, không gửi (30 ngày)</th><td>2</td>"))
                #expect(page.contains("<th scope=\"row\">Tin nhắc gửi muộn (30 ngày)</th><td>2</td>"))
                #expect(page.contains("<th scope=\"row\">Tin nhắc không gửi vì người nhận từ chối (30 ngày)</th><td>4</td>"))
            }
            try await client.execute(uri: "/ops", method: .get, headers: DashboardAPITests.bearer(fixture.staff)) { response in
                let page = String(buffer: response.body)
                #expect(page.contains("hết hạn, không gửi <strong>2</strong>"))
                #expect(page.contains("trong đó gửi muộn <strong>2</strong>"))
                #expect(page.contains("người nhận từ chối <strong>4</strong>"))
            }
        }
    }
}

/// The dashboard's open follow-ups are the loans still to be followed up, not every step ever
/// planned without an outcome (which only grew).
@Suite struct OpenFollowupTests {
    @Test func onlyLoansStillOverdueWithoutAnOutcomeCount() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            func open() async throws -> Int? {
                var count: Int?
                try await client.execute(uri: "/api/v1/units/D1/summary", method: .get, headers: DashboardAPITests.bearer(fixture.district)) { response in
                    let json = try JSONSerialization.jsonObject(with: Data(response.body.readableBytesView)) as? [String: Any]
                    count = json?["openFollowups"] as? Int
                }
                return count
            }
            // L2 is overdue (due 10 days ago): steps of day 1 and day 7, neither with an outcome.
            // L1 is not overdue: a stray step of it does not count.
            try await database.query("""
                INSERT INTO followups (loan_id, due_on, overdue_days, planned_on)
                SELECT l.id, l.due_on, d, l.due_on + d FROM loans l CROSS JOIN (VALUES (1), (7)) AS s (d) WHERE l.code = 'L2'
                UNION ALL SELECT l.id, l.due_on, 1, current_date FROM loans l WHERE l.code = 'L1'
                """, logger: DashboardAPITests.logger)
            #expect(try await open() == 1)
            // An outcome on the latest step closes it.
            try await database.query("""
                UPDATE followups SET outcome = 'promised', promised_on = current_date + 5
                WHERE overdue_days = 7 AND loan_id = (SELECT id FROM loans WHERE code = 'L2')
                """, logger: DashboardAPITests.logger)
            #expect(try await open() == 0)
            // So does repaying the loan, whatever the steps say.
            try await database.query("UPDATE followups SET outcome = NULL, promised_on = NULL", logger: DashboardAPITests.logger)
            #expect(try await open() == 1)
            try await database.query("UPDATE loans SET outstanding = 0 WHERE code = 'L2'", logger: DashboardAPITests.logger)
            #expect(try await open() == 0)
        }
    }
}
