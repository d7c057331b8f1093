import PostgresNIO

/// Claims up to `limit` runnable jobs of a queue without limits, unless it is paused: every
/// worker sends it for every fetch, so it is prepared once per connection (see
/// ``CompleteJobsStatement``). Queues with limits are claimed under their row's lock instead
/// (``WorkerStore/claim(queue:limit:lease:limited:)``), sharing ``taking``.
struct ClaimJobsStatement: PostgresPreparedStatement {
    /// Takes the rows of `next` (their ids) for worker `$1` with a lease of `$2` seconds.
    static let taking = """
        UPDATE jobs SET state = 'running', attempt = jobs.attempt + 1, attempted_at = now(),
                        attempted_by = $1, lease_expires_at = now() + $2 * interval '1 second'
        FROM next WHERE jobs.id = next.id
        RETURNING jobs.id, jobs.kind, jobs.args::text, jobs.attempt::int8, jobs.max_attempts::int8, jobs.priority::int8,
                  extract(epoch FROM now() - jobs.run_at)::float8
        """
    static let sql = """
        WITH next AS (
            SELECT id FROM jobs
            WHERE state = 'available' AND queue = $3
              -- A limit this worker has not heard of yet: nothing, until it has.
              AND NOT EXISTS (SELECT 1 FROM job_queues WHERE name = $3
                              AND (paused OR concurrency_limit IS NOT NULL OR rate_limit IS NOT NULL))
            ORDER BY priority, run_at, id
            LIMIT $4
            FOR UPDATE SKIP LOCKED
        )
        \(taking)
        """
    static let bindingDataTypes: [PostgresDataType] = [.text, .float8, .text, .int8]
    typealias Row = ClaimedJob

    let workerID: String
    let leaseSeconds: Double
    let queue: String
    let limit: Int

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 4)
        bindings.append(workerID)
        bindings.append(leaseSeconds)
        bindings.append(queue)
        bindings.append(limit)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> ClaimedJob {
        try Self.job(row, queue: queue)
    }

    /// A row of ``taking``.
    static func job(_ row: PostgresRow, queue: String) throws -> ClaimedJob {
        let (id, kind, args, attempt, maxAttempts, priority, wait) = try row.decode((Int64, String, String, Int64, Int64, Int64, Double).self)
        return ClaimedJob(
            id: id, queue: queue, kind: kind, argsJSON: args, attempt: Int(attempt), maxAttempts: Int(maxAttempts),
            priority: Int(priority), queueWaitSeconds: max(0, wait))
    }
}
