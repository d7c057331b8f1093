import ArgumentParser
import CreditWorkers
import JobQueue
import Logging
import PostgresNIO

/// One worker process of `bench soak`: the deployment's worker and leader duties, with the
/// soak's job kinds.
struct SoakWorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "soak-worker",
        abstract: "A worker of `bench soak` (started by it; not for use on its own).",
        shouldDisplay: false
    )

    @Option(help: "Jobs run at once.") var concurrency = 50
    @Option(help: "Seconds a completed job is kept before pruning.") var retention = 60
    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions

    func run() async throws {
        try await reportingErrors {
            var quiet = logging.logger()
            quiet.logLevel = max(quiet.logLevel, .warning)
            let logger = quiet
            let configuration = try database.configuration()
            let options = try WorkerOptions.parse([
                "--queues", SoakJobs.queue, "--concurrency", "\(concurrency)", "--prune-after-seconds", "\(retention)",
            ])
            try await withDatabase(configuration, logger: logger) { client in
                try await runServices(
                    try options.services(client: client, configuration: configuration, logger: logger, registry: SoakJobs.registry()),
                    logger: logger)
            }
        }
    }
}
