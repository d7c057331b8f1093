import CreditDomain
import CreditWorkers
import PostgresNIO
import TestSupport
import Testing

@Suite struct SeedTests {
    let asOf = CalendarDate(year: 2026, month: 11, day: 27)

    private func count(_ sql: String, _ client: PostgresClient) async throws -> Int {
        var value = -1
        for try await count in try await client.query(PostgresQuery(unsafeSQL: sql), logger: ImportFixtures.logger).decode(Int.self) {
            value = count
        }
        return value
    }

    @Test func theDemoDataSetHasTheProfilesShapeAndSeedingAgainChangesNothing() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let importer = Importer(client: client, logger: ImportFixtures.logger)
            let seeder = Seeder(importer: importer, profile: .demo, seed: 1, twoTier: false, asOf: asOf)
            let first = try await seeder.run()
            #expect(first.allSatisfy { $0.updated == 0 && $0.unchanged == 0 })

            #expect(try await count("SELECT count(*) FROM units WHERE level = 'province'", client) == 1)
            #expect(try await count("SELECT count(*) FROM units WHERE level = 'district'", client) == 9)
            #expect(try await count("SELECT count(*) FROM units WHERE level = 'commune'", client) == 95)
            #expect(try await count("SELECT count(*) FROM points", client) == 110)
            #expect(try await count("SELECT count(*) FROM groups", client) == 1_500)
            #expect(try await count("SELECT count(*) FROM borrowers", client) == 50_000)
            #expect((55_000...60_000).contains(try await count("SELECT count(*) FROM loans", client)))
            // Every district owes the yearly report for last year and this year.
            #expect(try await count("SELECT count(*) FROM report_obligations o JOIN report_types t ON t.id = o.report_type_id WHERE t.code = 'BC-NAM'", client) == 18)

            // The proportions the dashboards rely on.
            #expect(try await count("SELECT count(*) FROM units c WHERE level = 'commune' AND NOT EXISTS (SELECT 1 FROM groups g WHERE g.commune_id = c.id)", client) >= 1)
            #expect(try await count("SELECT count(*) FROM units c WHERE level = 'commune' AND (SELECT count(*) FROM points p WHERE p.commune_id = c.id) > 1", client) >= 5)
            #expect(try await count("SELECT count(*) FROM (SELECT group_id FROM borrowers GROUP BY 1 HAVING count(*) < 5) AS small", client) >= 10)
            #expect(try await count("SELECT count(*) FROM points WHERE session_day > 28", client) >= 1)
            let overdueBasisPoints = try await count(
                "SELECT (10000 * sum(outstanding) FILTER (WHERE due_on < DATE '2026-11-27') / sum(outstanding))::int FROM loans", client)
            #expect((10...300).contains(overdueBasisPoints))
            #expect(try await count("SELECT count(*) FROM loans WHERE disbursed_on > DATE '2026-11-27' - 30", client) > 100)
            let savers = try await count("SELECT (100 * count(*) FILTER (WHERE savings_balance > 0) / count(*))::int FROM borrowers", client)
            #expect((55...95).contains(savers))
            // A year of inspections, by every level, with gaps: some group of some commune is not
            // checked by its commune.
            #expect(try await count("SELECT count(DISTINCT u.level) FROM inspections i JOIN units u ON u.id = i.inspector_unit_id", client) == 3)
            #expect(try await count("SELECT count(*) FROM inspections WHERE inspected_on NOT BETWEEN DATE '2026-01-01' AND DATE '2026-11-27'", client) == 0)
            #expect(try await count("""
                SELECT count(*) FROM groups g WHERE NOT EXISTS (
                    SELECT 1 FROM inspected_borrowers ib JOIN borrowers b ON b.id = ib.borrower_id
                    JOIN inspections i ON i.id = ib.inspection_id
                    WHERE b.group_id = g.id AND i.inspector_unit_id = g.commune_id)
                """, client) > 0)
            // Names are Vietnamese, with their diacritics.
            #expect(try await count("SELECT count(*) FROM borrowers WHERE name ~ '[ễịạảắằẫậđươ]'", client) > 10_000)

            let again = try await seeder.run()
            for summary in again {
                #expect(summary.unchanged == summary.rows && summary.inserted == 0 && summary.updated == 0, "\(summary)")
            }
        }
    }

    @Test func aTwoTierDataSetHasCommunesDirectlyUnderTheProvince() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let importer = Importer(client: client, logger: ImportFixtures.logger)
            _ = try await Seeder(importer: importer, profile: .demo, seed: 3, twoTier: true, asOf: asOf).run()
            #expect(try await count("SELECT count(*) FROM units WHERE level = 'district'", client) == 0)
            #expect(try await count("SELECT count(*) FROM units c JOIN units p ON p.id = c.parent_id WHERE c.level = 'commune' AND p.level = 'province'", client) == 32)
            #expect(try await count("SELECT count(*) FROM points", client) == 110)
            #expect(try await count("SELECT count(*) FROM borrowers", client) == 50_000)
        }
    }
}
