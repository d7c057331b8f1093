import ArgumentParser
import Foundation
import CreditWorkers
import JobQueue
import Logging
import PostgresNIO
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
            let limits = try ReminderQueueLimits.fromEnvironment()
            try await withDatabase(configuration, logger: logger) { client in
                try await limits.apply(client: client, logger: logger)
                try await runServices(try worker.services(client: client, configuration: configuration, logger: logger), logger: logger)
            }
        }
    }
}

/// The worker's tuning, shared by `worker`, `run` and `demo`.
struct WorkerOptions: ParsableArguments {
    @Option(help: "Comma-separated queues to work.")
    var queues: String = JobKinds.queues.joined(separator: ",")

    @Option(help: "Jobs each queue may run at once.")
    var concurrency: Int = 10

    @Option(name: .customLong("lease-seconds"), help: "Lease of a claimed job; a dead worker's jobs run again after it.")
    var leaseSeconds: Double = 30

    @Option(name: .customLong("poll-ms"), help: "Fallback poll interval if a notification is missed, in milliseconds.")
    var pollMilliseconds: Int = 1000

    @Option(name: .customLong("drain-seconds"), help: "How long shutdown waits for running jobs.")
    var drainSeconds: Double = 30

    @Flag(name: .customLong("no-listen"), help: "Poll for jobs instead of LISTEN, as through PgBouncer in transaction mode (implied by ?pooling=transaction).")
    var noListen = false

    @Flag(name: .customLong("no-leader"), help: "Never take the leader duties (periodic jobs, rescue, pruning) in this process.")
    var noLeader = false

    @Option(name: .customLong("leader-ttl-seconds"), help: "A dead leader is replaced within this plus 2 seconds.")
    var leaderTTLSeconds: Double = 10

    @Option(name: .customLong("heartbeat-seconds"), help: "Period of the leader's heartbeat job (a noop that shows periodic jobs run).")
    var heartbeatSeconds: Int = 60

    @Option(name: .customLong("plan-cron"), help: "When the reminder planners run, as cron in Asia/Ho_Chi_Minh.")
    var planCron: String = "0 7 * * *"

    @Flag(name: .customLong("log-recipients"), help: "The log channel prints recipients' names and whole phone numbers (masked by default).")
    var logRecipients = false

    @Option(name: .customLong("prune-after-seconds"), help: "Keep completed and cancelled jobs this long (discarded: ten times as long, at least 30 days).")
    var pruneAfterSeconds: Double = 3 * 86_400

    func validate() throws {
        guard (1...10_000).contains(concurrency) else { throw ValidationError("--concurrency must be within 1...10000") }
        guard leaseSeconds >= 1, leaseSeconds <= 86_400 else { throw ValidationError("--lease-seconds must be within 1...86400") }
        guard (10...60_000).contains(pollMilliseconds) else { throw ValidationError("--poll-ms must be within 10...60000") }
        guard drainSeconds >= 0, drainSeconds <= 3600 else { throw ValidationError("--drain-seconds must be within 0...3600") }
        guard leaderTTLSeconds >= 2, leaderTTLSeconds <= 300 else { throw ValidationError("--leader-ttl-seconds must be within 2...300") }
        guard (1...86_400).contains(heartbeatSeconds) else { throw ValidationError("--heartbeat-seconds must be within 1...86400") }
        do {
            _ = try CronSchedule(vietnam: planCron)
        } catch {
            throw ValidationError("--plan-cron '\(shown(planCron))': \(error)")
        }
        guard pruneAfterSeconds >= 1 else { throw ValidationError("--prune-after-seconds must be at least 1") }
        for queue in queueNames where !QueueName.isValid(queue) {
            throw ValidationError("--queues: '\(shown(String(queue)))' is not a valid queue name (letters, digits, '_', '-', '.')")
        }
    }

    var queueNames: [String] {
        queues.split(separator: ",").map { $0.trimmingCharacters(in: .whitespaces) }.filter { !$0.isEmpty }
    }

