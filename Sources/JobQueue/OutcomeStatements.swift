import PostgresNIO

/// Marks a batch of a worker's jobs completed and adds them to its per-minute counts: prepared
/// once per connection (through ``PostgresClient/run(_:logger:)``, which falls back to unnamed
/// statements behind a transaction pooler), as every worker sends it for every batch.
struct CompleteJobsStatement: PostgresPreparedStatement {
    static let sql = """
        WITH completed AS (
            UPDATE jobs SET state = 'completed', finalized_at = now(), lease_expires_at = NULL
            FROM unnest($1::int8[], $2::int8[]) AS done(id, attempt)
            WHERE jobs.id = done.id AND jobs.attempt = done.attempt AND jobs.state = 'running'
            RETURNING jobs.queue
        ),
        counted AS (
            SELECT queue, $3::text AS worker, count(*)::int AS completed, 0 AS failed, 0 AS discarded
            FROM completed GROUP BY queue
        )
        \(OutcomeCounts.adding(from: "counted"))
        """
    static let bindingDataTypes: [PostgresDataType] = [.int8Array, .int8Array, .text]
    /// The statement returns no rows.
    typealias Row = Int64

    /// In lock order (``JobAttempt/lockOrder(_:)``).
    let jobs: [JobAttempt]
    let workerID: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 3)
        bindings.append(jobs.map(\.id))
        bindings.append(jobs.map { Int64($0.attempt) })
        bindings.append(workerID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { 0 }
}

/// Records failed attempts — each retryable after its delay, or discarded when it has none (a
/// negative delay) — and adds them to the worker's per-minute counts; prepared as
/// ``CompleteJobsStatement``.
struct FailJobsStatement: PostgresPreparedStatement {
    static let sql = """
        WITH failed AS (
            UPDATE jobs SET
                state = CASE WHEN f.retry_after < 0 THEN 'discarded'::job_state ELSE 'retryable'::job_state END,
                run_at = now() + greatest(f.retry_after, 0) * interval '1 second',
                finalized_at = CASE WHEN f.retry_after < 0 THEN now() END,
                lease_expires_at = NULL,
                errors = errors || jsonb_build_object('attempt', jobs.attempt, 'at', \(SQLTime.nowJSON), 'error', f.error)
            FROM unnest($1::int8[], $2::int8[], $3::text[], $4::float8[]) AS f(id, attempt, error, retry_after)
            WHERE jobs.id = f.id AND jobs.attempt = f.attempt AND jobs.state = 'running'
            RETURNING jobs.queue, jobs.state
        ),
        counted AS (
            SELECT queue, $5::text AS worker, 0 AS completed,
                   (count(*) FILTER (WHERE state = 'retryable'))::int AS failed, (count(*) FILTER (WHERE state = 'discarded'))::int AS discarded
            FROM failed GROUP BY queue
        )
        \(OutcomeCounts.adding(from: "counted"))
        """
    static let bindingDataTypes: [PostgresDataType] = [.int8Array, .int8Array, .textArray, .float8Array, .text]
    /// The statement returns no rows.
    typealias Row = Int64

    /// By job id (lock order).
    let failures: [CompletionBatcher.Failure]
    let workerID: String

    func makeBindings() throws -> PostgresBindings {
        var bindings = PostgresBindings(capacity: 5)
        bindings.append(failures.map(\.job.id))
        bindings.append(failures.map { Int64($0.job.attempt) })
        bindings.append(failures.map(\.error))
        bindings.append(failures.map { $0.retryAfter?.seconds ?? -1 })
        bindings.append(workerID)
        return bindings
    }

    func decodeRow(_ row: PostgresRow) throws -> Int64 { 0 }
}
