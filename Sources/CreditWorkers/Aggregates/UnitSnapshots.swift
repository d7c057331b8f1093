public import CreditDomain
public import Logging
public import PostgresNIO
import Foundation

/// The history behind the dashboard's trend charts: one row per unit and day in
/// `unit_snapshots` (schema.sql step 19), taken from the live figures by the nightly rebuild,
/// and backfilled at month ends for a year that has none.
public struct UnitSnapshots: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Writes every unit's figures as they are now under `day` (taking it again replaces it).
    @discardableResult
    public func take(day: CalendarDate) async throws -> Int {
        try await Self.write(day: day, on: client, logger: logger)
    }

    /// Month-end snapshots of `year`, up to the day before `today`, for the months that have
    /// none; each recomputed as the figures stood then (``Aggregator/asOf(_:year:_:)``).
    /// Returns the days written.
    @discardableResult
    public func backfill(year: Int, today: CalendarDate, aggregator: Aggregator) async throws -> [CalendarDate] {
        var written: [CalendarDate] = []
        for month in 1...12 {
            let end = min(CalendarDate(year: year, month: month, day: CalendarDate.daysIn(month: month, year: year)), today.adding(days: -1))
            guard end.year == year, end.month == month else { break }
            var present = false
            for try await found in try await client.query("""
                SELECT EXISTS (SELECT 1 FROM unit_snapshots
                               WHERE day BETWEEN make_date(\(year)::int, \(month)::int, 1) AND \(end.iso)::date)
                """, logger: logger).decode(Bool.self) { present = found }
            if present { continue }
            // Read inside the rolled-back transaction, written after it.
            let rows = try await aggregator.asOf(end, year: year) { connection in
                try await Self.read(day: end, on: connection, logger: logger)
            }
            try await Self.insert(rows, day: end, on: client, logger: logger)
            written.append(end)
        }
        return written
    }

    /// One month of a unit's history: its last snapshot in that month.
    public struct Month: Sendable, Equatable {
        public var year: Int
        public var month: Int
        /// Shares 0...1; nil where there was nothing to divide by.
        public var coverageShare: Double?
        public var overdueRatio: Double?
        public var savingsParticipation: Double?
    }

    /// The months of `years` that have a snapshot of `unitCode`.
    public func months(unitCode: String, years: [Int]) async throws -> [Month] {
        var months: [Month] = []
        for try await (year, month, coverage, overdue, savings) in try await client.query("""
            SELECT DISTINCT ON (1, 2) extract(year FROM s.day)::int8, extract(month FROM s.day)::int8,
                   s.coverage_share::float8, s.overdue_ratio::float8, s.savings_participation::float8
            FROM unit_snapshots s JOIN units u ON u.id = s.unit_id
            WHERE u.code = \(unitCode) AND extract(year FROM s.day)::int = ANY(\(years))
            ORDER BY 1, 2, s.day DESC
            """, logger: logger).decode((Int64, Int64, Double?, Double?, Double?).self) {
            months.append(Month(year: Int(year), month: Int(month), coverageShare: coverage, overdueRatio: overdue, savingsParticipation: savings))
        }
        return months
    }

    private struct Row: Codable {
        var unit: Int64
        var required, done, outstanding, overdue, members, savers: Int64?
    }

    /// The live tables' figures of every unit; coverage of the snapshot day's year.
    private static let selectFigures = """
        SELECT u.id, c.required::int8, c.done::int8, f.outstanding, f.overdue_amount, f.members, f.savers
        FROM units u
        LEFT JOIN coverage c ON c.unit_id = u.id AND c.year = extract(year FROM $1::date)::int
        LEFT JOIN loan_figures f ON f.unit_id = u.id
        """

    private static func write(day: CalendarDate, on client: PostgresClient, logger: Logger) async throws -> Int {
        var count = 0
        for try await written in try await client.query(PostgresQuery(unsafeSQL: """
            WITH written AS (
                INSERT INTO unit_snapshots (unit_id, day, coverage_required, coverage_done, outstanding, overdue_amount, members, savers)
                SELECT figures.id, $1::date, figures.required, figures.done, figures.outstanding, figures.overdue_amount, figures.members, figures.savers
                FROM (\(selectFigures)) AS figures
                ON CONFLICT (unit_id, day) DO UPDATE SET
                    coverage_required = excluded.coverage_required, coverage_done = excluded.coverage_done,
                    outstanding = excluded.outstanding, overdue_amount = excluded.overdue_amount,
                    members = excluded.members, savers = excluded.savers, taken_at = now()
                RETURNING 1
            )
            SELECT count(*)::int8 FROM written
            """, binds: binds(day)), logger: logger).decode(Int64.self) { count = Int(written) }
        return count
    }

    private static func read(day: CalendarDate, on connection: PostgresConnection, logger: Logger) async throws -> [Row] {
        var rows: [Row] = []
        for try await row in try await connection.query(PostgresQuery(unsafeSQL: selectFigures, binds: binds(day)), logger: logger)
            .decode((Int64, Int64?, Int64?, Int64?, Int64?, Int64?, Int64?).self) {
            rows.append(Row(unit: row.0, required: row.1, done: row.2, outstanding: row.3, overdue: row.4, members: row.5, savers: row.6))
        }
        return rows
    }

    private static func insert(_ rows: [Row], day: CalendarDate, on client: PostgresClient, logger: Logger) async throws {
        var binds = binds(day)
        // One JSON parameter rather than an array per column: PostgresNIO binds no arrays of optionals.
        binds.append(String(decoding: try JSONEncoder().encode(rows), as: UTF8.self))
        try await client.query(PostgresQuery(unsafeSQL: """
            INSERT INTO unit_snapshots (unit_id, day, coverage_required, coverage_done, outstanding, overdue_amount, members, savers)
            SELECT unit, $1::date, required, done, outstanding, overdue, members, savers
            FROM json_to_recordset($2::json)
                 AS r (unit int8, required int8, done int8, outstanding int8, overdue int8, members int8, savers int8)
            ON CONFLICT (unit_id, day) DO NOTHING
            """, binds: binds), logger: logger)
    }

    private static func binds(_ day: CalendarDate) -> PostgresBindings {
        var binds = PostgresBindings()
        binds.append(day.iso)
        return binds
    }
}
