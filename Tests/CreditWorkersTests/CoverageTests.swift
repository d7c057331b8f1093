import CreditDomain
import CreditWorkers
import PostgresNIO
import TestSupport
import Testing

@Suite struct CoverageTests {
    static let checks: [(String, String, String, String, [String])] = [
        ("K1", "D", "2026-03-10", "G7a", AggregateFixtures.first(3, of: "G7a")),  // all of a small group (D1)
        ("K2", "D", "2026-03-10", "G7b", AggregateFixtures.first(5, of: "G7b")),
        ("K3", "D", "2026-03-11", "G7c", AggregateFixtures.first(4, of: "G7c")),  // 4 of 6: incomplete
        ("K4", "D", "2026-04-01", "G6a", AggregateFixtures.first(5, of: "G6a")),
        ("K5", "D", "2026-04-02", "G6b", AggregateFixtures.first(3, of: "G6b")),  // the same borrowers
        ("K6", "D", "2026-05-02", "G6b", AggregateFixtures.first(2, of: "G6b")),  // twice: 3 distinct
        ("K7", "D2", "2026-06-01", "G2a", AggregateFixtures.first(4, of: "G2a")),
        ("K8", "D2", "2025-06-01", "G2a", AggregateFixtures.first(5, of: "G2a")),  // another year
        ("K9", "P", "2026-07-01", "G2a", AggregateFixtures.first(5, of: "G2a")),   // another unit
        ("K10", "C6", "2026-02-01", "G6a", AggregateFixtures.first(5, of: "G6a")),
        ("K11", "C6", "2026-02-01", "G6b", AggregateFixtures.first(5, of: "G6b")),
        ("K12", "C6", "2026-02-02", "G6c", AggregateFixtures.first(5, of: "G6c")),
        ("K13", "C6", "2026-02-02", "G6d", AggregateFixtures.first(5, of: "G6d")),
        ("K14", "C6", "2026-02-03", "G6e", AggregateFixtures.first(6, of: "G6e")),
        ("K15", "Q", "2026-08-01", "GQa", AggregateFixtures.first(5, of: "GQa")),  // two-tier (D4)
    ]

    struct Expected: Sendable, CustomTestStringConvertible {
        var unit: String
        var year: Int
        var rule: String
        var required: Int
        var done: Int
        var notApplicable: Int
        var missing: [String]
        var status: String
        var testDescription: String { "\(unit) \(year)" }
    }

    static let expected: [Expected] = [
        // District rule: C7 needs ceil(0.15 × 7) = 2 and has 2 (G7a whole, G7b); C6 needs
        // ceil(0.9) = 1 and has G6a (G6b's 5 rows are 3 borrowers); C0 has no groups (D3).
        Expected(unit: "D", year: 2026, rule: "district", required: 2, done: 2, notApplicable: 1, missing: [], status: "compliant"),
        // D2 checked 4 of G2a this year; its complete check was in 2025, and P's is not D2's.
        Expected(unit: "D2", year: 2026, rule: "district", required: 1, done: 0, notApplicable: 0, missing: ["C2"], status: "not_compliant"),
        Expected(unit: "D2", year: 2025, rule: "district", required: 1, done: 1, notApplicable: 0, missing: [], status: "compliant"),
        Expected(unit: "D3", year: 2026, rule: "district", required: 0, done: 0, notApplicable: 1, missing: [], status: "not_applicable"),
        // Province rule: a commune with a complete check by P in D2, none in D; D3 has no groups.
        Expected(unit: "P", year: 2026, rule: "province", required: 2, done: 1, notApplicable: 1, missing: ["D"], status: "not_compliant"),
        // Commune rule: every group.
        Expected(unit: "C6", year: 2026, rule: "commune", required: 6, done: 5, notApplicable: 0, missing: ["G6f"], status: "not_compliant"),
        Expected(unit: "C7", year: 2026, rule: "commune", required: 7, done: 0, notApplicable: 0,
                 missing: ["G7a", "G7b", "G7c", "G7d", "G7e", "G7f", "G7g"], status: "not_compliant"),
        Expected(unit: "C0", year: 2026, rule: "commune", required: 0, done: 0, notApplicable: 0, missing: [], status: "not_applicable"),
        // Two-tier: the province applies the district rule to its communes: ceil(0.45) = 1.
        Expected(unit: "Q", year: 2026, rule: "district", required: 1, done: 1, notApplicable: 0, missing: [], status: "compliant"),
    ]

    private func aggregator(_ client: PostgresClient) -> Aggregator {
        Aggregator(client: client, logger: ImportFixtures.logger, today: { AggregateFixtures.today })
    }

