public import Logging
public import PostgresNIO
public import ServiceLifecycle
import Metrics
import Synchronization

/// Keeps the queue moving: makes scheduled and retryable jobs runnable when their time comes and
/// publishes queue depths. Every worker process runs it (each statement claims its rows with
/// `SKIP LOCKED`, so nothing is done twice), so scheduled jobs start on time even while the
/// leader is being replaced. The rescue of jobs whose worker vanished is a leader duty:
/// ``rescueDuty``.
public struct QueueMaintenanceService: Service {
    /// How often maintenance runs.
    public struct Configuration: Sendable {
        /// The longest a due scheduled or retryable job waits to become runnable. Default: 1 second.
        public var promoteInterval: Duration
        /// How often the leader looks for expired leases. Default: 5 seconds.
        public var rescueInterval: Duration
        /// The most rows one statement changes, so no statement holds locks for long. Default: 1000.
        public var batchSize: Int
        /// A rescue that finds the previous one (by any leader) longer ago than this does not take
        /// the jobs whose lease ran out in between: it gives them a fresh lease instead. A gap that
        /// long means PostgreSQL was frozen or unreachable, or the leader stalled or changed: the
        /// workers could not renew meanwhile, and a finished job's outcome may still be on its way,
        /// so a lease that expired then proves nothing. Keep it below two thirds of the shortest
        /// lease. Default: twice ``rescueInterval``, at least 1 second.
        public var rescueGap: Duration
        /// Starts the names of the queue-depth gauges. Default: `jobqueue_`.
        public var metricsPrefix: String

        /// Creates a configuration; every parameter has the default stated on its property.
        public init(
            promoteInterval: Duration = .seconds(1), rescueInterval: Duration = .seconds(5), batchSize: Int = 1000,
            rescueGap: Duration? = nil, metricsPrefix: String = "jobqueue_"
        ) {
            self.metricsPrefix = metricsPrefix
            self.promoteInterval = promoteInterval
            self.rescueInterval = rescueInterval
            self.batchSize = batchSize
            self.rescueGap = rescueGap ?? max(rescueInterval * 2, .seconds(1))
        }
    }

    let client: PostgresClient
    let configuration: Configuration
    let logger: Logger
    /// Queues whose gauges were published, so that one that empties is set back to 0.
    private let published = PublishedQueues()

    /// Creates the service; nothing runs until `run()`.
    public init(client: PostgresClient, configuration: Configuration = .init(), logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    public func run() async throws {
        var sinceDepths = Duration.seconds(5)
        while !Task.isShuttingDownGracefully && !Task.isCancelled {
            do {
                try await promoteDue()
                if sinceDepths >= .seconds(5) {
                    sinceDepths = .zero
                    try await publishDepths()
                }
            } catch {
                logger.warning("Queue maintenance failed; retrying", metadata: ["error": "\(String(reflecting: error))"])
            }
            try? await cancelWhenGracefulShutdown { try await Task.sleep(for: configuration.promoteInterval) }
            sinceDepths += configuration.promoteInterval
        }
    }

    /// The rescue of jobs whose worker vanished, every ``Configuration/rescueInterval``: a duty
    /// for the ``LeaderElection``.
    public var rescueDuty: LeaderDuty {
        .every(configuration.rescueInterval, name: "rescue", logger: logger) { try await rescueExpired() }
    }

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
                )
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

    /// Depth and the age of the oldest runnable job per queue, for dashboards and alerts; a queue
    /// that emptied reads 0, not its last depth.
    private func publishDepths() async throws {
        let depth = configuration.metricsPrefix + "queue_depth", oldest = configuration.metricsPrefix + "queue_oldest_available_seconds"
        let seen = try await withDeadline(StatementDeadline.standard, "reading queue depths") { [client, logger] in
            let rows = try await client.query("""
                SELECT queue, count(*)::int8, extract(epoch FROM now() - min(run_at))::float8
                FROM jobs WHERE state = 'available' GROUP BY queue
                """, logger: logger)
            var seen = Set<String>()
            for try await (queue, count, age) in rows.decode((String, Int64, Double).self) {
                seen.insert(queue)
                Gauge(label: depth, dimensions: [("queue", queue)]).record(count)
                Gauge(label: oldest, dimensions: [("queue", queue)]).record(age)
            }
            return seen
        }
        for queue in published.withLock({ $0.subtracting(seen) }) {
            Gauge(label: depth, dimensions: [("queue", queue)]).record(0)
            Gauge(label: oldest, dimensions: [("queue", queue)]).record(0)
        }
        published.withLock { $0.formUnion(seen) }
    }
}

/// A set shared by copies of the service.
private final class PublishedQueues: Sendable {
    private let queues = Mutex<Set<String>>([])

    func withLock<T>(_ body: (inout Set<String>) -> T) -> T {
        queues.withLock { body(&$0) }
    }
}
