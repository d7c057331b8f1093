import ArgumentParser
import CreditWorkers
import JobQueue

struct MigrateCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "migrate",
        abstract: "Bring the database to the current schema (safe to run again).",
        discussion: """
            Applies the steps of schema.sql (built into this binary) that the database lacks, and records
            each one in schema_migrations; then the job queue's own steps (jobqueue.sql, recorded in
            jobqueue_migrations). Running it again on a current database changes nothing.

            Example:
              DATABASE_URL=postgres://postgres@127.0.0.1:5432/creditops creditops migrate
            """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            let report = try await database.withClient(logger: logger) { client in
                try await SchemaMigrator(client: client, logger: logger).migrate()
            }
            if report.applied.isEmpty {
                print("Schema is current (version \(report.to)); nothing to do.")
            } else {
                print("Migrated schema from version \(report.from) to \(report.to) (steps \(report.applied.map(String.init).joined(separator: ", "))).")
            }
            if report.queue.applied.isEmpty {
                print("Queue schema is current (version \(report.queue.to)); nothing to do.")
            } else {
                print("Migrated the queue's schema from version \(report.queue.from) to \(report.queue.to) (steps \(report.queue.applied.map(String.init).joined(separator: ", "))).")
            }
        }
    }
}
