import Foundation
public import Logging
public import PostgresNIO

/// The job queue: enqueue jobs and manage them. A cheap value to pass around.
///
/// Workers that run the jobs are ``WorkerService``s; both share the database's `jobs` table, so
/// any number of processes on any number of hosts can enqueue and work on the same queues.
///
/// > Warning: The `PostgresClient` must be running (its `run()` in a task or `ServiceGroup`).
public struct JobQueue: Sendable {
    /// The database client, shared with the caller.
    public let client: PostgresClient
    /// The kinds known to this process, used to fill defaults and check arguments.
    public let registry: JobRegistry
    let logger: Logger
    /// The longest a call that uses ``client`` waits for PostgreSQL before it throws
    /// ``QueueError/Code/timedOut``, so that a stalled server cannot hang a CLI command or an HTTP
    /// request. Calls `on` the caller's connection run under the caller's control. Default: 15 seconds.
    public var deadline: Duration

    /// Creates the façade.
    public init(client: PostgresClient, registry: JobRegistry, logger: Logger, deadline: Duration = .seconds(15)) {
        self.client = client
        self.registry = registry
        self.logger = logger
        self.deadline = deadline
    }

    func bounded<T: Sendable>(_ what: String, _ operation: @escaping @Sendable () async throws -> T) async throws -> T {
        try await withDeadline(deadline, what, operation)
    }

    // MARK: - Enqueue

    /// Enqueues one job of a registered definition and returns its id (or, for a unique key held
    /// by a pending job, that job's id).
    @discardableResult
    public func enqueue<Args>(_ definition: JobDefinition<Args>, _ args: Args, options: EnqueueOptions = .init()) async throws -> Int64 {
        try await enqueue(NewJob(definition, args, options: options))
    }

    /// Enqueues one job inside the caller's transaction: it exists only if that transaction commits.
    @discardableResult
    public func enqueue<Args>(
        _ definition: JobDefinition<Args>, _ args: Args, options: EnqueueOptions = .init(), on connection: PostgresConnection
    ) async throws -> Int64 {
        try await enqueue(NewJob(definition, args, options: options), on: connection)
    }

    // MARK: - Managing jobs

    /// Cancels a pending job. A running job's worker is told at once and cancels its task.
    /// - Returns: the state the job was in.
    /// - Throws: ``QueueError`` when there is no such job or it has already finished.
    @discardableResult
    public func cancel(jobID: Int64) async throws -> JobState {
        try await bounded("cancelling a job") {
            let rows = try await client.query(
                """
                WITH target AS (SELECT id, state FROM jobs WHERE id = \(jobID) FOR UPDATE),
                changed AS (
                    UPDATE jobs SET state = 'cancelled', finalized_at = now(), lease_expires_at = NULL
                    FROM target WHERE jobs.id = target.id AND target.state IN \(unescaped: QueueSQL.pendingStates)
                    RETURNING jobs.id
                )
                SELECT target.state::text, (SELECT count(*) FROM changed),
                       CASE WHEN target.state = 'running' THEN pg_notify(\(QueueSQL.cancelChannel), target.id::text) END IS NULL
                FROM target
                """, logger: logger)
            for try await (state, changed, _) in rows.decode((String, Int64, Bool).self) {
                let previous = JobState(rawValue: state) ?? .cancelled
                guard changed == 1 else {
                    throw QueueError(.invalidState, jobID: jobID, "job \(jobID) is already \(previous.rawValue) and cannot be cancelled")
                }
                return previous
            }
            throw QueueError(.notFound, jobID: jobID, "no job with id \(jobID)")
        }
    }

    /// Makes a discarded, cancelled, retryable or scheduled job runnable now, with one more
    /// attempt allowed if it had used them all. A job with dependencies waits for them again
    /// (and is cancelled again if one of them still failed).
    /// - Throws: ``QueueError`` when there is no such job, it is pending already, or another pending
    ///   job holds its unique key.
    public func retry(jobID: Int64) async throws {
        try await bounded("retrying a job") {
            do {
                let rows = try await client.query(
                    """
                    WITH target AS (SELECT id, state FROM jobs WHERE id = \(jobID) FOR UPDATE),
                    changed AS (
                        UPDATE jobs SET state = CASE WHEN depends_on = '{}' THEN 'available'::job_state ELSE 'waiting'::job_state END,
                                        run_at = now(), finalized_at = NULL,
                                        max_attempts = greatest(max_attempts, attempt + 1)
                        FROM target WHERE jobs.id = target.id
                          AND target.state IN ('discarded', 'cancelled', 'retryable', 'scheduled')
                        RETURNING jobs.queue
                    )
                    SELECT target.state::text, (SELECT count(*) FROM changed),
                           (SELECT pg_notify(\(QueueSQL.jobsChannel), queue) FROM changed) IS NULL
                    FROM target
                    """, logger: logger)
                for try await (state, changed, _) in rows.decode((String, Int64, Bool).self) {
                    guard changed == 1 else {
                        throw QueueError(.invalidState, jobID: jobID, "job \(jobID) is \(state) and cannot be retried")
                    }
                    return
                }
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" {
                throw QueueError(.invalidState, jobID: jobID, "job \(jobID) cannot be retried: another pending job holds its unique key")
            }
            throw QueueError(.notFound, jobID: jobID, "no job with id \(jobID)")
        }
    }

