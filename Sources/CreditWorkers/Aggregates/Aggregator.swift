public import CreditDomain
public import Logging
public import PostgresNIO
import JobQueue

/// Recomputes the aggregate tables a dashboard reads: inspection coverage per (unit, year) and
/// loan figures per unit. ``recompute(unit:)`` handles one changed unit — it and its ancestors
/// only —; ``rebuild(year:)`` handles everything, for repair. Both run the same SQL, so the
/// incremental path agrees with a rebuild by construction.
public struct Aggregator: Sendable {
    public let client: PostgresClient
    public let logger: Logger
    /// Today in Vietnam: the day overdue loans are counted on, and the current coverage year.
    public let today: @Sendable () -> CalendarDate

    public init(client: PostgresClient, logger: Logger, today: @escaping @Sendable () -> CalendarDate) {
        self.client = client
        self.logger = logger
        self.today = today
    }

    /// What a rebuild did.
    public struct RebuildReport: Sendable, Codable {
        public var units: Int
        public var years: [Int]
        public var seconds: Double
    }

    /// Recomputes what a change to `unit`'s records can affect: its own figures and those of
    /// every unit above it. Units of its tree that have no figures yet (a new year, a new unit)
    /// get theirs too, so that roll-ups never count a unit as missing.
    public func recompute(unit: Int64) async throws {
        let day = today()
        try await client.inTransaction(logger: logger) { connection in
            let scope: [Int64] = try await rows("""
                WITH RECURSIVE up (id, parent_id) AS (
                    SELECT id, parent_id FROM units WHERE id = $1
                    UNION ALL
                    SELECT u.id, u.parent_id FROM units u JOIN up ON u.id = up.parent_id
                )
                SELECT id FROM up
                """, on: connection) { $0.append(unit) }
            guard !scope.isEmpty else { return }
            let tree = try await self.tree(containing: unit, on: connection)
            // Locks go on every unit this job may write, in one sorted statement (no deadlocks).
            // Years and missing figures are decided again after the wait, from data that now
            // includes the transactions waited for; of a burst of jobs on a new tree, only the
            // first fills it in.
            let missingBefore = try await missing(
                in: tree, besides: scope, years: try await self.years(of: tree, day: day, on: connection), on: connection)
            try await lock(scope + missingBefore, on: connection)
            let years = try await self.years(of: tree, day: day, on: connection)
            let missing = try await self.missing(in: tree, besides: scope, years: years, on: connection)
            let unlocked = Set(missing).subtracting(missingBefore)
            if !unlocked.isEmpty {
                // Rare (a year or a unit new since the first look). Taken out of order, so a
                // deadlock is possible; PostgreSQL then fails one job, which is retried.
                try await lock(unlocked.sorted(), on: connection)
            }
            let units = scope + missing
            try await compute(units: units, years: years, day: day, on: connection)
        }
    }

    /// Recomputes every unit's figures for `year` (or, tree by tree, for every year the tree has
    /// inspections or figures in, and the current one), and every unit's loan figures.
    public func rebuild(year: Int? = nil) async throws -> RebuildReport {
        let started = ContinuousClock.now
        let day = today()
        return try await client.inTransaction(logger: logger) { connection in
            let all: [Int64] = try await rows("SELECT id FROM units ORDER BY id", on: connection) { _ in }
            try await lock(all, on: connection)
            var allYears = Set<Int>()
            let roots: [Int64] = try await rows("SELECT id FROM units WHERE parent_id IS NULL ORDER BY id", on: connection) { _ in }
            for root in roots {
                let tree = try await self.tree(containing: root, on: connection)
                var years = [Int]()
                if let year {
                    years = [year]
                } else {
                    years = try await self.years(of: tree, day: day, on: connection)
                }
                allYears.formUnion(years)
                try await compute(units: tree, years: years, day: day, on: connection)
            }
            let elapsed = ContinuousClock.now - started
            return RebuildReport(units: all.count, years: allYears.sorted(),
                                 seconds: elapsed.seconds)
        }
    }

    /// Units among `candidates` (but not in `scope`) that lack coverage for one of `years`, or,
    /// for communes, loan figures.
    /// Runs `body` on the figures of `year` as they stood at the end of `day` — inspections up to
    /// that day, loans overdue on it (at their current outstanding amounts: the records keep no
    /// history of repayments) — computed in a transaction that is then rolled back, so that the
    /// live figures are untouched. Every unit is locked meanwhile: live recomputes wait.
    public func asOf<T: Sendable>(_ day: CalendarDate, year: Int, _ body: (PostgresConnection) async throws -> T) async throws -> T {
        try await client.withConnection { connection in
            try await connection.query("BEGIN", logger: logger)
            do {
                try await run("SELECT set_config('creditops.as_of', $1, true)", on: connection) { $0.append(day.iso) }
                let all: [Int64] = try await rows("SELECT id FROM units ORDER BY id", on: connection) { _ in }
                try await lock(all, on: connection)
                let roots: [Int64] = try await rows("SELECT id FROM units WHERE parent_id IS NULL ORDER BY id", on: connection) { _ in }
                for root in roots {
                    try await compute(units: try await tree(containing: root, on: connection), years: [year], day: day, on: connection)
                }
                let result = try await body(connection)
                try await connection.query("ROLLBACK", logger: logger)
                return result
            } catch {
                _ = try? await connection.query("ROLLBACK", logger: logger)
                throw error
            }
        }
    }

