public import PostgresNIO

extension PostgresClient.Configuration {
    /// The same server for the queue's own statements (claims, renewals, outcomes, rescue,
    /// leadership): a pool of their own, so that handlers holding every connection of the
    /// application's pool cannot starve a lease renewal, and server-side limits that match the
    /// queue's own deadlines, so that a statement the worker stopped waiting for is cancelled by
    /// PostgreSQL too instead of committing later.
    ///
    /// ```swift
    /// let queueClient = PostgresClient(configuration: configuration.forQueue(), backgroundLogger: logger)
    /// ```
    public func forQueue(maximumConnections: Int = 10) -> PostgresClient.Configuration {
        var copy = self
        copy.options.maximumConnections = maximumConnections
        copy.options.additionalStartupParameters += [
            ("statement_timeout", "\(StatementDeadline.standard.components.seconds * 1000)"),
            ("idle_in_transaction_session_timeout", "\(StatementDeadline.pruning.components.seconds * 1000)"),
            ("application_name", QueueConnections.applicationName),
        ]
        return copy
    }
}

/// What identifies the queue's connections on the server (`pg_stat_activity.application_name`).
public enum QueueConnections {
    public static let applicationName = "jobqueue"
}
