import CreditDomain
import CreditWorkers
import Foundation
import JobQueue
import PostgresNIO
import TestSupport
import Testing

/// Obligations come from the report types' rules, not only from CSV files.
@Suite struct ReportObligationsTests {
    static func obligations(_ client: PostgresClient, type: String, year: Int? = nil) async throws -> [String] {
        let rows = try await client.query("""
            SELECT u.code || ' ' || o.period || ' ' || o.due_on::text || coalesce(' submitted ' || o.submitted_on::text, '')
            FROM report_obligations o JOIN report_types t ON t.id = o.report_type_id JOIN units u ON u.id = o.unit_id
            WHERE t.code = \(type) AND (\(year)::int IS NULL OR extract(year FROM o.due_on) = \(year))
            ORDER BY 1
            """, logger: ImportFixtures.logger)
        var found: [String] = []
        for try await line in rows.decode(String.self) { found.append(line) }
        return found
    }

    @Test func eachTypeItsPeriodsForEveryUnitOfItsLevel() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ReminderPlannerTests.importFixture(client)
            try await client.query("""
                INSERT INTO report_types (code, name, submitting_level, frequency, due_day)
                VALUES ('BC-THANG', 'Báo cáo tháng', 'district', 'monthly', 31)
                """, logger: ImportFixtures.logger)
            let generator = ReportObligations(client: client, logger: ImportFixtures.logger)
            let created = try await generator.generate(year: 2028)
            // The yearly report of every district by 15 November (seed III.2).
            #expect(try await Self.obligations(client, type: "BC-NAM", year: 2028) == ["TQ-YS 2028 2028-11-15"])
            // Quarterly, day 25 of each quarter's last month, for each commune.
            let quarterly = try await Self.obligations(client, type: "BC-QUY", year: 2028)
            #expect(quarterly.filter { $0.hasPrefix("TQ-YS-TB ") } == [
                "TQ-YS-TB 2028-Q1 2028-03-25", "TQ-YS-TB 2028-Q2 2028-06-25", "TQ-YS-TB 2028-Q3 2028-09-25", "TQ-YS-TB 2028-Q4 2028-12-25",
            ])
            let communes = try await client.integer("SELECT count(*) FROM units WHERE level = 'commune'")
            #expect(quarterly.count == 4 * communes)
            // Monthly on day 31: the last day of shorter months, 29 February in a leap year.
            let monthly = try await Self.obligations(client, type: "BC-THANG")
            #expect(monthly.count == 12)
            #expect(monthly.contains("TQ-YS 2028-02 2028-02-29") && monthly.contains("TQ-YS 2028-04 2028-04-30")
                    && monthly.contains("TQ-YS 2028-12 2028-12-31"))
            #expect(created == 1 + 4 * communes + 12)
            // Again: nothing new.
            #expect(try await generator.generate(year: 2028) == 0)
        }
    }

    @Test func whatAnImportWroteStays() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await ReminderPlannerTests.importFixture(client)
            // The fixture imported last year's yearly report, submitted on 10 November 2025.
            #expect(try await Self.obligations(client, type: "BC-NAM").contains("TQ-YS 2025 2025-11-15 submitted 2025-11-10"))
            try await ReportObligations(client: client, logger: ImportFixtures.logger).generate(year: 2025)
            #expect(try await Self.obligations(client, type: "BC-NAM", year: 2025) == ["TQ-YS 2025 2025-11-15 submitted 2025-11-10"])
            // The year's own import (due 28 November 2026) is not replaced by the rule's 15 November.
            try await ReportObligations(client: client, logger: ImportFixtures.logger).generate(year: 2026)
            #expect(try await Self.obligations(client, type: "BC-NAM", year: 2026) == ["TQ-YS 2026 2026-11-28"])
        }
    }

    @Test func theLeaderGeneratesTheYearThatBegins() throws {
        let firstOfJanuary = try Date.ISO8601FormatStyle().parse("2026-12-31T17:10:00Z")  // 00:10 on 1 January 2027 in Hà Nội
        let job = try ReportObligations.yearly.makeJob(firstOfJanuary)
        #expect(job.kind == "reports.generate" && job.argsJSON == #"{"year":2027}"#)
        #expect(ReportObligations.yearly.schedule.next(after: try Date.ISO8601FormatStyle().parse("2026-06-01T00:00:00Z")) == firstOfJanuary)
    }
}