    /// One job, with every attempt's error.
    public func job(id: Int64) async throws -> JobRecord {
        try await bounded("reading a job") {
            let rows = try await client.query(
                "SELECT \(unescaped: JobRecord.columns) FROM jobs WHERE id = \(id)", logger: logger)
            for try await row in rows { return try JobRecord(row: row) }
            throw QueueError(.notFound, jobID: id, "no job with id \(id)")
        }
    }

    /// Jobs matching a filter, newest first.
    public func jobs(_ filter: JobFilter = .init()) async throws -> [JobRecord] {
        try await bounded("listing jobs") {
            var records: [JobRecord] = []
            for try await row in try await matching(filter, columns: JobRecord.columns) { records.append(try JobRecord(row: row)) }
            return records
        }
    }

    /// The ids of the jobs matching a filter, newest first (its limit, at most 1,000).
    func jobIDs(_ filter: JobFilter) async throws -> [Int64] {
        try await bounded("listing job ids") {
            var ids: [Int64] = []
            for try await id in try await matching(filter, columns: "id").decode(Int64.self) { ids.append(id) }
            return ids
        }
    }

    /// `columns` of the jobs matching a filter, newest first: the one place a filter becomes SQL.
    private func matching(_ filter: JobFilter, columns: String) async throws -> PostgresRowSequence {
        let limit = min(max(filter.limit, 1), 1000)
        return try await client.query(
            """
            SELECT \(unescaped: columns) FROM jobs
            WHERE (\(filter.state?.rawValue)::job_state IS NULL OR state = \(filter.state?.rawValue)::job_state)
              AND (\(filter.queue)::text IS NULL OR queue = \(filter.queue))
              AND (\(filter.kind)::text IS NULL OR kind = \(filter.kind))
              AND (\(filter.beforeID)::int8 IS NULL OR id < \(filter.beforeID))
              AND (\(filter.createdAfter)::timestamptz IS NULL OR created_at >= \(filter.createdAfter))
              AND (\(filter.createdBefore)::timestamptz IS NULL OR created_at < \(filter.createdBefore))
              AND (\(filter.meta?.key)::text IS NULL OR meta ->> \(filter.meta?.key) = ANY(\(filter.meta?.values ?? [])::text[]))
              AND (cardinality(\(filter.tags)::text[]) = 0 OR (tags <> '{}' AND tags @> \(filter.tags)::text[]))
              AND (\(filter.metaMatchesJSON)::text = '{}' OR meta @> \(filter.metaMatchesJSON)::jsonb)
              AND (\(filter.argsContaining)::jsonb IS NULL OR args @> \(filter.argsContaining)::jsonb)
              AND (\(filter.argsValue)::text IS NULL
                   OR (jsonb_typeof(args) = 'object' AND EXISTS (SELECT 1 FROM jsonb_each_text(args) AS a WHERE a.value = \(filter.argsValue))))
            ORDER BY id DESC LIMIT \(limit)
            """, logger: logger)
    }

    /// Counts by state of every queue that has pending or failed jobs, finished jobs in the last
    /// day, or a setting; `completed` is of the last 24 hours. Cheap however long the history: see
    /// ``QueueStatsSQL``.
    public func stats() async throws -> [QueueStats] {
        try await bounded("counting jobs") {
            let rows = try await client.query(PostgresQuery(unsafeSQL: QueueStatsSQL.query), logger: logger)
            var result: [QueueStats] = []
            for try await row in rows {
                let (name, paused, available, scheduled, running, retryable, completed, discarded, cancelled, oldest) = try row.decode(
                    (String, Bool, Int64, Int64, Int64, Int64, Int64, Int64, Int64, Double?).self)
                let cells = row.makeRandomAccess()
                let period = try cells[12].decode(Double?.self) ?? 1
                let rate = try cells[11].decode(Int64?.self).map { RateLimit(starts: Int($0), per: .milliseconds(Int64(period * 1000))) }
                result.append(QueueStats(
                    queue: name, paused: paused, available: Int(available), scheduled: Int(scheduled), running: Int(running),
                    retryable: Int(retryable), completed: Int(completed), discarded: Int(discarded), cancelled: Int(cancelled),
                    oldestAvailableAgeSeconds: oldest, concurrencyLimit: try cells[10].decode(Int64?.self).map(Int.init), rateLimit: rate,
                    waiting: Int(try cells[13].decode(Int64.self))))
            }
            return result
        }
    }

