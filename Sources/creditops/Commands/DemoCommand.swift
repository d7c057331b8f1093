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
            borrowers; see `creditops seed`), and runs the workers, the leader's duties and the API
            (127.0.0.1:8080 unless --http says otherwise) until Ctrl-C. It prints one-time sign-in links
            (valid 15 minutes) to a district's dashboard and to /ops, a district viewer token for the API,
            and the DATABASE_URL to use from another terminal, e.g. to queue jobs with `creditops enqueue`.

            Example:
              swift run creditops demo
            """
    )

    @Option(name: .customLong("data-dir"), help: "Where the demo keeps its PostgreSQL cluster.")
    var dataDirectory: String = ".creditops/postgres"

    @OptionGroup var logging: LoggingOptions
    @OptionGroup var worker: WorkerOptions
    @OptionGroup var http: HTTPOptions

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            _ = HTTPOptions.prometheus
            // Before starting anything: a demo that cannot serve its dashboard should say so now.
            let (host, port) = try http.hostAndPort()
            if port != 0, !PortCheck.isFree(host: host, port: port) {
                throw CLIError("""
                    \(host):\(port) is taken (another creditops demo or server?): choose another address with \
                    --http 127.0.0.1:8081 or CREDITOPS_HTTP=127.0.0.1:8081
                    """)
            }
            let postgres = EmbeddedPostgres(configuration: .init(dataDirectory: dataDirectory), logger: logger)
            let endpoint = try await postgres.start()
            do {
                let url = endpoint.url + "?sslmode=disable"
                let configuration = try DatabaseURL.configuration(url)
                try await withDatabase(configuration, logger: logger) { client in
                    try await SchemaMigrator(client: client, logger: logger).migrate()
                    try await seedOnFirstRun(client: client, logger: logger)
                    try await ReminderQueueLimits.fromEnvironment().apply(client: client, logger: logger)
                    let (_, district) = try await AccessTokens(client: client, logger: logger).create(
                        unitCode: Self.district, role: .viewer, name: "demo district")
                    let sessions = WebSessions(client: client, logger: logger)
                    let districtLink = try await sessions.createLink(unitCode: Self.district, role: .viewer, name: "demo district link")
                    let operatorLink = try await sessions.createLink(unitCode: Self.province, role: .operator, name: "demo operator link")
                    let registry = JobKinds.registry(client: client, logger: logger)
                    let services = try worker.services(client: client, configuration: configuration, logger: logger)
                    let api = try http.services(client: client, database: configuration, registry: registry, workers: services, logger: logger)
                    let web = "http://\(host):\(port)"
                    // Written unbuffered: whoever reads our output (a log, a test) sees it now.
                    FileHandleWriter.write("""

                        CreditOps demo is running: workers, the leader's duties and the API in this process.
                          Dashboard of a district:  \(web)/login/\(districtLink.code)
                          Operations page:          \(web)/login/\(operatorLink.code)?next=/ops
                          (one-time sign-in links, valid 15 minutes; more with `creditops tokens link`)
                          API:  curl -H 'Authorization: Bearer \(district)' \(web)/api/v1/units/\(Self.district)/summary
                        Today's reminders are planned now (then every day at 07:00) and printed below as the
                        log channel delivers them; figures are recomputed as records change.
                        From another terminal:
                          export DATABASE_URL='\(url)'
                          creditops jobs list
                          creditops aggregates show \(Self.district)
                        Press Ctrl-C to stop; the next `creditops demo` reuses the data.

                        \n
                        """, to: 1)
                    try await runServices(services + api, logger: logger)
                }
                try await postgres.stop()
            } catch {
                try? await postgres.stop()
                throw error
            }
        }
    }

    static let province = "T01"
    static let district = "T01-H01"

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
        // The trend charts need history: this year's month ends, as the figures stood then.
        let aggregator = Aggregator(client: client, logger: logger.quieter(), today: JobKinds.vietnamToday)
        let days = try await UnitSnapshots(client: client, logger: logger.quieter())
            .backfill(year: JobKinds.vietnamToday().year, today: JobKinds.vietnamToday(), aggregator: aggregator)
        FileHandleWriter.write("  the figures at \(days.count) month ends of this year, for the trend charts\n", to: 1)
    }
}
