import ArgumentParser
import Foundation
import CreditWorkers
import JobQueue
import Logging
import ServiceLifecycle
import UnixSignals

struct WorkerCommand: AsyncParsableCommand {
    static let configuration = CommandConfiguration(
        commandName: "worker",
        abstract: "Run jobs from the given queues until SIGTERM or SIGINT.",
        discussion: """
            Claims jobs with FOR UPDATE SKIP LOCKED, so any number of workers on any number of hosts may
            share the queues. On SIGTERM or SIGINT it stops claiming, lets running jobs finish within the
            drain time, then hands unfinished ones back without counting the attempt.

            Example:
              creditops worker --queues default,reminders --concurrency 20
            """
    )

    @OptionGroup var database: DatabaseOptions
    @OptionGroup var logging: LoggingOptions
    @OptionGroup var worker: WorkerOptions

    func run() async throws {
        try await reportingErrors {
            let logger = logging.logger()
            let configuration = try database.configuration()
            try await withDatabase(configuration, logger: logger) { client in
                let registry = JobKinds.registry()
                let services: [any Service] = [
                    QueueMaintenanceService(client: client, logger: logger),
                    WorkerService(client: client, registry: registry, configuration: worker.configuration(), logger: logger),
                ]
                try await runServices(services, logger: logger)
            }
        }
    }
}

/// The worker's tuning, shared by `worker`, `run` and `demo`.
struct WorkerOptions: ParsableArguments {
    @Option(help: "Comma-separated queues to work.")
    var queues: String = "default"

    @Option(help: "Jobs each queue may run at once.")
    var concurrency: Int = 10

    @Option(name: .customLong("lease-seconds"), help: "Lease of a claimed job; a dead worker's jobs run again after it.")
    var leaseSeconds: Double = 30

    @Option(name: .customLong("poll-ms"), help: "Fallback poll interval if a notification is missed, in milliseconds.")
    var pollMilliseconds: Int = 1000

    @Option(name: .customLong("drain-seconds"), help: "How long shutdown waits for running jobs.")
    var drainSeconds: Double = 30

    func validate() throws {
        guard (1...10_000).contains(concurrency) else { throw ValidationError("--concurrency must be within 1...10000") }
        guard leaseSeconds >= 1, leaseSeconds <= 86_400 else { throw ValidationError("--lease-seconds must be within 1...86400") }
        guard (10...60_000).contains(pollMilliseconds) else { throw ValidationError("--poll-ms must be within 10...60000") }
        guard drainSeconds >= 0, drainSeconds <= 3600 else { throw ValidationError("--drain-seconds must be within 0...3600") }
        for queue in queueNames where !QueueName.isValid(queue) {
            throw ValidationError("--queues: '\(queue)' is not a valid queue name (letters, digits, '_', '-', '.')")
        }
    }

    var queueNames: [String] {
        queues.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    func configuration() -> WorkerService.Configuration {
        WorkerService.Configuration(
            queues: Dictionary(uniqueKeysWithValues: queueNames.map { ($0, concurrency) }),
            pollInterval: .milliseconds(pollMilliseconds),
            leaseDuration: .milliseconds(Int64(leaseSeconds * 1000)),
            drainTimeout: .milliseconds(Int64(drainSeconds * 1000)))
    }
}

/// Runs services until SIGTERM or SIGINT; shutdown goes in reverse order.
func runServices(_ services: [any Service], logger: Logger) async throws {
    var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = .seconds(60)
    configuration.maximumCancellationDuration = .seconds(10)
    try await ServiceGroup(configuration: configuration).run()
}
