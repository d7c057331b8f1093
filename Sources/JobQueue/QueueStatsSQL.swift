/// The queues' counts without reading the finished history: every pending state and the failed
/// ones are counted through their partial indexes (`jobs_claim`, `jobs_lease`, `jobs_due`,
/// `jobs_waiting`, `jobs_failed`), so the cost follows the work waiting, not the jobs kept; the
/// completed ones come from the workers' per-minute counts of the last 24 hours. (It used to be one
/// `GROUP BY` over the whole table: 100,000 finished jobs made every view of `/ops` cost ~45 ms.)
enum QueueStatsSQL {
    static let query = """
        WITH counts AS (
            SELECT queue, 'available'::job_state AS state, count(*) AS n FROM jobs WHERE state = 'available' GROUP BY queue
            UNION ALL SELECT queue, 'running', count(*) FROM jobs WHERE state = 'running' GROUP BY queue
            UNION ALL SELECT queue, state, count(*) FROM jobs WHERE state IN ('scheduled', 'retryable') GROUP BY queue, state
            UNION ALL SELECT queue, 'waiting', count(*) FROM jobs WHERE state = 'waiting' GROUP BY queue
            UNION ALL SELECT queue, state, count(*) FROM jobs WHERE state IN ('discarded', 'cancelled') GROUP BY queue, state
            UNION ALL SELECT queue, 'completed', sum(completed) FROM job_outcome_counts
                      WHERE minute > now() - interval '1 day' GROUP BY queue
        ),
        names AS (SELECT DISTINCT queue AS name FROM counts UNION SELECT name FROM job_queues)
        SELECT names.name, coalesce(q.paused, false),
               coalesce(sum(n) FILTER (WHERE state = 'available'), 0)::int8,
               coalesce(sum(n) FILTER (WHERE state = 'scheduled'), 0)::int8,
               coalesce(sum(n) FILTER (WHERE state = 'running'), 0)::int8,
               coalesce(sum(n) FILTER (WHERE state = 'retryable'), 0)::int8,
               coalesce(sum(n) FILTER (WHERE state = 'completed'), 0)::int8,
               coalesce(sum(n) FILTER (WHERE state = 'discarded'), 0)::int8,
               coalesce(sum(n) FILTER (WHERE state = 'cancelled'), 0)::int8,
               (SELECT extract(epoch FROM now() - min(run_at))::float8 FROM jobs
                 WHERE jobs.queue = names.name AND state = 'available'),
               q.concurrency_limit::int8, q.rate_limit::int8, q.rate_period_seconds,
               coalesce(sum(n) FILTER (WHERE state = 'waiting'), 0)::int8
        FROM names LEFT JOIN job_queues q ON q.name = names.name LEFT JOIN counts ON counts.queue = names.name
        GROUP BY names.name, q.paused, q.concurrency_limit, q.rate_limit, q.rate_period_seconds ORDER BY names.name
        """
}
