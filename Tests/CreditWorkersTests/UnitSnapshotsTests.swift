import CreditDomain
import CreditWorkers
import PostgresNIO
import TestSupport
import Testing

/// The trend charts' history: month ends backfilled as the figures stood then, without touching
/// the live figures; the nightly snapshot of every unit.
@Suite struct UnitSnapshotsTests {
    static let today = AggregateFixtures.today  // 2026-11-27

    func aggregator(_ client: PostgresClient) -> Aggregator {
        Aggregator(client: client, logger: ImportFixtures.logger, today: { Self.today })
    }

    /// Q1's coverage (done of required) at each snapshot day of 2026.
    func history(_ client: PostgresClient) async throws -> [String: String] {
        var days: [String: String] = [:]
        for try await (day, done, required) in try await client.query("""
            SELECT s.day::text, s.coverage_done, s.coverage_required FROM unit_snapshots s JOIN units u ON u.id = s.unit_id
            WHERE u.code = 'Q1' ORDER BY s.day
            """, logger: ImportFixtures.logger).decode((String, Int?, Int?).self) {
            days[day] = "\(done.map(String.init) ?? "-")/\(required.map(String.init) ?? "-")"
        }
        return days
    }

    @Test func aBackfillKeepsEachMonthEndAsItStoodAndLeavesTheLiveFiguresAlone() async throws {
        try await TestDatabase.withDatabase { client, _ in
            try await AggregateFixtures.importTree(client: client)
            // Commune Q1 must inspect all three of its groups: one in February, June and September.
            try await ImportFixtures.importText(.inspections, AggregateFixtures.inspections([
                ("Q-1", "Q1", "2026-02-10", "GQa", AggregateFixtures.first(5, of: "GQa")),
                ("Q-2", "Q1", "2026-06-15", "GQb", AggregateFixtures.first(5, of: "GQb")),
                ("Q-3", "Q1", "2026-09-20", "GQc", AggregateFixtures.first(5, of: "GQc")),
            ]), client: client)
            _ = try await aggregator(client).rebuild()
            let live = try await client.query(
                "SELECT string_agg(u.code || ':' || c.done || '/' || c.required, ',' ORDER BY u.code) FROM coverage c JOIN units u ON u.id = c.unit_id WHERE c.year = 2026",
                logger: ImportFixtures.logger).decode(String.self).first { _ in true }

            let snapshots = UnitSnapshots(client: client, logger: ImportFixtures.logger)
            let days = try await snapshots.backfill(year: 2026, today: Self.today, aggregator: aggregator(client))
            #expect(days.map(\.iso) == ["2026-01-31", "2026-02-28", "2026-03-31", "2026-04-30", "2026-05-31", "2026-06-30",
                                        "2026-07-31", "2026-08-31", "2026-09-30", "2026-10-31", "2026-11-26"])
            let history = try await self.history(client)
            #expect(history["2026-01-31"] == "0/3")
            #expect(history["2026-02-28"] == "1/3")
            #expect(history["2026-05-31"] == "1/3")
            #expect(history["2026-06-30"] == "2/3")
            #expect(history["2026-09-30"] == "3/3")
            #expect(history["2026-11-26"] == "3/3")
            let after = try await client.query(
                "SELECT string_agg(u.code || ':' || c.done || '/' || c.required, ',' ORDER BY u.code) FROM coverage c JOIN units u ON u.id = c.unit_id WHERE c.year = 2026",
                logger: ImportFixtures.logger).decode(String.self).first { _ in true }
            #expect(after == live, "the backfill's recomputation is rolled back")
            #expect(try await snapshots.backfill(year: 2026, today: Self.today, aggregator: aggregator(client)).isEmpty, "again: nothing to add")

            // The nightly snapshot: every unit, the live figures, taking it again replaces it.
            #expect(try await snapshots.take(day: Self.today) == 11)
            #expect(try await snapshots.take(day: Self.today) == 11)
            #expect(try await self.history(client)["2026-11-27"] == "3/3")
            let months = try await snapshots.months(unitCode: "Q1", years: [2025, 2026])
            #expect(months.count == 11)
            #expect(months.last.map { ($0.month, $0.coverageShare) }! == (11, 1.0), "November's latest day")
            #expect(months.first.map { ($0.month, $0.coverageShare) }! == (1, 0.0))
        }
    }
}
