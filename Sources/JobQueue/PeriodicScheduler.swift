public import Logging
public import PostgresNIO
public import Foundation

/// Enqueues periodic jobs, once per period each: a leader duty.
///
/// On becoming leader it catches up: for each job whose most recent due time has not been
/// enqueued, it enqueues that one run; runs missed before it are skipped (and logged). Then it
/// sleeps until the next due time. A period is enqueued by moving `periodic_jobs.last_scheduled_at`
/// forward and inserting the job in one transaction, so two leaders or a restart can never
/// enqueue the same period twice.
public struct PeriodicScheduler: Sendable {
    let queue: JobQueue
    let jobs: [PeriodicJob]
    let logger: Logger
    /// The clock periods are read on; nil: PostgreSQL's (`now()`), so that hosts whose clocks
    /// disagree agree on when a period is due, as they agree on `run_at`.
    let now: (@Sendable () -> Date)?

    /// Creates the scheduler.
    /// - Parameter now: a clock for tests; by default the database's.
    public init(queue: JobQueue, jobs: [PeriodicJob], logger: Logger, now: (@Sendable () -> Date)? = nil) {
        self.queue = queue
        self.jobs = jobs
        self.logger = logger
        self.now = now
    }

    /// The duty to give a ``LeaderElection``.
    public var duty: LeaderDuty {
        LeaderDuty(name: "periodic jobs") { await self.run() }
    }

    func run() async {
        guard !jobs.isEmpty else { return await sleepUntilCancelled() }
        var failures = 0
        // Periods this leader has seen through: a late wake-up (a stalled process, a busy
        // machine) enqueues every period it slept past, not just the latest. Only on becoming
        // leader does the catch-up rule skip older missed periods.
        var seenThrough: [String: Date] = [:]
        while !Task.isCancelled {
            var current: Date?
            do {
                current = try await currentTime()
                try await enqueueDue(after: &seenThrough, at: current!)
                failures = 0
            } catch {
                failures += 1
                logger.warning("Enqueueing periodic jobs failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
            }
            // Wake at the next due time, but at least every 30 s (a clock jump then costs little)
            // and after a pause when the database is away.
            var delay = min(Double(failures), 10)
            if failures == 0, let current {
                let wake = jobs.compactMap { $0.schedule.next(after: current) }.min() ?? current.addingTimeInterval(60)
                delay = min(max(wake.timeIntervalSince(current), 0.01), 30)
            }
            try? await Task.sleep(for: .milliseconds(Int64(delay * 1000)))
        }
    }

    /// Enqueues, for every job, its latest due period if not enqueued yet (the catch-up rule).
    /// - Returns: the jobs enqueued now, by periodic job name.
    @discardableResult
    public func enqueueDue() async throws -> [String: Int64] {
        var nothingSeen: [String: Date] = [:]
        return try await enqueueDue(after: &nothingSeen, at: try await currentTime())
    }

    /// The injected clock's time, or the database's.
    private func currentTime() async throws -> Date {
        if let now { return now() }
        return try await withDeadline(StatementDeadline.standard, "reading the database's time") { [queue, logger] in
            for try await time in try await queue.client.query("SELECT now()", logger: logger).decode(Date.self) { return time }
            return Date()
        }
    }

    /// Enqueues every period due after `seenThrough[job]` (at most 100 per job), or only the
    /// latest due one for jobs it has no entry for; then records what it saw through.
    private func enqueueDue(after seenThrough: inout [String: Date], at current: Date) async throws -> [String: Int64] {
        var enqueued: [String: Int64] = [:]
        for job in jobs {
            guard let latest = job.schedule.previous(atOrBefore: current) else { continue }
            var due: [Date] = [latest]
            if let seen = seenThrough[job.name] {
                due = []
                var next = job.schedule.next(after: seen)
                while let period = next, period <= latest, due.count < 100 {
                    due.append(period)
                    next = job.schedule.next(after: period)
                }
            }
            for period in due {
                if let id = try await enqueueOnce(job, scheduledAt: period, now: current) { enqueued[job.name] = id }
            }
            seenThrough[job.name] = latest
        }
        return enqueued
    }

    private func enqueueOnce(_ job: PeriodicJob, scheduledAt due: Date, now current: Date) async throws -> Int64? {
        let next = job.schedule.next(after: current)
        let newJob = try job.makeJob(due)
        var uniqueJob = newJob
        uniqueJob.uniqueKey = job.uniqueKey(for: due)
        let result: (Int64, Date?)? = try await withDeadline(StatementDeadline.standard, "enqueuing a periodic job") {
            [queue, logger, uniqueJob] in
            try await queue.client.withTransaction(logger: logger) { connection in
                let rows = try await connection.query(
                    """
                    WITH previous AS (SELECT last_scheduled_at FROM periodic_jobs WHERE name = \(job.name) FOR UPDATE)
                    INSERT INTO periodic_jobs (name, schedule, last_scheduled_at, next_run_at)
                    VALUES (\(job.name), \(job.schedule.description), \(due), \(next))
                    ON CONFLICT (name) DO UPDATE SET last_scheduled_at = excluded.last_scheduled_at, schedule = excluded.schedule,
                        next_run_at = excluded.next_run_at, updated_at = now()
                    WHERE periodic_jobs.last_scheduled_at IS NULL OR periodic_jobs.last_scheduled_at < excluded.last_scheduled_at
                    RETURNING (SELECT last_scheduled_at FROM previous)
                    """, logger: logger)
                var moved = false
                var previous: Date?
                for try await last in rows.decode(Date?.self) {
                    moved = true
                    previous = last
                }
                guard moved else { return nil }
                let id = try await queue.enqueue(uniqueJob, on: connection)
                try await connection.query("UPDATE periodic_jobs SET last_job_id = \(id) WHERE name = \(job.name)", logger: logger)
                return (id, previous)
            }
        }
        guard let (id, previous) = result else { return nil }
        var metadata: Logger.Metadata = ["periodic.name": "\(job.name)", "periodic.scheduled_at": "\(due)", "job.id": "\(id)"]
        if let previous, let expected = job.schedule.next(after: previous), expected < due {
            // Runs between the last enqueued one and this one were missed while no leader ran.
            metadata["periodic.skipped_from"] = "\(expected)"
            logger.info("Enqueued the latest missed periodic run; skipped older missed runs", metadata: metadata)
        } else {
            logger.debug("Enqueued periodic job", metadata: metadata)
        }
        return id
    }

    private func sleepUntilCancelled() async {
        while !Task.isCancelled { try? await Task.sleep(for: .seconds(3600)) }
    }
}
