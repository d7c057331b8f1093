public import JobQueue
public import Logging
public import PostgresNIO
public import CreditDomain
import Foundation

/// Every job kind CreditOps runs, registered in one place so that workers, the CLI's `enqueue`
/// and the operations page agree on what exists.
public enum JobKinds {
    /// The queues CreditOps' jobs use; a worker works all of them unless told otherwise.
    public static let queues = ["default", AggregateJobs.queue, ReminderPlanner.queue]

    /// What CreditOps' queue metrics are called (`creditops_jobs_completed_total`, …): the
    /// dashboards and alerts of `deploy/` use these names.
    public static let metricsPrefix = "creditops_"

    /// A registry with every kind: the built-in `noop`, the diagnostic `sleep` and the jobs of
    /// the domain, whose handlers use `client`.
    /// Deliveries go through `channels` (the log unless gateways are configured).
    public static func registry(
        client: PostgresClient, logger: Logger, channels: ChannelSetup = ChannelSetup(routes: ChannelRoutes(LogChannel()))
    ) -> JobRegistry {
        let registry = JobRegistry()
        registry.register(sleep)
        let aggregates = AggregateJobs(aggregator: Aggregator(client: client, logger: logger, today: vietnamToday))
        registry.register(aggregates.recompute)
        registry.register(aggregates.rebuild)
        registry.register(DeliveryJobs(
            client: client, routes: channels.routes, retryPolicy: channels.retryPolicy, timeout: channels.attemptTimeout).deliver)
        registry.register(ReminderJobs(planner: ReminderPlanner(client: client, registry: registry, logger: logger)).plan)
        registry.register(ReportObligations(client: client, logger: logger).job)
        return registry
    }

    /// The jobs the leader enqueues on a schedule; the reminder planners run on `planSchedule`
    /// (default every day at 07:00 in Vietnam).
    public static func periodicJobs(planSchedule: CronSchedule = ReminderJobs.defaultSchedule) -> [PeriodicJob] {
        [AggregateJobs.dailyRefresh, ReminderJobs.daily(planSchedule), ReportObligations.yearly]
    }

    /// Today's date in Vietnam, from the system clock.
    @Sendable public static func vietnamToday() -> CalendarDate {
        CalendarDate(unixTime: Date().timeIntervalSince1970)
    }

    /// Arguments of ``sleep``.
    public struct SleepArguments: Codable, Sendable {
        /// How long to sleep, in milliseconds (0...3,600,000).
        public var milliseconds: Int

        public init(milliseconds: Int) {
            self.milliseconds = milliseconds
        }
    }

    /// `sleep`: waits, then succeeds. For operators checking that workers run, drain and survive
    /// restarts, and for the fault tests. Honours cancellation.
    public static let sleep = JobDefinition<SleepArguments>(kind: "sleep", maxAttempts: 5) { args, _ in
        guard (0...3_600_000).contains(args.milliseconds) else {
            throw JobFailure.discard("milliseconds must be within 0...3600000")
        }
        try await Task.sleep(for: .milliseconds(args.milliseconds))
    }
}
