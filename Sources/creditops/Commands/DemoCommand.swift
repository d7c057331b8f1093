import ArgumentParser
import CreditDomain
import CreditWorkers
import EmbeddedPostgres
import Foundation
import JobQueue
import Logging
import PostgresNIO
import ServiceLifecycle

struct DemoCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "demo",
        abstract: "Run CreditOps on a private PostgreSQL in .creditops/ (no set-up needed).",
        discussion: """
            Starts a private PostgreSQL cluster in .creditops/postgres (created on first run, reused after),
            migrates it, seeds the demo data set the first time (one province, 9 districts, ~50,000
            borrowers; see `creditops seed`), and runs the workers until Ctrl-C. It prints the DATABASE_URL to use from another
            terminal, e.g. to queue jobs with `creditops enqueue`.

            Example:
              swift run creditops demo
            """
    )

    @Option(name: .customLong("data-dir"), help: "Where the demo keeps its PostgreSQL cluster.")
    var dataDirectory: String = ".creditops/postgres"

    @OptionGroup var logging: LoggingOptions
    @OptionGroup var worker: WorkerOptions

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            let postgres = EmbeddedPostgres(configuration: .init(dataDirectory: dataDirectory), logger: logger)
            let endpoint = try await postgres.start()
            do {
                let url = endpoint.url + "?sslmode=disable"
                try await withDatabase(try DatabaseURL.configuration(url), logger: logger) { client in
                    try await SchemaMigrator(client: client, logger: logger).migrate()
                    try await seedOnFirstRun(client: client, logger: logger)
                    // Written unbuffered: whoever reads our output (a log, a test) sees it now.
                    FileHandleWriter.write("""

                        CreditOps demo is running. PostgreSQL: \(url)
                        From another terminal:
                          export DATABASE_URL='\(url)'
                          creditops enqueue sleep --args '{"milliseconds": 200}'
                          creditops jobs list
                          psql "$DATABASE_URL" -c 'SELECT code, name FROM units ORDER BY code LIMIT 10'
                        Press Ctrl-C to stop.

                        \n
                        """, to: 1)
                    try await runServices(try worker.services(client: client, logger: logger), logger: logger)
                }
                try await postgres.stop()
            } catch {
                try? await postgres.stop()
                throw error
            }
        }
    }

    /// The demo shows a province's data; a database that already has units keeps its own.
    private func seedOnFirstRun(client: PostgresClient, logger: Logger) async throws {
        let rows = try await client.query("SELECT EXISTS (SELECT 1 FROM units)", logger: logger)
        for try await hasUnits in rows.decode(Bool.self) where hasUnits { return }
        FileHandleWriter.write("Seeding the demo data set (first run only)…\n", to: 1)
        let today = CalendarDate(unixTime: Date().timeIntervalSince1970)
        let seeder = Seeder(importer: Importer(client: client, logger: logger.quieter()), profile: .demo, seed: 1,
                            twoTier: false, asOf: today)
        for summary in try await seeder.run() {
            FileHandleWriter.write("  \(summary.description)\n", to: 1)
        }
    }
}
