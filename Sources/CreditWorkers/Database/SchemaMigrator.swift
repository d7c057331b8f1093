public import JobQueue
public import Logging
public import PostgresNIO

/// Brings a database to CreditOps' schema: the steps of `schema.sql` it lacks (recorded in
/// `schema_migrations`), then the queue's own (``JobQueue/migrate(on:logger:)``, recorded in
/// `jobqueue_migrations`). The application's steps come first because its early steps created
/// the queue's tables before the queue had a history of its own; the queue's first step adopts
/// them as they are.
///
/// Safe to run again (a no-op once current) and from several processes at once.
public struct SchemaMigrator: Sendable {
    /// What a migration did: to the application's steps (`from`, `to`, `applied`) and the queue's.
    public struct Report: Sendable, Hashable {
        /// The application's version before.
        public var from: Int
        /// The application's version after.
        public var to: Int
        /// The application's steps applied now, in order.
        public var applied: [Int]
        /// What happened to the queue's own history.
        public var queue: SchemaHistory.Report
    }

    let client: PostgresClient
    let history: SchemaHistory
    let logger: Logger

    /// A migrator for the embedded schema (or other steps, for tests).
    public init(client: PostgresClient, steps: [SchemaStep] = Schema.steps, logger: Logger) {
        self.client = client
        self.history = Schema.history(steps)
        self.logger = logger
    }

    /// Brings the database up to the latest step of both histories.
    /// - Throws: `MigrationError` when an applied step's text changed, or the database is newer
    ///   than this binary.
    @discardableResult
    public func migrate() async throws -> Report {
        try await client.withConnection { [history, logger] connection in
            let report = try await history.migrate(on: connection, logger: logger)
            let queue = try await JobQueue.migrate(on: connection, logger: logger)
            return Report(from: report.from, to: report.to, applied: report.applied, queue: queue)
        }
    }

    /// The version of `schema.sql` recorded in the database; 0 when it was never migrated.
    public func currentVersion() async throws -> Int {
        try await history.currentVersion(client, logger: logger)
    }

}
