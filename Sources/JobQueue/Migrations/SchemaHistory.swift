public import Logging
public import PostgresNIO

/// Applies the steps of one schema's history that a database lacks, each in its own
/// transaction, recording each step's version and checksum in the history's own table.
///
/// Safe to run again (a no-op once current) and from several processes at once: an advisory
/// lock per history makes the second wait for the first. JobQueue keeps its history in
/// `jobqueue_migrations` (``JobQueue/migrate(on:logger:)``); an application may keep its own
/// beside it with another table and lock.
public struct SchemaHistory: Sendable {
    /// What a migration did.
    public struct Report: Sendable, Hashable {
        /// The version before.
        public var from: Int
        /// The version after.
        public var to: Int
        /// The steps applied now, in order.
        public var applied: [Int]
    }

    /// Where the applied steps are recorded.
    public let table: String
    /// The steps, in order.
    public let steps: [MigrationStep]
    /// Names the history's lock among the database's advisory locks.
    public let lockKey: Int64
    /// The file the steps come from and the program that carries them, for errors.
    let source: String, program: String

    /// A history recorded in `table`, with steps read from `source`, shipped by `program`.
    public init(table: String, steps: [MigrationStep], lockKey: Int64, source: String, program: String) {
        self.table = table
        self.steps = steps
        self.lockKey = lockKey
        self.source = source
        self.program = program
    }

    /// The version a fully migrated database has.
    public var latestVersion: Int { steps.last?.version ?? 0 }

    /// Brings the database up to the latest step, holding the history's lock meanwhile.
    /// - Throws: ``MigrationError`` when an applied step's text changed, or the database is newer
    ///   than this program.
    @discardableResult
    public func migrate(on connection: PostgresConnection, logger: Logger) async throws -> Report {
        // Session-level: released when the connection closes, even if the process dies.
        try await connection.query("SELECT pg_advisory_lock(\(lockKey))", logger: logger)
        do {
            let report = try await applyMissing(on: connection, logger: logger)
            try await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
            return report
        } catch {
            try? await connection.query("SELECT pg_advisory_unlock(\(lockKey))", logger: logger)
            throw error
        }
    }

    private func applyMissing(on connection: PostgresConnection, logger: Logger) async throws -> Report {
        try await connection.query(
            PostgresQuery(unsafeSQL: """
                CREATE TABLE IF NOT EXISTS \(table) (
                    version     integer     PRIMARY KEY,
                    description text        NOT NULL,
                    checksum    text        NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now()
                )
                """), logger: logger)
        var applied: [Int: String] = [:]
        for try await (version, checksum) in try await connection.query(
            PostgresQuery(unsafeSQL: "SELECT version, checksum FROM \(table)"), logger: logger
        ).decode((Int, String).self) {
            applied[version] = checksum
        }
        let from = applied.keys.max() ?? 0
        if from > latestVersion {
            throw MigrationError(
                "the database is at \(table) version \(from), newer than this \(program)'s \(latestVersion): upgrade \(program)")
        }
        var report = Report(from: from, to: from, applied: [])
        for step in steps {
            if let checksum = applied[step.version] {
                guard checksum == step.checksum else {
                    throw MigrationError(
                        "\(source) step \(step.version) (\(step.description)) was changed after it was applied: add a new step to \(source) instead of editing an applied one")
                }
                continue
            }
            logger.info("Applying schema step", metadata: ["schema.history": "\(table)", "schema.version": "\(step.version)", "schema.step": "\(step.description)"])
            try await connection.withTransaction(logger: logger) { transaction in
                try await transaction.query(try Self.wrap(step), logger: logger)
                var record = PostgresQuery(unsafeSQL: "INSERT INTO \(table) (version, description, checksum) VALUES ($1, $2, $3)")
                record.binds.append(step.version)
                record.binds.append(step.description)
                record.binds.append(step.checksum)
                try await transaction.query(record, logger: logger)
            }
            report.applied.append(step.version)
            report.to = step.version
        }
        return report
    }

    /// The version recorded in the database; 0 when it was never migrated.
    public func currentVersion(_ client: PostgresClient, logger: Logger) async throws -> Int {
        var exists = PostgresQuery(unsafeSQL: "SELECT to_regclass($1) IS NOT NULL")
        exists.binds.append(table)
        for try await present in try await client.query(exists, logger: logger).decode(Bool.self) where !present { return 0 }
        let rows = try await client.query(PostgresQuery(unsafeSQL: "SELECT coalesce(max(version), 0) FROM \(table)"), logger: logger)
        for try await version in rows.decode(Int.self) { return version }
        return 0
    }

    /// A step holds many statements, and PostgresNIO speaks only the extended protocol, which takes
    /// one statement per query: so the step runs as one `DO` block that EXECUTEs the whole text.
    static func wrap(_ step: MigrationStep) throws -> PostgresQuery {
        let tag = "$migration_step$"
        guard !step.sql.contains(tag) else {
            throw MigrationError("schema step \(step.version) must not contain \(tag)")
        }
        return PostgresQuery(unsafeSQL: "DO $migration_run$ BEGIN EXECUTE \(tag)\(step.sql)\(tag); END $migration_run$")
    }
}
