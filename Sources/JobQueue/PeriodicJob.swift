public import Foundation

/// When a periodic job runs: a cron schedule in a time zone, or a fixed interval.
public enum PeriodicSchedule: Sendable, Hashable, CustomStringConvertible {
    /// Runs at the times a cron expression matches.
    case cron(CronSchedule)
    /// Runs at every whole multiple of the interval since the Unix epoch (for short test and
    /// heartbeat schedules; at least one second).
    case every(Duration)

    /// The first run time strictly after `date`.
    public func next(after date: Date) -> Date? {
        switch self {
        case .cron(let cron): return cron.next(after: date)
        case .every(let interval):
            let seconds = max(1, interval.seconds)
            return Date(timeIntervalSince1970: (floor(date.timeIntervalSince1970 / seconds) + 1) * seconds)
        }
    }

    /// The latest run time at or before `date`.
    public func previous(atOrBefore date: Date) -> Date? {
        switch self {
        case .cron(let cron): return cron.previous(atOrBefore: date)
        case .every(let interval):
            let seconds = max(1, interval.seconds)
            return Date(timeIntervalSince1970: floor(date.timeIntervalSince1970 / seconds) * seconds)
        }
    }

    public var description: String {
        switch self {
        case .cron(let cron): cron.description
        case .every(let interval): "every \(interval)"
        }
    }
}

/// A job enqueued by the leader once per period of its schedule.
public struct PeriodicJob: Sendable {
    /// Names the job in `periodic_jobs` and in its unique keys; keep it stable across releases.
    public let name: String
    /// When it runs.
    public let schedule: PeriodicSchedule
    /// The job to enqueue for the period that starts at the given time.
    public let makeJob: @Sendable (_ scheduledAt: Date) throws -> NewJob

    /// Creates a periodic job.
    public init(name: String, schedule: PeriodicSchedule, makeJob: @escaping @Sendable (_ scheduledAt: Date) throws -> NewJob) {
        self.name = name
        self.schedule = schedule
        self.makeJob = makeJob
    }

    /// The unique key of the job for one period.
    public func uniqueKey(for scheduledAt: Date) -> String {
        "periodic:\(name):\(Int64(scheduledAt.timeIntervalSince1970))"
    }
}
