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

    /// Claims up to `limit` runnable jobs of `queue` unless it is paused, best priority first.
    func claim(queue: String, limit: Int, lease: Duration) async throws -> [ClaimedJob] {
        try await withDeadline(deadline, "claiming jobs") { [client, workerID, logger] in
            let rows = try await client.query(
                """
                WITH next AS (
                    SELECT id FROM jobs
                    WHERE state = 'available' AND queue = \(queue)
                      AND NOT EXISTS (SELECT 1 FROM job_queues WHERE name = \(queue) AND paused)
                    ORDER BY priority, run_at, id
                    LIMIT \(limit)
                    FOR UPDATE SKIP LOCKED
                )
                UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, attempted_at = now(),
                                attempted_by = \(workerID), lease_expires_at = now() + \(lease.seconds) * interval '1 second'
                FROM next WHERE jobs.id = next.id
                RETURNING jobs.id, jobs.kind, jobs.args::text, jobs.attempt::int8, jobs.max_attempts::int8, jobs.priority::int8,
                          extract(epoch FROM now() - jobs.run_at)::float8
                """, logger: logger)
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
    }

    /// Marks finished jobs completed. A job that was cancelled, rescued or re-claimed meanwhile
    /// (its attempt or state no longer match) is left alone.
    func complete(_ jobs: [JobAttempt]) async throws {
        try await withDeadline(deadline, "recording finished jobs") { [client, logger] in
            _ = try await client.query(
                """
                UPDATE jobs SET state = 'completed', finalized_at = now(), lease_expires_at = NULL
                FROM unnest(\(jobs.map(\.id))::int8[], \(jobs.map(\.attempt))::int8[]) AS done(id, attempt)
                WHERE jobs.id = done.id AND jobs.attempt = done.attempt AND jobs.state = 'running'
                """, logger: logger)
        }
    }

    /// Gives jobs back, runnable, without counting the attempt: for jobs that a shutdown interrupted.
    func release(_ jobs: [JobAttempt]) async throws {
        try await withDeadline(deadline, "giving jobs back") { [client, logger] in
            _ = try await client.query(
                """
                WITH released AS (
                    UPDATE jobs SET state = 'available', attempt = jobs.attempt - 1, attempted_by = NULL, lease_expires_at = NULL
                    FROM unnest(\(jobs.map(\.id))::int8[], \(jobs.map(\.attempt))::int8[]) AS r(id, attempt)
                    WHERE jobs.id = r.id AND jobs.attempt = r.attempt AND jobs.state = 'running'
                    RETURNING jobs.queue
                )
                SELECT pg_notify('creditops_jobs', queue) FROM (SELECT DISTINCT queue FROM released) AS q
                """, logger: logger)
        }
    }

    /// Records a failed attempt: retryable after `retryAfter`, or discarded when `retryAfter` is nil.
    /// A job that is no longer ours (cancelled, rescued) is left alone.
    func fail(_ job: JobAttempt, error: String, retryAfter: Duration?) async throws {
        try await withDeadline(deadline, "recording a failed attempt") { [client, logger] in
            _ = try await client.query(
                """
                UPDATE jobs SET
                    state = CASE WHEN \(retryAfter == nil) THEN 'discarded'::job_state ELSE 'retryable'::job_state END,
                    run_at = now() + coalesce(\(retryAfter?.seconds)::float8, 0) * interval '1 second',
                    finalized_at = CASE WHEN \(retryAfter == nil) THEN now() END,
                    lease_expires_at = NULL,
                    errors = errors || jsonb_build_object('attempt', attempt, 'at', \(unescaped: SQLTime.nowJSON), 'error', \(error)::text)
                WHERE id = \(job.id) AND attempt = \(job.attempt) AND state = 'running'
                """, logger: logger)
        }
    }

    /// Extends the leases of jobs still running here; returns those that are no longer ours.
    func extendLeases(_ jobs: [JobAttempt], lease: Duration) async throws -> Set<Int64> {
        try await withDeadline(min(deadline, lease), "renewing leases") { [client, workerID, logger] in
            let rows = try await client.query(
                """
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
}

/// A job and the attempt a worker claimed: the pair that proves the row is still that worker's.
struct JobAttempt: Sendable, Hashable {
    let id: Int64
    let attempt: Int
}

enum SQLTime {
    /// The current time as an ISO 8601 string with milliseconds, for timestamps kept inside jsonb.
    static let nowJSON = #"to_char(now() AT TIME ZONE 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.MS"Z"')"#
}
