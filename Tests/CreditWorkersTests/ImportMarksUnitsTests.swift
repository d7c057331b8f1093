import CreditDomain
import CreditWorkers
import PostgresNIO
import TestSupport
import Testing

/// Borrowers and loans imports mark the communes they change from their staging table (the
/// tables' triggers stand aside for them): the recompute jobs they queue must be exactly the
/// communes a change reached, before and after it, and the figures the jobs compute those of a
/// rebuild.
@Suite struct ImportMarksUnitsTests {
    let logger = ImportFixtures.logger

    private func strings(_ sql: String, _ client: PostgresClient) async throws -> [String] {
        var found: [String] = []
        for try await value in try await client.query(PostgresQuery(unsafeSQL: sql), logger: logger).decode(String.self) {
            found.append(value)
        }
        return found
    }

    /// The units of the waiting recompute jobs, by code.
    private func marked(_ client: PostgresClient) async throws -> Set<String> {
        Set(try await strings("SELECT meta ->> 'unit' FROM jobs WHERE kind = 'aggregates.recompute' AND state = 'available'", client))
    }

    /// Runs the waiting recompute jobs, then expects the figures a rebuild computes.
    private func expectFiguresOfARebuild(_ client: PostgresClient, _ when: String) async throws {
        let aggregator = Aggregator(client: client, logger: logger, today: { CalendarDate(year: 2026, month: 11, day: 27) })
        try await AggregateJobsDrain.run(client, aggregator)
        let incremental = try await AggregateJobsDrain.snapshot(client)
        _ = try await aggregator.rebuild()
        let rebuilt = try await AggregateJobsDrain.snapshot(client)
        #expect(!incremental.isEmpty)
        #expect(incremental == rebuilt, "\(when): \(Set(incremental).symmetricDifference(rebuilt).sorted().prefix(6))")
    }

    /// One CSV line of `fields`, each quoted.
    private static func csv(_ fields: String) -> String {
        "SELECT array_to_string(ARRAY(SELECT '\"' || replace(f, '\"', '\"\"') || '\"' FROM unnest(ARRAY[\(fields)]) AS f), ',')"
    }

    @Test func importsMarkTheCommunesTheyChangeBeforeAndAfterAndNothingElse() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let seeder = Seeder(importer: Importer(client: client, logger: logger), profile: .province, seed: 1,
                                twoTier: false, asOf: CalendarDate(year: 2026, month: 11, day: 27))
            _ = try await seeder.run()
            try await expectFiguresOfARebuild(client, "seeded")

            // Three communes with groups, in code order: A, B and C.
            let communes = try await strings("""
                SELECT u.code FROM units u WHERE u.level = 'commune' AND EXISTS (
                    SELECT 1 FROM groups g JOIN borrowers b ON b.group_id = g.id JOIN loans l ON l.borrower_id = b.id
                    WHERE g.commune_id = u.id)
                ORDER BY u.code LIMIT 3
                """, client)
            try #require(communes.count == 3)
            let (a, b, c) = (communes[0], communes[1], communes[2])
            func firstGroup(_ commune: String) -> String {
                "(SELECT g.code FROM groups g JOIN units u ON u.id = g.commune_id WHERE u.code = '\(commune)' ORDER BY g.code LIMIT 1)"
            }
            func firstBorrower(_ commune: String) -> String {
                """
                (SELECT b.id FROM borrowers b JOIN groups g ON g.id = b.group_id JOIN units u ON u.id = g.commune_id
                 WHERE u.code = '\(commune)' AND EXISTS (SELECT 1 FROM loans l WHERE l.borrower_id = b.id) ORDER BY b.code LIMIT 1)
                """
            }

            // A borrower of A moves to a group of B; a new borrower joins a group of C.
            let moved = try await strings(Self.csv("b.code, b.name, \(firstGroup(b)), coalesce(b.phone, ''), b.savings_balance::text")
                                          + " FROM borrowers b WHERE b.id = \(firstBorrower(a))", client)
            let joined = try await strings(Self.csv("'NEW-B1', 'Nguyễn Văn Mới', \(firstGroup(c)), '', '0'"), client)
            _ = try await ImportFixtures.importText(
                .borrowers, (["code,name,group_code,phone,savings_balance"] + moved + joined).joined(separator: "\n"), client: client)
            #expect(try await marked(client) == [a, b, c])
            try await expectFiguresOfARebuild(client, "after the borrowers import")


