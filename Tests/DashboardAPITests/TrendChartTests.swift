import Foundation
import Hummingbird
import HummingbirdTesting
import PostgresNIO
import Testing

/// The dashboard's month-by-month charts, drawn from the kept snapshots: this year's line
/// against last year's, and the same figures in a table.
@Suite struct TrendChartTests {
    @Test func aUnitsPageDrawsThisYearAgainstLastFromItsSnapshots() async throws {
        try await DashboardAPITests.withApp { client, fixture, database in
            var page = try await DashboardNavigationTests.page(client, "/dashboard/D1?year=2026", fixture.district)
            #expect(page.contains("<h2>Diễn biến theo tháng</h2><p>Chưa có số liệu các tháng trước.</p>"))

            // D1 had 2 communes to inspect: one done by March of 2025, and in 2026 one by May, both by October.
            _ = try await database.query("""
                INSERT INTO unit_snapshots (unit_id, day, coverage_required, coverage_done, outstanding, overdue_amount, members, savers)
                SELECT u.id, d.day, 2, d.done, 1000, d.overdue, 10, d.savers FROM units u,
                (VALUES (DATE '2025-03-31', 1, 10, 4), (DATE '2025-12-31', 1, 20, 5),
                        (DATE '2026-01-31', 0, 30, 5), (DATE '2026-05-31', 1, 25, 6), (DATE '2026-10-15', 1, 15, 7),
                        (DATE '2026-10-31', 2, 12, 8)) AS d (day, done, overdue, savers)
                WHERE u.code = 'D1'
                """, logger: DashboardAPITests.logger)
            page = try await DashboardNavigationTests.page(client, "/dashboard/D1?year=2026", fixture.district)
            #expect(page.contains("<figcaption>Tỷ lệ kiểm tra đạt yêu cầu</figcaption>"))
            #expect(page.contains(#"aria-label="Tỷ lệ kiểm tra đạt yêu cầu: năm 2026 gần nhất 100%; năm 2025 cuối kỳ 50%""#))
            // Three 2026 months (October's last day counts), two of 2025.
            #expect(page.components(separatedBy: #"<polyline class="this-year""#).count == 4, "one line a chart")
            let coverageLine = page.components(separatedBy: #"<polyline class="this-year" points=""#).dropFirst().first?.prefix { $0 != "\"" } ?? ""
            #expect(coverageLine.split(separator: " ").count == 3, "\(coverageLine)")
            #expect(page.contains(#"<polyline class="last-year""#))
            // The overdue ratio's table: October 1.20% this year (the 31st), nothing in October last year.
            #expect(page.contains("<tr><th scope=\"row\">T10</th><td>1.20%</td><td>—</td></tr>"))
            #expect(page.contains("<tr><th scope=\"row\">T3</th><td>—</td><td>1.00%</td></tr>"))

            let english = try await DashboardNavigationTests.page(client, "/dashboard/D1?year=2026&lang=en", fixture.district)
            #expect(english.contains("<h2>Month by month</h2>"))
            #expect(english.contains("<tr><th scope=\"row\">Oct</th>"))
            // Another year's page compares that year with the one before.
            let lastYear = try await DashboardNavigationTests.page(client, "/dashboard/D1?year=2025", fixture.district)
            #expect(lastYear.contains(#"aria-label="Tỷ lệ kiểm tra đạt yêu cầu: năm 2025 gần nhất 50%; năm 2024 chưa có số liệu""#))
        }
    }
}
