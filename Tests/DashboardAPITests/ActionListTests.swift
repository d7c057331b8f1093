import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// The lists a district officer works through: each over the unit's subtree, sortable, each row
/// linking to where it is dealt with, each downloadable.
@Suite struct ActionListTests {
    @Test func theListsShowWhatIsLeftToDoInTheSubtreeAndLinkToIt() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            let dashboard = try await DashboardNavigationTests.page(client, "/dashboard/D1", fixture.district)
            #expect(dashboard.contains("<h2>Việc cần làm</h2>"))
            #expect(dashboard.contains(#"<a href="/dashboard/D1/followups?year="#))

            let inspections = try await DashboardNavigationTests.page(client, "/dashboard/D1/inspections", fixture.district)
            #expect(inspections.contains("<td>Tổ thôn 1 (G1)</td>"))
            #expect(inspections.contains(#"<a href="/dashboard/C1?year="#))
            #expect(!inspections.contains("G3"), "G3 is in the other district")

            let followups = try await DashboardNavigationTests.page(client, "/dashboard/D1/followups", fixture.district)
            #expect(followups.contains("<td>L2</td>"))
            #expect(followups.contains("<td>Hộ 2</td>"))
            #expect(!followups.contains("<td>L1</td>"), "L1 is not overdue")

            // A follow-up with an outcome takes the loan off the list.
            _ = try await database.query("""
                INSERT INTO followups (loan_id, due_on, overdue_days, planned_on, outcome, note)
                SELECT id, due_on, 7, due_on + 7, 'paid', '' FROM loans WHERE code = 'L2'
                """, logger: DashboardAPITests.logger)
            #expect(!(try await DashboardNavigationTests.page(client, "/dashboard/D1/followups", fixture.district)).contains("<td>L2</td>"))

            // Reports: the late one first by due date; sorted by days late, descending, on request.
            _ = try await database.query("""
                INSERT INTO report_types (code, name, submitting_level, frequency, due_day) VALUES ('BC-THANG', 'Báo cáo tháng', 'commune', 'monthly', 5);
                """, logger: DashboardAPITests.logger)
            _ = try await database.query("""
                INSERT INTO report_obligations (report_type_id, unit_id, period, due_on)
                SELECT t.id, u.id, p.period, current_date + p.offset_days
                FROM report_types t, units u, (VALUES ('2026-10', -20), ('2026-11', -3), ('2026-12', 10), ('2027-01', 40)) AS p(period, offset_days)
                WHERE t.code = 'BC-THANG' AND u.code = 'C1'
                """, logger: DashboardAPITests.logger)
            let reports = try await DashboardNavigationTests.page(client, "/dashboard/D1/reports?sort=4&desc=1", fixture.district)
            #expect(reports.contains(#"aria-sort="descending""#))
            let rows = reports.components(separatedBy: "<tr>").filter { $0.contains("Báo cáo tháng") }
            #expect(rows.count == 3, "due within 14 days or late; not the one 40 days away")
            #expect(rows.first?.contains("2026-10") == true)
            #expect(rows.last?.contains("2026-12") == true)

            // Another district's lists are not this token's.
            try await client.execute(uri: "/dashboard/D2/followups", method: .get, headers: DashboardAPITests.bearer(fixture.district)) { response in
                #expect(response.status == .forbidden)
            }
            try await client.execute(uri: "/dashboard/D1/followups.csv", method: .get, headers: DashboardAPITests.bearer(fixture.district)) { response in
                #expect(response.status == .ok)
                let text = String(decoding: Array(response.body.readableBytesView).dropFirst(3), as: UTF8.self)
                #expect(text.hasPrefix("Xã,Tổ,Người vay,Món vay,Dư nợ,Hạn trả,Số ngày quá hạn,Mốc đôn đốc\r\n"))
            }
            try await client.execute(uri: "/dashboard/D1/reports?sort=9", method: .get, headers: DashboardAPITests.bearer(fixture.district)) { response in
                #expect(response.status == .badRequest)
                #expect(String(buffer: response.body).contains("sort: expected a column number 0…4, got '9'"))
            }
            try await client.execute(uri: "/dashboard/D1/nothing.csv", method: .get, headers: DashboardAPITests.bearer(fixture.district)) { response in
                #expect(response.status == .notFound)
            }
        }
    }
}