            // A loan of the new borrower (C), and a loan of B's first borrower handed to A's.
            let loanColumns = "l.program, l.principal::text, l.outstanding::text, l.disbursed_on::text, l.due_on::text"
            let handed = try await strings(Self.csv("l.code, (SELECT code FROM borrowers WHERE id = \(firstBorrower(a))), \(loanColumns)")
                                           + " FROM loans l WHERE l.borrower_id = \(firstBorrower(b)) ORDER BY l.code LIMIT 1", client)
            let new = try await strings(Self.csv("'NEW-L1', 'NEW-B1', \(loanColumns)") + " FROM loans l ORDER BY l.code LIMIT 1", client)
            try #require(handed.count == 1 && new.count == 1)
            let loans = (["code,borrower_code,program,principal,outstanding,disbursed_on,due_on"] + handed + new).joined(separator: "\n")
            _ = try await ImportFixtures.importText(.loans, loans, client: client)
            #expect(try await marked(client) == [a, b, c])
            try await expectFiguresOfARebuild(client, "after the loans import")

            // The same file again changes nothing and marks nothing.
            let again = try await ImportFixtures.importText(.loans, loans, client: client)
            #expect(again.unchanged == 2)
            #expect(try await marked(client) == [])
        }
    }

    /// A first load (into an empty table) skips the counts query and reads its communes back
    /// after the load: they must be the communes of the rows it loaded, no more and no fewer.
    @Test func aFirstLoadMarksTheCommunesOfTheRowsItLoaded() async throws {
        try await TestDatabase.withDatabase { client, _ in
            let seeder = Seeder(importer: Importer(client: client, logger: logger), profile: .demo, seed: 1,
                                twoTier: false, asOf: CalendarDate(year: 2026, month: 11, day: 27))
            _ = try await seeder.run()
            // Borrowers of two communes with groups, and the loans of the first, as files, before they are emptied.
            let communes = try await strings("""
                SELECT u.code FROM units u WHERE u.level = 'commune' AND EXISTS (SELECT FROM groups g WHERE g.commune_id = u.id)
                ORDER BY u.code LIMIT 2
                """, client)
            try #require(communes.count == 2)
            let ofCommunes = "(SELECT id FROM units WHERE code IN ('\(communes[0])', '\(communes[1])'))"
            let borrowers = try await strings(Self.csv("b.code, b.name, g.code, coalesce(b.phone, ''), b.savings_balance::text")
                + " FROM borrowers b JOIN groups g ON g.id = b.group_id WHERE g.commune_id IN \(ofCommunes) ORDER BY b.code", client)
            let loans = try await strings(Self.csv(
                "l.code, b.code, l.program, l.principal::text, l.outstanding::text, l.disbursed_on::text, l.due_on::text") + """
                 FROM loans l JOIN borrowers b ON b.id = l.borrower_id JOIN groups g ON g.id = b.group_id
                 WHERE g.commune_id = (SELECT id FROM units WHERE code = '\(communes[0])') ORDER BY l.code
                """, client)
            try #require(borrowers.count > 10 && loans.count > 10)

            _ = try await client.query("TRUNCATE borrowers CASCADE", logger: logger)
            let aggregator = Aggregator(client: client, logger: logger, today: { CalendarDate(year: 2026, month: 11, day: 27) })
            _ = try await aggregator.rebuild()
            _ = try await AggregateJobsDrain.run(client, aggregator)
            try #require(try await marked(client) == [])

            let loadedBorrowers = try await ImportFixtures.importText(
                .borrowers, (["code,name,group_code,phone,savings_balance"] + borrowers).joined(separator: "\n"), client: client, firstLoadRows: 1)
            #expect(loadedBorrowers.inserted == borrowers.count)
            #expect(try await marked(client) == Set(communes), "the communes of the loaded borrowers")
            try await expectFiguresOfARebuild(client, "after the borrowers' first load")

            let loadedLoans = try await ImportFixtures.importText(
                .loans, (["code,borrower_code,program,principal,outstanding,disbursed_on,due_on"] + loans).joined(separator: "\n"),
                client: client, firstLoadRows: 1)
            #expect(loadedLoans.inserted == loans.count)
            #expect(try await marked(client) == [communes[0]], "the commune of the loaded loans")
            try await expectFiguresOfARebuild(client, "after the loans' first load")
        }
    }
}
