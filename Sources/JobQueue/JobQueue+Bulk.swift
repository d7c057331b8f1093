import PostgresNIO

/// What an operator can do to every job a filter matches.
public enum BulkAction: String, Sendable, CaseIterable {
    /// Discarded, cancelled, retryable and scheduled jobs run again now (as ``JobQueue/retry(jobID:)``).
    case retry
    /// Pending jobs are cancelled; running ones are told to stop (as ``JobQueue/cancel(jobID:)``).
    case cancel
    /// Finished jobs (completed, discarded, cancelled) are deleted; pending ones are never touched.
    case delete
}

extension JobQueue {
    /// How many jobs match `filter` (its `limit` and `beforeID` aside), counting at most `cap`.
    public func count(_ filter: JobFilter, cap: Int = 100_000) async throws -> Int {
        var count = 0
        try await forEachBatch(of: filter, cap: cap) { ids in count += ids.count }
        return count
    }

    /// Applies `action` to every job `filter` matches, newest first, in batches of `batchSize`
    /// (each its own statement, so no long transaction holds the table), at most `cap` jobs looked
    /// at. Returns how many jobs changed: those in a state the action does not apply to are left.
    public func bulk(_ action: BulkAction, matching filter: JobFilter, batchSize: Int = 500, cap: Int = 100_000) async throws -> Int {
        var changed = 0
        try await forEachBatch(of: filter, batchSize: batchSize, cap: cap) { ids in
            changed += try await apply(action, to: ids)
        }
        return changed
    }

    /// The ids matching `filter`, a batch at a time, walking down from the newest.
    private func forEachBatch(of filter: JobFilter, batchSize: Int = 1000, cap: Int, _ body: ([Int64]) async throws -> Void) async throws {
        var page = filter
        page.limit = min(max(batchSize, 1), 1000)
        page.beforeID = nil
        var seen = 0
        while seen < cap {
            let ids = try await jobIDs(page)
            guard let lowest = ids.last else { return }
            let batch = Array(ids.prefix(cap - seen))
            try await body(batch)
            seen += batch.count
            page.beforeID = lowest
        }
    }

    private func apply(_ action: BulkAction, to ids: [Int64]) async throws -> Int {
        try await bounded("\(action.rawValue) of a batch of jobs") {
            let sql: PostgresQuery
            switch action {
            case .retry:
                sql = """
                    WITH changed AS (
                        UPDATE jobs SET state = CASE WHEN depends_on = '{}' THEN 'available'::job_state ELSE 'waiting'::job_state END,
                                        run_at = now(), finalized_at = NULL, max_attempts = greatest(max_attempts, attempt + 1)
                        WHERE id = ANY(\(ids)) AND state IN ('discarded', 'cancelled', 'retryable', 'scheduled')
                          -- A job whose unique key another pending job holds stays as it is.
                          AND NOT (unique_key IS NOT NULL AND EXISTS (
                              SELECT 1 FROM jobs other WHERE other.unique_key = jobs.unique_key AND other.id <> jobs.id
                                AND other.state IN \(unescaped: QueueSQL.pendingStates)))
                        RETURNING queue
                    ), woken AS (SELECT pg_notify(\(QueueSQL.jobsChannel), queue) FROM (SELECT DISTINCT queue FROM changed) AS q)
                    SELECT (SELECT count(*) FROM changed)::int8, (SELECT count(*) FROM woken)::int8
                    """
            case .cancel:
                sql = """
                    WITH target AS (SELECT id, state FROM jobs WHERE id = ANY(\(ids)) AND state IN \(unescaped: QueueSQL.pendingStates) FOR UPDATE),
                    changed AS (
                        UPDATE jobs SET state = 'cancelled', finalized_at = now(), lease_expires_at = NULL
                        FROM target WHERE jobs.id = target.id RETURNING jobs.id, target.state AS previous
                    ), told AS (SELECT pg_notify(\(QueueSQL.cancelChannel), id::text) FROM changed WHERE previous = 'running')
                    SELECT (SELECT count(*) FROM changed)::int8, (SELECT count(*) FROM told)::int8
                    """
            case .delete:
                sql = """
                    WITH deleted AS (DELETE FROM jobs WHERE id = ANY(\(ids)) AND state IN ('completed', 'discarded', 'cancelled') RETURNING 1)
                    SELECT count(*)::int8, 0::int8 FROM deleted
                    """
            }
            do {
                for try await (changed, _) in try await client.query(sql, logger: logger).decode((Int64, Int64).self) { return Int(changed) }
                return 0
            } catch let error as PSQLError where error.serverInfo?[.sqlState] == "23505" && action == .retry {
                // Two jobs of this batch share a unique key: one at a time, the second is refused and left.
                var changed = 0
                for id in ids where (try? await retry(jobID: id)) != nil { changed += 1 }
                return changed
            }
        }
    }
}