    /// The current leader, if any holds an unexpired claim.
    public func leader(election: String = "default") async throws -> LeaderInfo? {
        try await bounded("reading the leader") {
            let rows = try await client.query(
                "SELECT leader_id, elected_at, expires_at FROM queue_leaders WHERE name = \(election) AND expires_at > now()",
                logger: logger)
            for try await (id, electedAt, expiresAt) in rows.decode((String, Date, Date).self) {
                return LeaderInfo(id: id, electedAt: electedAt, expiresAt: expiresAt)
            }
            return nil
        }
    }

    /// Every periodic job the leaders have scheduled, with its last and next run.
    public func periodicJobs() async throws -> [PeriodicJobInfo] {
        try await bounded("reading periodic jobs") {
            let rows = try await client.query(
                """
                SELECT p.name, p.schedule, p.last_scheduled_at, p.last_job_id, j.state::text, p.next_run_at
                FROM periodic_jobs p LEFT JOIN jobs j ON j.id = p.last_job_id ORDER BY p.name
                """, logger: logger)
            var result: [PeriodicJobInfo] = []
            for try await (name, schedule, last, jobID, state, next) in rows.decode((String, String, Date?, Int64?, String?, Date?).self) {
                result.append(PeriodicJobInfo(
                    name: name, schedule: schedule, lastScheduledAt: last, lastJobID: jobID,
                    lastJobState: state.flatMap(JobState.init(rawValue:)), nextRunAt: next))
            }
            return result
        }
    }

    /// Pauses a queue: workers start nothing new from it; running jobs finish.
    public func pause(queue: String) async throws {
        try await setPaused(queue: queue, paused: true)
    }

    /// Limits a queue across every worker: at most `concurrency` of its jobs run at once, and at
    /// most `rate.starts` start per `rate.period` (a fixed window). nil lifts a limit. Workers
    /// learn of a change within their poll interval.
    public func setLimits(queue: String, concurrency: Int?, rate: RateLimit?) async throws {
        guard QueueName.isValid(queue) else {
            throw QueueError(.invalidArgument, "queue '\(queue)' is invalid: use 1 to 128 letters, digits, '_', '-' or '.'")
        }
        if let concurrency, concurrency < 1 { throw QueueError(.invalidArgument, "a concurrency limit must be at least 1, not \(concurrency)") }
        if let rate, rate.starts < 1 || rate.period <= .zero {
            throw QueueError(.invalidArgument, "a rate limit needs at least 1 start per a period longer than 0")
        }
        try await bounded("limiting a queue") { [client, logger] in
            try await client.query(
                """
                INSERT INTO job_queues (name, concurrency_limit, rate_limit, rate_period_seconds)
                VALUES (\(queue), \(concurrency), \(rate?.starts), \(rate?.period.seconds))
                ON CONFLICT (name) DO UPDATE SET concurrency_limit = excluded.concurrency_limit, rate_limit = excluded.rate_limit,
                    rate_period_seconds = excluded.rate_period_seconds, updated_at = now()
                """, logger: logger)
        }
    }

    /// Resumes a paused queue and wakes its workers.
    public func resume(queue: String) async throws {
        try await setPaused(queue: queue, paused: false)
    }

    private func setPaused(queue: String, paused: Bool) async throws {
        try await bounded("pausing or resuming a queue") {
            guard QueueName.isValid(queue) else {
                throw QueueError(.invalidArgument, "queue '\(queue)' is invalid: use 1 to 128 letters, digits, '_', '-' or '.'")
            }
            try await client.query(
                """
                WITH upsert AS (
                    INSERT INTO job_queues (name, paused) VALUES (\(queue), \(paused))
                    ON CONFLICT (name) DO UPDATE SET paused = excluded.paused, updated_at = now()
                    RETURNING name
                )
                SELECT pg_notify(\(QueueSQL.jobsChannel), name) FROM upsert
                """, logger: logger)
        }
    }
}
