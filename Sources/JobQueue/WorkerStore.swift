import Foundation
import Logging
import PostgresNIO

/// The SQL of a worker's hot path, one statement per round trip.
struct WorkerStore: Sendable {
    let client: PostgresClient
    let workerID: String
    let logger: Logger
    /// The longest any of these statements may take (see ``withDeadline(_:_:_:)``).
    var deadline = StatementDeadline.standard

    /// Claims up to `limit` runnable jobs of `queue` unless it is paused, best priority first. A
    /// queue with limits (``JobQueue/setLimits(queue:concurrency:rate:)``) is claimed under its
    /// row's lock, so that workers take turns and each sees the others' claims.
    func claim(queue: String, limit: Int, lease: Duration, limited: Bool) async throws -> [ClaimedJob] {
        try await withDeadline(min(deadline, StatementDeadline.claim), "claiming jobs") { [client, workerID, logger] in
            let taking = """
                UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, attempted_at = now(),
                                attempted_by = $1, lease_expires_at = now() + $2 * interval '1 second'
                FROM next WHERE jobs.id = next.id
                RETURNING jobs.id, jobs.kind, jobs.args::text, jobs.attempt::int8, jobs.max_attempts::int8, jobs.priority::int8,
                          extract(epoch FROM now() - jobs.run_at)::float8
                """
            var binds = PostgresBindings()
            binds.append(workerID)
            binds.append(lease.seconds)
            binds.append(queue)
            binds.append(limit)
            guard limited else {
                // The claim below without its limits, as a function (schema step 6): planned once per connection.
                let rows = try await client.query(PostgresQuery(unsafeSQL: """
                    SELECT id, kind, args, attempt, max_attempts, priority, waited_seconds FROM jobqueue_claim($1, $2, $3, $4::int)
                    """, binds: binds), logger: logger)
                return try await Self.claimed(rows, queue: queue, limit: limit)
            }
            // The lock first, in a statement of its own: the claim's snapshot is then taken after
            // every earlier claim of this queue committed, so its count of running jobs is true.
            return try await client.withTransaction(logger: logger) { connection in
                try await connection.query("SELECT 1 FROM job_queues WHERE name = \(queue) FOR UPDATE", logger: logger)
                let rows = try await connection.query(PostgresQuery(unsafeSQL: """
                    WITH q AS (
                        SELECT concurrency_limit, rate_limit,
                               CASE WHEN window_started_at > now() - rate_period_seconds * interval '1 second'
                                    THEN window_starts ELSE 0 END AS started
                        FROM job_queues WHERE name = $3
                    ),
                    next AS (
                        SELECT id FROM jobs
                        WHERE state = 'available' AND queue = $3 AND NOT EXISTS (SELECT 1 FROM job_queues WHERE name = $3 AND paused)
                        ORDER BY priority, run_at, id
                        LIMIT (SELECT greatest(0, least($4,
                                   coalesce(concurrency_limit - (SELECT count(*) FROM jobs WHERE queue = $3 AND state = 'running'), $4),
                                   coalesce(rate_limit - started, $4))) FROM q)
                        FOR UPDATE SKIP LOCKED
                    ),
                    counted AS (
                        UPDATE job_queues SET
                            window_starts = (SELECT count(*) FROM next) + (SELECT started FROM q),
                            window_started_at = CASE WHEN (SELECT started FROM q) > 0 THEN window_started_at ELSE now() END
                        WHERE name = $3 AND rate_limit IS NOT NULL AND EXISTS (SELECT 1 FROM next)
                    )
                    \(taking)
                    """, binds: binds), logger: logger)
                return try await Self.claimed(rows, queue: queue, limit: limit)
            }
        }
    }

    private static func claimed(_ rows: PostgresRowSequence, queue: String, limit: Int) async throws -> [ClaimedJob] {
        var claimed: [ClaimedJob] = []
        claimed.reserveCapacity(limit)
        for try await (id, kind, args, attempt, maxAttempts, priority, wait) in rows.decode(
            (Int64, String, String, Int64, Int64, Int64, Double).self)
        {
            claimed.append(ClaimedJob(
                id: id, queue: queue, kind: kind, argsJSON: args, attempt: Int(attempt), maxAttempts: Int(maxAttempts),
                priority: Int(priority), queueWaitSeconds: max(0, wait)))
        }
        // The UPDATE returns rows in no particular order; start the most urgent first.
        claimed.sort { ($0.priority, $0.id) < ($1.priority, $1.id) }
        return claimed
    }

