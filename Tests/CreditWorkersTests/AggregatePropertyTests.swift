import CreditDomain
import CreditWorkers
import PostgresNIO
import TestSupport
import Testing

/// Random sequences of inserts, updates and deletes on the records — through plain SQL, as any
/// program might write them —, each followed by the recompute jobs its triggers enqueued: the
/// aggregates must then equal what `aggregates rebuild` computes from scratch.
@Suite struct AggregatePropertyTests {
    struct Random {
        var state: UInt64
        mutating func next(_ bound: Int) -> Int {
            state &+= 0x9E37_79B9_7F4A_7C15
            var z = state
            z = (z ^ (z >> 30)) &* 0xBF58_476D_1CE4_E5B9
            z = (z ^ (z >> 27)) &* 0x94D0_49BB_1331_11EB
            return Int((z ^ (z >> 31)) % UInt64(bound))
        }
    }

    /// One random change; returns what it did, for the failure message.
    static func randomChange(_ random: inout Random, _ client: PostgresClient, step: Int) async throws -> String {
        let logger = ImportFixtures.logger
        switch random.next(8) {
        case 0, 1:
            // An inspection of some borrowers of one group by the commune or a unit above it.
            let group = random.next(17) + 1
            let take = random.next(6) + 1
            let levelUp = random.next(3)
            let year = 2025 + random.next(2)
            try await client.query("""
                WITH RECURSIVE up (id, parent_id, depth) AS (
                    SELECT u.id, u.parent_id, 0 FROM groups g JOIN units u ON u.id = g.commune_id
                    WHERE g.id = (SELECT id FROM groups ORDER BY id OFFSET \(group % 17) LIMIT 1)
                    UNION ALL SELECT u.id, u.parent_id, depth + 1 FROM up JOIN units u ON u.id = up.parent_id
                ), inspector AS (SELECT id FROM up ORDER BY abs(depth - \(levelUp)) LIMIT 1),
                inspection AS (
                    INSERT INTO inspections (code, inspector_unit_id, inspected_on)
                    SELECT \("R\(step)"), id, make_date(\(year)::int, 6, 1) FROM inspector RETURNING id
                )
                INSERT INTO inspected_borrowers (inspection_id, borrower_id)
                SELECT inspection.id, b.id FROM inspection,
                    (SELECT id FROM borrowers WHERE group_id = (SELECT id FROM groups ORDER BY id OFFSET \(group % 17) LIMIT 1)
                     ORDER BY id LIMIT \(take)) AS b
                """, logger: logger)
            return "inspect \(take) of group #\(group % 17) by level +\(levelUp) in \(year)"
        case 2:
            try await client.query("DELETE FROM inspections WHERE id = (SELECT id FROM inspections ORDER BY id OFFSET \(random.next(20)) LIMIT 1)", logger: logger)
            return "delete an inspection"
        case 3:
            let borrower = random.next(90), group = random.next(17)
            try await client.query("""
                UPDATE borrowers SET group_id = (SELECT id FROM groups ORDER BY id OFFSET \(group) LIMIT 1)
                WHERE id = (SELECT id FROM borrowers ORDER BY id OFFSET \(borrower) LIMIT 1)
                """, logger: logger)
            return "move borrower #\(borrower) to group #\(group)"
        case 4:
            let commune = ["C7", "C6", "C0", "C2", "C3", "Q1"][random.next(6)]
            try await client.query("""
                WITH g AS (
                    INSERT INTO groups (code, name, commune_id, point_id)
                    SELECT \("NG\(step)"), 'Tổ mới', u.id, p.id FROM units u JOIN points p ON p.commune_id = u.id WHERE u.code = \(commune)
                    RETURNING id
                )
                INSERT INTO borrowers (code, name, group_id) SELECT \("NB\(step)-") || n, 'Người mới', g.id FROM g, generate_series(1, \(random.next(7))) AS n
                """, logger: logger)
            return "new group in \(commune)"
        case 5:
            let borrower = random.next(90), overdue = random.next(2) == 0
            try await client.query("""
                INSERT INTO loans (code, borrower_id, program, principal, outstanding, disbursed_on, due_on)
                SELECT \("NL\(step)"), id, 'Cho vay hộ nghèo', 10000000, \(random.next(3) * 1_000_000), DATE '2023-01-01',
                       \(overdue ? "2026-10-01" : "2028-01-01")::date
                FROM borrowers ORDER BY id OFFSET \(borrower) LIMIT 1
                """, logger: logger)
            return "new loan for borrower #\(borrower)"
        case 6:
            try await client.query("UPDATE loans SET outstanding = 0 WHERE id = (SELECT id FROM loans ORDER BY id OFFSET \(random.next(10)) LIMIT 1)", logger: logger)
            return "repay a loan"
        default:
            let borrower = random.next(90)
            try await client.query("UPDATE borrowers SET savings_balance = \(random.next(2) * 50000) WHERE id = (SELECT id FROM borrowers ORDER BY id OFFSET \(borrower) LIMIT 1)", logger: logger)
            return "savings of borrower #\(borrower)"
        }
    }

    @Test(arguments: [1, 2, 3, 4, 5] as [UInt64])
    func incrementalAggregatesEqualARebuild(seed: UInt64) async throws {
        try await TestDatabase.withDatabase { client, _ in
            let aggregator = Aggregator(client: client, logger: ImportFixtures.logger, today: { AggregateFixtures.today })
            try await AggregateFixtures.importTree(client: client)
            try await ImportFixtures.importText(.inspections, AggregateFixtures.inspections(CoverageTests.checks), client: client)
            try await AggregateJobsDrain.run(client, aggregator)
            var random = Random(state: seed)
            var done: [String] = []
            for step in 0..<15 {
                for _ in 0..<3 {
                    do {
                        done.append(try await Self.randomChange(&random, client, step: done.count))
                    } catch {
                        Issue.record("seed \(seed), after \(done): \(String(reflecting: error))")
                        return
                    }
                }
                try await AggregateJobsDrain.run(client, aggregator)
                let incremental = try await AggregateJobsDrain.snapshot(client)
                _ = try await aggregator.rebuild()
                let rebuilt = try await AggregateJobsDrain.snapshot(client)
                let onlyIncremental = Set(incremental).subtracting(rebuilt).sorted()
                let onlyRebuilt = Set(rebuilt).subtracting(incremental).sorted()
                #expect(onlyIncremental.isEmpty && onlyRebuilt.isEmpty,
                        "seed \(seed), step \(step) after \(done): incremental only \(onlyIncremental), rebuild only \(onlyRebuilt)")
                if !onlyIncremental.isEmpty || !onlyRebuilt.isEmpty { return }
            }
        }
    }
}