    private func missing(in candidates: [Int64], besides scope: [Int64], years: [Int], on connection: PostgresConnection) async throws -> [Int64] {
        guard !candidates.isEmpty else { return [] }
        return try await rows("""
            SELECT u.id FROM units u
            WHERE u.id = ANY($1) AND u.id <> ALL($2)
              AND (EXISTS (SELECT 1 FROM unnest($3::int[]) AS y (year)
                           WHERE NOT EXISTS (SELECT 1 FROM coverage c WHERE c.unit_id = u.id AND c.year = y.year))
                   OR (u.level = 'commune' AND NOT EXISTS (SELECT 1 FROM loan_figures f WHERE f.unit_id = u.id)))
            ORDER BY u.id
            """, on: connection) { binds in
            binds.append(candidates, context: .default)
            binds.append(scope, context: .default)
            binds.append(years, context: .default)
        }
    }

    /// Every unit of the tree `unit` is in, from its root down.
    private func tree(containing unit: Int64, on connection: PostgresConnection) async throws -> [Int64] {
        try await rows("""
            WITH RECURSIVE up (id, parent_id) AS (
                SELECT id, parent_id FROM units WHERE id = $1
                UNION ALL
                SELECT u.id, u.parent_id FROM units u JOIN up ON u.id = up.parent_id
            ), down (id) AS (
                SELECT id FROM up WHERE parent_id IS NULL
                UNION ALL
                SELECT u.id FROM units u JOIN down d ON u.parent_id = d.id
            )
            SELECT id FROM down ORDER BY id
            """, on: connection) { $0.append(unit) }
    }

    private func compute(units: [Int64], years: [Int], day: CalendarDate, on connection: PostgresConnection) async throws {
        for sql in [CoverageSQL.deleteItems, CoverageSQL.insertItems, CoverageSQL.upsertCoverage, CoverageSQL.rollUp] {
            try await run(sql, on: connection) { binds in
                binds.append(units, context: .default)
                binds.append(years, context: .default)
            }
        }
        for sql in [LoanFiguresSQL.communes, LoanFiguresSQL.rollUp] {
            try await run(sql, on: connection) { binds in
                binds.append(units, context: .default)
                binds.append(day.iso)
            }
        }
    }

    /// The years a tree has figures for: those of its inspections and of figures it already has
    /// (a year whose inspections were all deleted keeps its now empty figures), and this year.
    private func years(of tree: [Int64], day: CalendarDate, on connection: PostgresConnection) async throws -> [Int] {
        let sql = """
            SELECT DISTINCT extract(year FROM inspected_on)::int FROM inspections WHERE inspector_unit_id = ANY($1)
            UNION SELECT year FROM coverage WHERE unit_id = ANY($1)
            UNION SELECT $2::int
            """
        let years: [Int] = try await rows(sql, on: connection) { binds in
            binds.append(tree, context: .default)
            binds.append(day.year)
        }
        return years.sorted()
    }

    /// Locks the anchors of `units` in id order (see `aggregate_anchors` in schema.sql): waits
    /// for any transaction still changing their records, and for any other job writing them.
    private func lock(_ units: [Int64], on connection: PostgresConnection) async throws {
        try await run("INSERT INTO aggregate_anchors (unit_id) SELECT unnest($1::bigint[]) ON CONFLICT DO NOTHING", on: connection) {
            $0.append(units, context: .default)
        }
        try await run("SELECT unit_id FROM aggregate_anchors WHERE unit_id = ANY($1) ORDER BY unit_id FOR UPDATE", on: connection) {
            $0.append(units, context: .default)
        }
    }

    private func run(_ sql: String, on connection: PostgresConnection, binding: (inout PostgresBindings) -> Void) async throws {
        var binds = PostgresBindings()
        binding(&binds)
        try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger)
    }

    private func rows<T: PostgresDecodable & Sendable>(
        _ sql: String, on connection: PostgresConnection, binding: (inout PostgresBindings) -> Void
    ) async throws -> [T] {
        var binds = PostgresBindings()
        binding(&binds)
        var result: [T] = []
        for try await value in try await connection.query(PostgresQuery(unsafeSQL: sql, binds: binds), logger: logger).decode(T.self) {
            result.append(value)
        }
        return result
    }
}
