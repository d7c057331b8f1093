import ArgumentParser
import CreditWorkers
import Logging

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run workers, the leader duties and the API in one process until SIGTERM or SIGINT.",
        discussion: """
            Every `run` and `worker` process is a candidate for leader; exactly one at a time schedules the
            periodic jobs, rescues jobs of vanished workers and prunes old jobs. Start as many as you like,
            on as many hosts as you like, against one PostgreSQL.

            Example:
              creditops run --concurrency 20 --http 127.0.0.1:8080
            """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var worker: WorkerOptions
    @OptionGroup var http: HTTPOptions

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            _ = HTTPOptions.prometheus
            let configuration = try database.configuration()
            let limits = try ReminderQueueLimits.fromEnvironment()
            try await withDatabase(configuration, logger: logger) { client in
                try await limits.apply(client: client, logger: logger)
                let services = try worker.services(client: client, configuration: configuration, logger: logger)
                let api = try http.services(client: client, database: configuration, registry: JobKinds.registry(client: client, logger: logger), workers: services, logger: logger)
                // The API starts after the workers and stops first.
                try await runServices(services + api, logger: logger)
            }
        }
    }
}
