import Foundation
public import Logging
public import PostgresNIO

extension JobQueue {
    /// The queue's schema history: the steps of `jobqueue.sql`, shipped inside the module.
    public static let schema: SchemaHistory = {
        do {
            let steps = try MigrationStep.parse(String(decoding: PackageResources.jobqueue_sql, as: UTF8.self), source: "jobqueue.sql")
            return SchemaHistory(table: "jobqueue_migrations", steps: steps, lockKey: 0x4A4F_4251_5545_5545, source: "jobqueue.sql", program: "JobQueue")
        } catch {
            preconditionFailure("the embedded jobqueue.sql is malformed: \(error)")
        }
    }()

    /// Creates or updates the queue's tables, indexes and triggers on `connection`: the steps of
    /// ``schema`` the database lacks. Run it before the first worker starts, and again after each
    /// upgrade; it is a no-op on a current database and waits for another process doing the same.
    @discardableResult
    public static func migrate(on connection: PostgresConnection, logger: Logger) async throws -> SchemaHistory.Report {
        try await schema.migrate(on: connection, logger: logger)
    }

    /// ``migrate(on:logger:)`` on a connection of `client`.
    @discardableResult
    public static func migrate(_ client: PostgresClient, logger: Logger) async throws -> SchemaHistory.Report {
        try await client.withConnection { try await migrate(on: $0, logger: logger) }
    }
}
