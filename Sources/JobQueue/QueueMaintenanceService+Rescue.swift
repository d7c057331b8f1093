import Logging
import PostgresNIO

extension QueueMaintenanceService {
    /// Running jobs whose lease expired, or whose worker's heartbeat is older than its lease,
    /// become available again, counting the attempt, or
    /// discarded when they have no attempts left; batch after batch until a batch comes back
    /// short, as promotion does (one batch per interval left a crashed busy fleet's jobs waiting).
    /// - Returns: how many jobs were rescued.
    @discardableResult
    public func rescueExpired() async throws -> Int {
        var total = 0
        for _ in 0..<100 {
            let count = try await rescueBatch()
            total += count
            if count < configuration.batchSize { break }
        }
        if total > 0 {
            logger.info("Rescued jobs whose worker vanished", metadata: ["jobs.count": "\(total)"])
        }
        try await forgetSilentWorkers()
        return total
    }

    /// Workers silent for an hour (and ten leases) are gone: their jobs were rescued long ago.
    private func forgetSilentWorkers() async throws {
        try await withDeadline(StatementDeadline.standard, "forgetting silent workers") { [client, logger] in
            _ = try await client.query(
                "DELETE FROM queue_workers WHERE last_seen_at < now() - greatest(3600, 10 * lease_seconds) * interval '1 second'",
                logger: logger)
        }
    }

    private func rescueBatch() async throws -> Int {
        try await withDeadline(StatementDeadline.standard, "rescuing expired jobs") { [client, configuration, logger] in
            // One statement, so that a rescue sent just before PostgreSQL froze, and run when it
            // thaws, still sees the gap. Two rescues at once (an old leader's, in flight through a
            // freeze, and its successor's): the one that does not get the lock does nothing. Rows
            // are taken FOR UPDATE, so that a heartbeat or renewal committed after this statement's
            // snapshot still counts. After
            // a gap, the jobs whose lease ran out during it (and the workers whose heartbeat did)
            // get two of their worker's leases, time to reconnect a whole pool; what had run out
            // before it, while this rescue was watching, is rescued as usual — so a leader slowed
            // down by load postpones nothing for long.
            let rows = try await client.query(
                """
                WITH exclusive AS (SELECT pg_try_advisory_xact_lock(\(Self.rescueLock)) AS held),
                previous AS (SELECT ticked_at FROM queue_rescue_clock),
                gap AS (
                    SELECT coalesce((SELECT now() - ticked_at FROM previous) > \(configuration.rescueGap.seconds) * interval '1 second', false)
                               AS found,
                           coalesce((SELECT ticked_at FROM previous), '-infinity') AS since
                    FROM exclusive WHERE held
                ),
                tick AS (
                    INSERT INTO queue_rescue_clock (ticked_at) SELECT now() FROM exclusive WHERE held
                    ON CONFLICT (singleton) DO UPDATE SET ticked_at = excluded.ticked_at
                ),
                fresh_heartbeats AS (
                    UPDATE queue_workers SET last_seen_at = greatest(last_seen_at, now())
                    WHERE (SELECT found FROM gap) AND last_seen_at + lease_seconds * interval '1 second' > (SELECT since FROM gap)
                    RETURNING id
                ),
                fresh_leases AS (
                    UPDATE jobs SET lease_expires_at = greatest(lease_expires_at, now() + 2 * coalesce(
                        (SELECT lease_seconds FROM queue_workers w WHERE w.id = jobs.attempted_by), \(configuration.rescueGap.seconds)
                    ) * interval '1 second')
                    WHERE state = 'running' AND (SELECT found FROM gap) AND lease_expires_at > (SELECT since FROM gap)
                    RETURNING id
                ),
                silent AS (
                    SELECT id, last_seen_at FROM queue_workers
                    WHERE last_seen_at < now() - lease_seconds * interval '1 second' AND (SELECT held FROM exclusive)
                      AND id NOT IN (SELECT id FROM fresh_heartbeats)
                    FOR UPDATE SKIP LOCKED
                ),
                expired AS (
                    SELECT id, lease_expires_at < now() AS lapsed FROM jobs
                    WHERE state = 'running' AND (SELECT held FROM exclusive) AND id NOT IN (SELECT id FROM fresh_leases)
                      AND (lease_expires_at < now()
                           -- Only what the worker held at its last heartbeat: a job claimed since is
                           -- the lease's to judge (its worker stops it before the lease runs out).
                           OR EXISTS (SELECT 1 FROM silent WHERE silent.id = jobs.attempted_by AND jobs.attempted_at <= silent.last_seen_at))
                    ORDER BY lease_expires_at LIMIT \(configuration.batchSize) FOR UPDATE SKIP LOCKED
                ),
                rescued AS (
                    UPDATE jobs SET
                        state = CASE WHEN attempt >= max_attempts THEN 'discarded'::job_state ELSE 'available'::job_state END,
                        finalized_at = CASE WHEN attempt >= max_attempts THEN now() END,
                        lease_expires_at = NULL,
                        errors = errors || jsonb_build_object('attempt', attempt, 'at', \(unescaped: SQLTime.nowJSON),
                            'error', 'worker ' || coalesce(attempted_by, 'unknown') || ' vanished: '
                                     || CASE WHEN expired.lapsed THEN 'its lease expired' ELSE 'its heartbeat stopped' END)
                    FROM expired WHERE jobs.id = expired.id
                    RETURNING jobs.id, jobs.queue, jobs.state
                ),
                counted AS (
                    SELECT queue, 'rescue' AS worker, 0 AS completed,
                           (count(*) FILTER (WHERE state = 'available'))::int AS failed, (count(*) FILTER (WHERE state = 'discarded'))::int AS discarded
                    FROM rescued GROUP BY queue
                ),
                recorded AS (\(unescaped: OutcomeCounts.adding(from: "counted")))
                SELECT count(*)::int8, (SELECT count(pg_notify(\(QueueSQL.jobsChannel), queue)) FROM (SELECT DISTINCT queue FROM rescued) q),
                       coalesce((SELECT found FROM gap), false)
                FROM rescued
                """, logger: logger)
            var count = 0
            for try await (rescued, _, gap) in rows.decode((Int64, Int64, Bool).self) {
                count = Int(rescued)
                if gap {
                    logger.notice(
                        "The previous rescue was more than \(configuration.rescueGap) ago (PostgreSQL frozen or away, or a new leader): running jobs get a fresh lease instead of a rescue")
                }
            }
            return count
        }
    }

    /// Names the rescue among the database's advisory locks.
    static let rescueLock: Int64 = 0x4A51_5245_5343_5545
}