    private func coverage(_ unit: String, _ year: Int, _ client: PostgresClient) async throws -> Expected? {
        let rows = try await client.query("""
            SELECT c.rule, c.required, c.done, c.not_applicable, c.missing, c.status::text
            FROM coverage c JOIN units u ON u.id = c.unit_id WHERE u.code = \(unit) AND c.year = \(year)
            """, logger: ImportFixtures.logger)
        for try await (rule, required, done, notApplicable, missing, status) in rows.decode((String, Int, Int, Int, [String], String).self) {
            return Expected(unit: unit, year: year, rule: rule, required: required, done: done, notApplicable: notApplicable,
                            missing: missing, status: status)
        }
        return nil
    }

    private func check(_ client: PostgresClient, _ path: String) async throws {
        for want in Self.expected {
            let got = try await coverage(want.unit, want.year, client)
            #expect(got?.rule == want.rule, "\(path): \(want.unit) \(want.year) rule")
            #expect(got?.required == want.required, "\(path): \(want.unit) \(want.year) required")
            #expect(got?.done == want.done, "\(path): \(want.unit) \(want.year) done")
            #expect(got?.notApplicable == want.notApplicable, "\(path): \(want.unit) \(want.year) not applicable")
            #expect(got?.missing == want.missing, "\(path): \(want.unit) \(want.year) missing")
            #expect(got?.status == want.status, "\(path): \(want.unit) \(want.year) status")
        }
        // P's subtree: D is compliant; D2, C7, C6 and C2 are not; D3, C0 and C3 have no groups.
        let rollUp = try await client.query("""
            SELECT subtree_units, subtree_compliant, subtree_not_applicable, percentage::float8
            FROM coverage c JOIN units u ON u.id = c.unit_id WHERE u.code = 'P' AND year = 2026
            """, logger: ImportFixtures.logger)
        var found = false
        for try await (units, compliant, notApplicable, percentage) in rollUp.decode((Int, Int, Int, Double?).self) {
            found = true
            #expect((units, compliant, notApplicable) == (5, 1, 3), "\(path): P's roll-up")
            #expect(percentage == 50.0)
        }
        #expect(found, "\(path): P has no 2026 coverage")
    }

    @Test func theRulesGiveTheHandComputedCoverageIncrementallyAndByRebuild() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await AggregateFixtures.importTree(client: client)
            try await ImportFixtures.importText(.inspections, AggregateFixtures.inspections(Self.checks), client: client)
            // The import enqueued one job per inspecting unit, not one per row.
            let pending = try await AggregateJobsDrain.pendingUnits(client)
            #expect(Set(pending).count == pending.count)
            try await AggregateJobsDrain.run(client, aggregator(client))
            try await check(client, "incremental")
            let incremental = try await AggregateJobsDrain.snapshot(client)