    /// The worker's queues that have a concurrency or rate limit.
    func limitedQueues(_ queues: [String]) async throws -> Set<String> {
        try await withDeadline(deadline, "reading queue limits") { [client, logger] in
            let rows = try await client.query("""
                SELECT name FROM job_queues
                WHERE name = ANY(\(queues)::text[]) AND (concurrency_limit IS NOT NULL OR rate_limit IS NOT NULL)
                """, logger: logger)
            var limited = Set<String>()
            for try await name in rows.decode(String.self) { limited.insert(name) }
            return limited
        }
    }

    /// Marks finished jobs completed. A job that was cancelled, rescued or re-claimed meanwhile
    /// (its attempt or state no longer match) is left alone.
    func complete(_ unsorted: [JobAttempt]) async throws {
        let jobs = JobAttempt.lockOrder(unsorted)
        try await withDeadline(deadline, "recording finished jobs") { [client, workerID, logger] in
            _ = try await client.query(
                """
                WITH completed AS (
                    UPDATE jobs SET state = 'completed', finalized_at = now(), lease_expires_at = NULL
                    FROM unnest(\(jobs.map(\.id))::int8[], \(jobs.map(\.attempt))::int8[]) AS done(id, attempt)
                    WHERE jobs.id = done.id AND jobs.attempt = done.attempt AND jobs.state = 'running'
                    RETURNING jobs.queue
                ),
                counted AS (
                    SELECT queue, \(workerID)::text AS worker, count(*)::int AS completed, 0 AS failed, 0 AS discarded
                    FROM completed GROUP BY queue
                )
                \(unescaped: OutcomeCounts.adding(from: "counted"))
                """, logger: logger)
        }
    }

    /// Gives jobs back, runnable, without using up an attempt: for jobs that a shutdown interrupted.
    /// The attempt number stays (one more attempt is allowed instead, as a snooze does): outcomes
    /// are fenced by (id, attempt), and a number used twice would let a late outcome of the
    /// interrupted run settle the next one.
    func release(_ unsorted: [JobAttempt]) async throws {
        let jobs = JobAttempt.lockOrder(unsorted)
        try await withDeadline(deadline, "giving jobs back") { [client, logger] in
            _ = try await client.query(
                """
                WITH released AS (
                    UPDATE jobs SET state = 'available', max_attempts = jobs.max_attempts + 1, attempted_by = NULL, lease_expires_at = NULL
                    FROM unnest(\(jobs.map(\.id))::int8[], \(jobs.map(\.attempt))::int8[]) AS r(id, attempt)
                    WHERE jobs.id = r.id AND jobs.attempt = r.attempt AND jobs.state = 'running'
                    RETURNING jobs.queue
                )
                SELECT pg_notify(\(QueueSQL.jobsChannel), queue) FROM (SELECT DISTINCT queue FROM released) AS q
                """, logger: logger)
        }
    }

    /// Records failed attempts: each retryable after its `retryAfter`, or discarded when it is nil.
    /// A job that is no longer ours (cancelled, rescued) is left alone.
    func fail(_ unsorted: [CompletionBatcher.Failure]) async throws {
        let failures = unsorted.sorted { $0.job.id < $1.job.id }
        try await withDeadline(deadline, "recording failed attempts") { [client, workerID, logger] in
            _ = try await client.query(
                """
                WITH failed AS (
                    UPDATE jobs SET
                        state = CASE WHEN f.retry_after < 0 THEN 'discarded'::job_state ELSE 'retryable'::job_state END,
                        run_at = now() + greatest(f.retry_after, 0) * interval '1 second',
                        finalized_at = CASE WHEN f.retry_after < 0 THEN now() END,
                        lease_expires_at = NULL,
                        errors = errors || jsonb_build_object('attempt', jobs.attempt, 'at', \(unescaped: SQLTime.nowJSON), 'error', f.error)
                    FROM unnest(\(failures.map(\.job.id))::int8[], \(failures.map(\.job.attempt))::int8[], \(failures.map(\.error))::text[],
                                \(failures.map { $0.retryAfter?.seconds ?? -1 })::float8[]) AS f(id, attempt, error, retry_after)
                    WHERE jobs.id = f.id AND jobs.attempt = f.attempt AND jobs.state = 'running'
                    RETURNING jobs.queue, jobs.state
                ),
                counted AS (
                    SELECT queue, \(workerID)::text AS worker, 0 AS completed,
                           (count(*) FILTER (WHERE state = 'retryable'))::int AS failed, (count(*) FILTER (WHERE state = 'discarded'))::int AS discarded
                    FROM failed GROUP BY queue
                )
                \(unescaped: OutcomeCounts.adding(from: "counted"))
                """, logger: logger)
        }
    }

