public import CreditDomain
public import Foundation
public import JobQueue
import Logging

/// The daily planning run: every reminder planner for the day of the period it was scheduled
/// for. A leader that catches up a missed morning plans that morning's day, not today's.
public struct ReminderJobs: Sendable {
    public struct Arguments: Codable, Sendable {
        /// Unix seconds of the scheduled run; nil for now.
        public var at: Double?
    }

    public static let defaultSchedule = try! CronSchedule("0 7 * * *")

    let planner: ReminderPlanner

    public var plan: JobDefinition<Arguments> {
        JobDefinition(kind: "reminders.plan", queue: ReminderPlanner.queue, maxAttempts: 10, timeout: .seconds(1800)) { args, context in
            let now = Date()
            let day = CalendarDate(unixTime: args.at ?? now.timeIntervalSince1970)
            for report in try await planner.planAll(day: day, now: now) {
                context.logger.info("Planned reminders", metadata: [
                    "planner": "\(report.planner.rawValue)", "day": "\(report.day)", "created": "\(report.created)",
                    "already_planned": "\(report.alreadyPlanned)", "without_phone": "\(report.withoutPhone)",
                ])
            }
        }
    }

    public static func daily(_ schedule: CronSchedule) -> PeriodicJob {
        PeriodicJob(name: "reminders-plan", schedule: .cron(schedule)) { scheduledAt in
            NewJob(kind: "reminders.plan", argsJSON: #"{"at":\#(scheduledAt.timeIntervalSince1970)}"#,
                   queue: ReminderPlanner.queue, maxAttempts: 10)
        }
    }
}
