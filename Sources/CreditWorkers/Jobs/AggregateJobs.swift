public import JobQueue
import CreditDomain
import Logging

/// The jobs that keep `coverage` and `loan_figures` fresh. Triggers on the domain tables enqueue
/// `aggregates.recompute` for each changed unit in the changing transaction (schema.sql, step
/// 4); `aggregates.rebuild` recomputes everything, and runs every night so that loans falling
/// overdue at midnight are counted, then keeps the day's snapshot of every unit (the history of
/// the trend charts).
public struct AggregateJobs: Sendable {
    public static let queue = "aggregates"

    public struct RecomputeArguments: Codable, Sendable {
        /// The unit whose records changed.
        public var unit: Int64
    }

    public struct RebuildArguments: Codable, Sendable {
        /// Only this year's coverage (loan figures are always rebuilt); nil for every year.
        public var year: Int?
    }

    let aggregator: Aggregator

    public var recompute: JobDefinition<RecomputeArguments> {
        JobDefinition(kind: "aggregates.recompute", queue: Self.queue, maxAttempts: 25, timeout: .seconds(300)) { args, _ in
            try await aggregator.recompute(unit: args.unit)
        }
    }

    public var rebuild: JobDefinition<RebuildArguments> {
        JobDefinition(kind: "aggregates.rebuild", queue: Self.queue, maxAttempts: 5, timeout: .seconds(1800)) { args, context in
            let report = try await aggregator.rebuild(year: args.year)
            // The day's snapshot for the trend charts, and this year's month ends if none were kept.
            let snapshots = UnitSnapshots(client: aggregator.client, logger: context.logger)
            let today = aggregator.today()
            let units = try await snapshots.take(day: today)
            let backfilled = try await snapshots.backfill(year: today.year, today: today, aggregator: aggregator)
            context.logger.info("Rebuilt the aggregates", metadata: [
                "aggregates.units": "\(report.units)", "aggregates.years": "\(report.years)",
                "aggregates.seconds": "\(report.seconds)", "aggregates.snapshots": "\(units)",
                "aggregates.backfilled": "\(backfilled.map(\.iso))",
            ])
        }
    }

    /// At 00:05 in Vietnam, after the day changes.
    public static let dailyRefresh = PeriodicJob(
        name: "aggregates-refresh", schedule: .cron(try! CronSchedule(vietnam: "5 0 * * *"))
    ) { _ in
        NewJob(kind: "aggregates.rebuild", queue: queue, maxAttempts: 5)
    }
}