    /// The queue's own connection pool, promotion, the leader election with its duties (unless
    /// --no-leader) and the worker, in start order: shutdown runs in reverse, so the worker drains
    /// first and the queue's pool closes last. Handlers use `client`; the queue's statements a
    /// pool of their own on the same server (``PostgresClient/Configuration/forQueue(maximumConnections:)``).
    /// With a `registry` of its own (a benchmark's job kinds) the process runs those kinds and no periodic jobs.
    func services(
        client: PostgresClient, configuration database: PostgresClient.Configuration, logger: Logger, registry custom: JobRegistry? = nil
    ) throws -> [any Service] {
        let registry = try custom ?? JobKinds.registry(client: client, logger: logger, channels: try channelSetup(client: client, logger: logger))
        let workerConfiguration = configuration()
        let queueClient = PostgresClient(configuration: database.forQueue(), backgroundLogger: logger.quieter())
        let maintenance = QueueMaintenanceService(client: queueClient, configuration: .init(metricsPrefix: JobKinds.metricsPrefix), logger: logger)
        var services: [any Service] = [queueClient, maintenance]
        if !noLeader {
            let queue = JobQueue(client: queueClient, registry: registry, logger: logger)
            let heartbeat = PeriodicJob(name: "heartbeat", schedule: .every(.seconds(heartbeatSeconds))) { _ in
                NewJob(kind: "noop", maxAttempts: 1)
            }
            let pruner = JobPruner(
                client: queueClient,
                configuration: .init(
                    completedRetention: .milliseconds(Int64(pruneAfterSeconds * 1000)),
                    discardedRetention: .milliseconds(Int64(max(pruneAfterSeconds * 10, 30 * 86_400) * 1000)),
                    interval: .milliseconds(Int64(min(30, max(1, pruneAfterSeconds / 3)) * 1000))),
                logger: logger)
            let periodic = custom == nil ? [heartbeat] + JobKinds.periodicJobs(planSchedule: try CronSchedule(vietnam: planCron)) : []
            services.append(LeaderElection(
                client: queueClient, candidateID: workerConfiguration.workerID,
                duties: [maintenance.rescueDuty, pruner.duty, PeriodicScheduler(queue: queue, jobs: periodic, logger: logger).duty],
                configuration: .init(ttl: .milliseconds(Int64(leaderTTLSeconds * 1000)), metricsPrefix: JobKinds.metricsPrefix), logger: logger))
        }
        services.append(WorkerService(client: queueClient, registry: registry, configuration: workerConfiguration, logger: logger))
        return services
    }

    /// The channels the environment configures (the log when none is).
    func channelSetup(client: PostgresClient, logger: Logger) throws -> ChannelSetup {
        do {
            let setup = try ChannelSetup.fromEnvironment(log: LogChannel(showRecipients: logRecipients), client: client, logger: logger)
            logger.info("Reminders go out by", metadata: [
                "channels": "\(ChannelRoutes.kinds.map { "\($0)=\(setup.routes.route(for: $0).map(\.name).joined(separator: ">"))" }.joined(separator: ","))",
            ])
            return setup
        } catch {
            throw CLIError(error.description)
        }
    }

    func configuration() -> WorkerService.Configuration {
        WorkerService.Configuration(
            queues: Dictionary(uniqueKeysWithValues: queueNames.map { ($0, concurrency) }),
            pollInterval: .milliseconds(pollMilliseconds),
            leaseDuration: .milliseconds(Int64(leaseSeconds * 1000)),
            drainTimeout: .milliseconds(Int64(drainSeconds * 1000)),
            metricsPrefix: JobKinds.metricsPrefix,
            listens: !noListen && !QueueConnections.transactionPooling)
    }
}

/// Runs services until SIGTERM or SIGINT; shutdown goes in reverse order.
func runServices(_ services: [any Service], logger: Logger) async throws {
    var configuration = ServiceGroupConfiguration(services: services, gracefulShutdownSignals: [.sigterm, .sigint], logger: logger)
    configuration.maximumGracefulShutdownDuration = .seconds(60)
    configuration.maximumCancellationDuration = .seconds(10)
    try await ServiceGroup(configuration: configuration).run()
}