            _ = try await aggregator(client).rebuild()
            try await check(client, "rebuild")
            #expect(try await AggregateJobsDrain.snapshot(client) == incremental)
        }
    }

    @Test func aTouchedUnitGetsOneWaitingRecomputeJobWhateverTouchesItAgain() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await AggregateFixtures.importTree(client: client)
            try await AggregateJobsDrain.run(client, aggregator(client))
            let logger = ImportFixtures.logger
            func ids(_ codes: [String]) async throws -> [Int64] {
                var found: [Int64] = []
                for code in codes {
                    for try await id in try await client.query("SELECT id FROM units WHERE code = \(code)", logger: logger).decode(Int64.self) {
                        found.append(id)
                    }
                }
                return found
            }
            func waiting() async throws -> [String] {
                var codes: [String] = []
                let rows = try await client.query("""
                    SELECT meta ->> 'unit' FROM jobs WHERE kind = 'aggregates.recompute' AND state = 'available' ORDER BY 1
                    """, logger: logger)
                for try await code in rows.decode(String.self) { codes.append(code) }
                return codes
            }
            let units = try await ids(["C6", "C7", "D"])
            // Repeats and an unknown unit (NULL) in one call: one job a unit, with its code.
            try await client.query("SELECT aggregates_touch(ARRAY[\(units[0]), \(units[1]), \(units[0]), NULL]::bigint[])", logger: logger)
            #expect(try await waiting() == ["C6", "C7"])
            // Touched again while their jobs wait: nothing new; a third unit gets its own.
            try await client.query("SELECT aggregates_touch(\(units))", logger: logger)
            #expect(try await waiting() == ["C6", "C7", "D"])
            // A running job may have read the data before the change: a new one waits behind it.
            try await client.query("""
                UPDATE jobs SET state = 'running', lease_expires_at = now() + interval '1 minute' WHERE kind = 'aggregates.recompute' AND meta ->> 'unit' = 'C6'
                """, logger: logger)
            try await client.query("SELECT aggregates_touch(\(units))", logger: logger)
            #expect(try await waiting() == ["C6", "C7", "D"])
        }
    }

    @Test func theRuleNumbersAreConfiguration() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await AggregateFixtures.importTree(client: client)
            try await ImportFixtures.importText(.inspections, AggregateFixtures.inspections(Self.checks), client: client)
            // 4 borrowers make a complete check, and 30% of a commune's groups must be checked.
            try await client.query("UPDATE aggregate_settings SET complete_check_borrowers = 4, commune_group_share = 0.3", logger: ImportFixtures.logger)
            _ = try await aggregator(client).rebuild(year: 2026)
            // C7 now needs ceil(2.1) = 3 and has 3 (G7c's 4 borrowers count); C6 needs ceil(1.8)
            // = 2 and still has 1 (G6b's checks cover 3 borrowers); D2's 4 of G2a count.
            let d = try await coverage("D", 2026, client)
            #expect(d?.status == "not_compliant")
            #expect(d?.missing == ["C6"])
            let items = try await client.query("""
                SELECT item_code, required, done FROM coverage_items i JOIN units u ON u.id = i.unit_id
                WHERE u.code = 'D' AND year = 2026 ORDER BY item_code
                """, logger: ImportFixtures.logger)
            var found: [String: (Int, Int)] = [:]
            for try await (code, required, done) in items.decode((String, Int, Int).self) { found[code] = (required, done) }
            #expect(found["C7"]! == (3, 3))
            #expect(found["C6"]! == (2, 1))
            #expect(try await coverage("D2", 2026, client)?.status == "compliant")
        }
    }
}

/// Runs the pending `aggregates.recompute` jobs the way a worker would, one by one, so that
/// tests can compare the incremental result with a rebuild.
enum AggregateJobsDrain {
    static func pendingUnits(_ client: PostgresClient) async throws -> [Int64] {
        var units: [Int64] = []
        let rows = try await client.query("""
            SELECT (args->>'unit')::bigint FROM jobs WHERE kind = 'aggregates.recompute' AND state = 'available' ORDER BY id
            """, logger: ImportFixtures.logger)
        for try await unit in rows.decode(Int64.self) { units.append(unit) }
        return units
    }

    /// Completes every pending recompute job; returns how many ran.
    @discardableResult
    static func run(_ client: PostgresClient, _ aggregator: Aggregator) async throws -> Int {
        var ran = 0
        for _ in 0..<100 {
            let rows = try await client.query("""
                UPDATE jobs SET state = 'completed', finalized_at = now()
                WHERE kind = 'aggregates.recompute' AND state = 'available'
                RETURNING (args->>'unit')::bigint
                """, logger: ImportFixtures.logger)
            var units: [Int64] = []
            for try await unit in rows.decode(Int64.self) { units.append(unit) }
            if units.isEmpty { return ran }
            for unit in units { try await aggregator.recompute(unit: unit) }
            ran += units.count
        }
        return ran
    }

    /// Every aggregate row but its time stamps.
    static func snapshot(_ client: PostgresClient) async throws -> [String] {
        var lines: [String] = []
        for sql in [
            "SELECT u.code || ' ' || c.year || ' ' || c.rule || ' ' || c.required || '/' || c.done || ' na ' || c.not_applicable || ' ' || c.missing::text || ' ' || coalesce(c.percentage::text, '-') || ' ' || c.status || ' sub ' || c.subtree_units || '/' || c.subtree_compliant || '/' || c.subtree_not_applicable FROM coverage c JOIN units u ON u.id = c.unit_id",
            "SELECT u.code || ' ' || i.year || ' ' || i.item_code || ' ' || i.rule || ' ' || i.required || '/' || i.done || ' ' || i.status FROM coverage_items i JOIN units u ON u.id = i.unit_id",
            "SELECT u.code || ' ' || f.as_of || ' ' || f.loans || ' ' || f.outstanding || ' ' || f.overdue_loans || ' ' || f.overdue_amount || ' ' || f.members || ' ' || f.savers FROM loan_figures f JOIN units u ON u.id = f.unit_id",
        ] {
            for try await line in try await client.query(PostgresQuery(unsafeSQL: sql), logger: ImportFixtures.logger).decode(String.self) {
                lines.append(line)
            }
        }
        return lines.sorted()
    }
}
