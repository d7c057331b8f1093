public import Logging
public import PostgresNIO

/// Deletes finished jobs past their retention in bounded batches, so the jobs table stays small
/// under constant load: a leader duty.
public struct JobPruner: Sendable {
    /// Retention and pace.
    public struct Configuration: Sendable {
        /// How long completed and cancelled jobs are kept. Default: 3 days.
        public var completedRetention: Duration
        /// How long discarded jobs are kept, for people to look into. Default: 30 days.
        public var discardedRetention: Duration
        /// Rows per DELETE, so no statement holds locks for long. Default: 1000.
        public var batchSize: Int
        /// Pause between pruning rounds. Default: 30 seconds.
        public var interval: Duration

        /// Creates a configuration; every parameter has the default stated on its property.
        public init(
            completedRetention: Duration = .seconds(3 * 86_400), discardedRetention: Duration = .seconds(30 * 86_400),
            batchSize: Int = 1000, interval: Duration = .seconds(30)
        ) {
            self.completedRetention = completedRetention
            self.discardedRetention = discardedRetention
            self.batchSize = batchSize
            self.interval = interval
        }
    }

    let client: PostgresClient
    let configuration: Configuration
    let logger: Logger

    /// Creates the pruner.
    public init(client: PostgresClient, configuration: Configuration = .init(), logger: Logger) {
        self.client = client
        self.configuration = configuration
        self.logger = logger
    }

    /// The duty to give a ``LeaderElection``.
    public var duty: LeaderDuty {
        .every(configuration.interval, name: "pruning", logger: logger) { try await pruneOnce() }
    }

    /// Deletes every job past its retention, batch by batch, until a batch comes back short: a
    /// round always catches up, however far behind it starts (a backlog after an outage, a
    /// retention made shorter), yet no single statement holds its locks for long. Between
    /// batches it stops if its task is cancelled (leadership lost, shutdown).
    /// - Returns: how many rows were deleted.
    @discardableResult
    public func pruneOnce() async throws -> Int {
        var total = 0
        while !Task.isCancelled {
            let deleted = try await withDeadline(StatementDeadline.pruning, "pruning finished jobs") { [client, configuration, logger] in
                try await client.withTransaction(logger: logger) { connection in
                // Longer than the queue connections' statement_timeout (a batch may wait on locks), as long as its deadline.
                try await connection.query(
                    PostgresQuery(unsafeSQL: "SET LOCAL statement_timeout = \(StatementDeadline.pruning.components.seconds * 1000)"), logger: logger)
                let rows = try await connection.query(
                    """
                    WITH expired AS (
                        SELECT id FROM jobs
                        WHERE (state IN ('completed', 'cancelled') AND finalized_at < now() - \(configuration.completedRetention.seconds) * interval '1 second')
                           OR (state = 'discarded' AND finalized_at < now() - \(configuration.discardedRetention.seconds) * interval '1 second')
                        ORDER BY finalized_at LIMIT \(configuration.batchSize)
                        FOR UPDATE SKIP LOCKED
                    ),
                    deleted AS (DELETE FROM jobs USING expired WHERE jobs.id = expired.id RETURNING 1)
                    SELECT count(*)::int8 FROM deleted
                    """, logger: logger)
                var deleted = 0
                for try await count in rows.decode(Int64.self) { deleted = Int(count) }
                return deleted
                }
            }
            total += deleted
            if deleted < configuration.batchSize { break }
        }
        try await withDeadline(StatementDeadline.standard, "pruning outcome counts") { [client, logger] in
            _ = try await client.query(
                "DELETE FROM job_outcome_counts WHERE minute < now() - \(unescaped: OutcomeCounts.retention)", logger: logger)
        }
        if total > 0 { logger.debug("Pruned finished jobs", metadata: ["jobs.count": "\(total)"]) }
        return total
    }
}
