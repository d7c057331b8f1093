import ArgumentParser
import CreditWorkers
import Logging

struct RunCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "run",
        abstract: "Run workers and the leader duties in one process until SIGTERM or SIGINT.",
        discussion: """
            Every `run` and `worker` process is a candidate for leader; exactly one at a time schedules the
            periodic jobs, rescues jobs of vanished workers and prunes old jobs. Start as many as you like,
            on as many hosts as you like, against one PostgreSQL.

            Example:
              creditops run --queues default --concurrency 20
            """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var worker: WorkerOptions

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            try await withDatabase(try database.configuration(), logger: logger) { client in
                try await runServices(try worker.services(client: client, logger: logger), logger: logger)
            }
        }
    }
}
