public import Logging
public import PostgresNIO
import Synchronization

extension PostgresClient.Configuration {
    /// The same server for the queue's own statements (claims, renewals, outcomes, rescue,
    /// leadership): a pool of their own, so that handlers holding every connection of the
    /// application's pool cannot starve a lease renewal, and server-side limits that match the
    /// queue's own deadlines, so that a statement the worker stopped waiting for is cancelled by
    /// PostgreSQL too instead of committing later.
    ///
    /// Through a pooler in transaction mode (``QueueConnections/transactionPooling``) the limits
    /// are left out, since PgBouncer refuses startup parameters it does not know: set them on the
    /// role instead (`ALTER ROLE … SET statement_timeout = '15s'`).
    ///
    /// ```swift
    /// let queueClient = PostgresClient(configuration: configuration.forQueue(), backgroundLogger: logger)
    /// ```
    public func forQueue(
        maximumConnections: Int = 10, transactionPooling: Bool = QueueConnections.transactionPooling
    ) -> PostgresClient.Configuration {
        var copy = self
        copy.options.maximumConnections = maximumConnections
        if !transactionPooling {
            copy.options.additionalStartupParameters += [
                ("statement_timeout", "\(StatementDeadline.standard.components.seconds * 1000)"),
                ("idle_in_transaction_session_timeout", "\(StatementDeadline.pruning.components.seconds * 1000)"),
            ]
        }
        copy.options.additionalStartupParameters += [("application_name", QueueConnections.applicationName)]
        return copy
    }
}

/// How the queue's connections reach PostgreSQL.
public enum QueueConnections {
    /// What identifies the queue's connections on the server (`pg_stat_activity.application_name`).
    public static let applicationName = "jobqueue"

    private static let pooled = Atomic<Bool>(false)
    private static let pooledClients = Mutex<Set<ObjectIdentifier>>([])

    /// Whether this process reaches PostgreSQL through a pooler in transaction mode (PgBouncer's
    /// `pool_mode = transaction`), where a session's state does not survive its transaction:
    /// workers then poll instead of `LISTEN` (``WorkerService/Configuration/listens``), and
    /// statements are not prepared by name. Set it before the first query (an application may
    /// set it from its configuration, e.g. `DATABASE_URL=…?pooling=transaction`). For one client of several, use
    /// ``markTransactionPooled(_:)``. Workers also find out on their own that LISTEN does not
    /// work, and ``PostgresClient/run(_:logger:)`` that named statements do not.
    public static var transactionPooling: Bool {
        get { pooled.load(ordering: .relaxed) }
        set { pooled.store(newValue, ordering: .relaxed) }
    }

    /// Says that this one client goes through a pooler in transaction mode.
    public static func markTransactionPooled(_ client: PostgresClient) {
        _ = pooledClients.withLock { $0.insert(ObjectIdentifier(client)) }
    }

    /// Whether `client` must do without named prepared statements.
    public static func isTransactionPooled(_ client: PostgresClient) -> Bool {
        transactionPooling || pooledClients.withLock { $0.contains(ObjectIdentifier(client)) }
    }
}

extension PostgresClient {
    /// Runs a prepared statement: named, so the server plans it once per connection, unless
    /// ``QueueConnections/transactionPooling`` is set, or the server says the named statement is
    /// missing or exists already (a pooler in transaction mode moved us to another connection):
    /// then unnamed, planned each time, for the rest of this client's life.
    public func run<Statement: PostgresPreparedStatement>(
        _ statement: Statement, logger: Logger
    ) async throws -> AsyncThrowingMapSequence<PostgresRowSequence, Statement.Row> {
        if !QueueConnections.isTransactionPooled(self) {
            do {
                return try await execute(statement, logger: logger)
            } catch let error where QueueConnections.lostNamedStatement(error) {
                QueueConnections.stopPreparing(self, after: error, logger: logger)
            }
        }
        return try await query(try statement.unnamed(), logger: logger).map { try statement.decodeRow($0) }
    }
}

extension QueueConnections {
    /// Whether the server says a named prepared statement is missing or exists already: a pooler
    /// in transaction mode moved us to another server connection.
    static func lostNamedStatement(_ error: any Error) -> Bool {
        guard let error = error as? PSQLError else { return false }
        return ["26000", "42P05"].contains(error.serverInfo?[.sqlState])
    }

    /// Prepares nothing by name for `client` from now on, and says so.
    static func stopPreparing(_ client: PostgresClient, after error: any Error, logger: Logger) {
        logger.warning("Named prepared statements do not work on this connection (a pooler in transaction mode?); preparing none from now on",
                       metadata: ["error": "\(String(reflecting: error))"])
        markTransactionPooled(client)
    }
}

extension PostgresPreparedStatement {
    /// The same statement as an unnamed query, planned each time: what a pooler in transaction mode can carry.
    func unnamed() throws -> PostgresQuery {
        PostgresQuery(unsafeSQL: Self.sql, binds: try makeBindings())
    }
}
