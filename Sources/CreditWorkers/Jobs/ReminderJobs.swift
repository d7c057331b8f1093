public import CreditDomain
public import Foundation
public import JobQueue
public import Logging
import PostgresNIO

/// The daily planning run: every reminder planner for the day of the period it was scheduled
/// for, after the days since the last run that were missed (at most `catch_up_days` back), each
/// as of its own day. What is still useful of a missed day goes out marked "(nhắc muộn)"; what
/// its moment has passed is recorded expired by the delivery.
public struct ReminderJobs: Sendable {
    public struct Arguments: Codable, Sendable {
        /// Unix seconds of the scheduled run; nil for now.
        public var at: Double?
    }

    public static let defaultSchedule = try! CronSchedule(vietnam: "0 7 * * *")

    let planner: ReminderPlanner
    /// The current time; tests move it.
    let clock: @Sendable () -> Date

    public init(planner: ReminderPlanner, clock: @escaping @Sendable () -> Date = Date.init) {
        self.planner = planner
        self.clock = clock
    }

    /// The days to plan when the run is for `target` and the last planned day was `last`: the
    /// missed days after `last` (no more than `catchUpDays` before `target`), then `target`.
    /// Nothing before `target` the first time (there is nothing to catch up on a new install).
    public static func daysToPlan(last: CalendarDate?, target: CalendarDate, catchUpDays: Int) -> [CalendarDate] {
        guard let last, last < target else { return [target] }
        let first = max(last.adding(days: 1).daysSinceEpoch, target.adding(days: -catchUpDays).daysSinceEpoch)
        return (first...target.daysSinceEpoch).map(CalendarDate.init(daysSinceEpoch:))
    }

    public var plan: JobDefinition<Arguments> {
        JobDefinition(kind: "reminders.plan", queue: ReminderPlanner.queue, maxAttempts: 10, timeout: .seconds(1800)) { args, context in
            let now = clock()
            let target = CalendarDate(unixTime: args.at ?? now.timeIntervalSince1970)
            try await planDays(through: target, now: now, logger: context.logger)
        }
    }

    /// Plans `target` and the days missed before it; returns the days planned.
    @discardableResult
    public func planDays(through target: CalendarDate, now: Date, logger: Logger) async throws -> [CalendarDate] {
        let (last, catchUpDays) = try await lastPlannedDay(logger: logger)
        let days = Self.daysToPlan(last: last, target: target, catchUpDays: catchUpDays)
        if days.count > 1 {
            logger.notice("Catching up missed planning days", metadata: [
                "last_planned": "\(last?.iso ?? "never")", "days": "\(days.dropLast().map(\.iso).joined(separator: ","))",
            ])
        }
        for day in days {
            for report in try await planner.planAll(day: day, now: now) {
                logger.info("Planned reminders", metadata: [
                    "planner": "\(report.planner.rawValue)", "day": "\(report.day)", "created": "\(report.created)",
                    "already_planned": "\(report.alreadyPlanned)", "without_phone": "\(report.withoutPhone)",
                    "opted_out": "\(report.optedOut)", "digests": "\(report.digests)",
                ])
            }
            try await planner.client.query(
                "INSERT INTO reminder_plan_days (day) VALUES (\(day.iso)::date) ON CONFLICT (day) DO UPDATE SET planned_at = now()",
                logger: logger)
        }
        return days
    }

    private func lastPlannedDay(logger: Logger) async throws -> (CalendarDate?, Int) {
        let rows = try await planner.client.query(
            "SELECT (SELECT max(day)::text FROM reminder_plan_days), catch_up_days FROM reminder_settings", logger: logger)
        for try await (last, catchUp) in rows.decode((String?, Int).self) {
            return (last.flatMap { CalendarDate(iso: $0) }, catchUp)
        }
        return (nil, 7)
    }

    public static func daily(_ schedule: CronSchedule) -> PeriodicJob {
        PeriodicJob(name: "reminders-plan", schedule: .cron(schedule)) { scheduledAt in
            NewJob(kind: "reminders.plan", argsJSON: #"{"at":\#(scheduledAt.timeIntervalSince1970)}"#,
                   queue: ReminderPlanner.queue, maxAttempts: 10)
        }
    }
}