    /// Records the worker's heartbeat and extends the leases of jobs still running here (or whose
    /// outcome is not written yet), in one statement; returns the jobs that are no longer ours.
    func heartbeat(_ beat: WorkerHeartbeat, extending unsorted: [JobAttempt], lease: Duration) async throws -> Set<Int64> {
        let jobs = JobAttempt.lockOrder(unsorted)
        return try await withDeadline(min(deadline, lease), "renewing leases") { [client, workerID, logger] in
            let rows = try await client.query(
                """
                WITH beat AS (
                    INSERT INTO queue_workers (id, host, pid, queues, concurrency, lease_seconds, running)
                    VALUES (\(workerID), \(WorkerHeartbeat.host), \(WorkerHeartbeat.pid), \(beat.queues)::text[],
                            \(beat.concurrency), \(beat.lease.seconds), \(beat.running))
                    ON CONFLICT (id) DO UPDATE SET host = excluded.host, pid = excluded.pid, queues = excluded.queues,
                        concurrency = excluded.concurrency, lease_seconds = excluded.lease_seconds,
                        last_seen_at = now(), running = excluded.running
                )
                UPDATE jobs SET lease_expires_at = now() + \(lease.seconds) * interval '1 second'
                FROM unnest(\(jobs.map(\.id))::int8[], \(jobs.map(\.attempt))::int8[]) AS r(id, attempt)
                WHERE jobs.id = r.id AND jobs.attempt = r.attempt AND jobs.state = 'running' AND jobs.attempted_by = \(workerID)
                RETURNING jobs.id
                """, logger: logger)
            var kept = Set<Int64>()
            for try await id in rows.decode(Int64.self) { kept.insert(id) }
            return Set(jobs.map(\.id)).subtracting(kept)
        }
    }

    /// Removes the worker from `queue_workers` when it stops with nothing left to write.
    func signOff() async throws {
        try await withDeadline(deadline, "signing off") { [client, workerID, logger] in
            _ = try await client.query("DELETE FROM queue_workers WHERE id = \(workerID)", logger: logger)
        }
    }

    /// Snoozes jobs: each runs again after its delay, with one more attempt allowed.
    func snooze(_ jobs: [(job: JobAttempt, delay: Duration)]) async throws {
        try await withDeadline(deadline, "snoozing jobs") { [client, logger] in
            _ = try await client.query(
                """
                WITH snoozed AS (
                    UPDATE jobs SET
                        state = CASE WHEN s.delay > 0 THEN 'scheduled'::job_state ELSE 'available'::job_state END,
                        -- One more attempt allowed rather than this one taken back: (id, attempt) then
                        -- never names two claims, so a late, repeated write of this snooze cannot
                        -- touch the job's next claim.
                        run_at = now() + s.delay * interval '1 second', max_attempts = jobs.max_attempts + 1,
                        attempted_by = NULL, lease_expires_at = NULL
                    FROM unnest(\(jobs.map(\.job.id))::int8[], \(jobs.map(\.job.attempt))::int8[], \(jobs.map(\.delay.seconds))::float8[])
                        AS s(id, attempt, delay)
                    WHERE jobs.id = s.id AND jobs.attempt = s.attempt AND jobs.state = 'running'
                    RETURNING jobs.queue, jobs.state
                )
                SELECT pg_notify(\(QueueSQL.jobsChannel), queue) FROM (SELECT DISTINCT queue FROM snoozed WHERE state = 'available') AS q
                """, logger: logger)
        }
    }
}

/// What a worker's heartbeat records of it in `queue_workers`.
struct WorkerHeartbeat: Sendable {
    static let host = ProcessInfo.processInfo.hostName
    static let pid = Int(ProcessInfo.processInfo.processIdentifier)

    var queues: [String]
    var concurrency: Int
    var lease: Duration
    var running: Int
}

/// A job and the attempt a worker claimed: the pair that proves the row is still that worker's.
struct JobAttempt: Sendable, Hashable {
    let id: Int64
    let attempt: Int

    /// By id: statements that update many of a worker's rows lock them in one order, so that a
    /// completion and a lease renewal never deadlock (seen in `bench queue` before this).
    static func lockOrder(_ jobs: [JobAttempt]) -> [JobAttempt] {
        jobs.sorted { $0.id < $1.id }
    }
}

enum SQLTime {
    /// The current time as an ISO 8601 string with milliseconds, for timestamps kept inside jsonb.
    static let nowJSON = #"to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
}
