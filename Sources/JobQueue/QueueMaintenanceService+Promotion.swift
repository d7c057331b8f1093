import Logging
import PostgresNIO

extension QueueMaintenanceService {
    /// Scheduled and retryable jobs whose time has come become available (and wake workers).
    /// - Returns: how many jobs were promoted.
    @discardableResult
    public func promoteDue() async throws -> Int {
        var total = 0
        for _ in 0..<100 {
            let count = try await withDeadline(StatementDeadline.standard, "promoting due jobs") { [client, configuration, logger] in
                let rows = try await client.query(
                    """
                    WITH due AS (
                        SELECT id FROM jobs WHERE state IN ('scheduled', 'retryable') AND run_at <= now()
                        ORDER BY run_at LIMIT \(configuration.batchSize) FOR UPDATE SKIP LOCKED
                    ),
                    promoted AS (
                        UPDATE jobs SET state = 'available' FROM due WHERE jobs.id = due.id RETURNING jobs.queue
                    )
                    SELECT count(*)::int8, (SELECT count(pg_notify(\(QueueSQL.jobsChannel), queue)) FROM (SELECT DISTINCT queue FROM promoted) q)
                    FROM promoted
                    """, logger: logger)
                var count = 0
                for try await (promoted, _) in rows.decode((Int64, Int64).self) { count = Int(promoted) }
                return count
            }
            total += count
            if count < configuration.batchSize { break }
        }
        return total
    }

    /// Waiting jobs whose dependencies all completed become runnable (or scheduled, if their time
    /// has not come); those with a dependency discarded or cancelled are cancelled, naming it, and
    /// so in turn are the jobs that wait for them. Round after round until nothing changes: a
    /// cancellation reaches the next job of a chain in the next round.
    /// - Returns: how many jobs were released and how many cancelled.
    @discardableResult
    public func settleDependencies() async throws -> (released: Int, cancelled: Int) {
        var total = (released: 0, cancelled: 0)
        for _ in 0..<100 {
            let round = try await withDeadline(StatementDeadline.standard, "settling dependencies") { [client, configuration, logger] in
                let rows = try await client.query(
                    """
                    WITH ready AS (
                        SELECT id FROM jobs waiter WHERE state = 'waiting'
                          AND NOT EXISTS (SELECT 1 FROM jobs parent WHERE parent.id = ANY(waiter.depends_on) AND parent.state <> 'completed')
                        ORDER BY id LIMIT \(configuration.batchSize) FOR UPDATE SKIP LOCKED
                    ),
                    released AS (
                        UPDATE jobs SET state = CASE WHEN run_at > now() THEN 'scheduled'::job_state ELSE 'available'::job_state END
                        FROM ready WHERE jobs.id = ready.id
                        RETURNING jobs.queue, jobs.state
                    ),
                    doomed AS (
                        SELECT waiter.id, failed.id AS parent, failed.state AS parent_state FROM jobs waiter
                        CROSS JOIN LATERAL (
                            SELECT id, state FROM jobs parent
                            WHERE parent.id = ANY(waiter.depends_on) AND parent.state IN ('discarded', 'cancelled') ORDER BY id LIMIT 1
                        ) failed
                        WHERE waiter.state = 'waiting'
                        ORDER BY waiter.id LIMIT \(configuration.batchSize) FOR UPDATE OF waiter SKIP LOCKED
                    ),
                    cancelled AS (
                        UPDATE jobs SET state = 'cancelled', finalized_at = now(),
                            errors = errors || jsonb_build_object('attempt', attempt, 'at', \(unescaped: SQLTime.nowJSON),
                                'error', 'job ' || doomed.parent || ', which this job depends on, was ' || doomed.parent_state)
                        FROM doomed WHERE jobs.id = doomed.id
                        RETURNING jobs.id
                    )
                    SELECT (SELECT count(*) FROM released)::int8, (SELECT count(*) FROM cancelled)::int8,
                           (SELECT count(pg_notify(\(QueueSQL.jobsChannel), queue)) FROM (SELECT DISTINCT queue FROM released WHERE state = 'available') q)
                    """, logger: logger)
                var round = (released: 0, cancelled: 0)
                for try await (released, cancelled, _) in rows.decode((Int64, Int64, Int64).self) {
                    round = (Int(released), Int(cancelled))
                }
                return round
            }
            total.released += round.released
            total.cancelled += round.cancelled
            if round.released == 0 && round.cancelled == 0 { break }
        }
        if total.cancelled > 0 {
            logger.info("Cancelled jobs whose dependencies failed", metadata: ["jobs.count": "\(total.cancelled)"])
        }
        return total
    }
}
