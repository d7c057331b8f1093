public import CreditDomain
public import Foundation
public import JobQueue
public import Logging
public import PostgresNIO

/// Each unit's report obligations for a year, from the rules of the report types: a yearly type
/// on its day and month, a quarterly one on its day of each quarter's last month, a monthly one on
/// its day of every month (a day past a month's end falls on its last day). What an import wrote
/// for the same type, unit and period stays as it is.
public struct ReportObligations: Sendable {
    public let client: PostgresClient
    public let logger: Logger

    public init(client: PostgresClient, logger: Logger) {
        self.client = client
        self.logger = logger
    }

    /// Writes the missing obligations of `year`; returns how many were new.
    @discardableResult
    public func generate(year: Int) async throws -> Int {
        // In a transaction of its own: its COMMIT has been answered when this returns, so a
        // reader on another connection sees every row at once.
        let created = try await client.inTransaction(logger: logger) { connection in
            try await insertMissing(year: year, on: connection)
        }
        logger.info("Generated report obligations", metadata: ["year": "\(year)", "created": "\(created)"])
        return created
    }

    private func insertMissing(year: Int, on connection: PostgresConnection) async throws -> Int {
        let rows = try await connection.query("""
            WITH months AS (
                SELECT t.id AS type_id, t.submitting_level, t.frequency, t.due_day,
                       make_date(\(year)::int, (CASE WHEN t.frequency = 'yearly' THEN t.due_month ELSE m END)::int, 1) AS month_start
                FROM report_types t
                CROSS JOIN LATERAL (
                    SELECT m FROM generate_series(1, 12) AS m
                    WHERE t.frequency = 'monthly' OR (t.frequency = 'quarterly' AND m % 3 = 0) OR (t.frequency = 'yearly' AND m = 1)
                ) AS months
            ), dues AS (
                SELECT type_id, submitting_level, frequency,
                       (month_start + (least(due_day, extract(day FROM month_start + interval '1 month' - interval '1 day')::int) - 1))::date
                           AS due_on
                FROM months
            ), written AS (
                INSERT INTO report_obligations (report_type_id, unit_id, period, due_on)
                SELECT d.type_id, u.id,
                       CASE d.frequency WHEN 'yearly' THEN to_char(d.due_on, 'YYYY')
                                        WHEN 'quarterly' THEN to_char(d.due_on, 'YYYY-"Q"Q')
                                        ELSE to_char(d.due_on, 'YYYY-MM') END,
                       d.due_on
                FROM dues d JOIN units u ON u.level = d.submitting_level
                ON CONFLICT (report_type_id, unit_id, period) DO NOTHING
                RETURNING 1
            )
            SELECT count(*)::int8 FROM written
            """, logger: logger)
        var created = 0
        for try await count in rows.decode(Int64.self) { created = Int(count) }
        return created
    }

    /// Arguments of the yearly job.
    public struct Arguments: Codable, Sendable {
        public var year: Int?
    }

    /// `reports.generate`: the obligations of the year it is for (this year in Vietnam without one).
    public var job: JobDefinition<Arguments> {
        JobDefinition(kind: "reports.generate", queue: "default", maxAttempts: 10) { args, _ in
            try await generate(year: args.year ?? JobKinds.vietnamToday().year)
        }
    }

    /// The leader's run at 00:10 every 1 January (Asia/Ho_Chi_Minh), for the year that begins.
    public static let yearly = PeriodicJob(name: "reports-generate", schedule: .cron(try! CronSchedule(vietnam: "10 0 1 1 *"))) { scheduledAt in
        let year = CalendarDate(unixTime: scheduledAt.timeIntervalSince1970).year
        return NewJob(kind: "reports.generate", argsJSON: #"{"year":\#(year)}"#, queue: "default", maxAttempts: 10)
    }
}
