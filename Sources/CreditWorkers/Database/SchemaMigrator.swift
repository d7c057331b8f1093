public import Logging
public import PostgresNIO

/// Applies the schema's steps that a database lacks, each in its own transaction, recording
/// each step's version and checksum in `schema_migrations`.
///
/// Safe to run again (a no-op once current) and from several processes at once: an advisory
/// lock makes the second wait for the first.
public struct SchemaMigrator: Sendable {
    /// What a migration did.
    public struct Report: Sendable, Hashable {
        /// The version before.
        public var from: Int
        /// The version after.
        public var to: Int
        /// The steps applied now, in order.
        public var applied: [Int]
    }

    let client: PostgresClient
    let steps: [SchemaStep]
    let logger: Logger

    /// A migrator for the embedded schema (or other steps, for tests).
    public init(client: PostgresClient, steps: [SchemaStep] = Schema.steps, logger: Logger) {
        self.client = client
        self.steps = steps
        self.logger = logger
    }

    /// Brings the database up to the latest step.
    /// - Throws: ``MigrationError`` when an applied step's text changed, or the database is newer
    ///   than this binary.
    @discardableResult
    public func migrate() async throws -> Report {
        try await client.withConnection { connection in
            // Session-level lock: released when the connection closes, even if we crash.
            try await connection.query("SELECT pg_advisory_lock(\(Self.lockKey))", logger: logger)
            do {
                let report = try await migrate(on: connection)
                try await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                return report
            } catch {
                try? await connection.query("SELECT pg_advisory_unlock(\(Self.lockKey))", logger: logger)
                throw error
            }
        }
    }

    private func migrate(on connection: PostgresConnection) async throws -> Report {
            try await connection.query(
                """
                CREATE TABLE IF NOT EXISTS schema_migrations (
                    version     integer     PRIMARY KEY,
                    description text        NOT NULL,
                    checksum    text        NOT NULL,
                    applied_at  timestamptz NOT NULL DEFAULT now()
                )
                """, logger: logger)
            var applied: [Int: String] = [:]
            for try await (version, checksum) in try await connection.query(
                "SELECT version, checksum FROM schema_migrations", logger: logger
            ).decode((Int, String).self) {
                applied[version] = checksum
            }
            let from = applied.keys.max() ?? 0
            if let newest = applied.keys.max(), newest > (steps.last?.version ?? 0) {
                throw MigrationError(
                    "the database is at schema version \(newest), newer than this binary's \(steps.last?.version ?? 0): upgrade creditops")
            }
            var report = Report(from: from, to: from, applied: [])
            for step in steps {
                if let checksum = applied[step.version] {
                    guard checksum == step.checksum else {
                        throw MigrationError(
                            "schema step \(step.version) (\(step.description)) was changed after it was applied: add a new step to schema.sql instead of editing an applied one")
                    }
                    continue
                }
                logger.info("Applying schema step", metadata: ["schema.version": "\(step.version)", "schema.step": "\(step.description)"])
                try await connection.withTransaction(logger: logger) { transaction in
                    try await transaction.query(try Self.wrap(step), logger: logger)
                    try await transaction.query(
                        "INSERT INTO schema_migrations (version, description, checksum) VALUES (\(step.version), \(step.description), \(step.checksum))",
                        logger: logger)
                }
                report.applied.append(step.version)
                report.to = step.version
            }
            return report
    }

    /// The version recorded in the database; 0 when it was never migrated.
    public func currentVersion() async throws -> Int {
        let exists = try await client.query("SELECT to_regclass('schema_migrations') IS NOT NULL", logger: logger)
        for try await present in exists.decode(Bool.self) where !present { return 0 }
        let rows = try await client.query("SELECT coalesce(max(version), 0) FROM schema_migrations", logger: logger)
        for try await version in rows.decode(Int.self) { return version }
        return 0
    }

    /// A step holds many statements, and PostgresNIO speaks only the extended protocol, which takes
    /// one statement per query: so the step runs as one `DO` block that EXECUTEs the whole text.
    static func wrap(_ step: SchemaStep) throws -> PostgresQuery {
        let tag = "$creditops_step$"
        guard !step.sql.contains(tag) else {
            throw MigrationError("schema step \(step.version) must not contain \(tag)")
        }
        return PostgresQuery(unsafeSQL: "DO $creditops_migrate$ BEGIN EXECUTE \(tag)\(step.sql)\(tag); END $creditops_migrate$")
    }

    /// An arbitrary constant that names the migration lock among the database's advisory locks.
    static let lockKey: Int64 = 0x4352_4544_4f50_5331
}
